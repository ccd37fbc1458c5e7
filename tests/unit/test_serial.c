/* Unit tests for user/devices/legacy/serial.c: 16550A registers, FIFOs, IIR, edges, input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_machine.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/serial.h"
#include "lib/chardev.h"
#include "lib/loop.h"

#define COM1 PC_COM1_PORT
#define RBR (COM1 + 0)
#define THR (COM1 + 0)
#define DLL (COM1 + 0)
#define IER (COM1 + 1)
#define DLM (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)
#define IRQ PC_COM1_IRQ

struct ctx {
	struct fake_machine fm;
	struct chardev *cd;
	struct serial *s;
	char path[64];
	pthread_t loop_thread;
	bool loop_running;
};

static int setup_file(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char spec[80];

	fake_machine_init(&c->fm, 0);
	snprintf(c->path, sizeof(c->path), "/tmp/keel-test-serial-%d", getpid());
	snprintf(spec, sizeof(spec), "file:%s", c->path);
	c->cd = chardev_open(spec, c->fm.ms.loop);
	assert_non_null(c->cd);
	c->s = serial_new(&c->fm.ms, "ttyS0", COM1, IRQ, c->cd);
	assert_non_null(c->s);
	*state = c;
	return 0;
}

static void *loop_main(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->loop_running) {
		loop_stop(c->fm.ms.loop, 0);
		pthread_join(c->loop_thread, NULL);
	}
	serial_free(c->s);
	chardev_close(c->cd);
	unlink(c->path);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static size_t file_read(struct ctx *c, char *buf, size_t len)
{
	int fd = open(c->path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len);
	close(fd);
	assert_true(n >= 0);
	return n;
}

/* What Linux's 8250 autoconfig checks before it says "is a 16550A". */
static void test_linux_probe(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	fake_outb(fm, SCR, 0xa5);
	assert_int_equal(fake_inb(fm, SCR), 0xa5);
	fake_outb(fm, IER, 0);
	assert_int_equal(fake_inb(fm, IER) & 0x0f, 0);
	fake_outb(fm, IER, 0xff);		/* upper bits do not exist */
	assert_int_equal(fake_inb(fm, IER), 0x0f);
	fake_outb(fm, IER, 0);
	/* Loopback presence check: MCR = LOOP | RTS | OUT2 -> CTS | DCD. */
	fake_outb(fm, MCR, 0x1a);
	assert_int_equal(fake_inb(fm, MSR) & 0xf0, 0x90);
	fake_outb(fm, MCR, 0x00);
	assert_int_equal(fake_inb(fm, MSR) & 0xf0, 0xb0);
	assert_int_equal(fake_inb(fm, IIR), 0x01);
	fake_outb(fm, FCR, 0x01);
	assert_int_equal(fake_inb(fm, IIR), 0xc1);	/* FIFOs on: 16550A */
	/* 16750 check: the 64-byte bit never shows up. */
	fake_outb(fm, LCR, 0x80);
	fake_outb(fm, FCR, 0x21);
	assert_int_equal(fake_inb(fm, IIR) & 0x20, 0);
	fake_outb(fm, LCR, 0xbf);		/* EFR probe reads IIR: not zero */
	assert_int_not_equal(fake_inb(fm, IIR), 0);
	fake_outb(fm, LCR, 0x03);
	assert_int_equal(fake_inb(fm, LSR), 0x60);
	assert_int_equal(c->fm.irq_level[IRQ], 0);
}

static void test_dlab(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	char buf[8];

	fake_outb(fm, IER, 0x05);
	fake_outb(fm, LCR, 0x83);
	fake_outb(fm, DLL, 0x01);
	fake_outb(fm, DLM, 0x02);
	assert_int_equal(fake_inb(fm, DLL), 0x01);
	assert_int_equal(fake_inb(fm, DLM), 0x02);
	assert_int_equal(fake_inb(fm, LCR), 0x83);
	fake_outb(fm, LCR, 0x03);
	/* The latch did not clobber IER nor transmit anything. */
	assert_int_equal(fake_inb(fm, IER), 0x05);
	assert_int_equal(file_read(c, buf, sizeof(buf)), 0);
	fake_outb(fm, LCR, 0x80);
	assert_int_equal(fake_inb(fm, DLL), 0x01);
}

