/*
 * Unit tests for user/devices/legacy/acpi_pcihp.c (the hotplug register
 * block on the fake machine: GPE and SCI, the bitmaps, ejects, hostile
 * accesses) and user/vmm/acpi/pcihp_aml.c (the keel DSDT with the hotplug
 * AML appended, decompiled and compiled back by iasl, run by acpiexec).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_iasl.h"
#include "fake_machine.h"
#include "devices/legacy/acpi_pcihp.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/pc_io.h"
#include "vmm/acpi/dsdt.h"
#include "vmm/acpi/pcihp_aml.h"

#define HP		ACPI_PCIHP_PORT
#define GPE_STS		PC_ACPI_GPE0
#define GPE_EN		(PC_ACPI_GPE0 + PC_ACPI_GPE0_LEN / 2)
#define GPE_HP		(1u << ACPI_PCIHP_GPE_BIT)
#define SCI		PC_ACPI_SCI_IRQ

struct ctx {
	struct fake_machine fm;
	struct acpi_pm *pm;
	struct acpi_pcihp *hp;
	unsigned int ejects[ACPI_PCIHP_SLOTS];
	unsigned int nr_ejects;
};

static void on_eject(void *opaque, unsigned int slot)
{
	struct ctx *c = opaque;

	assert_true(slot < ACPI_PCIHP_SLOTS);
	c->ejects[slot]++;
	c->nr_ejects++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 0);
	c->pm = acpi_pm_new(&c->fm.ms);
	assert_non_null(c->pm);
	c->hp = acpi_pcihp_new(&c->fm.ms, HP, c->pm, on_eject, c);
	assert_non_null(c->hp);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	acpi_pcihp_free(c->hp);
	acpi_pm_free(c->pm);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static uint32_t in32(struct ctx *c, uint16_t port)
{
	uint32_t v = 0;

	assert_int_equal(fake_pio_read(&c->fm, port, &v, 4), 0);
	return v;
}

static void out32(struct ctx *c, uint16_t port, uint32_t v)
{
	assert_int_equal(fake_pio_write(&c->fm, port, &v, 4), 0);
}

static void test_plug_raises_gpe(void **state)
{
	struct ctx *c = *state;

	fake_outb(&c->fm, GPE_EN, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 0);
	assert_int_equal(acpi_pcihp_plug(c->hp, 5), 0);
	assert_int_equal(fake_inb(&c->fm, GPE_STS) & GPE_HP, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 1);

	/* the guest's _E01: PCIU once (it clears), PCID, RMV */
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 1u << 5);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 1u << 5);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_EJECT), 0);
	fake_outb(&c->fm, GPE_STS, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 0);

	/* two plugs before the guest looks: one bitmap */
	assert_int_equal(acpi_pcihp_plug(c->hp, 1), 0);
	assert_int_equal(acpi_pcihp_plug(c->hp, 31), 0);
	assert_int_equal(c->fm.irq_level[SCI], 1);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 1u << 1 | 1u << 31);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 1u << 1 | 1u << 5 | 1u << 31);
}

static void test_gpe_disabled(void **state)
{
	struct ctx *c = *state;

	/* before the OS enabled GPE 1 the event waits in the status bit */
	assert_int_equal(acpi_pcihp_plug(c->hp, 3), 0);
	assert_int_equal(fake_inb(&c->fm, GPE_STS) & GPE_HP, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 0);
	fake_outb(&c->fm, GPE_EN, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 1);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 1u << 3);
}

static void test_bad_slots(void **state)
{
	struct ctx *c = *state;

	fake_outb(&c->fm, GPE_EN, GPE_HP);
	assert_int_equal(acpi_pcihp_plug(c->hp, 0), -EINVAL);
	assert_int_equal(acpi_pcihp_plug(c->hp, 32), -EINVAL);
	assert_int_equal(acpi_pcihp_plug(c->hp, ~0u), -EINVAL);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 0), -EINVAL);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 40), -EINVAL);
	acpi_pcihp_set_removable(c->hp, 0, true);
	acpi_pcihp_set_removable(c->hp, 99, true);
	assert_int_equal(c->fm.irq_level[SCI], 0);
	assert_int_equal(fake_inb(&c->fm, GPE_STS), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 0);
	assert_null(acpi_pcihp_new(&c->fm.ms, HP, NULL, on_eject, c));
}

static void test_unplug_eject(void **state)
{
	struct ctx *c = *state;

	acpi_pcihp_set_removable(c->hp, 7, true);
	fake_outb(&c->fm, GPE_EN, GPE_HP);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 7), 0);
	assert_int_equal(c->fm.irq_level[SCI], 1);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 0);
	/* PCI_DOWN stays set until the eject: every _E01 sees it */
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 1u << 7);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 1u << 7);
	assert_int_equal(c->nr_ejects, 0);

	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 7);
	assert_int_equal(c->nr_ejects, 1);
	assert_int_equal(c->ejects[7], 1);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 0);
	/* a second _EJ0 for the same slot: nothing more */
	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 7);
	assert_int_equal(c->nr_ejects, 1);

	/* a repeated request raises the GPE again */
	fake_outb(&c->fm, GPE_STS, GPE_HP);
	assert_int_equal(c->fm.irq_level[SCI], 0);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 9), 0);
	fake_outb(&c->fm, GPE_STS, GPE_HP);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 9), 0);
	assert_int_equal(c->fm.irq_level[SCI], 1);
	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 9);
	assert_int_equal(c->ejects[9], 1);
	assert_int_equal(c->nr_ejects, 2);
}

