/*
 * The machine's QMP commands (Documentation/qmp.md "Commands"): run state,
 * reset, power button, quit and vCPU list, over a small ops table the machine fills.
 */
#ifndef KEEL_VMM_QMP_COMMANDS_H
#define KEEL_VMM_QMP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/qmp/qmp.h"

/* One PCI function as query-pci reports it (a snapshot taken by the machine). */
struct qmp_pci_region {
	unsigned int bar;
	bool io, prefetch, mem64;
	uint64_t address, size;
};

/*
 * The tree is a flat list in depth-first order: a bridge comes before the
 * functions on its secondary bus, and each function names its bridge by index.
 */
struct qmp_pci_function {
	unsigned int bus, slot, function;	/* bus: the number the guest programmed */
	int parent;			/* index of the bridge above it; -1: the root bus */
	uint16_t vendor, device, subsystem_vendor, subsystem;
	bool has_subsystem;		/* a type 0 header (a bridge has no subsystem IDs) */
	uint32_t class_code;		/* base << 16 | sub << 8 | prog-if */
	uint8_t revision, irq_line, irq_pin;
	char name[64];			/* the device's id, else keel's name ("virtio-blk0") */
	unsigned int nr_regions;
	struct qmp_pci_region regions[6];
	/* A bridge (type 1 header): its bus numbers and windows, as programmed. */
	bool bridge;
	uint8_t primary, secondary, subordinate;
	uint64_t io_base, io_limit, mem_base, mem_limit, pref_base, pref_limit;
};

/* One guest disk as query-block reports it. */
struct qmp_block_disk {
	char device[64];		/* the device serving it ("virtio-blk0"), or "" */
	char node[64];			/* the block node's name */
	char file[256];
	char format[16];		/* "raw", "qcow2", ... */
	bool read_only;
	uint64_t virtual_size;
	const char *io_status;		/* "ok", "failed" (werror=stop hit) */
};

/* One disk served by an in-kernel backend, as query-vhost reports it. */
#define QMP_VHOST_MAX_QUEUES	16

struct qmp_vhost_queue {
	uint64_t requests, read_bytes, write_bytes, errors, inflight, queued;
	bool broken;
};

struct qmp_vhost_disk {
	char device[64];		/* "virtio-blk0" */
	char backend[32];		/* "/dev/vhost-blk" */
	unsigned int nr_queues;
	struct qmp_vhost_queue q[QMP_VHOST_MAX_QUEUES];
};

/* All called on the main loop's thread; ints are 0 or a negative errno. */
struct qmp_machine_ops {
	bool (*running)(void *opaque);
	int (*stop)(void *opaque);
	int (*cont)(void *opaque);
	int (*reset)(void *opaque);
	int (*powerdown)(void *opaque);
	/* Ask the machine to exit; the reply is sent before it does. */
	int (*quit)(void *opaque);
	unsigned int (*nr_cpus)(void *opaque);
	int (*cpu_thread_id)(void *opaque, unsigned int index);
	/* Optional: stopped by a guest panic (query-status "guest-panicked"). */
	bool (*panicked)(void *opaque);
	/* Optional: dump-guest-memory, an ELF core of the guest into path. */
	int (*dump)(void *opaque, const char *path);
	/*
	 * Optional: fill up to max functions of the PCI tree (out may be NULL
	 * with max 0); returns how many there are, which may be more than max.
	 */
	unsigned int (*pci_functions)(void *opaque, struct qmp_pci_function *out,
				      unsigned int max);
	/* Optional: fill up to max guest disks; returns how many (query-block). */
	unsigned int (*block_disks)(void *opaque, struct qmp_block_disk *out,
				    unsigned int max);
	/* Optional: fill up to max disks served by vhost; returns how many (query-vhost). */
	unsigned int (*vhost_disks)(void *opaque, struct qmp_vhost_disk *out,
				    unsigned int max);
};

struct qmp_devices;

struct qmp_machine {
	const struct qmp_machine_ops *ops;
	void *opaque;
	struct qmp_server *srv;		/* for STOP / RESUME / POWERDOWN events */
	struct qmp_devices *devices;	/* chardevs and serial ports (vmm/qmp/devices.h) */
};

/* The table to hand qmp_server_new() with a struct qmp_machine as opaque. */
extern const struct qmp_command qmp_machine_commands[];
extern const size_t qmp_machine_nr_commands;

#endif
