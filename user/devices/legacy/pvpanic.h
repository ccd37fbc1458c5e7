/*
 * pvpanic, ISA flavour (QEMU's docs/specs/pvpanic.txt, ACPI id QEMU0001): one
 * I/O port; a read returns the events supported, a write reports events.
 */
#ifndef KEEL_DEVICES_LEGACY_PVPANIC_H
#define KEEL_DEVICES_LEGACY_PVPANIC_H

#include "devices/machine.h"

#define PVPANIC_PANICKED	(1u << 0)	/* the guest kernel panicked */
#define PVPANIC_CRASH_LOADED	(1u << 1)	/* panicked, and a crash kernel takes over */
#define PVPANIC_EVENTS		(PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic;

/*
 * on_event gets the supported bits of each write (never 0); it runs on the
 * vCPU thread that wrote the port, so it must only hand the work over.
 */
struct pvpanic *pvpanic_new(const struct machine_services *ms, uint16_t port,
			    void (*on_event)(void *opaque, unsigned int events), void *opaque);
void pvpanic_free(struct pvpanic *p);

#endif
