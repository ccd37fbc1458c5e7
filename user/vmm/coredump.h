/*
 * ELF core files of a guest (ELF-64 gABI "Core files", x86-64 psABI): one
 * PT_LOAD per RAM region at its guest-physical address, one NT_PRSTATUS per vCPU.
 */
#ifndef KEEL_VMM_COREDUMP_H
#define KEEL_VMM_COREDUMP_H

#include <linux/kvm.h>
#include <stdint.h>
#include <sys/user.h>

struct coredump_region {
	uint64_t gpa;
	uint64_t size;
	const void *hva;
};

/* A vCPU's registers in the layout gdb and readelf know from Linux cores. */
void coredump_regs_from_kvm(const struct kvm_regs *r, const struct kvm_sregs *s,
			    struct user_regs_struct *out);

/* Write the core to fd (from offset 0). Returns 0 or a negative errno. */
int coredump_write_fd(int fd, const struct coredump_region *regions, unsigned int nr_regions,
		      const struct user_regs_struct *cpus, unsigned int nr_cpus);
/* Create (or truncate) path with mode 0600 and write the core into it. */
int coredump_write_file(const char *path, const struct coredump_region *regions,
			unsigned int nr_regions, const struct user_regs_struct *cpus,
			unsigned int nr_cpus);

#endif
