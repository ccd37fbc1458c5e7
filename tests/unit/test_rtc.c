/* Unit tests for user/devices/legacy/rtc.c: time formats, SET, UIP, registers, CMOS RAM, IRQ 8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fake_machine.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/rtc.h"
#include "lib/loop.h"

#define IDX PC_RTC_PORT
#define DAT (PC_RTC_PORT + 1)
#define IRQ PC_RTC_IRQ

struct ctx {
	struct fake_machine fm;
	struct rtc *rtc;
	pthread_t loop_thread;
	bool loop_running;
};

static void *loop_main(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 0);
	c->rtc = rtc_new(&c->fm.ms);
	assert_non_null(c->rtc);
	*state = c;
	return 0;
}

static void start_loop(struct ctx *c)
{
	assert_int_equal(pthread_create(&c->loop_thread, NULL, loop_main, c->fm.ms.loop), 0);
	c->loop_running = true;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->loop_running) {
		loop_stop(c->fm.ms.loop, 0);
		pthread_join(c->loop_thread, NULL);
	}
	rtc_free(c->rtc);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, uint8_t reg)
{
	fake_outb(&c->fm, IDX, reg);
	return fake_inb(&c->fm, DAT);
}

static void wr(struct ctx *c, uint8_t reg, uint8_t val)
{
	fake_outb(&c->fm, IDX, reg);
	fake_outb(&c->fm, DAT, val);
}

static unsigned int bcd(uint8_t v)
{
	assert_true((v & 0x0f) <= 9 && (v >> 4) <= 9);
	return (v >> 4) * 10 + (v & 0x0f);
}

struct rtc_time {
	unsigned int sec, min, hour, wday, mday, mon, year, century;
};

/* Read all fields, retrying if a second boundary fell in between. */
static void read_time(struct ctx *c, struct rtc_time *t, bool binary)
{
	unsigned int (*conv)(uint8_t) = NULL;
	uint8_t s0;

	do {
		s0 = rd(c, 0x00);
		t->min = rd(c, 0x02);
		t->hour = rd(c, 0x04);
		t->wday = rd(c, 0x06);
		t->mday = rd(c, 0x07);
		t->mon = rd(c, 0x08);
		t->year = rd(c, 0x09);
		t->century = rd(c, 0x32);
		t->sec = rd(c, 0x00);
	} while (t->sec != s0);
	if (binary)
		return;
	conv = bcd;
	t->sec = conv(t->sec);
	t->min = conv(t->min);
	t->hour = conv(t->hour & 0x7f) | (t->hour & 0x80);
	t->wday = conv(t->wday);
	t->mday = conv(t->mday);
	t->mon = conv(t->mon);
	t->year = conv(t->year);
	t->century = conv(t->century);
}

/*
 * The host's seconds on the clock the device reads. time() may come from
 * the coarse clock, which can still show the previous second when the
 * device already reads the next one.
 */
static time_t host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static void expect_host_time(const struct rtc_time *t, time_t before, time_t after)
{
	struct tm tm;
	time_t guest;

	tm = (struct tm){
		.tm_sec = t->sec, .tm_min = t->min, .tm_hour = t->hour,
		.tm_mday = t->mday, .tm_mon = t->mon - 1,
		.tm_year = t->century * 100 + t->year - 1900,
	};
	guest = timegm(&tm);
	assert_true(guest >= before && guest <= after);
	gmtime_r(&guest, &tm);
	assert_int_equal(t->wday, tm.tm_wday + 1);
}

static void test_host_time_bcd_and_binary(void **state)
{
	struct ctx *c = *state;
	struct rtc_time t;
	time_t before, after;

	assert_int_equal(rd(c, 0x0b), 0x02);	/* 24 h, BCD */
	assert_int_equal(rd(c, 0x0d), 0x80);	/* VRT */
	before = host_now();
	read_time(c, &t, false);
	after = host_now();
	expect_host_time(&t, before, after);

	wr(c, 0x0b, 0x06);			/* binary */
	before = host_now();
	read_time(c, &t, true);
	after = host_now();
	expect_host_time(&t, before, after);
}

