/* Unit tests for user/devices/legacy/acpi_pm.c: PM1, sleep types, PM timer, GPE0, SCI, 0xCF9. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fake_machine.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/pc_io.h"

#define STS PC_ACPI_PM1A_EVT
#define EN (PC_ACPI_PM1A_EVT + 2)
#define CNT PC_ACPI_PM1A_CNT
#define TMR PC_ACPI_PM_TMR
#define GPE_STS PC_ACPI_GPE0
#define GPE_EN (PC_ACPI_GPE0 + PC_ACPI_GPE0_LEN / 2)
#define SCI PC_ACPI_SCI_IRQ

struct ctx {
	struct fake_machine fm;
	struct acpi_pm *pm;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 0);
	c->pm = acpi_pm_new(&c->fm.ms);
	assert_non_null(c->pm);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	acpi_pm_free(c->pm);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static uint32_t in(struct ctx *c, uint16_t port, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_pio_read(&c->fm, port, &v, size), 0);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void out(struct ctx *c, uint16_t port, uint32_t v, unsigned int size)
{
	assert_int_equal(fake_pio_write(&c->fm, port, &v, size), 0);
}

static void test_sleep_types(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	unsigned int typ;

	assert_int_equal(in(c, CNT, 2) & 1, 1);	/* SCI_EN: always ACPI mode */
	out(c, CNT, 0, 2);
	assert_int_equal(in(c, CNT, 2) & 1, 1);
	/* S5 type without SLP_EN: nothing yet. */
	out(c, CNT, PC_ACPI_S5_SLP_TYP << 10, 2);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 0);
	assert_int_equal(in(c, CNT, 2), (PC_ACPI_S5_SLP_TYP << 10) | 1);
	/* Other sleep states are ignored. */
	for (typ = 0; typ < 8; typ++) {
		if (typ == PC_ACPI_S5_SLP_TYP)
			continue;
		out(c, CNT, (typ << 10) | 0x2000, 2);
	}
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 0);
	assert_int_equal(fm->requests[MACHINE_RESET], 0);
	assert_int_equal(in(c, CNT, 2) & 0x2000, 0);	/* SLP_EN reads 0 */
	/* S5 by a byte write of the high half, as some guests do. */
	out(c, CNT + 1, ((PC_ACPI_S5_SLP_TYP << 10) | 0x2000) >> 8, 1);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 1);
	/* And by the usual 16-bit write. */
	out(c, CNT, (PC_ACPI_S5_SLP_TYP << 10) | 0x2000 | 1, 2);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 2);
	/* A low-byte write never re-triggers from stored bits. */
	out(c, CNT, 0x01, 1);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 2);
	/* A 4-byte read of the 2-byte register: the rest is open bus. */
	assert_int_equal(in(c, CNT, 4) >> 16, 0xffff);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void test_pm_timer(void **state)
{
	struct ctx *c = *state;
	uint32_t a, b;
	uint64_t t0, t1, ticks, expect;

	t0 = now_ns();
	a = in(c, TMR, 4);
	usleep(20000);
	b = in(c, TMR, 4);
	t1 = now_ns();
	assert_int_equal(a >> 24, 0);
	assert_int_equal(b >> 24, 0);
	ticks = (b - a) & 0xffffff;
	expect = (t1 - t0) * 3579545ULL / 1000000000ULL;
	/* Never more than the elapsed time allows, and most of it. */
	assert_true(ticks <= expect + 2);
	assert_true(ticks >= 3579545ULL * 20 / 1000);
	/* Writes are ignored; byte reads give the same counter's bytes. */
	out(c, TMR, 0, 4);
	assert_true(((in(c, TMR, 4) - b) & 0xffffff) < 3579545);
	assert_int_equal(in(c, TMR + 3, 1), 0);
}

