/*
 * AML for ACPI PCI hotplug on bus 0 (see pcihp_aml.h): the register block as
 * an OperationRegion in \_SB.PCI0, a Device per slot, and the GPE 1 handler.
 * The handler is _E01, edge: OSPM clears the GPE status before running it,
 * so a plug that lands while it runs (after it read PCIU, which clears on
 * read) sets the status again and is handled by the next run.
 */
#include <stdio.h>

#include "devices/legacy/acpi_pcihp.h"
#include "vmm/acpi/pcihp_aml.h"

#define PCIHP_AML_PCI0		"\\_SB.PCI0"
#define PCIHP_AML_NOTIFY_CHECK	1	/* ACPI 6.5 table 5.166: device check */
#define PCIHP_AML_NOTIFY_EJECT	3	/* eject request */

static void pcihp_aml_slot_name(char *buf, size_t n, unsigned int slot)
{
	snprintf(buf, n, "S%02X", slot);
}

/* The four registers; names match acpi_pcihp.h (PCIU = UP, PCID = DOWN). */
static void pcihp_aml_region(struct aml *a, uint16_t port)
{
	aml_opregion(a, "PCHP", AML_SPACE_IO, port, ACPI_PCIHP_LEN);
	aml_field_begin(a, "PCHP", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_ZEROS);
	aml_field_unit(a, "PCIU", 32);
	aml_field_unit(a, "PCID", 32);
	aml_field_unit(a, "B0EJ", 32);
	aml_field_unit(a, "PRMV", 32);
	aml_end(a);
}

/*
 * Device (Sxx) { _ADR: the slot's function 0; _SUN: the slot number Linux
 * names the slot by; _EJ0 (Arg0: lock, unused): write the slot's bit to the
 * eject register; _RMV: the slot's bit of the removability register }.
 */
static void pcihp_aml_slot(struct aml *a, unsigned int slot)
{
	char name[8];

	pcihp_aml_slot_name(name, sizeof(name), slot);
	aml_device_begin(a, name);
	aml_name_decl(a, "_ADR");
	aml_int(a, (uint64_t)slot << 16);
	aml_name_decl(a, "_SUN");
	aml_int(a, slot);

	aml_method_begin(a, "_EJ0", 1, 0);
	aml_store(a);
	aml_int(a, 1ULL << slot);
	aml_name(a, "B0EJ");
	aml_end(a);

	aml_method_begin(a, "_RMV", 0, 0);
	aml_return(a);
	aml_and(a);
	aml_shift_right(a);
	aml_name(a, "PRMV");
	aml_int(a, slot);
	aml_null_name(a);
	aml_int(a, 1);
	aml_null_name(a);
	aml_end(a);
	aml_end(a);
}

/* If (And (Local<local>, bit)) { Notify (Sxx, value) } */
static void pcihp_aml_notify_if(struct aml *a, unsigned int local, unsigned int slot,
				unsigned int value)
{
	char name[8];

	pcihp_aml_slot_name(name, sizeof(name), slot);
	aml_if_begin(a);
	aml_and(a);
	aml_local(a, local);
	aml_int(a, 1ULL << slot);
	aml_null_name(a);
	aml_notify(a);
	aml_name(a, name);
	aml_int(a, value);
	aml_end(a);
}

/* PCNT: read each bitmap once (PCIU clears on read), notify every slot named. */
static void pcihp_aml_pcnt(struct aml *a, uint32_t slots)
{
	unsigned int slot;

	aml_method_begin(a, "PCNT", 0, 1);
	aml_store(a);
	aml_name(a, "PCIU");
	aml_local(a, 0);
	aml_store(a);
	aml_name(a, "PCID");
	aml_local(a, 1);
	for (slot = 0; slot < ACPI_PCIHP_SLOTS; slot++) {
		if (!(slots & (1u << slot)))
			continue;
		pcihp_aml_notify_if(a, 0, slot, PCIHP_AML_NOTIFY_CHECK);
		pcihp_aml_notify_if(a, 1, slot, PCIHP_AML_NOTIFY_EJECT);
	}
	aml_end(a);
}

void pcihp_aml_append(struct aml *a, uint16_t port, uint32_t slots)
{
	unsigned int slot;
	char gpe[8];

	slots &= ACPI_PCIHP_SLOT_MASK;
	aml_scope_begin(a, PCIHP_AML_PCI0);
	pcihp_aml_region(a, port);
	for (slot = 0; slot < ACPI_PCIHP_SLOTS; slot++)
		if (slots & (1u << slot))
			pcihp_aml_slot(a, slot);
	pcihp_aml_pcnt(a, slots);
	aml_end(a);

	snprintf(gpe, sizeof(gpe), "_E%02X", ACPI_PCIHP_GPE_BIT);
	aml_scope_begin(a, "\\_GPE");
	aml_method_begin(a, gpe, 0, 0);
	aml_name(a, PCIHP_AML_PCI0 ".PCNT");
	aml_end(a);
	aml_end(a);
}