static void test_output(void **state)
{
	struct ctx *c = *state;
	const char *msg = "Linux version 6.1\r\n";
	char buf[64];
	size_t i;

	for (i = 0; i < strlen(msg); i++)
		fake_outb(&c->fm, THR, msg[i]);
	assert_int_equal(file_read(c, buf, sizeof(buf)), strlen(msg));
	assert_memory_equal(buf, msg, strlen(msg));
	assert_int_equal(fake_inb(&c->fm, LSR) & 0x60, 0x60);
}

/* Every THR-empty condition the driver has not acknowledged gives an edge. */
static void test_thre_edges(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	int raises, i;

	fake_outb(fm, FCR, 0x07);
	fake_outb(fm, MCR, 0x0b);
	fake_outb(fm, IER, 0x02);		/* enabling THRI with THR empty */
	assert_int_equal(fm->irq_level[IRQ], 1);
	assert_int_equal(fm->irq_raises[IRQ], 1);
	assert_int_equal(fake_inb(fm, IIR), 0xc2);
	assert_int_equal(fm->irq_level[IRQ], 0);	/* IIR read acknowledged it */
	assert_int_equal(fake_inb(fm, IIR), 0xc1);

	/* Interrupt handler: refill the FIFO, each byte leaves at once. */
	raises = fm->irq_raises[IRQ];
	for (i = 0; i < 16; i++)
		fake_outb(fm, THR, 'a' + i);
	assert_int_equal(fm->irq_level[IRQ], 1);
	assert_int_equal(fm->irq_raises[IRQ], raises + 16);
	assert_int_equal(fake_inb(fm, IIR), 0xc2);

	/* Linux's start_tx: THRI off, then on again -> a new interrupt. */
	fake_outb(fm, IER, 0x00);
	assert_int_equal(fm->irq_level[IRQ], 0);
	raises = fm->irq_raises[IRQ];
	fake_outb(fm, IER, 0x02);
	assert_int_equal(fm->irq_raises[IRQ], raises + 1);
	/* Rewriting IER with THRI still on is not a new condition. */
	assert_int_equal(fake_inb(fm, IIR), 0xc2);
	fake_outb(fm, IER, 0x02);
	assert_int_equal(fm->irq_raises[IRQ], raises + 1);
	assert_int_equal(fm->irq_level[IRQ], 0);
}

/* A new condition while the line is already high still makes an edge. */
static void test_new_condition_while_high(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	int raises;

	fake_outb(fm, FCR, 0x01);
	fake_outb(fm, MCR, 0x10);		/* loopback */
	fake_outb(fm, IER, 0x01);		/* RX data only */
	fake_outb(fm, THR, 'x');
	assert_int_equal(fm->irq_level[IRQ], 1);
	raises = fm->irq_raises[IRQ];
	fake_outb(fm, IER, 0x03);		/* THRI on while RX holds the line */
	assert_int_equal(fm->irq_level[IRQ], 1);
	assert_int_equal(fm->irq_raises[IRQ], raises + 1);
	assert_int_equal(fake_inb(fm, IIR), 0xc4);	/* RX first */
	assert_int_equal(fake_inb(fm, RBR), 'x');
	assert_int_equal(fake_inb(fm, IIR), 0xc2);
	assert_int_equal(fake_inb(fm, IIR), 0xc1);
	assert_int_equal(fm->irq_level[IRQ], 0);
}

