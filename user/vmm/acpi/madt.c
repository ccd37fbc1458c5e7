/*
 * MADT (ACPI 6.x ch. 5.2.12): one enabled Processor Local APIC per vCPU
 * (UID = APIC ID = index), the I/O APIC at GSI 0, IRQ0 -> GSI2 and the SCI
 * as level/high, and LINT1 as NMI on every processor.
 */
#include "vmm/acpi/madt.h"

static void acpi_madt_lapic(struct acpi_blob *b, unsigned int id)
{
	size_t e = acpi_blob_alloc(b, MADT_LAPIC_LEN, 1);

	acpi_put8(b, e, MADT_TYPE_LAPIC);
	acpi_put8(b, e + 1, MADT_LAPIC_LEN);
	acpi_put8(b, e + 2, id);		/* ACPI processor UID */
	acpi_put8(b, e + 3, id);		/* APIC ID */
	acpi_put32(b, e + 4, MADT_LAPIC_ENABLED);
}

static void acpi_madt_ioapic(struct acpi_blob *b, const struct acpi_config *cfg)
{
	size_t e = acpi_blob_alloc(b, MADT_IOAPIC_LEN, 1);

	acpi_put8(b, e, MADT_TYPE_IOAPIC);
	acpi_put8(b, e + 1, MADT_IOAPIC_LEN);
	acpi_put8(b, e + 2, cfg->ioapic_id);
	acpi_put32(b, e + 4, cfg->ioapic_addr);
	acpi_put32(b, e + 8, 0);		/* GSI base */
}

static void acpi_madt_iso(struct acpi_blob *b, uint8_t irq, uint32_t gsi,
			  uint16_t flags)
{
	size_t e = acpi_blob_alloc(b, MADT_ISO_LEN, 1);

	acpi_put8(b, e, MADT_TYPE_ISO);
	acpi_put8(b, e + 1, MADT_ISO_LEN);
	acpi_put8(b, e + 2, 0);			/* bus: ISA */
	acpi_put8(b, e + 3, irq);
	acpi_put32(b, e + 4, gsi);
	acpi_put16(b, e + 8, flags);
}

static void acpi_madt_lapic_nmi(struct acpi_blob *b)
{
	size_t e = acpi_blob_alloc(b, MADT_LAPIC_NMI_LEN, 1);

	acpi_put8(b, e, MADT_TYPE_LAPIC_NMI);
	acpi_put8(b, e + 1, MADT_LAPIC_NMI_LEN);
	acpi_put8(b, e + 2, 0xFF);		/* all processors */
	acpi_put16(b, e + 3, MADT_POLARITY_HIGH | MADT_TRIGGER_EDGE);
	acpi_put8(b, e + 5, 1);			/* LINT1 */
}

size_t acpi_madt_build(struct acpi_blob *b, const struct acpi_config *cfg)
{
	size_t t = acpi_table_begin(b, "APIC", MADT_REVISION);
	unsigned int i;

	acpi_blob_alloc(b, MADT_ENTRIES - ACPI_HEADER_LEN, 1);
	acpi_put32(b, t + MADT_LAPIC_ADDR, cfg->lapic_addr);
	acpi_put32(b, t + MADT_FLAGS, MADT_PCAT_COMPAT);
	for (i = 0; i < cfg->nr_cpus; i++)
		acpi_madt_lapic(b, i);
	acpi_madt_ioapic(b, cfg);
	acpi_madt_iso(b, 0, 2, MADT_POLARITY_HIGH | MADT_TRIGGER_EDGE);
	acpi_madt_iso(b, cfg->sci_irq, cfg->sci_irq,
		      MADT_POLARITY_HIGH | MADT_TRIGGER_LEVEL);
	acpi_madt_lapic_nmi(b);
	acpi_table_end(b, t);
	return t;
}
