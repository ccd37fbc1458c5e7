/*
 * keel: command-line entry point (Documentation/man/keel.1). Checks every
 * user input before touching KVM, so a bad one is one line and exit code 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/chardev.h"
#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/cli.h"
#include "vmm/kvm.h"
#include "devices/device.h"
#include "vmm/machine.h"
#include "vmm/machine_type.h"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.1"
#endif

/* A readable regular file, or the reason it is not one. */
static int main_open_file(const char *what, const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		log_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	return fd;
}

static int main_check_kernel(const char *path)
{
	const char *why = "not a Linux kernel";
	struct stat st;
	void *image;
	int fd, kind;

	fd = main_open_file("kernel", path, &st);
	if (fd < 0)
		return -1;
	if (st.st_size == 0) {
		log_err("kernel '%s' is empty", path);
		close(fd);
		return -1;
	}
	image = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (image == MAP_FAILED) {
		log_err("cannot read kernel '%s': %s", path, strerror(errno));
		return -1;
	}
	kind = boot_probe(image, st.st_size, &why);
	munmap(image, st.st_size);
	if (kind < 0) {
		log_err("kernel '%s' cannot be booted: %s", path, why ? why : "unknown format");
		return -1;
	}
	return 0;
}

static int main_check_initrd(const char *path)
{
	struct stat st;
	char byte;
	int fd = main_open_file("initrd", path, &st);

	if (fd < 0)
		return -1;
	/* Permission checks aside, a directory or unreadable device shows up here. */
	if (st.st_size > 0 && pread(fd, &byte, 1, 0) != 1) {
		log_err("cannot read initrd '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static uint64_t main_host_memory(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

static int main_run(const struct cli_config *cfg)
{
	struct cli_limits lim = { .max_memory = main_host_memory() };
	char err[CLI_ERR_MAX];
	struct kvm kvm;
	int ret;

	if (main_check_kernel(cfg->kernel))
		return MACHINE_EXIT_USAGE;
	if (cfg->initrd && main_check_initrd(cfg->initrd))
		return MACHINE_EXIT_USAGE;
	if (cli_check_limits(cfg, &lim, err, sizeof(err))) {
		log_err("%s", err);
		return MACHINE_EXIT_USAGE;
	}
	if (kvm_open(&kvm))
		return MACHINE_EXIT_FAIL;
	lim.max_cpus = kvm.max_vcpus;
	if (cli_check_limits(cfg, &lim, err, sizeof(err))) {
		log_err("%s", err);
		kvm_close(&kvm);
		return MACHINE_EXIT_USAGE;
	}
	ret = machine_run(&kvm, cfg);
	kvm_close(&kvm);
	return ret;
}

int main(int argc, char **argv)
{
	struct cli_config cfg;
	char err[CLI_ERR_MAX];
	int action;

	log_set_program("keel");
	/* A console reader that goes away must not kill the guest: writes get EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Debug lines (unclaimed ports, machine layout) are off unless asked for. */
	if (getenv("KEEL_DEBUG"))
		log_threshold = LOG_DEBUG;
	atexit(chardev_restore_all);
	action = cli_parse(argc, argv, &cfg, err, sizeof(err));
	switch (action) {
	case CLI_HELP:
		cli_usage(stdout);
		return 0;
	case CLI_RUN_HELP:
		cli_run_usage(stdout);
		return 0;
	case CLI_DEVICE_HELP:
		if (cfg.help_type)
			device_type_help(stdout, device_type_find(cfg.help_type));
		else
			device_types_help(stdout);
		return 0;
	case CLI_MACHINE_HELP:
		machine_types_help(stdout);
		return 0;
	case CLI_VERSION:
		printf("keel %s\n", KEEL_VERSION);
		return 0;
	case CLI_RUN:
		return main_run(&cfg);
	default:
		log_err("%s", err);
		return MACHINE_EXIT_USAGE;
	}
}
