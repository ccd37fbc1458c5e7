/* Unit tests for user/devices/legacy/pvpanic.c: supported-events read, event writes, junk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/pvpanic.h"
#include "vmm/acpi/dsdt.h"

struct ctx {
	struct fake_machine fm;
	struct pvpanic *p;
	unsigned int calls;
	unsigned int last;
};

static void on_event(void *opaque, unsigned int events)
{
	struct ctx *c = opaque;

	c->calls++;
	c->last = events;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 0);
	c->p = pvpanic_new(&c->fm.ms, PC_PVPANIC_PORT, on_event, c);
	assert_non_null(c->p);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	pvpanic_free(c->p);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static void test_read_supported(void **state)
{
	struct ctx *c = *state;
	uint32_t v = 0xffffffff;

	assert_int_equal(PC_PVPANIC_PORT, 0x505);
	assert_int_equal(fake_inb(&c->fm, PC_PVPANIC_PORT), 0x03);
	/* A wider read sees the same byte, zero above it. */
	assert_int_equal(fake_pio_read(&c->fm, PC_PVPANIC_PORT, &v, 1), 0);
	assert_int_equal(v & 0xff, 0x03);
	assert_int_equal(c->calls, 0);
}

static void test_panicked(void **state)
{
	struct ctx *c = *state;

	fake_outb(&c->fm, PC_PVPANIC_PORT, PVPANIC_PANICKED);
	assert_int_equal(c->calls, 1);
	assert_int_equal(c->last, PVPANIC_PANICKED);
	fake_outb(&c->fm, PC_PVPANIC_PORT, PVPANIC_CRASH_LOADED);
	assert_int_equal(c->calls, 2);
	assert_int_equal(c->last, PVPANIC_CRASH_LOADED);
}

static void test_zero_and_junk(void **state)
{
	struct ctx *c = *state;

	/* Nothing to report: no event. */
	fake_outb(&c->fm, PC_PVPANIC_PORT, 0);
	assert_int_equal(c->calls, 0);
	/* Unknown bits only: logged, no event, the device goes on. */
	fake_outb(&c->fm, PC_PVPANIC_PORT, 0xfc);
	fake_outb(&c->fm, PC_PVPANIC_PORT, 0x80);
	assert_int_equal(c->calls, 0);
	/* Known bits among junk are still reported, stripped. */
	fake_outb(&c->fm, PC_PVPANIC_PORT, 0xf1);
	assert_int_equal(c->calls, 1);
	assert_int_equal(c->last, PVPANIC_PANICKED);
	assert_int_equal(fake_inb(&c->fm, PC_PVPANIC_PORT), 0x03);
}

static void test_wide_write(void **state)
{
	struct ctx *c = *state;
	uint16_t w = 0x0200;

	/* The register is one byte: a word write counts by its low byte only. */
	assert_int_equal(fake_pio_write(&c->fm, PC_PVPANIC_PORT, &w, 2), 0);
	assert_int_equal(c->calls, 0);
	w = 0x0302;
	assert_int_equal(fake_pio_write(&c->fm, PC_PVPANIC_PORT, &w, 2), 0);
	assert_int_equal(c->calls, 1);
	assert_int_equal(c->last, PVPANIC_CRASH_LOADED);
}

static void test_no_callback(void **state)
{
	struct fake_machine fm;
	struct pvpanic *p;

	fake_machine_init(&fm, 0);
	p = pvpanic_new(&fm.ms, 0x600, NULL, NULL);
	assert_non_null(p);
	fake_outb(&fm, 0x600, PVPANIC_PANICKED);
	pvpanic_free(p);
	fake_machine_fini(&fm);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

/* The DSDT names the device QEMU0001 with IO 0x505/1 so Linux's driver binds it. */
static void test_dsdt(void **state)
{
	struct acpi_config cfg = {
		.com1_port = PC_COM1_PORT, .com1_irq = PC_COM1_IRQ, .s5_slp_typ = 5,
	};
	/* String "QEMU0001"; IO decode16 min=max=0x505 align 1 len 1; _STA 0x0F. */
	static const uint8_t hid[] = { 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0 };
	static const uint8_t io[] = { 0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01 };
	static const uint8_t sta[] = { 0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f };
	struct aml a;

	aml_init(&a);
	assert_int_equal(acpi_dsdt_aml(&a, &cfg), 0);
	assert_null(find(a.buf, a.len, "QEMU0001", 8));
	aml_free(&a);

	cfg.pvpanic_port = PC_PVPANIC_PORT;
	aml_init(&a);
	assert_int_equal(acpi_dsdt_aml(&a, &cfg), 0);
	assert_non_null(find(a.buf, a.len, hid, sizeof(hid)));
	assert_non_null(find(a.buf, a.len, io, sizeof(io)));
	assert_non_null(find(a.buf, a.len, sta, sizeof(sta)));
	assert_non_null(find(a.buf, a.len, "PEVT", 4));
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_supported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_panicked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_and_junk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_write, setup, teardown),
		cmocka_unit_test(test_no_callback),
		cmocka_unit_test(test_dsdt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
