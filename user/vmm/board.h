/*
 * What the machine core (machine.c) shares with the boards it builds
 * (board_pc.c, ...): the machine's state and the board's hooks. A board is
 * the data of a machine type in code: its fixed devices, buses, memory
 * layout and ACPI tables. Devices given by the user are the core's.
 */
#ifndef KEEL_VMM_BOARD_H
#define KEEL_VMM_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/machine.h"
#include "vmm/blockdev.h"
#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/guest_mem.h"
#include "vmm/iothread.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"

struct kvm;
struct loop;
struct chardev;
struct chardevs;
struct qmp_server;
struct vcpu;
struct machine_type;

struct machine {
	struct kvm *kvm;
	const struct cli_config *cfg;
	const struct machine_type *type;
	struct loop *loop;		/* lives across resets */
	struct chardev *console;	/* lives across resets: output keeps flowing */
	int sigfd;
	int pending;			/* enum machine_outcome, set once per incarnation */
	unsigned int boots;
	struct qmp_server *qmp;		/* lives across resets; NULL without --qmp */
	struct qmp_machine qmp_machine;
	bool paused;			/* QMP stop: kept across resets */
	bool qmp_reset;			/* the pending reset came from system_reset */
	bool panic_reset;		/* the pending reset came from --on-panic restart */
	bool panicked;			/* paused by a guest panic, until cont or reset */
	bool running;			/* an incarnation is built and its vCPUs run */
	unsigned int panic_events;	/* pvpanic bits not yet acted on (atomic) */

	/* One incarnation of the machine: rebuilt on every reset. */
	struct guest_mem mem;
	struct bus pio, mmio;
	struct machine_services ms;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	bool irq_err_logged;
	void *board;			/* the board's own state (board_ops.build) */
	/* Single-byte accesses at this port go to the board instead (0xCF9 in 0xCF8). */
	int (*pio_claim)(struct machine *m, uint16_t base, uint16_t len,
			 const struct io_ops *ops, void *dev);

	/* Once per run: I/O threads, chardevs, block nodes, the device instances. */
	struct iothread iothreads[CLI_MAX_IOTHREADS];
	unsigned int nr_iothreads;
	struct chardevs *chardevs;
	struct blockdevs blockdevs;
	struct devices devs;
	struct qmp_devices qmp_devices;
};

struct board_ops {
	/* Board devices and root buses, before the user's devices are realized. */
	int (*build)(struct machine *m);
	/* After every device is realized: firmware's work (BARs) and the ACPI tables. */
	int (*finish)(struct machine *m, uint64_t *rsdp);
	/* The incarnation ends; the user's devices are already unrealized. */
	void (*teardown)(struct machine *m);
	/* QMP system_powerdown: press the power button. -ENODEV without one. */
	int (*powerdown)(struct machine *m);
	/* query-pci: up to max functions of the whole tree; returns how many exist. */
	unsigned int (*pci_functions)(struct machine *m, struct qmp_pci_function *out,
				      unsigned int max);
	/* The device types --disk and --rng make; NULL: virtio-blk-pci, virtio-rng-pci. */
	const char *disk_device;
	const char *rng_device;
};

extern const struct board_ops board_pc_ops;
extern const struct board_ops board_q35_ops;
extern const struct board_ops board_microvm_ops;

struct rtc;
struct pci_host_windows;
struct acpi_config;

/* What the PC-family boards share (board_pc.c): CMOS memory sizes, BAR windows. */
/*
 * The PC legacy devices both boards have: POST port sink, COM1, i8042, CMOS
 * RTC (with the firmware's bytes), ACPI PM block, pvpanic at 0x505.
 */
struct pc_legacy {
	struct serial *com1;
	struct i8042 *kbc;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct pvpanic *pvpanic;
};

int pc_legacy_new(struct machine *m, struct pc_legacy *l);
void pc_legacy_free(struct pc_legacy *l);
/* QMP system_powerdown: the ACPI power button. */
int pc_legacy_powerdown(struct pc_legacy *l);
void pc_pci_windows(struct machine *m, struct pci_host_windows *w);
/* The ACPI fields every PC-family board shares (CPUs, APICs, PM block, COM1, pvpanic). */
void pc_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus);
/* Build cfg's tables into guest memory at ACPI_TABLES_BASE; *rsdp for the boot. 0 or -errno. */
int pc_acpi_write(struct machine *m, const struct acpi_config *cfg, uint64_t *rsdp);

/* q35's ACPI description for nr_cpus and BAR windows w (board_q35.c; unit tests). */
void q35_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus,
		     const struct pci_host_windows *w);

struct virtio_mmio_bus;

/* microvm's ACPI description for nr_cpus and bus's taken slots (board_microvm.c). */
void microvm_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus,
			 const struct virtio_mmio_bus *bus);

#endif
