/*
 * keel's command line (Documentation/man/keel.1): a pure parser from argv to a
 * run configuration, with no KVM or file access, so every bad input is unit-testable.
 */
#ifndef KEEL_VMM_CLI_H
#define KEEL_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


#define CLI_DEFAULT_MEMORY	(512ULL << 20)
#define CLI_MIN_MEMORY		(2ULL << 20)
#define CLI_MAX_CPUS		254	/* xAPIC IDs 0..253, the I/O APIC takes the next */
#define CLI_ERR_MAX		256
#define CLI_MAX_DISKS		16
#define CLI_MAX_IOTHREADS	16
#define CLI_MAX_CHARDEVS	32
#define CLI_MAX_DEVICES		256
#define CLI_MAX_BLOCKDEVS	64

enum cli_action {
	CLI_RUN,
	CLI_HELP,		/* keel --help */
	CLI_RUN_HELP,		/* keel run --help */
	CLI_VERSION,
	CLI_DEVICE_HELP,	/* --device help, --device TYPE,help */
	CLI_MACHINE_HELP,	/* --machine help */
};

/* A device from the command line, in argv order (Documentation/device-model.md). */
enum cli_dev_kind {
	CLI_DEV_DEVICE,		/* --device TYPE,key=value... */
	CLI_DEV_DISK,		/* --disk: a block node plus a virtio-blk-pci */
	CLI_DEV_RNG,		/* --rng [OPTS]: virtio-rng-pci with OPTS */
};

struct cli_dev {
	enum cli_dev_kind kind;
	const char *str;	/* the option's value (NULL: --rng without one) */
};

/* --on-panic: what a pvpanic report does (Documentation/keel-run.md "Guest panics"). */
enum cli_on_panic {
	CLI_PANIC_PAUSE,	/* default: stop the vCPUs, keel stays up */
	CLI_PANIC_POWEROFF,	/* exit 0, as a guest power-off */
	CLI_PANIC_RESTART,	/* reset the machine (or exit 0 under --no-reboot) */
	CLI_PANIC_COREDUMP,	/* write an ELF core of the guest, then exit 3 */
};

struct cli_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int cpus;
	uint64_t memory;
	const char *serial;
	bool no_reboot;
	char qmp[108];		/* --qmp unix:PATH[,server]: the socket path, or "" */
	enum cli_on_panic on_panic;
	bool sandbox_off;	/* --sandbox off */
	const char *panic_path;	/* coredump-destroy,path=FILE; NULL: keel-core.<pid> */
	const char *machine;	/* --machine TYPE: a name from machine_types[] */
	/* --device, --disk, --rng in the order given. */
	struct cli_dev devices[CLI_MAX_DEVICES];
	unsigned int nr_devices;
	unsigned int nr_disks;
	/* --blockdev strings (vmm/blockdev.c parses them; checked here already). */
	const char *blockdevs[CLI_MAX_BLOCKDEVS];
	unsigned int nr_blockdevs;
	/* --iothread strings in order; vmm/disk.c parses them. */
	const char *iothreads[CLI_MAX_IOTHREADS];
	unsigned int nr_iothreads;
	/* --chardev strings (vmm/chardevs.c parses them; checked here already). */
	const char *chardevs[CLI_MAX_CHARDEVS];
	unsigned int nr_chardevs;
	const char *help_type;	/* CLI_DEVICE_HELP: the type asked about, NULL: all */
};

/*
 * Parse argv (argv[0] is the program). Returns an action >= 0, or -EINVAL
 * with one human sentence in err (without the "keel: " prefix).
 * Strings in cfg point into argv.
 */
int cli_parse(int argc, char *const argv[], struct cli_config *cfg, char *err, size_t errlen);

/* Host limits a parsed configuration must respect (0 = unknown, no check). */
struct cli_limits {
	uint64_t max_memory;	/* the host's MemTotal */
	unsigned int max_cpus;	/* KVM_CAP_MAX_VCPUS */
};

int cli_check_limits(const struct cli_config *cfg, const struct cli_limits *lim,
		     char *err, size_t errlen);

/* "256M", "1G", "512MiB", "4096": bytes, or -EINVAL / -ERANGE. */
int cli_parse_size(const char *s, uint64_t *out);
/* A plain decimal count without sign, spaces or junk. */
int cli_parse_uint(const char *s, unsigned int *out);

void cli_usage(FILE *f);
void cli_run_usage(FILE *f);

#endif
