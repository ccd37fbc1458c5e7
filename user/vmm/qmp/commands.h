/*
 * The machine's QMP commands (Documentation/qmp.md "Commands"): run state,
 * reset, power button, quit and vCPU list, over a small ops table the machine fills.
 */
#ifndef KEEL_VMM_QMP_COMMANDS_H
#define KEEL_VMM_QMP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/qmp/qmp.h"

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
};

struct qmp_machine {
	const struct qmp_machine_ops *ops;
	void *opaque;
	struct qmp_server *srv;		/* for STOP / RESUME / POWERDOWN events */
};

/* The table to hand qmp_server_new() with a struct qmp_machine as opaque. */
extern const struct qmp_command qmp_machine_commands[];
extern const size_t qmp_machine_nr_commands;

#endif