static void test_loopback_fifo_overrun(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	char buf[8];
	int i;

	fake_outb(fm, FCR, 0xc1);		/* FIFO on, trigger 14 */
	fake_outb(fm, MCR, 0x10);
	for (i = 0; i < 17; i++)
		fake_outb(fm, THR, i);
	assert_int_equal(fake_inb(fm, LSR), 0x63);	/* DR | OE | THRE | TEMT */
	assert_int_equal(fake_inb(fm, LSR), 0x61);	/* OE cleared by reading */
	for (i = 0; i < 16; i++)
		assert_int_equal(fake_inb(fm, RBR), i);
	assert_int_equal(fake_inb(fm, LSR), 0x60);
	assert_int_equal(fake_inb(fm, RBR), 0);	/* empty FIFO reads 0 */
	assert_int_equal(file_read(c, buf, sizeof(buf)), 0);

	/* FIFO off: a one-byte holding register. */
	fake_outb(fm, FCR, 0x00);
	fake_outb(fm, THR, 'a');
	fake_outb(fm, THR, 'b');
	assert_int_equal(fake_inb(fm, LSR), 0x63);
	assert_int_equal(fake_inb(fm, RBR), 'a');
	assert_int_equal(fake_inb(fm, IIR), 0x01);	/* no FIFO bits */
}

static void test_iir_priority(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	int i;

	fake_outb(fm, FCR, 0x41);		/* trigger level 4 */
	fake_outb(fm, MCR, 0x10);
	for (i = 0; i < 17; i++)
		fake_outb(fm, THR, i);
	fake_outb(fm, IER, 0x0f);
	assert_int_equal(fake_inb(fm, IIR), 0xc6);	/* line status first */
	fake_inb(fm, LSR);
	assert_int_equal(fake_inb(fm, IIR), 0xc4);	/* at/above trigger */
	for (i = 0; i < 13; i++)
		fake_inb(fm, RBR);
	assert_int_equal(fake_inb(fm, IIR), 0xcc);	/* below: timeout */
	for (i = 0; i < 3; i++)
		fake_inb(fm, RBR);
	assert_int_equal(fake_inb(fm, IIR), 0xc2);
	/* Leaving loopback changes the modem inputs: modem status last. */
	fake_outb(fm, MCR, 0x00);
	assert_int_equal(fake_inb(fm, IIR), 0xc0);
	assert_int_equal(fake_inb(fm, MSR), 0xbb);	/* CTS DSR DCD + deltas */
	assert_int_equal(fake_inb(fm, IIR), 0xc1);
	assert_int_equal(fm->irq_level[IRQ], 0);
}

static void test_fcr_clear_and_readonly(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	fake_outb(fm, FCR, 0x01);
	fake_outb(fm, MCR, 0x10);
	fake_outb(fm, THR, 1);
	fake_outb(fm, THR, 2);
	fake_outb(fm, FCR, 0x03);		/* clear RX */
	assert_int_equal(fake_inb(fm, LSR) & 0x01, 0);
	fake_outb(fm, LSR, 0xff);		/* read-only */
	fake_outb(fm, MSR, 0xff);
	assert_int_equal(fake_inb(fm, LSR), 0x60);
	assert_int_equal(fake_inb(fm, MSR) & 0xf0, 0x00);	/* loopback, MCR 0x10 */
	assert_int_equal(fake_inb(fm, MCR), 0x10);
	fake_outb(fm, MCR, 0xff);
	assert_int_equal(fake_inb(fm, MCR), 0x1f);
}

