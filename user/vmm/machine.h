/*
 * keel's PC machine: RAM, vCPUs, in-kernel irqchip and PIT, legacy devices,
 * ACPI tables and the Linux kernel; and its lifecycle (ARCHITECTURE.md "Lifecycle").
 */
#ifndef KEEL_VMM_MACHINE_H
#define KEEL_VMM_MACHINE_H

#include "vmm/cli.h"
#include "vmm/kvm.h"

/* keel's exit codes (Documentation/man/keel.1 EXIT STATUS). */
#define MACHINE_EXIT_OK		0	/* powered off, or reset under --no-reboot */
#define MACHINE_EXIT_FAIL	1	/* KVM or host failure */
#define MACHINE_EXIT_USAGE	2	/* bad command line */
#define MACHINE_EXIT_PANIC	3	/* guest panic under --on-panic coredump-destroy */

/* Build the machine, run it until power-off or failure, rebuilding it on reset. */
int machine_run(struct kvm *kvm, const struct cli_config *cfg);

#endif
