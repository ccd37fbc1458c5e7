/*
 * The DSDT side of ACPI PCI hotplug on the pc machine's root bus
 * (devices/legacy/acpi_pcihp.h holds the register block): one Device per
 * hotplug slot under \_SB.PCI0 with _ADR, _SUN, _EJ0 and _RMV (ACPI 6.5
 * ch. 6.1.1, 6.1.12, 6.3.3, 6.3.6), and \_GPE._E01 (ch. 5.6.4.1) sending
 * Notify 1 (device check) / 3 (eject request) to them (ch. 5.6.6).
 */
#ifndef KEEL_VMM_ACPI_PCIHP_AML_H
#define KEEL_VMM_ACPI_PCIHP_AML_H

#include <stdint.h>

#include "vmm/acpi/aml.h"

/*
 * Append the hotplug AML to a DSDT body at its top level (outside any
 * Scope), once \_SB.PCI0 has been written. port is the register block's base
 * (ACPI_PCIHP_PORT); slots the bitmap of bus 0 slots that get a hotplug
 * Device (ACPI_PCIHP_SLOT_MASK for 1..31; slot 0 is always left out).
 * Errors stick in a (aml_finish() reports them).
 */
void pcihp_aml_append(struct aml *a, uint16_t port, uint32_t slots);

#endif
