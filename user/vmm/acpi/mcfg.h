/*
 * MCFG (PCI Firmware Specification 3.0 ch. 4.1.2): the ECAM window of PCI
 * segment 0, one allocation entry for the buses keel decodes
 * (acpi_config.pci_bus_end).
 */
#ifndef KEEL_VMM_ACPI_MCFG_H
#define KEEL_VMM_ACPI_MCFG_H

#include "vmm/acpi/acpi.h"
#include "vmm/acpi/table.h"

#define MCFG_REVISION		1
#define MCFG_ENTRIES		44	/* after 8 reserved bytes */
#define MCFG_ENTRY_LEN		16

size_t acpi_mcfg_build(struct acpi_blob *b, const struct acpi_config *cfg);

#endif
