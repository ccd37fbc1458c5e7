/*
 * Unit tests for the PCI parts of the DSDT (user/vmm/acpi/dsdt.c): _PRT under
 * PCI0 (ACPI 6.x ch. 6.2.13) with every slot and pin on the bus.h swizzle, and
 * the 64-bit window in PCI0's _CRS (QWordMemory), checked through `iasl -d`
 * and ACPICA's acpiexec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "acpi_iasl.h"
#include "devices/legacy/pc_io.h"
#include "devices/pci/bus.h"
#include "vmm/acpi/dsdt.h"

static struct acpi_config pci_config(uint64_t mem64_base, uint64_t mem64_size)
{
	return (struct acpi_config){
		.base = ACPI_TABLES_BASE,
		.nr_cpus = 1,
		.lapic_addr = 0xFEE00000,
		.ioapic_addr = 0xFEC00000,
		.sci_irq = PC_ACPI_SCI_IRQ,
		.pm1a_evt_port = PC_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PC_ACPI_PM1A_CNT,
		.pm_tmr_port = PC_ACPI_PM_TMR,
		.gpe0_port = PC_ACPI_GPE0,
		.gpe0_len = PC_ACPI_GPE0_LEN,
		.reset_port = PC_RESET_CTL_PORT,
		.reset_value = PC_RESET_VALUE,
		.s5_slp_typ = PC_ACPI_S5_SLP_TYP,
		.com1_port = PC_COM1_PORT,
		.com1_irq = PC_COM1_IRQ,
		.pci_ecam_base = 0xE0000000,
		.pci_mem32_base = 0xC0000000,
		.pci_mem32_size = 0x20000000,
		.pci_mem64_base = mem64_base,
		.pci_mem64_size = mem64_size,
	};
}

/* The DSDT alone, decompiled; the caller frees. */
static char *dsdt_dsl(struct acpi_iasl *ia, const struct acpi_config *cfg)
{
	struct acpi_blob b;
	size_t t;
	char *dsl;

	acpi_blob_init(&b, ACPI_TABLES_BASE, ACPI_TABLES_SIZE);
	t = acpi_dsdt_build(&b, cfg);
	assert_int_equal(acpi_blob_finish(&b), 0);
	dsl = acpi_iasl_decompile(ia, "dsdt", b.buf + t, b.len - t);
	acpi_blob_free(&b);
	assert_non_null(dsl);
	return dsl;
}

/* dsl without any white space, so entries match across iasl's line breaks. */
static char *squeeze(const char *dsl)
{
	char *out = malloc(strlen(dsl) + 1), *o = out;

	assert_non_null(out);
	for (; *dsl; dsl++)
		if (!isspace((unsigned char)*dsl))
			*o++ = *dsl;
	*o = 0;
	return out;
}

static const char *iasl_int(unsigned int v, char *buf, size_t len)
{
	if (v == 0)
		return "Zero";
	if (v == 1)
		return "One";
	snprintf(buf, len, "0x%02X", v);
	return buf;
}

static void test_prt_every_slot_and_pin(void **state)
{
	struct acpi_config cfg = pci_config(0, 0);
	struct acpi_iasl ia;
	char *dsl, *sq, want[160], a[16], b[16];
	unsigned int slot, pin;

	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = dsdt_dsl(&ia, &cfg);
	sq = squeeze(dsl);
	if (!strstr(sq, "Name(_PRT,Package(0x80)"))
		fail_msg("decompiled DSDT has no 128-entry _PRT:\n%s", dsl);
	for (slot = 0; slot < PCI_SLOTS; slot++) {
		for (pin = 0; pin < 4; pin++) {
			char addr[16];

			if (slot == 0)
				snprintf(addr, sizeof(addr), "0xFFFF");
			else
				snprintf(addr, sizeof(addr), "0x%04XFFFF", slot);
			snprintf(want, sizeof(want), "Package(0x04){%s,%s,Zero,0x%02X}", addr,
				 iasl_int(pin, a, sizeof(a)), PCI_INTX_GSI(slot, pin + 1));
			(void)b;
			if (!strstr(sq, want))
				fail_msg("_PRT lacks '%s' (slot %u pin %u):\n%s", want, slot, pin,
					 dsl);
		}
	}
	/* Without a 64-bit window there is no QWordMemory. */
	assert_null(strstr(dsl, "QWordMemory"));
	free(sq);
	free(dsl);
	acpi_iasl_close(&ia);
}

static void test_crs_64bit_window(void **state)
{
	struct acpi_config cfg = pci_config(0x400000000ULL, 0x800000000ULL);
	struct acpi_iasl ia;
	char *dsl, *sq;

	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = dsdt_dsl(&ia, &cfg);
	sq = squeeze(dsl);
	if (!strstr(sq, "QWordMemory(ResourceProducer") ||
	    !strstr(sq, "0x0000000400000000,//RangeMinimum") ||
	    !strstr(sq, "0x0000000BFFFFFFFF,//RangeMaximum") ||
	    !strstr(sq, "0x0000000800000000,//Length") ||
	    !strstr(sq, "DWordMemory(ResourceProducer"))
		fail_msg("PCI0 _CRS lacks the 64-bit window:\n%s", dsl);
	free(sq);
	free(dsl);
	acpi_iasl_close(&ia);
}

/* ACPICA, the interpreter Linux runs, evaluates _PRT and _CRS without complaint. */
static void test_acpiexec(void **state)
{
	struct acpi_config cfg = pci_config(0x400000000ULL, 0x800000000ULL);
	struct acpi_iasl ia;
	char cmd[600], path[160], *out;
	int rc;

	assert_int_equal(acpi_iasl_open(&ia), 0);
	free(dsdt_dsl(&ia, &cfg));
	snprintf(cmd, sizeof(cmd), "cd %s && acpiexec -b 'evaluate \\_SB.PCI0._PRT; "
		 "evaluate \\_SB.PCI0._CRS' dsdt.dat >run.log 2>&1", ia.dir);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/run.log", ia.dir);
	out = acpi_iasl_slurp(path);
	assert_non_null(out);
	if (rc != 0 || strstr(out, "AE_AML") || strstr(out, "AE_NOT_FOUND") ||
	    !strstr(out, "[Package] Contains 128 Elements") || !strstr(out, "[Buffer]"))
		fail_msg("acpiexec failed (%d):\n%s", rc, out);
	free(out);
	acpi_iasl_close(&ia);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prt_every_slot_and_pin),
		cmocka_unit_test(test_crs_64bit_window),
		cmocka_unit_test(test_acpiexec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
