/*
 * keel's command line (Documentation/man/keel.1): `keel run` options from a
 * table, so later options (--disk, --net, --qmp) are one more row each.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/device.h"
#include "lib/errmsg.h"
#include "lib/opts.h"
#include "vmm/blockdev.h"
#include "vmm/chardevs.h"
#include "vmm/cli.h"
#include "vmm/disk.h"
#include "vmm/machine_type.h"

struct cli_option {
	const char *name;
	const char *arg;	/* NULL: a flag without value */
	int (*set)(struct cli_config *cfg, const char *val, char *err, size_t errlen);
	const char *help;
};

/* One sentence into err, -EINVAL. */
#define cli_err(err, errlen, ...) errmsg_set(err, errlen, -EINVAL, __VA_ARGS__)

int cli_parse_uint(const char *s, unsigned int *out)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*s - '0');
		if (v > UINT_MAX)
			return -ERANGE;
	}
	*out = (unsigned int)v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	return opt_parse_size(s, out);
}

static int cli_set_kernel(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (!*val)
		return cli_err(err, errlen, "--kernel needs a file name");
	cfg->kernel = val;
	return 0;
}

static int cli_set_initrd(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (!*val)
		return cli_err(err, errlen, "--initrd needs a file name");
	cfg->initrd = val;
	return 0;
}

static int cli_set_cmdline(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	cfg->cmdline = val;
	return 0;
}

static int cli_set_cpus(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	unsigned int n;

	if (cli_parse_uint(val, &n) == -EINVAL)
		return cli_err(err, errlen, "--cpus '%s' is not a number", val);
	if (cli_parse_uint(val, &n) || n == 0 || n > CLI_MAX_CPUS)
		return cli_err(err, errlen, "--cpus %s is out of range (1..%d)", val,
			       CLI_MAX_CPUS);
	cfg->cpus = n;
	return 0;
}

static int cli_set_memory(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	uint64_t size;
	int ret = cli_parse_size(val, &size);

	if (ret == -EINVAL)
		return cli_err(err, errlen,
			       "--memory '%s' is not a size (examples: 256M, 1G, 512MiB, 1048576)",
			       val);
	if (ret || size > (1ULL << 46))
		return cli_err(err, errlen, "--memory %s is too large", val);
	if (size < CLI_MIN_MEMORY)
		return cli_err(err, errlen, "--memory %s is too small (at least 2M)", val);
	/* Guest RAM is mapped in whole pages. */
	cfg->memory = (size + 0xfff) & ~0xfffULL;
	return 0;
}

static int cli_set_serial(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	static const char *const plain[] = { "stdio", "pty", "null" };
	unsigned int i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (!strcmp(val, plain[i]))
			goto ok;
	if ((!strncmp(val, "file:", 5) || !strncmp(val, "unix:", 5)) && val[5])
		goto ok;
	return cli_err(err, errlen,
		       "--serial '%s' is not one of stdio, file:PATH, unix:PATH, pty, null", val);
ok:
	cfg->serial = val;
	return 0;
}

static int cli_set_no_reboot(struct cli_config *cfg, const char *val, char *err,
			     size_t errlen)
{
	cfg->no_reboot = true;
	return 0;
}

/* unix:PATH[,server][,nowait|,wait=off]: keel always listens and never waits. */
static int cli_set_qmp(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	const char *path = val + 5, *opt;
	size_t len;

	if (strncmp(val, "unix:", 5) || !*path || *path == ',')
		return cli_err(err, errlen, "--qmp '%s' is not unix:PATH[,server]", val);
	opt = strchr(path, ',');
	len = opt ? (size_t)(opt - path) : strlen(path);
	if (len >= sizeof(cfg->qmp))
		return cli_err(err, errlen, "--qmp socket path is longer than %zu bytes",
			       sizeof(cfg->qmp) - 1);
	while (opt) {
		const char *next = strchr(opt + 1, ',');
		size_t olen = next ? (size_t)(next - opt - 1) : strlen(opt + 1);

		if (!((olen == 6 && !strncmp(opt + 1, "server", 6)) ||
		      (olen == 6 && !strncmp(opt + 1, "nowait", 6)) ||
		      (olen == 8 && !strncmp(opt + 1, "wait=off", 8))))
			return cli_err(err, errlen, "--qmp option '%.*s' is not supported "
				       "(server, nowait, wait=off)", (int)olen, opt + 1);
		opt = next;
	}
	memcpy(cfg->qmp, path, len);
	cfg->qmp[len] = '\0';
	return 0;
}