static void test_wide_access(void **state)
{
	struct ctx *c = *state;
	uint16_t w = 0x0241;	/* THR = 'A', IER = 0x02 */
	uint32_t d;
	char buf[4];

	assert_int_equal(fake_pio_write(&c->fm, THR, &w, 2), 0);
	assert_int_equal(file_read(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'A');
	assert_int_equal(fake_inb(&c->fm, IER), 0x02);
	/* Four bytes at SCR: only the first is a register. */
	fake_outb(&c->fm, SCR, 0x5a);
	assert_int_equal(fake_pio_read(&c->fm, SCR, &d, 4), 0);
	assert_int_equal(d, 0xffffff5a);
	d = 0x11223344;
	assert_int_equal(fake_pio_write(&c->fm, SCR, &d, 4), 0);
	assert_int_equal(fake_inb(&c->fm, SCR), 0x44);
}

static void test_reset(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;

	fake_outb(fm, IER, 0x02);
	assert_int_equal(fm->irq_level[IRQ], 1);
	serial_reset(c->s);
	assert_int_equal(fm->irq_level[IRQ], 0);
	assert_int_equal(fake_inb(fm, IER), 0);
	assert_int_equal(fake_inb(fm, IIR), 0x01);
	assert_int_equal(fake_inb(fm, LCR), 0);
}

/*
 * A model of Linux's 8250 driver on an edge-triggered interrupt controller:
 * edges that arrive while the handler runs are latched once and delivered
 * after it returns. Every byte must go out without the driver stalling, with
 * the driver looping until IIR is clear (Linux) or taking one pass per
 * interrupt (simpler guests), and with console writes (IER = 0) in between.
 */
struct drv {
	struct ctx *c;
	uint8_t ier;
	int sent, total, received;
	bool loop_until_clear;
};

static void drv_isr(struct drv *d)
{
	struct fake_machine *fm = &d->c->fm;
	int pass, i;

	for (pass = 0; pass < 512; pass++) {
		uint8_t iir = fake_inb(fm, IIR), lsr;

		if (iir & 0x01)
			return;
		lsr = fake_inb(fm, LSR);
		while (lsr & 0x01) {
			fake_inb(fm, RBR);
			d->received++;
			lsr = fake_inb(fm, LSR);
		}
		fake_inb(fm, MSR);
		if ((lsr & 0x20) && (d->ier & 0x02)) {
			for (i = 0; i < 16 && d->sent < d->total; i++, d->sent++)
				fake_outb(fm, THR, 'A' + d->sent % 26);
			if (d->sent == d->total) {
				d->ier &= ~0x02;
				fake_outb(fm, IER, d->ier);
			}
		}
		if (!d->loop_until_clear)
			return;
	}
}

static void drv_run(struct drv *d, int *seen)
{
	int deliveries = 0;

	while (d->c->fm.irq_raises[IRQ] != *seen) {
		*seen = d->c->fm.irq_raises[IRQ];	/* edges so far: one delivery */
		drv_isr(d);
		assert_true(++deliveries < 10000);
	}
}

static void drv_transmit(void **state, bool loop_until_clear)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	struct drv d = { .c = c, .loop_until_clear = loop_until_clear };
	char *buf = malloc(4096);
	int seen = 0, chunk, i;

	fake_outb(fm, FCR, 0x07);
	fake_outb(fm, LCR, 0x03);
	fake_outb(fm, MCR, 0x0b);
	d.ier = 0x01;
	fake_outb(fm, IER, d.ier);
	seen = fm->irq_raises[IRQ];
	for (chunk = 0; chunk < 10; chunk++) {
		/* uart_write -> start_tx: THRI on, the interrupt does the rest. */
		d.total += 100 + chunk * 37;
		if (!(d.ier & 0x02)) {
			d.ier |= 0x02;
			fake_outb(fm, IER, d.ier);
		}
		/* A printk in the middle: console write with IER = 0. */
		if (chunk % 3 == 1) {
			fake_outb(fm, IER, 0);
			for (i = 0; i < 5; i++) {
				assert_true(fake_inb(fm, LSR) & 0x20);
				fake_outb(fm, THR, '#');
			}
			fake_outb(fm, IER, d.ier);
		}
		drv_run(&d, &seen);
		assert_int_equal(d.sent, d.total);
		assert_int_equal(d.ier & 0x02, 0);
	}
	assert_int_equal(file_read(c, buf, 4096), d.total + 3 * 5);
	assert_int_equal(fm->irq_level[IRQ], 0);
	free(buf);
}