static void test_unrequested_eject(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(acpi_pcihp_plug(c->hp, 4), 0);
	out32(c, HP + ACPI_PCIHP_EJECT, 0xffffffff);
	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 4);
	assert_int_equal(c->nr_ejects, 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 1u << 4);

	/* all bits at once: only the requested slots go, once each */
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 3), 0);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 4), 0);
	out32(c, HP + ACPI_PCIHP_EJECT, 0xffffffff);
	out32(c, HP + ACPI_PCIHP_EJECT, 0xffffffff);
	assert_int_equal(c->nr_ejects, 2);
	assert_int_equal(c->ejects[3], 1);
	assert_int_equal(c->ejects[4], 1);
}

static void test_hostile_access(void **state)
{
	struct ctx *c = *state;
	uint64_t q = ~0ULL;
	uint32_t v = 1u << 6;
	uint16_t w = 1u << 6;
	unsigned int off;
	uint8_t b[8];

	assert_int_equal(acpi_pcihp_plug(c->hp, 6), 0);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 6), 0);
	/* narrow, wide and misaligned writes of the eject bit do nothing */
	fake_outb(&c->fm, HP + ACPI_PCIHP_EJECT, 1u << 6);
	assert_int_equal(fake_pio_write(&c->fm, HP + ACPI_PCIHP_EJECT, &w, 2), 0);
	assert_int_equal(fake_pio_write(&c->fm, HP + ACPI_PCIHP_EJECT, &q, 8), 0);
	assert_int_equal(fake_pio_write(&c->fm, HP + ACPI_PCIHP_EJECT + 1, &v, 4), 0);
	assert_int_equal(fake_pio_write(&c->fm, HP + ACPI_PCIHP_LEN - 1, &v, 4), 0);
	/* writes to the read-only registers do nothing */
	out32(c, HP + ACPI_PCIHP_UP, 0);
	out32(c, HP + ACPI_PCIHP_DOWN, 0);
	out32(c, HP + ACPI_PCIHP_RMV, 0);
	assert_int_equal(c->nr_ejects, 0);

	/* narrow or misaligned reads are all ones and do not clear PCIU */
	for (off = 0; off < ACPI_PCIHP_LEN; off++) {
		memset(b, 0, sizeof(b));
		assert_int_equal(fake_pio_read(&c->fm, HP + off, b, 1), 0);
		assert_int_equal(b[0], 0xff);
		assert_int_equal(fake_pio_read(&c->fm, HP + off, b, 2), 0);
		assert_int_equal(b[1], 0xff);
		assert_int_equal(fake_pio_read(&c->fm, HP + off, b, 8), 0);
		assert_int_equal(b[7], 0xff);
	}
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 1u << 6);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 1u << 6);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 1u << 6);
	/* still answers properly afterwards */
	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 6);
	assert_int_equal(c->ejects[6], 1);
	assert_int_equal(c->nr_ejects, 1);
}

static void test_reset(void **state)
{
	struct ctx *c = *state;

	acpi_pcihp_set_removable(c->hp, 2, true);
	assert_int_equal(acpi_pcihp_plug(c->hp, 8), 0);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 2), 0);
	assert_int_equal(acpi_pcihp_unplug_request(c->hp, 10), 0);
	assert_int_equal(acpi_pcihp_reset(c->hp), 1u << 2 | 1u << 10);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_UP), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_DOWN), 0);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 1u << 8);
	/* the old request does not survive: a late eject is ignored */
	out32(c, HP + ACPI_PCIHP_EJECT, 1u << 2);
	assert_int_equal(c->nr_ejects, 0);
	assert_int_equal(acpi_pcihp_reset(c->hp), 0);
	acpi_pcihp_set_removable(c->hp, 8, false);
	assert_int_equal(in32(c, HP + ACPI_PCIHP_RMV), 0);
}

/* ---- AML */