/* pause | poweroff | restart | coredump-destroy[,path=FILE] */
static int cli_set_on_panic(struct cli_config *cfg, const char *val, char *err,
			    size_t errlen)
{
	static const char cd[] = "coredump-destroy";

	cfg->panic_path = NULL;
	if (!strcmp(val, "pause")) {
		cfg->on_panic = CLI_PANIC_PAUSE;
	} else if (!strcmp(val, "poweroff")) {
		cfg->on_panic = CLI_PANIC_POWEROFF;
	} else if (!strcmp(val, "restart")) {
		cfg->on_panic = CLI_PANIC_RESTART;
	} else if (!strncmp(val, cd, sizeof(cd) - 1) &&
		   (val[sizeof(cd) - 1] == '\0' || val[sizeof(cd) - 1] == ',')) {
		const char *opt = val + sizeof(cd) - 1;

		cfg->on_panic = CLI_PANIC_COREDUMP;
		if (*opt) {
			if (strncmp(opt, ",path=", 6) || !opt[6])
				return cli_err(err, errlen, "--on-panic '%s': the only option of "
					       "coredump-destroy is path=FILE", val);
			cfg->panic_path = opt + 6;
		}
	} else {
		return cli_err(err, errlen, "--on-panic '%s' is not one of pause, poweroff, "
			       "restart, coredump-destroy[,path=FILE]", val);
	}
	return 0;
}

static int cli_add_dev(struct cli_config *cfg, enum cli_dev_kind kind, const char *val,
		       char *err, size_t errlen)
{
	if (cfg->nr_devices == CLI_MAX_DEVICES)
		return cli_err(err, errlen, "more than %d devices", CLI_MAX_DEVICES);
	cfg->devices[cfg->nr_devices++] = (struct cli_dev){ .kind = kind, .str = val };
	return 0;
}

/* --rng [OPTS]: a virtio-rng-pci with OPTS as its properties. */
static int cli_set_rng(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	char spec[512], why[CLI_ERR_MAX - 8];
	int ret;

	if ((size_t)snprintf(spec, sizeof(spec), "virtio-rng-pci%s%s", val && *val ? "," : "",
			     val ? val : "") >= sizeof(spec))
		return cli_err(err, errlen, "--rng: the options are too long");
	ret = device_check(spec, why, sizeof(why));
	if (ret)
		return cli_err(err, errlen, "--rng: %s", why);
	return cli_add_dev(cfg, CLI_DEV_RNG, val, err, errlen);
}

/* --sandbox on|off: the seccomp sandbox (Documentation/keel-run.md "Sandbox"). */
static int cli_set_sandbox(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (!strcmp(val, "on"))
		cfg->sandbox_off = false;
	else if (!strcmp(val, "off"))
		cfg->sandbox_off = true;
	else
		return cli_err(err, errlen, "--sandbox '%s' is not on or off", val);
	return 0;
}

/* --disk and --iothread may repeat; their contents are checked at the end. */
static int cli_add_disk(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (cfg->nr_disks == CLI_MAX_DISKS)
		return cli_err(err, errlen, "more than %d --disk options", CLI_MAX_DISKS);
	cfg->nr_disks++;
	return cli_add_dev(cfg, CLI_DEV_DISK, val, err, errlen);
}

static int cli_add_blockdev(struct cli_config *cfg, const char *val, char *err,
			    size_t errlen)
{
	if (cfg->nr_blockdevs == CLI_MAX_BLOCKDEVS)
		return cli_err(err, errlen, "more than %d --blockdev options", CLI_MAX_BLOCKDEVS);
	if (blockdev_check(val, err, errlen))
		return -EINVAL;
	cfg->blockdevs[cfg->nr_blockdevs++] = val;
	return 0;
}

static int cli_add_iothread(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (cfg->nr_iothreads == CLI_MAX_IOTHREADS)
		return cli_err(err, errlen, "more than %d --iothread options", CLI_MAX_IOTHREADS);
	cfg->iothreads[cfg->nr_iothreads++] = val;
	return 0;
}

/* --chardev id=ID,backend=...: checked now, opened by the machine. */
static int cli_add_chardev(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	struct chardevs_spec spec;
	unsigned int i;

	if (chardevs_parse(val, &spec, err, errlen))
		return -EINVAL;
	for (i = 0; i < cfg->nr_chardevs; i++) {
		struct chardevs_spec other;

		if (!chardevs_parse(cfg->chardevs[i], &other, NULL, 0) &&
		    !strcmp(other.id, spec.id))
			return cli_err(err, errlen, "--chardev id '%s' given twice", spec.id);
	}
	if (cfg->nr_chardevs == CLI_MAX_CHARDEVS)
		return cli_err(err, errlen, "more than %d --chardev options", CLI_MAX_CHARDEVS);
	cfg->chardevs[cfg->nr_chardevs++] = val;
	return 0;
}

