/*
 * keel's command line (Documentation/man/keel.1): `keel run` options from a
 * table, so later options (--disk, --net, --qmp) are one more row each.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/errmsg.h"
#include "devices/virtio/console.h"
#include "vmm/chardevs.h"
#include "vmm/cli.h"
#include "vmm/disk.h"

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
	static const struct {
		char c;
		unsigned int shift;
	} units[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
	uint64_t v = 0;
	unsigned int shift = 0, i;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		char c = *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].c == c)
				shift = units[i].shift;
		if (!shift)
			return -EINVAL;
		p++;
		/* "M", "MB", "MiB" all mean 2^20: a VM's RAM is never decimal. */
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
		if (*p)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
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

/* [source=getrandom|/dev/hwrng|PATH][,max-bytes=N][,period=MS]: optional value. */
static int cli_set_rng(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	int ret = virtio_rng_parse(val, &cfg->rng_cfg, err, errlen);

	if (ret)
		return ret;
	cfg->rng = true;
	return 0;
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
	cfg->disks[cfg->nr_disks++] = val;
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

/* --device virtio-serial[,max-ports=N] and virtserialport / virtconsole ports. */
static int cli_add_serial_device(struct cli_config *cfg, const char *val, char *err,
				 size_t errlen)
{
	struct virtio_console_port_cfg port;

	if (!strncmp(val, "virtio-serial", 13) && (!val[13] || val[13] == ',')) {
		unsigned int n = VIRTIO_CONSOLE_MAX_PORTS;

		if (cfg->virtio_serial)
			return cli_err(err, errlen, "--device virtio-serial given twice");
		if (val[13] && (strncmp(val + 13, ",max-ports=", 11) ||
				cli_parse_uint(val + 24, &n) || !n ||
				n > VIRTIO_CONSOLE_MAX_PORTS))
			return cli_err(err, errlen, "--device '%s': the only option is "
				       "max-ports=N (1..%d)", val, VIRTIO_CONSOLE_MAX_PORTS);
		cfg->virtio_serial = true;
		cfg->serial_max_ports = n;
		return 0;
	}
	if (virtio_console_port_parse(val, &port, err, errlen))
		return -EINVAL;
	if (cfg->nr_serial_ports == CLI_MAX_SERIAL_PORTS)
		return cli_err(err, errlen, "more than %d serial ports", CLI_MAX_SERIAL_PORTS);
	cfg->serial_ports[cfg->nr_serial_ports++] = val;
	return 0;
}

/* --device NAME: a device without options (repeatable, each name once). */
static int cli_add_device(struct cli_config *cfg, const char *val, char *err, size_t errlen)
{
	if (!strncmp(val, "virtio-serial", 13) || !strncmp(val, "virtserialport", 14) ||
	    !strncmp(val, "virtconsole", 11))
		return cli_add_serial_device(cfg, val, err, errlen);
	if (strcmp(val, "pvpanic-pci"))
		return cli_err(err, errlen, "--device '%s' is not a known device (pvpanic-pci, "
			       "virtio-serial, virtserialport, virtconsole)", val);
	if (cfg->pvpanic_pci)
		return cli_err(err, errlen, "--device %s given twice", val);
	cfg->pvpanic_pci = true;
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
	  "serial, num-queues, werror, accel (keel(1))" },
	{ "sandbox", "on|off", cli_set_sandbox,
	  "seccomp allow-list per thread role (default on)" },
	{ "iothread", "id=ID", cli_add_iothread,
	  "an I/O thread that disks with iothread=ID are served on" },
	{ "device", "NAME", cli_add_device,
	  "add a device: pvpanic-pci (pvpanic as PCI 1b36:0011), "
	  "virtio-serial[,max-ports=N], virtserialport,chardev=ID[,name=NAME][,nr=N][,id=ID]" },
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
	if (disk_check_config(cfg->disks, cfg->nr_disks, cfg->iothreads, cfg->nr_iothreads,
			      err, errlen))
		return -EINVAL;
	return CLI_RUN;
}

int cli_parse(int argc, char *const argv[], struct cli_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = CLI_DEFAULT_MEMORY;
	cfg->serial = "stdio";
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