static const char *const pcihp_must[] = {
	"Scope (\\_SB.PCI0)",
	"OperationRegion (PCHP, SystemIO, 0xAE00, 0x10)",
	"Field (PCHP, DWordAcc, NoLock, WriteAsZeros)",
	"PCIU,   32,", "PCID,   32,", "B0EJ,   32,", "PRMV,   32",
	"Device (S01)", "Name (_ADR, 0x00010000)", "Name (_SUN, One)",
	"Device (S1F)", "Name (_ADR, 0x001F0000)", "Name (_SUN, 0x1F)",
	"Method (_EJ0, 1, NotSerialized)", "B0EJ = 0x80000000",
	"Method (_RMV, 0, NotSerialized)", "Return (((PRMV >> 0x1F) & One))",
	"Method (PCNT, 0, Serialized)", "Local0 = PCIU", "Local1 = PCID",
	"If ((Local0 & 0x02))", "Notify (S01, One)",
	"If ((Local1 & 0x80000000))", "Notify (S1F, 0x03)",
	"Scope (\\_GPE)", "Method (_E01, 0, NotSerialized)", "\\_SB.PCI0.PCNT ()",
};

static struct acpi_config pcihp_config(void)
{
	return (struct acpi_config){
		.com1_port = PC_COM1_PORT,
		.com1_irq = PC_COM1_IRQ,
		.s5_slp_typ = PC_ACPI_S5_SLP_TYP,
		.pci_ecam_base = 0xE0000000,
		.pci_mem32_base = 0xC0000000,
		.pci_mem32_size = 0x20000000,
	};
}

/* keel's DSDT with the hotplug AML where dsdt.c is to call it; a blob table. */
static size_t build_dsdt(struct acpi_blob *b, uint32_t slots)
{
	struct acpi_config cfg = pcihp_config();
	struct aml a;
	size_t t;

	aml_init(&a);
	assert_int_equal(acpi_dsdt_aml(&a, &cfg), 0);
	pcihp_aml_append(&a, ACPI_PCIHP_PORT, slots);
	assert_int_equal(aml_finish(&a), 0);
	acpi_blob_init(b, 0x1000, 0x20000);
	t = acpi_table_begin(b, "DSDT", DSDT_REVISION);
	acpi_blob_append(b, a.buf, a.len);
	acpi_table_end(b, t);
	assert_int_equal(acpi_blob_finish(b), 0);
	aml_free(&a);
	return t;
}

static char *run_in(struct acpi_iasl *ia, const char *cmd, int *rc)
{
	char line[800], path[160];

	snprintf(line, sizeof(line), "cd %s && %s >run.log 2>&1", ia->dir, cmd);
	*rc = system(line);
	snprintf(path, sizeof(path), "%s/run.log", ia->dir);
	return acpi_iasl_slurp(path);
}

static void test_aml_iasl(void **state)
{
	struct acpi_iasl ia;
	struct acpi_blob b;
	char *dsl, *out;
	size_t t, i;
	int rc;

	t = build_dsdt(&b, ACPI_PCIHP_SLOT_MASK);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = acpi_iasl_decompile(&ia, "dsdt", b.buf + t, b.len - t);
	assert_non_null(dsl);
	for (i = 0; i < sizeof(pcihp_must) / sizeof(pcihp_must[0]); i++)
		if (!strstr(dsl, pcihp_must[i]))
			fail_msg("decompiled DSDT lacks '%s':\n%s", pcihp_must[i], dsl);
	assert_null(strstr(dsl, "Device (S00)"));
	free(dsl);
	assert_int_equal(acpi_iasl_recompile(&ia, "dsdt", NULL, 0, 0), 0);

	/* ACPICA runs the methods: the GPE handler, a slot's _EJ0 and _RMV */
	out = run_in(&ia, "acpiexec -b 'evaluate \\_GPE._E01; evaluate \\_SB.PCI0.S05._EJ0 0; "
		     "evaluate \\_SB.PCI0.S05._RMV; evaluate \\_SB.PCI0.S1F._SUN' dsdt.dat",
		     &rc);
	assert_non_null(out);
	if (rc != 0 || strstr(out, "Exception") || strstr(out, "AE_") ||
	    !strstr(out, "[Integer] = 000000000000001F"))
		fail_msg("acpiexec failed (%d):\n%s", rc, out);
	free(out);
	acpi_iasl_close(&ia);
	acpi_blob_free(&b);
}

/* Only the slots asked for get a Device (and a Notify). */
static void test_aml_some_slots(void **state)
{
	struct acpi_iasl ia;
	struct acpi_blob b;
	size_t t;
	char *dsl;

	t = build_dsdt(&b, 1u << 0 | 1u << 3 | 1u << 4);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = acpi_iasl_decompile(&ia, "dsdt", b.buf + t, b.len - t);
	assert_non_null(dsl);
	assert_non_null(strstr(dsl, "Device (S03)"));
	assert_non_null(strstr(dsl, "Notify (S04, 0x03)"));
	assert_null(strstr(dsl, "Device (S00)"));
	assert_null(strstr(dsl, "Device (S01)"));
	assert_null(strstr(dsl, "S05"));
	free(dsl);
	assert_int_equal(acpi_iasl_recompile(&ia, "dsdt", NULL, 0, 0), 0);
	acpi_iasl_close(&ia);
	acpi_blob_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plug_raises_gpe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpe_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrequested_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test(test_aml_iasl),
		cmocka_unit_test(test_aml_some_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