/* --device TYPE,key=value,...: checked against the registry now, created in order. */
static int cli_add_device(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	size_t len = strlen(val);

	if (!strcmp(val, "help") || !strcmp(val, "?")) {
		cfg->help_type = NULL;
		return CLI_DEVICE_HELP;
	}
	if (len > 5 && !strcmp(val + len - 5, ",help")) {
		static char type[DEVICE_ID_MAX];

		if (len - 5 >= sizeof(type))
			return cli_err(err, errlen, "--device '%s' is not a device type", val);
		memcpy(type, val, len - 5);
		type[len - 5] = '\0';
		if (!device_type_find(type))
			return cli_err(err, errlen, "'%s' is not a valid device model name "
				       "(--device help lists them)", type);
		cfg->help_type = type;
		return CLI_DEVICE_HELP;
	}
	if (device_check(val, err, errlen))
		return -EINVAL;
	return cli_add_dev(cfg, CLI_DEV_DEVICE, val, err, errlen);
}

/* --machine TYPE (machine_types.c); help lists them. */
static int cli_set_machine(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	const char *type = val;
	char buf[64];
	const char *comma = strchr(val, ',');

	if (!strcmp(val, "help") || !strcmp(val, "?"))
		return CLI_MACHINE_HELP;
	if (comma) {
		/* QEMU's "q35,accel=kvm": keel has KVM only, and no other machine option yet. */
		size_t n = (size_t)(comma - val);

		if (n >= sizeof(buf) || strcmp(comma, ",accel=kvm"))
			return cli_err(err, errlen, "--machine '%s': the only option is accel=kvm",
				       val);
		memcpy(buf, val, n);
		buf[n] = '\0';
		type = buf;
	}
	if (!machine_type_find(type))
		return cli_err(err, errlen, "--machine '%s' is not a machine type (--machine help "
			       "lists them)", type);
	cfg->machine = machine_type_find(type)->name;
	return 0;
}

static const struct cli_option cli_run_options[] = {
	{ "kernel", "PATH", cli_set_kernel, "Linux bzImage or ELF vmlinux (PVH entry)" },
	{ "initrd", "PATH", cli_set_initrd, "initial ramdisk" },
	{ "cmdline", "STR", cli_set_cmdline, "kernel command line" },
	{ "cpus", "N", cli_set_cpus, "number of vCPUs (default 1)" },
	{ "memory", "SIZE", cli_set_memory, "guest RAM, e.g. 256M, 1G (default 512M)" },
	{ "serial", "BACKEND", cli_set_serial,
	  "COM1 backend: stdio, file:PATH, unix:PATH, pty, null (default stdio)" },
	{ "no-reboot", NULL, cli_set_no_reboot, "exit 0 when the guest resets" },
	{ "qmp", "unix:PATH", cli_set_qmp,
	  "QMP control socket to listen on (,server accepted; see keelctl(1))" },
	{ "on-panic", "ACTION", cli_set_on_panic,
	  "guest panic (pvpanic): pause (default), poweroff, restart, "
	  "coredump-destroy[,path=FILE]" },
	{ "rng", "[OPTS]", cli_set_rng,
	  "virtio-rng device: [source=getrandom|/dev/hwrng|PATH][,max-bytes=N,period=MS]" },
	{ "disk", "path=FILE,...", cli_add_disk,
	  "virtio-blk disk; keys format, readonly, iothread, aio, cache, discard, "
	  "serial, num-queues, werror, accel, id, bus, addr (keel(1))" },
	{ "sandbox", "on|off", cli_set_sandbox,
	  "seccomp allow-list per thread role (default on)" },
	{ "iothread", "id=ID", cli_add_iothread,
	  "an I/O thread that disks with iothread=ID are served on" },
	{ "device", "TYPE,..", cli_add_device,
	  "add a device: TYPE[,id=ID][,bus=BUS][,addr=SLOT][,prop=value...]; "
	  "--device help lists the types, --device TYPE,help a type's properties" },
	{ "blockdev", "OPTS", cli_add_blockdev,
	  "a block node: driver=FMT,node-name=N,file.filename=PATH[,read-only=on]"
	  "[,discard=unmap][,cache.direct=on][,aio=A]" },
	{ "machine", "TYPE", cli_set_machine,
	  "machine type (default pc; --machine help lists them)" },
	{ "chardev", "id=ID,backend=..", cli_add_chardev,
	  "named chardev for serial ports: id=ID,backend=unix|file|pty|null[,path=P]"
	  "[,server=on]" },
};

