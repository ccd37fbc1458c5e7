/*
 * MC146818 CMOS real-time clock (Motorola MC146818A data sheet: registers
 * A-D, time/alarm bytes, interrupts) on the host's UTC clock plus a guest
 * offset; 128 bytes of CMOS RAM; periodic, alarm and update IRQs on IRQ 8.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/legacy/pc_io.h"
#include "devices/legacy/rtc.h"
#include "lib/log.h"
#include "lib/loop.h"

#define RTC_SECONDS		0x00
#define RTC_SECONDS_ALARM	0x01
#define RTC_MINUTES		0x02
#define RTC_MINUTES_ALARM	0x03
#define RTC_HOURS		0x04
#define RTC_HOURS_ALARM		0x05
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32
#define RTC_CMOS_SIZE		128

#define REG_A_UIP	0x80
#define REG_A_RS	0x0f

#define REG_B_SET	0x80
#define REG_B_PIE	0x40
#define REG_B_AIE	0x20
#define REG_B_UIE	0x10
#define REG_B_SQWE	0x08
#define REG_B_DM_BIN	0x04
#define REG_B_24H	0x02

#define REG_C_IRQF	0x80
#define REG_C_PF	0x40
#define REG_C_AF	0x20
#define REG_C_UF	0x10

#define REG_D_VRT	0x80

/* The update cycle takes 244 us at the end of each second (UIP high). */
#define RTC_UIP_NS	244000
#define NSEC_PER_SEC	1000000000ULL

struct rtc {
	const struct machine_services *ms;
	pthread_mutex_t lock;
	uint8_t cmos[RTC_CMOS_SIZE];	/* time bytes here are unused: computed */
	uint8_t index;
	int64_t offset;			/* guest time - host time, seconds */
	struct tm set_tm;		/* the clock frozen while SET is on */
	bool irq_level;
	struct loop_timer *periodic;
	struct loop_timer *update;
};

static bool rtc_is_time_reg(uint8_t reg)
{
	return reg <= RTC_YEAR || reg == RTC_CENTURY;
}

static uint8_t rtc_to_guest(const struct rtc *rtc, unsigned int v)
{
	v %= 100;
	if (rtc->cmos[RTC_REG_B] & REG_B_DM_BIN)
		return v;
	return ((v / 10) << 4) | (v % 10);
}

static unsigned int rtc_from_guest(const struct rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_DM_BIN)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_hour_to_guest(const struct rtc *rtc, unsigned int h)
{
	unsigned int h12;

	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_to_guest(rtc, h);
	h12 = h % 12 ? h % 12 : 12;
	return rtc_to_guest(rtc, h12) | (h >= 12 ? 0x80 : 0);
}