static void test_12_hour(void **state)
{
	struct ctx *c = *state;
	struct rtc_time t;
	struct tm tm;
	time_t now;
	unsigned int h;

	wr(c, 0x0b, 0x00);			/* 12 h, BCD */
	now = host_now();
	read_time(c, &t, false);
	gmtime_r(&now, &tm);
	h = t.hour & 0x7f;
	assert_true(h >= 1 && h <= 12);
	/* Converted back to 24 h it is the host's hour (or the next one). */
	h = h % 12 + ((t.hour & 0x80) ? 12 : 0);
	assert_true(h == (unsigned int)tm.tm_hour || h == (unsigned int)(tm.tm_hour + 1) % 24);
}

/* With SET the guest sets its own time; it then runs from there. */
static void test_set_own_time(void **state)
{
	struct ctx *c = *state;
	struct rtc_time t;

	wr(c, 0x0b, 0x12);			/* UIE on */
	wr(c, 0x0b, 0x92);			/* SET clears UIE */
	assert_int_equal(rd(c, 0x0b), 0x82);
	wr(c, 0x00, 0x00);
	wr(c, 0x02, 0x30);
	wr(c, 0x04, 0x12);
	wr(c, 0x07, 0x15);
	wr(c, 0x08, 0x06);
	wr(c, 0x09, 0x30);
	wr(c, 0x32, 0x20);
	/* Frozen while SET: no update in progress either. */
	assert_int_equal(rd(c, 0x09), 0x30);
	assert_int_equal(rd(c, 0x0a) & 0x80, 0);
	wr(c, 0x0b, 0x02);
	read_time(c, &t, false);
	assert_int_equal(t.century * 100 + t.year, 2030);
	assert_int_equal(t.mon, 6);
	assert_int_equal(t.mday, 15);
	assert_int_equal(t.wday, 7);		/* 2030-06-15 is a Saturday */
	assert_int_equal(t.hour, 12);
	assert_int_equal(t.min, 30);
	assert_true(t.sec <= 2);

	/* A single field written while running moves the clock too. */
	wr(c, 0x09, 0x31);
	assert_int_equal(rd(c, 0x09), 0x31);
	assert_int_equal(rd(c, 0x08), 0x06);
}

static void test_registers(void **state)
{
	struct ctx *c = *state;

	wr(c, 0x0a, 0xa6);			/* UIP is read-only */
	assert_int_equal(rd(c, 0x0a) & 0x7f, 0x26);
	wr(c, 0x0c, 0xff);			/* C and D are read-only */
	wr(c, 0x0d, 0x00);
	assert_int_equal(rd(c, 0x0c), 0x00);
	assert_int_equal(rd(c, 0x0d), 0x80);
	/* Bit 7 of the index is the NMI mask: ignored. */
	fake_outb(&c->fm, IDX, 0x8b);
	assert_int_equal(fake_inb(&c->fm, DAT), 0x02);
	/* Alarm bytes are storage. */
	wr(c, 0x01, 0x59);
	assert_int_equal(rd(c, 0x01), 0x59);
}

static void test_cmos_ram(void **state)
{
	struct ctx *c = *state;
	uint16_t w;

	rtc_cmos_set(c->rtc, 0x34, 0x12);
	rtc_cmos_set(c->rtc, 0x35, 0x34);
	rtc_cmos_set(c->rtc, 0x5d, 0x01);
	assert_int_equal(rd(c, 0x34), 0x12);
	assert_int_equal(rd(c, 0x35), 0x34);
	assert_int_equal(rd(c, 0x5d), 0x01);
	rtc_cmos_set(c->rtc, 0x0b, 0xff);	/* not RAM: refused */
	rtc_cmos_set(c->rtc, 0x80, 0xff);	/* out of range: refused */
	assert_int_equal(rd(c, 0x0b), 0x02);
	wr(c, 0x7f, 0xab);
	assert_int_equal(rd(c, 0x7f), 0xab);
	/* A 16-bit access writes index then data, as two byte accesses. */
	w = 0x5540;
	fake_pio_write(&c->fm, IDX, &w, 2);
	assert_int_equal(rd(c, 0x40), 0x55);
	rtc_reset(c->rtc);			/* RAM survives a reset */
	assert_int_equal(rd(c, 0x40), 0x55);
}

/*
 * UIP is set only in the last 244 us of each second, so a guest's wait for it
 * to fall ends at once. Each read is bracketed by host clock readings; reads
 * that fell wholly inside or wholly outside the window must agree with it.
 * Sleeping until just before a second boundary makes in-window reads likely
 * even on a loaded machine; a few boundaries are tried.
 */
