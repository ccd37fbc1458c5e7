/* Unit tests for user/devices/legacy/i8042.c: commands, keyboard replies, IRQs, reset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "fake_machine.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"

#define DATA PC_I8042_DATA_PORT
#define CMD PC_I8042_CMD_PORT
#define KBD_IRQ PC_I8042_KBD_IRQ
#define AUX_IRQ PC_I8042_AUX_IRQ

struct ctx {
	struct fake_machine fm;
	struct i8042 *kbc;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 0);
	c->kbc = i8042_new(&c->fm.ms);
	assert_non_null(c->kbc);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	i8042_free(c->kbc);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static uint8_t status(struct ctx *c)
{
	return fake_inb(&c->fm, CMD);
}

/* Read one byte the way Linux does: only when OBF says there is one. */
static int read_byte(struct ctx *c)
{
	if (!(status(c) & 0x01))
		return -1;
	return fake_inb(&c->fm, DATA);
}

static void test_controller_tests(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(status(c) & 0x01, 0);
	assert_int_equal(read_byte(c), -1);
	fake_outb(&c->fm, CMD, 0xaa);
	assert_int_equal(status(c) & 0x0d, 0x0d);	/* OBF, SYS, last write = cmd */
	assert_int_equal(read_byte(c), 0x55);
	assert_int_equal(read_byte(c), -1);
	fake_outb(&c->fm, CMD, 0xab);
	assert_int_equal(read_byte(c), 0x00);
	fake_outb(&c->fm, CMD, 0xa9);
	assert_int_equal(read_byte(c), 0x00);
}

static void test_command_byte(void **state)
{
	struct ctx *c = *state;

	fake_outb(&c->fm, CMD, 0x20);
	assert_int_equal(read_byte(c), 0x45);
	fake_outb(&c->fm, CMD, 0x60);
	fake_outb(&c->fm, DATA, 0x74);
	assert_int_equal(status(c) & 0x08, 0);	/* last write went to data */
	fake_outb(&c->fm, CMD, 0x20);
	assert_int_equal(read_byte(c), 0x74);
	fake_outb(&c->fm, CMD, 0xae);		/* enable keyboard clears bit 4 */
	fake_outb(&c->fm, CMD, 0xa8);		/* enable aux clears bit 5 */
	fake_outb(&c->fm, CMD, 0x20);
	assert_int_equal(read_byte(c), 0x44);
	fake_outb(&c->fm, CMD, 0xad);
	fake_outb(&c->fm, CMD, 0xa7);
	fake_outb(&c->fm, CMD, 0x20);
	assert_int_equal(read_byte(c), 0x74);
	/* Other RAM bytes are plain storage. */
	fake_outb(&c->fm, CMD, 0x65);
	fake_outb(&c->fm, DATA, 0x99);
	fake_outb(&c->fm, CMD, 0x25);
	assert_int_equal(read_byte(c), 0x99);
}

static void expect_bytes(struct ctx *c, const uint8_t *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(read_byte(c), b[i]);
	assert_int_equal(read_byte(c), -1);
}

/* The sequence atkbd sends while probing, answered without delay. */
static void test_keyboard(void **state)
{
	struct ctx *c = *state;
	static const uint8_t getid[] = { 0xfa, 0xab, 0x83 };
	static const uint8_t resetr[] = { 0xfa, 0xaa };
	static const uint8_t ack[] = { 0xfa };
	static const uint8_t set[] = { 0xfa, 0x02 };

	fake_outb(&c->fm, DATA, 0xf2);
	expect_bytes(c, getid, 3);
	fake_outb(&c->fm, DATA, 0xff);
	expect_bytes(c, resetr, 2);
	fake_outb(&c->fm, DATA, 0xf5);
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0xed);		/* LEDs + argument */
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0x07);
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0xf3);		/* typematic + argument */
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0x00);
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0xf0);		/* scan code set query */
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0x00);
	expect_bytes(c, set, 2);
	fake_outb(&c->fm, DATA, 0xf4);
	expect_bytes(c, ack, 1);
	fake_outb(&c->fm, DATA, 0xee);
	assert_int_equal(read_byte(c), 0xee);
	fake_outb(&c->fm, DATA, 0x01);		/* not a command: resend */
	assert_int_equal(read_byte(c), 0xfe);
}