static void test_driver_model_linux(void **state)
{
	drv_transmit(state, true);
}

static void test_driver_model_one_pass(void **state)
{
	drv_transmit(state, false);
}

/* ---- input through a unix-socket chardev, with the loop on its own thread */

static bool wait_for(bool (*cond)(struct ctx *), struct ctx *c)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (cond(c))
			return true;
		usleep(1000);
	}
	return false;
}

static bool rx_ready(struct ctx *c)
{
	return fake_inb(&c->fm, LSR) & 0x01;
}

static int setup_unix(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char spec[80];

	fake_machine_init(&c->fm, 0);
	snprintf(c->path, sizeof(c->path), "/tmp/keel-test-serial-%d.sock", getpid());
	snprintf(spec, sizeof(spec), "unix:%s", c->path);
	c->cd = chardev_open(spec, c->fm.ms.loop);
	assert_non_null(c->cd);
	c->s = serial_new(&c->fm.ms, "ttyS0", COM1, IRQ, c->cd);
	assert_non_null(c->s);
	assert_int_equal(pthread_create(&c->loop_thread, NULL, loop_main, c->fm.ms.loop), 0);
	c->loop_running = true;
	*state = c;
	return 0;
}

static int connect_client(struct ctx *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, c->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* 100 bytes through a 16-byte FIFO: nothing dropped, order kept. */
static void test_input_backpressure(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	uint8_t out[100];
	int fd, i, got = 0;

	fake_outb(fm, FCR, 0x01);
	fake_outb(fm, MCR, 0x0b);
	fd = connect_client(c);
	for (i = 0; i < 100; i++)
		out[i] = i * 7;
	assert_int_equal(write(fd, out, sizeof(out)), sizeof(out));
	while (got < 100) {
		assert_true(wait_for(rx_ready, c));
		/* The FIFO never holds more than 16: overrun never set. */
		assert_int_equal(fake_inb(fm, LSR) & 0x02, 0);
		assert_int_equal(fake_inb(fm, RBR), out[got]);
		got++;
	}
	usleep(20000);
	assert_int_equal(fake_inb(fm, LSR) & 0x01, 0);
	close(fd);
}

static bool fifo_full_seen(struct ctx *c)
{
	/* 16 bytes in the FIFO: the 16th read leaves DR set only if more wait. */
	return fake_inb(&c->fm, LSR) & 0x01;
}

/* While in loopback the outside world is not heard, and not lost either. */
static void test_input_held_in_loopback(void **state)
{
	struct ctx *c = *state;
	struct fake_machine *fm = &c->fm;
	int fd;

	fake_outb(fm, FCR, 0x01);
	fake_outb(fm, MCR, 0x10);
	fd = connect_client(c);
	assert_int_equal(write(fd, "hi", 2), 2);
	usleep(50000);
	assert_int_equal(fake_inb(fm, LSR) & 0x01, 0);
	fake_outb(fm, MCR, 0x0b);
	assert_true(wait_for(fifo_full_seen, c));
	assert_int_equal(fake_inb(fm, RBR), 'h');
	assert_true(wait_for(rx_ready, c));
	assert_int_equal(fake_inb(fm, RBR), 'i');
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_probe, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_output, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_thre_edges, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_new_condition_while_high, setup_file,
						teardown),
		cmocka_unit_test_setup_teardown(test_loopback_fifo_overrun, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priority, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_fcr_clear_and_readonly, setup_file,
						teardown),
		cmocka_unit_test_setup_teardown(test_wide_access, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_driver_model_linux, setup_file, teardown),
		cmocka_unit_test_setup_teardown(test_driver_model_one_pass, setup_file,
						teardown),
		cmocka_unit_test_setup_teardown(test_input_backpressure, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_input_held_in_loopback, setup_unix,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
