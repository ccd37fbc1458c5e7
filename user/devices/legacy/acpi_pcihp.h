/*
 * ACPI PCI hotplug of the pc machine's root bus: the I/O register block that
 * Linux's acpiphp reaches through the DSDT (QEMU PIIX4 layout, docs/specs/
 * acpi_pci_hotplug.rst, root bus only) and its GPE; the AML side is
 * user/vmm/acpi/pcihp_aml.c. Events are ACPI Notify()s (ACPI 6.5 ch. 5.6.6):
 * 1 device check on a plug, 3 eject request on an unplug request; the guest
 * lets a device go by running its _EJ0 (ch. 6.3.3), which writes the eject
 * register.
 */
#ifndef KEEL_DEVICES_LEGACY_ACPI_PCIHP_H
#define KEEL_DEVICES_LEGACY_ACPI_PCIHP_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"

struct acpi_pm;
struct acpi_pcihp;

#define ACPI_PCIHP_PORT		0xae00	/* where QEMU's pc machines have it */
#define ACPI_PCIHP_LEN		0x10
/* 32-bit registers, bit N = slot N of bus 0; only 4-byte accesses count. */
#define ACPI_PCIHP_UP		0x00	/* R: slots plugged since the last read (clears) */
#define ACPI_PCIHP_DOWN		0x04	/* R: slots with an eject request pending */
#define ACPI_PCIHP_EJECT	0x08	/* W: the guest lets these slots go (reads 0) */
#define ACPI_PCIHP_RMV		0x0c	/* R: slots whose device may be removed */
#define ACPI_PCIHP_GPE_BIT	1	/* GPE0 status bit: \_GPE._E01 */
#define ACPI_PCIHP_SLOTS	32
/* Slot 0 is the host bridge: never a hotplug slot. */
#define ACPI_PCIHP_SLOT_MASK	0xfffffffeu

/*
 * The guest ejected slot after an unplug request: the machine removes the
 * device (device_unplug_done()). Called on the vCPU thread that wrote the
 * eject register, without acpi_pcihp's lock held.
 */
typedef void (*acpi_pcihp_eject_fn)(void *opaque, unsigned int slot);

/* Claims [port, port + ACPI_PCIHP_LEN); NULL (logged) on failure. pm raises the GPE. */
struct acpi_pcihp *acpi_pcihp_new(const struct machine_services *ms, uint16_t port,
				  struct acpi_pm *pm, acpi_pcihp_eject_fn eject_cb,
				  void *opaque);
void acpi_pcihp_free(struct acpi_pcihp *h);

/*
 * A device was realized in slot while the guest runs: set its up bit, mark
 * it removable and raise the GPE. 0, or -EINVAL for slot 0 or >= 32.
 */
int acpi_pcihp_plug(struct acpi_pcihp *h, unsigned int slot);
/*
 * device_del: set slot's down bit and raise the GPE; the guest answers with
 * an eject (eject_cb) or never. A repeated request raises the GPE again.
 * 0, or -EINVAL for slot 0 or >= 32.
 */
int acpi_pcihp_unplug_request(struct acpi_pcihp *h, unsigned int slot);
/* Whether slot's device may be removed (the RMV bit, the slot's _RMV). */
void acpi_pcihp_set_removable(struct acpi_pcihp *h, unsigned int slot, bool removable);

/*
 * Machine reset: the guest that could answer an eject request is gone, so
 * the up and down bits are forgotten. Returns the slots whose unplug request
 * was pending, for the machine to finish (the device is not in use any more).
 */
uint32_t acpi_pcihp_reset(struct acpi_pcihp *h);

#endif