static void test_kbd_irq_edges(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	fake_outb(fm, DATA, 0xf2);
	assert_int_equal(fm->irq_level[KBD_IRQ], 1);
	assert_int_equal(fm->irq_raises[KBD_IRQ], 1);
	fake_inb(fm, DATA);
	/* Each following byte gets its own edge. */
	assert_int_equal(fm->irq_raises[KBD_IRQ], 2);
	fake_inb(fm, DATA);
	assert_int_equal(fm->irq_raises[KBD_IRQ], 3);
	fake_inb(fm, DATA);
	assert_int_equal(fm->irq_level[KBD_IRQ], 0);
	assert_int_equal(fm->irq_level[AUX_IRQ], 0);

	/* With KBDINT off in the command byte: no interrupt. */
	fake_outb(fm, CMD, 0x60);
	fake_outb(fm, DATA, 0x44);
	fake_outb(fm, DATA, 0xf4);
	assert_int_equal(fm->irq_level[KBD_IRQ], 0);
	assert_int_equal(status(c) & 0x01, 1);
	/* Turning it on with a byte waiting raises the line. */
	fake_outb(fm, CMD, 0x60);
	fake_outb(fm, DATA, 0x45);
	assert_int_equal(fm->irq_level[KBD_IRQ], 1);
}

/* No mouse: aux bytes answer 0xfe with the timeout bit, on IRQ 12. */
static void test_aux(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	fake_outb(fm, CMD, 0x60);
	fake_outb(fm, DATA, 0x47);		/* KBDINT | AUXINT */
	fake_outb(fm, CMD, 0xd4);
	fake_outb(fm, DATA, 0xf2);
	assert_int_equal(status(c) & 0x61, 0x61);	/* OBF | AUXDATA | TIMEOUT */
	assert_int_equal(fm->irq_level[AUX_IRQ], 1);
	assert_int_equal(fm->irq_level[KBD_IRQ], 0);
	assert_int_equal(fake_inb(fm, DATA), 0xfe);
	assert_int_equal(fm->irq_level[AUX_IRQ], 0);
	/* Linux's aux loop test: the byte comes back as aux data. */
	fake_outb(fm, CMD, 0xd3);
	fake_outb(fm, DATA, 0x5a);
	assert_int_equal(status(c) & 0x61, 0x21);
	assert_int_equal(fake_inb(fm, DATA), 0x5a);
	/* 0xd2: as if typed on the keyboard. */
	fake_outb(fm, CMD, 0xd2);
	fake_outb(fm, DATA, 0x1c);
	assert_int_equal(status(c) & 0x61, 0x01);
	assert_int_equal(fm->irq_level[KBD_IRQ], 1);
	assert_int_equal(fake_inb(fm, DATA), 0x1c);
}

static void test_reset_paths(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	unsigned int cmd;

	fake_outb(fm, CMD, 0xff);		/* bit 0 set: pulses nothing */
	assert_int_equal(fm->requests[MACHINE_RESET], 0);
	fake_outb(fm, CMD, 0xfe);
	assert_int_equal(fm->requests[MACHINE_RESET], 1);
	for (cmd = 0xf0; cmd < 0xfe; cmd++)
		fake_outb(fm, CMD, cmd);
	assert_int_equal(fm->requests[MACHINE_RESET], 8);
	/* Output port: read, write with reset high, write with reset low. */
	fake_outb(fm, CMD, 0xd0);
	assert_int_equal(read_byte(c), 0x03);
	fake_outb(fm, CMD, 0xd1);
	fake_outb(fm, DATA, 0xdf);
	assert_int_equal(fm->requests[MACHINE_RESET], 8);
	fake_outb(fm, CMD, 0xd1);
	fake_outb(fm, DATA, 0xde);
	assert_int_equal(fm->requests[MACHINE_RESET], 9);
	assert_int_equal(fm->requests[MACHINE_POWEROFF], 0);
}

static void test_nasty(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	uint32_t d = 0;
	int i, n = 0;

	/* Flood the output queue: bounded, no crash, oldest bytes kept. */
	for (i = 0; i < 40; i++)
		fake_outb(fm, DATA, 0xf2);
	while (read_byte(c) >= 0)
		n++;
	assert_int_equal(n, 16);
	/* Reading an empty buffer is harmless. */
	fake_inb(fm, DATA);
	/* Wide accesses use the low byte. */
	assert_int_equal(fake_pio_read(fm, CMD, &d, 4), 0);
	assert_int_equal(d & 0xffffff00, 0xffffff00);
	d = 0x1234aa;
	fake_pio_write(fm, CMD, &d, 4);
	assert_int_equal(read_byte(c), 0x55);
	/* Unknown commands and a command cut short by another are ignored. */
	fake_outb(fm, CMD, 0x01);
	fake_outb(fm, CMD, 0x60);
	fake_outb(fm, CMD, 0x20);
	assert_int_equal(read_byte(c), 0x45);
	assert_int_equal(fm->requests[MACHINE_RESET], 0);
	i8042_reset(c->kbc);
	assert_int_equal(status(c) & 0x05, 0x04);	/* empty, SYS as after POST */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_controller_tests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbd_irq_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nasty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