static void test_uip_brief(void **state)
{
	struct ctx *c = *state;
	const long window_start = 1000000000L - 244000;
	struct timespec t0, t1, wake;
	int inside = 0, outside = 0, attempt;

	for (attempt = 0; attempt < 20 && (inside < 3 || outside < 3); attempt++) {
		clock_gettime(CLOCK_REALTIME, &t0);
		wake.tv_sec = t0.tv_sec;
		wake.tv_nsec = window_start - 300000;	/* 300 us before the window */
		if (t0.tv_nsec >= wake.tv_nsec)
			wake.tv_sec++;
		clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &wake, NULL);
		do {
			uint8_t a;

			clock_gettime(CLOCK_REALTIME, &t0);
			a = rd(c, 0x0a);
			clock_gettime(CLOCK_REALTIME, &t1);
			if (t0.tv_sec != t1.tv_sec)
				continue;
			if (t0.tv_nsec >= window_start) {
				assert_int_equal(a & 0x80, 0x80);
				inside++;
			} else if (t1.tv_nsec < window_start) {
				assert_int_equal(a & 0x80, 0);
				outside++;
			}
		} while (t1.tv_sec == wake.tv_sec && t1.tv_nsec - wake.tv_nsec < 2000000);
	}
	assert_true(inside >= 3);
	assert_true(outside >= 3);
}

static int wait_irq(struct ctx *c, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (c->fm.irq_level[IRQ])
			return 1;
		usleep(1000);
	}
	return 0;
}

static void test_periodic_irq(void **state)
{
	struct ctx *c = *state;

	start_loop(c);
	wr(c, 0x0a, 0x26);			/* 1024 Hz */
	assert_false(wait_irq(c, 30));		/* PIE off: nothing */
	wr(c, 0x0b, 0x42);
	assert_true(wait_irq(c, 3000));
	assert_int_equal(rd(c, 0x0c) & 0xc0, 0xc0);	/* IRQF | PF */
	assert_int_equal(c->fm.irq_level[IRQ], 0);	/* reading C lowered it */
	assert_true(wait_irq(c, 3000));		/* and it keeps coming */
	wr(c, 0x0b, 0x02);
	rd(c, 0x0c);
	usleep(20000);
	rd(c, 0x0c);
	assert_false(wait_irq(c, 30));
}

static void test_update_and_alarm_irq(void **state)
{
	struct ctx *c = *state;
	uint8_t v;

	start_loop(c);
	wr(c, 0x0b, 0x12);			/* UIE */
	assert_true(wait_irq(c, 4000));
	v = rd(c, 0x0c);
	assert_int_equal(v & 0x90, 0x90);	/* IRQF | UF */
	wr(c, 0x01, 0xc0);			/* alarm: any second/minute/hour */
	wr(c, 0x03, 0xff);
	wr(c, 0x05, 0xc5);
	wr(c, 0x0b, 0x22);			/* AIE only */
	rd(c, 0x0c);
	assert_true(wait_irq(c, 4000));
	v = rd(c, 0x0c);
	assert_int_equal(v & 0xa0, 0xa0);	/* IRQF | AF */
	/* A reset clears the enables: no more interrupts. */
	rtc_reset(c->rtc);
	assert_int_equal(rd(c, 0x0b), 0x02);
	assert_int_equal(c->fm.irq_level[IRQ], 0);
}

static void test_nasty_values(void **state)
{
	struct ctx *c = *state;
	uint32_t d;
	int i;

	/* Garbage in every time byte, in both modes: no crash, sane reads. */
	for (i = 0; i < 256; i += 17) {
		wr(c, 0x0b, 0x80 | (i & 0x06));
		wr(c, 0x00, i);
		wr(c, 0x02, i);
		wr(c, 0x04, i);
		wr(c, 0x07, i);
		wr(c, 0x08, i);
		wr(c, 0x09, i);
		wr(c, 0x32, i);
		wr(c, 0x0b, i & 0x06);
		rd(c, 0x00);
		rd(c, 0x09);
		rd(c, 0x32);
	}
	/* A 4-byte read at the index port: index, data, then open bus. */
	fake_outb(&c->fm, IDX, 0x0d);
	assert_int_equal(fake_pio_read(&c->fm, IDX, &d, 4), 0);
	assert_int_equal(d, 0xffff800d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_time_bcd_and_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_own_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip_brief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_and_alarm_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nasty_values, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
