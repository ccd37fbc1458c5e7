/*
 * DSDT (ACPI 6.x ch. 5.2.11.1) of keel's PC machine: the legacy ISA devices
 * under \_SB, \_S5 and \_PIC.
 */
#ifndef KEEL_VMM_ACPI_DSDT_H
#define KEEL_VMM_ACPI_DSDT_H

#include "vmm/acpi/acpi.h"
#include "vmm/acpi/aml.h"
#include "vmm/acpi/table.h"

/* Revision 2: integers are 64 bits wide (ch. 19.6.97 DefinitionBlock). */
#define DSDT_REVISION		2

/* The DSDT body (AML after the header), for the table and for tests. */
int acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg);
size_t acpi_dsdt_build(struct acpi_blob *b, const struct acpi_config *cfg);

#endif
