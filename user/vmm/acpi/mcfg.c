/*
 * MCFG (PCI Firmware Specification 3.0 ch. 4.1.2, table 4-3): base address,
 * segment 0, start and end bus of keel's ECAM window.
 */
#include "vmm/acpi/mcfg.h"

size_t acpi_mcfg_build(struct acpi_blob *b, const struct acpi_config *cfg)
{
	size_t t = acpi_table_begin(b, "MCFG", MCFG_REVISION);
	size_t e;

	acpi_blob_alloc(b, MCFG_ENTRIES - ACPI_HEADER_LEN, 1);	/* reserved */
	e = acpi_blob_alloc(b, MCFG_ENTRY_LEN, 1);
	acpi_put64(b, e, cfg->pci_ecam_base);
	acpi_put16(b, e + 8, 0);		/* PCI segment group */
	acpi_put8(b, e + 10, 0);		/* start bus */
	acpi_put8(b, e + 11, cfg->pci_bus_end);
	acpi_table_end(b, t);
	return t;
}
