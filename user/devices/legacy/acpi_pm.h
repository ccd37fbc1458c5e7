/*
 * ACPI fixed hardware of keel's PC machine (ACPI 6.x ch. 4.8): PM1a event and
 * control blocks, the 3.579545 MHz PM timer, GPE0, the SCI, and the 0xCF9
 * reset control register. Writing SLP_TYP = S5 with SLP_EN powers off.
 */
#ifndef KEEL_DEVICES_LEGACY_ACPI_PM_H
#define KEEL_DEVICES_LEGACY_ACPI_PM_H

#include "devices/machine.h"

struct acpi_pm;

struct acpi_pm *acpi_pm_new(const struct machine_services *ms);
void acpi_pm_reset(struct acpi_pm *pm);
void acpi_pm_free(struct acpi_pm *pm);

/* Press the fixed power button: PWRBTN_STS, and an SCI if enabled. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* Raise a GPE0 status bit (for hotplug later), SCI if enabled. */
void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned int bit);

#endif