static void test_power_button_w1c(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	acpi_pm_power_button(c->pm);
	assert_int_equal(in(c, STS, 2) & 0x0100, 0x0100);
	assert_int_equal(fm->irq_level[SCI], 0);	/* not enabled yet */
	out(c, EN, 0x0100, 2);
	assert_int_equal(in(c, EN, 2), 0x0100);
	assert_int_equal(fm->irq_level[SCI], 1);
	out(c, STS, 0x0000, 2);			/* writing 0 clears nothing */
	assert_int_equal(in(c, STS, 2) & 0x0100, 0x0100);
	out(c, STS, 0xfeff, 2);			/* other bits: still set */
	assert_int_equal(in(c, STS, 2) & 0x0100, 0x0100);
	assert_int_equal(fm->irq_level[SCI], 1);
	out(c, STS, 0x0100, 2);
	assert_int_equal(in(c, STS, 2) & 0x0100, 0);
	assert_int_equal(fm->irq_level[SCI], 0);
	/* A 32-bit write clears status and sets enable in one go. */
	acpi_pm_power_button(c->pm);
	out(c, STS, 0x00000100, 4);
	assert_int_equal(in(c, STS, 2) & 0x0100, 0);
	assert_int_equal(in(c, EN, 2), 0);
	assert_int_equal(fm->irq_level[SCI], 0);
	/* Enable bits that do not exist stay 0. */
	out(c, EN, 0xffff, 2);
	assert_int_equal(in(c, EN, 2), 0x4721);
}

static void test_gpe(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	acpi_pm_gpe_raise(c->pm, 3);
	acpi_pm_gpe_raise(c->pm, 17);
	acpi_pm_gpe_raise(c->pm, 40);		/* out of range: ignored */
	assert_int_equal(in(c, GPE_STS, 4), (1u << 3) | (1u << 17));
	assert_int_equal(fm->irq_level[SCI], 0);
	out(c, GPE_EN + 2, 0x02, 1);		/* enable bit 17 */
	assert_int_equal(in(c, GPE_EN, 4), 1u << 17);
	assert_int_equal(fm->irq_level[SCI], 1);
	out(c, GPE_STS, 1u << 3, 4);		/* clear 3: 17 still holds SCI */
	assert_int_equal(fm->irq_level[SCI], 1);
	out(c, GPE_STS + 2, 0x02, 1);
	assert_int_equal(in(c, GPE_STS, 4), 0);
	assert_int_equal(fm->irq_level[SCI], 0);
	/* An 8-byte-wide look at the block: status then enable. */
	assert_int_equal(in(c, GPE_STS + 4, 4), 1u << 17);
	acpi_pm_reset(c->pm);
	assert_int_equal(in(c, GPE_EN, 4), 0);
}

static void test_reset_register(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	assert_int_equal(in(c, PC_RESET_CTL_PORT, 1), 0);
	out(c, PC_RESET_CTL_PORT, 0x02, 1);	/* Linux: first SYS_RST alone */
	assert_int_equal(fm->requests[MACHINE_RESET], 0);
	assert_int_equal(in(c, PC_RESET_CTL_PORT, 1), 0x02);
	out(c, PC_RESET_CTL_PORT, PC_RESET_VALUE, 1);
	assert_int_equal(fm->requests[MACHINE_RESET], 1);
	assert_int_equal(in(c, PC_RESET_CTL_PORT, 1), 0x02);
	out(c, PC_RESET_CTL_PORT, 0x0c, 1);	/* full reset, also bit 2 */
	assert_int_equal(fm->requests[MACHINE_RESET], 2);
	assert_int_equal(in(c, PC_RESET_CTL_PORT, 1), 0x08);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 0);
}

static void test_unaligned(void **state)
{
	struct ctx *c = *state;

	/* Byte and word accesses in the middle of registers. */
	out(c, EN + 1, 0x01, 1);		/* PWRBTN_EN via the high byte */
	assert_int_equal(in(c, EN, 2), 0x0100);
	assert_int_equal(in(c, STS + 3, 1), 0x01);
	assert_int_equal(in(c, STS + 2, 4) & 0xffff, 0x0100);	/* runs past the end */
	assert_int_equal(in(c, STS + 2, 4) >> 16, 0xffff);
	out(c, STS + 3, 0xffffffff, 4);		/* runs past the end: no crash */
	assert_int_equal(in(c, EN, 2), 0x4700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sleep_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button_w1c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unaligned, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