#define CLI_NR_RUN_OPTIONS (sizeof(cli_run_options) / sizeof(cli_run_options[0]))

static const struct cli_option *cli_find(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < CLI_NR_RUN_OPTIONS; i++)
		if (strlen(cli_run_options[i].name) == len &&
		    !strncmp(cli_run_options[i].name, name, len))
			return &cli_run_options[i];
	return NULL;
}

/* Every --disk parses and names an --iothread that exists; ids are unique. */
static int cli_check_disks(const struct cli_config *cfg, char *err, size_t errlen)
{
	const char *disks[CLI_MAX_DISKS];
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nr_devices; i++)
		if (cfg->devices[i].kind == CLI_DEV_DISK)
			disks[n++] = cfg->devices[i].str;
	return disk_check_config(disks, n, cfg->iothreads, cfg->nr_iothreads, err, errlen);
}

static int cli_parse_run(int argc, char *const argv[], struct cli_config *cfg, char *err,
			 size_t errlen)
{
	int i, ret;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		const struct cli_option *opt;
		size_t len;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return CLI_RUN_HELP;
		if (strncmp(a, "--", 2) || !a[2])
			return cli_err(err, errlen, "unexpected argument '%s' (see keel run --help)",
				       a);
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		opt = cli_find(name, len);
		if (!opt)
			return cli_err(err, errlen, "unknown option '--%.*s' (see keel run --help)",
				       (int)len, name);
		if (!opt->arg) {
			if (eq)
				return cli_err(err, errlen, "option '--%s' takes no value",
					       opt->name);
			val = NULL;
		} else if (eq) {
			val = eq + 1;
		} else if (opt->arg[0] == '[' &&
			   (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) {
			val = NULL;	/* an optional value left out */
		} else {
			if (i + 1 >= argc)
				return cli_err(err, errlen, "option '--%s' needs a value (%s)",
					       opt->name, opt->arg);
			val = argv[++i];
		}
		ret = opt->set(cfg, val, err, errlen);
		if (ret)
			return ret;
	}
	if (!cfg->kernel)
		return cli_err(err, errlen, "keel run needs --kernel PATH (see keel run --help)");
	if (cli_check_disks(cfg, err, errlen))
		return -EINVAL;
	return CLI_RUN;
}

int cli_parse(int argc, char *const argv[], struct cli_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = CLI_DEFAULT_MEMORY;
	cfg->serial = "stdio";
	cfg->machine = machine_type_default()->name;
	if (errlen)
		err[0] = '\0';

	if (argc < 2 || !argv[1])
		return cli_err(err, errlen, "no command given (try keel --help)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return CLI_HELP;
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return CLI_VERSION;
	if (!strcmp(argv[1], "run"))
		return cli_parse_run(argc, argv, cfg, err, errlen);
	if (argv[1][0] == '-')
		return cli_err(err, errlen, "unknown option '%s' (try keel --help)", argv[1]);
	return cli_err(err, errlen, "unknown command '%s' (try keel --help)", argv[1]);
}

int cli_check_limits(const struct cli_config *cfg, const struct cli_limits *lim, char *err,
		     size_t errlen)
{
	if (lim->max_memory && cfg->memory > lim->max_memory)
		return cli_err(err, errlen,
			       "--memory %llu MiB is more than the host's %llu MiB of RAM",
			       (unsigned long long)(cfg->memory >> 20),
			       (unsigned long long)(lim->max_memory >> 20));
	if (lim->max_cpus && cfg->cpus > lim->max_cpus)
		return cli_err(err, errlen, "--cpus %u is more than KVM allows here (%u)",
			       cfg->cpus, lim->max_cpus);
	return 0;
}

void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: keel run --kernel PATH [options]   boot a Linux kernel\n"
		"       keel run --help                    options of keel run\n"
		"       keel --help | --version\n"
		"\n"
		"keel is a KVM virtual machine monitor. See keel(1).\n");
}

void cli_run_usage(FILE *f)
{
	unsigned int i;
	char left[40];

	fprintf(f, "usage: keel run --kernel PATH [options]\n\noptions (--opt VALUE or --opt=VALUE):\n");
	for (i = 0; i < CLI_NR_RUN_OPTIONS; i++) {
		const struct cli_option *o = &cli_run_options[i];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-20s %s\n", left, o->help);
	}
	fprintf(f, "  %-20s %s\n", "--help", "this text");
	fprintf(f, "\nexit status: 0 guest powered off (or reset with --no-reboot),\n"
		   "             1 VMM or KVM failure, 2 bad command line,\n"
		   "             3 guest panicked under --on-panic coredump-destroy\n");
}