static unsigned int rtc_hour_from_guest(const struct rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_from_guest(rtc, v);
	return rtc_from_guest(rtc, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

static void rtc_host_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* The guest's broken-down UTC time: frozen while SET, else host + offset. */
static void rtc_guest_tm(struct rtc *rtc, struct tm *tm)
{
	struct timespec ts;
	time_t t;

	if (rtc->cmos[RTC_REG_B] & REG_B_SET) {
		*tm = rtc->set_tm;
		return;
	}
	rtc_host_now(&ts);
	t = ts.tv_sec + rtc->offset;
	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
}

static void rtc_set_guest_tm(struct rtc *rtc, struct tm *tm)
{
	struct timespec ts;
	time_t t;

	if (rtc->cmos[RTC_REG_B] & REG_B_SET) {
		rtc->set_tm = *tm;
		return;
	}
	t = timegm(tm);
	rtc_host_now(&ts);
	rtc->offset = (int64_t)t - ts.tv_sec;
}

static uint8_t rtc_time_read(struct rtc *rtc, uint8_t reg)
{
	struct tm tm;
	int year;

	rtc_guest_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case RTC_SECONDS:
		return rtc_to_guest(rtc, tm.tm_sec);
	case RTC_MINUTES:
		return rtc_to_guest(rtc, tm.tm_min);
	case RTC_HOURS:
		return rtc_hour_to_guest(rtc, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return rtc_to_guest(rtc, tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return rtc_to_guest(rtc, tm.tm_mday);
	case RTC_MONTH:
		return rtc_to_guest(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_to_guest(rtc, year < 0 ? 0 : year % 100);
	case RTC_CENTURY:
		return rtc_to_guest(rtc, year < 0 ? 0 : year / 100);
	default:	/* alarm bytes are plain storage */
		return rtc->cmos[reg];
	}
}

static void rtc_time_write(struct rtc *rtc, uint8_t reg, uint8_t v)
{
	struct tm tm;
	int year;

	rtc_guest_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case RTC_SECONDS:
		tm.tm_sec = rtc_from_guest(rtc, v);
		break;
	case RTC_MINUTES:
		tm.tm_min = rtc_from_guest(rtc, v);
		break;
	case RTC_HOURS:
		tm.tm_hour = rtc_hour_from_guest(rtc, v);
		break;
	case RTC_DAY_OF_WEEK:
		/* Derived from the date on read; the written value is not kept. */
		return;
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = rtc_from_guest(rtc, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = (int)rtc_from_guest(rtc, v) - 1;
		break;
	case RTC_YEAR:
		year = (year < 0 ? 0 : year / 100) * 100 + rtc_from_guest(rtc, v) % 100;
		tm.tm_year = year - 1900;
		break;
	case RTC_CENTURY:
		year = rtc_from_guest(rtc, v) * 100 + (year < 0 ? 0 : year % 100);
		tm.tm_year = year - 1900;
		break;
	default:
		rtc->cmos[reg] = v;
		return;
	}
	/*
	 * While SET is on the bytes are kept as written, out-of-range ones
	 * included; they are normalised when the clock runs again.
	 */
	rtc_set_guest_tm(rtc, &tm);
}

static void rtc_update_irq(struct rtc *rtc)
{
	uint8_t b = rtc->cmos[RTC_REG_B], c = rtc->cmos[RTC_REG_C] & ~REG_C_IRQF;
	bool level = ((c & REG_C_PF) && (b & REG_B_PIE)) ||
		     ((c & REG_C_AF) && (b & REG_B_AIE)) ||
		     ((c & REG_C_UF) && (b & REG_B_UIE));

	rtc->cmos[RTC_REG_C] = c | (level ? REG_C_IRQF : 0);
	if (level != rtc->irq_level) {
		machine_irq_set(rtc->ms, PC_RTC_IRQ, level);
		rtc->irq_level = level;
	}
}

/* Periodic interrupt period from register A's rate select, in ns (0: off). */
static uint64_t rtc_period_ns(uint8_t reg_a)
{
	unsigned int rs = reg_a & REG_A_RS;

	if (!rs)
		return 0;
	if (rs < 3)
		rs += 7;	/* 1 and 2 repeat rates 8 and 9 (256 and 128 Hz) */
	return (NSEC_PER_SEC << (rs - 1)) / 32768;
}

static void rtc_update_timers(struct rtc *rtc)
{
	uint8_t b = rtc->cmos[RTC_REG_B];
	uint64_t period = rtc_period_ns(rtc->cmos[RTC_REG_A]);
	struct timespec ts;

	if (rtc->periodic) {
		if ((b & REG_B_PIE) && period)
			loop_timer_arm(rtc->periodic, period, period);
		else
			loop_timer_disarm(rtc->periodic);
	}
	if (rtc->update) {
		if ((b & (REG_B_UIE | REG_B_AIE)) && !(b & REG_B_SET)) {
			/* Fire at each second boundary, just after the update cycle. */
			rtc_host_now(&ts);
			loop_timer_arm(rtc->update, NSEC_PER_SEC - ts.tv_nsec, NSEC_PER_SEC);
		} else {
			loop_timer_disarm(rtc->update);
		}
	}
}

static void rtc_periodic_tick(void *opaque)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[RTC_REG_C] |= REG_C_PF;
	rtc_update_irq(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static bool rtc_alarm_match(struct rtc *rtc, uint8_t alarm_reg, uint8_t now)
{
	uint8_t a = rtc->cmos[alarm_reg];

	return (a & 0xc0) == 0xc0 || a == now;	/* 11xxxxxx: don't care */
}

static void rtc_update_tick(void *opaque)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	if (!(rtc->cmos[RTC_REG_B] & REG_B_SET)) {
		rtc->cmos[RTC_REG_C] |= REG_C_UF;
		if (rtc_alarm_match(rtc, RTC_SECONDS_ALARM, rtc_time_read(rtc, RTC_SECONDS)) &&
		    rtc_alarm_match(rtc, RTC_MINUTES_ALARM, rtc_time_read(rtc, RTC_MINUTES)) &&
		    rtc_alarm_match(rtc, RTC_HOURS_ALARM, rtc_time_read(rtc, RTC_HOURS)))
			rtc->cmos[RTC_REG_C] |= REG_C_AF;
		rtc_update_irq(rtc);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static uint8_t rtc_reg_read(struct rtc *rtc, uint8_t reg)
{
	struct timespec ts;
	uint8_t v;

	switch (reg) {
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A] & ~REG_A_UIP;
		if (!(rtc->cmos[RTC_REG_B] & REG_B_SET)) {
			rtc_host_now(&ts);
			if (ts.tv_nsec >= (long)(NSEC_PER_SEC - RTC_UIP_NS))
				v |= REG_A_UIP;
		}
		return v;
	case RTC_REG_C:
		v = rtc->cmos[RTC_REG_C];
		rtc->cmos[RTC_REG_C] = 0;
		rtc_update_irq(rtc);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		if (rtc_is_time_reg(reg))
			return rtc_time_read(rtc, reg);
		return rtc->cmos[reg];
	}
}

static void rtc_reg_write(struct rtc *rtc, uint8_t reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case RTC_REG_A:
		/* UIP is read-only. */
		rtc->cmos[RTC_REG_A] = v & ~REG_A_UIP;
		rtc_update_timers(rtc);
		break;
	case RTC_REG_B:
		old = rtc->cmos[RTC_REG_B];
		if (v & REG_B_SET) {
			v &= ~REG_B_UIE;	/* SET clears UIE (data sheet) */
			if (!(old & REG_B_SET))
				rtc_guest_tm(rtc, &rtc->set_tm);
		}
		rtc->cmos[RTC_REG_B] = v;
		if ((old & REG_B_SET) && !(v & REG_B_SET)) {
			/* The guest's own time starts running now. */
			struct tm tm = rtc->set_tm;

			rtc_set_guest_tm(rtc, &tm);
		}
		rtc_update_irq(rtc);
		rtc_update_timers(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		/* Read-only. */
		break;
	default:
		if (rtc_is_time_reg(reg))
			rtc_time_write(rtc, reg, v);
		else
			rtc->cmos[reg] = v;
		break;
	}
}

static void rtc_io_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct rtc *rtc = dev;
	uint8_t *out = data;
	unsigned int i;

	pthread_mutex_lock(&rtc->lock);
	for (i = 0; i < size; i++) {
		if (offset + i == 0)
			out[i] = rtc->index;
		else if (offset + i == 1)
			out[i] = rtc_reg_read(rtc, rtc->index);
		else
			out[i] = 0xff;
	}
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_io_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct rtc *rtc = dev;
	const uint8_t *in = data;
	unsigned int i;

	pthread_mutex_lock(&rtc->lock);
	for (i = 0; i < size; i++) {
		if (offset + i == 0)
			rtc->index = in[i] & 0x7f;	/* bit 7 masks NMI: not ours */
		else if (offset + i == 1)
			rtc_reg_write(rtc, rtc->index, in[i]);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static const struct io_ops rtc_io_ops = {
	.read = rtc_io_read,
	.write = rtc_io_write,
};

void rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t val)
{
	if (index >= RTC_CMOS_SIZE || rtc_is_time_reg(index) ||
	    (index >= RTC_REG_A && index <= RTC_REG_D)) {
		log_warn("rtc: CMOS byte 0x%02x is not plain RAM, not set", index);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index] = val;
	pthread_mutex_unlock(&rtc->lock);
}

/* A reset clears interrupt enables and flags; time and CMOS RAM survive. */
void rtc_reset(struct rtc *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
	rtc->cmos[RTC_REG_C] = 0;
	rtc->index = 0;
	rtc_update_irq(rtc);
	rtc_update_timers(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

struct rtc *rtc_new(const struct machine_services *ms)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	rtc->ms = ms;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->cmos[RTC_REG_A] = 0x26;	/* 32.768 kHz time base, 1024 Hz rate */
	rtc->cmos[RTC_REG_B] = REG_B_24H;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	if (ms->loop) {
		rtc->periodic = loop_timer_new(ms->loop, rtc_periodic_tick, rtc);
		rtc->update = loop_timer_new(ms->loop, rtc_update_tick, rtc);
		if (!rtc->periodic || !rtc->update)
			log_warn("rtc: no timers, periodic/alarm/update interrupts off");
	}
	if (machine_pio_add(ms, PC_RTC_PORT, 2, &rtc_io_ops, rtc) < 0) {
		log_err("rtc: cannot claim ports 0x70-0x71");
		rtc_free(rtc);
		return NULL;
	}
	return rtc;
}

void rtc_free(struct rtc *rtc)
{
	if (!rtc)
		return;
	loop_timer_free(rtc->periodic);
	loop_timer_free(rtc->update);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
