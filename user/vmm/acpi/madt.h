/*
 * MADT (ACPI 6.x ch. 5.2.12): local APICs, the I/O APIC, ISA interrupt
 * source overrides and the LINT1 NMI of keel's PC machine.
 */
#ifndef KEEL_VMM_ACPI_MADT_H
#define KEEL_VMM_ACPI_MADT_H

#include "vmm/acpi/acpi.h"
#include "vmm/acpi/table.h"

#define MADT_REVISION		5
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_ENTRIES		44
#define MADT_PCAT_COMPAT	(1u << 0)

/* Interrupt controller structure types and lengths (table 5.45 ff.). */
#define MADT_TYPE_LAPIC		0
#define MADT_TYPE_IOAPIC	1
#define MADT_TYPE_ISO		2
#define MADT_TYPE_LAPIC_NMI	4
#define MADT_LAPIC_LEN		8
#define MADT_IOAPIC_LEN		12
#define MADT_ISO_LEN		10
#define MADT_LAPIC_NMI_LEN	6
#define MADT_LAPIC_ENABLED	(1u << 0)

/* MPS INTI flags (table 5.50). */
#define MADT_POLARITY_HIGH	0x1
#define MADT_POLARITY_LOW	0x3
#define MADT_TRIGGER_EDGE	(0x1 << 2)
#define MADT_TRIGGER_LEVEL	(0x3 << 2)

/* xAPIC IDs are 8 bits and 0xFF is the broadcast ID. */
#define MADT_MAX_CPUS		255

size_t acpi_madt_build(struct acpi_blob *b, const struct acpi_config *cfg);

#endif
