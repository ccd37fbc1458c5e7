/*
 * ACPI fixed hardware (ACPI 6.5 sections 4.8.3-4.8.5): PM1a event/control
 * registers, the 24-bit PM timer, GPE0 blocks, the SCI as a level line, and the
 * 0xCF9 reset control register. SLP_TYP = S5 with SLP_EN powers the machine off.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/pc_io.h"
#include "lib/log.h"
#include "lib/loop.h"

/* PM1 status / enable bits (ACPI table 4.13/4.14). */
#define PM1_TMR		0x0001
#define PM1_GBL		0x0020
#define PM1_PWRBTN	0x0100
#define PM1_SLPBTN	0x0200
#define PM1_RTC		0x0400
#define PM1_WAK		0x8000
#define PM1_STS_MASK	(PM1_TMR | 0x0010 | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | \
			 PM1_RTC | 0x4000 | PM1_WAK)
#define PM1_EN_MASK	(PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | 0x4000)
#define PM1_SCI_SRCS	(PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

/* PM1 control bits (ACPI table 4.16). */
#define PM1_CNT_SCI_EN		0x0001
#define PM1_CNT_GBL_RLS		0x0004	/* write-only */
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_TYP		0x1c00
#define PM1_CNT_SLP_EN		0x2000	/* write-only */

#define PM_TMR_HZ	3579545ULL
#define PM_TMR_MASK	0xffffff
#define PM_TMR_MSB_SHIFT 23	/* TMR_STS is set when bit 23 toggles */

#define RCR_RST_CPU	0x04

#define NSEC_PER_SEC	1000000000ULL

struct acpi_pm {
	const struct machine_services *ms;
	pthread_mutex_t lock;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint32_t gpe_sts, gpe_en;
	uint8_t rcr;
	struct timespec tmr_base;
	uint64_t tmr_period_acked;	/* PM timer bit-23 period last acknowledged */
	bool sci_level;
	uint8_t sleep_logged;		/* sleep types already reported */
	bool request_logged;		/* power-off/reset, until our reset */
	struct loop_timer *tmr_timer;
};

/* PM timer ticks since the device was created (wraps at 24 bits on read). */
static uint64_t acpi_pm_ticks(struct acpi_pm *pm)
{
	struct timespec now;
	uint64_t sec, nsec;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sec = now.tv_sec - pm->tmr_base.tv_sec;
	if (now.tv_nsec >= pm->tmr_base.tv_nsec) {
		nsec = now.tv_nsec - pm->tmr_base.tv_nsec;
	} else {
		sec--;
		nsec = NSEC_PER_SEC + now.tv_nsec - pm->tmr_base.tv_nsec;
	}
	return sec * PM_TMR_HZ + nsec * PM_TMR_HZ / NSEC_PER_SEC;
}

static uint16_t acpi_pm_sts(struct acpi_pm *pm)
{
	uint16_t sts = pm->pm1_sts;

	if ((acpi_pm_ticks(pm) >> PM_TMR_MSB_SHIFT) != pm->tmr_period_acked)
		sts |= PM1_TMR;
	return sts;
}

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = (acpi_pm_sts(pm) & pm->pm1_en & PM1_SCI_SRCS) ||
		     (pm->gpe_sts & pm->gpe_en);

	if (level != pm->sci_level) {
		machine_irq_set(pm->ms, PC_ACPI_SCI_IRQ, level);
		pm->sci_level = level;
	}
}

/* With TMR_EN, wake up at each bit-23 toggle to raise the SCI. */
static void acpi_pm_update_timer(struct acpi_pm *pm)
{
	uint64_t period_ns = (NSEC_PER_SEC << PM_TMR_MSB_SHIFT) / PM_TMR_HZ;
	uint64_t ticks, left;

	if (!pm->tmr_timer)
		return;
	if (!(pm->pm1_en & PM1_TMR)) {
		loop_timer_disarm(pm->tmr_timer);
		return;
	}
	ticks = acpi_pm_ticks(pm);
	left = (1ULL << PM_TMR_MSB_SHIFT) - (ticks & ((1ULL << PM_TMR_MSB_SHIFT) - 1));
	loop_timer_arm(pm->tmr_timer, left * NSEC_PER_SEC / PM_TMR_HZ + 1, period_ns);
}

static void acpi_pm_timer_tick(void *opaque)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_sleep(struct acpi_pm *pm, unsigned int slp_typ)
{
	if (slp_typ == PC_ACPI_S5_SLP_TYP) {
		if (!pm->request_logged)
			log_info("acpi-pm: guest entered S5, powering off");
		pm->request_logged = true;
		machine_request(pm->ms, MACHINE_POWEROFF);
		return;
	}
	/* Once per type: a guest looping on SLP_EN must not flood the log. */
	if (!(pm->sleep_logged & (1u << slp_typ))) {
		pm->sleep_logged |= 1u << slp_typ;
		log_info("acpi-pm: guest asked for sleep type %u, not supported: ignored",
			 slp_typ);
	}
}

/* Bytes of a little-endian register value, for any access width and offset. */
static void acpi_pm_put_bytes(uint8_t *out, uint64_t val, unsigned int off,
			      unsigned int reg_len, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		out[i] = off + i < reg_len ? (val >> (8 * (off + i))) & 0xff : 0xff;
}

static uint64_t acpi_pm_merge(uint64_t old, const uint8_t *in, unsigned int off,
			      unsigned int reg_len, unsigned int size, uint64_t *touched)
{
	unsigned int i;

	*touched = 0;
	for (i = 0; i < size && off + i < reg_len; i++) {
		uint64_t mask = 0xffULL << (8 * (off + i));

		old = (old & ~mask) | ((uint64_t)in[i] << (8 * (off + i)));
		*touched |= mask;
	}
	return old;
}

/* PM1a_EVT: status (write 1 to clear) at +0, enable at +2. */
static void acpi_pm_evt_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint32_t v;

	pthread_mutex_lock(&pm->lock);
	v = acpi_pm_sts(pm) | (uint32_t)pm->pm1_en << 16;
	pthread_mutex_unlock(&pm->lock);
	acpi_pm_put_bytes(data, v, offset, 4, size);
}

static void acpi_pm_evt_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint64_t touched, v;
	uint16_t clear;

	pthread_mutex_lock(&pm->lock);
	v = acpi_pm_merge(0, data, offset, 4, size, &touched);
	clear = v & touched & PM1_STS_MASK;
	pm->pm1_sts &= ~clear;
	if (clear & PM1_TMR)
		pm->tmr_period_acked = acpi_pm_ticks(pm) >> PM_TMR_MSB_SHIFT;
	if (touched & 0xffff0000) {
		uint32_t en = acpi_pm_merge((uint64_t)pm->pm1_en << 16, data, offset, 4,
					    size, &touched) >> 16;

		pm->pm1_en = en & PM1_EN_MASK;
		acpi_pm_update_timer(pm);
	}
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* PM1a_CNT: SCI_EN reads 1 (no SMI_CMD: always in ACPI mode). */
static void acpi_pm_cnt_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint16_t v;

	pthread_mutex_lock(&pm->lock);
	v = pm->pm1_cnt | PM1_CNT_SCI_EN;
	pthread_mutex_unlock(&pm->lock);
	acpi_pm_put_bytes(data, v, offset, 2, size);
}

static void acpi_pm_cnt_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint64_t touched;
	uint16_t v;

	pthread_mutex_lock(&pm->lock);
	v = acpi_pm_merge(pm->pm1_cnt, data, offset, 2, size, &touched);
	pm->pm1_cnt = (v & ~(PM1_CNT_SLP_EN | PM1_CNT_GBL_RLS)) | PM1_CNT_SCI_EN;
	if (v & PM1_CNT_SLP_EN)
		acpi_pm_sleep(pm, (v & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_tmr_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;

	acpi_pm_put_bytes(data, acpi_pm_ticks(pm) & PM_TMR_MASK, offset, 4, size);
}

/* GPE0: four status bytes (write 1 to clear), then four enable bytes. */
static void acpi_pm_gpe_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint64_t v;

	pthread_mutex_lock(&pm->lock);
	v = pm->gpe_sts | (uint64_t)pm->gpe_en << 32;
	pthread_mutex_unlock(&pm->lock);
	acpi_pm_put_bytes(data, v, offset, PC_ACPI_GPE0_LEN, size);
}

static void acpi_pm_gpe_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint64_t touched, v;

	pthread_mutex_lock(&pm->lock);
	v = acpi_pm_merge(0, data, offset, PC_ACPI_GPE0_LEN, size, &touched);
	pm->gpe_sts &= ~(uint32_t)(v & touched);
	v = acpi_pm_merge((uint64_t)pm->gpe_en << 32, data, offset, PC_ACPI_GPE0_LEN,
			  size, &touched);
	pm->gpe_en = v >> 32;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_rcr_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;

	memset(data, 0xff, size);
	pthread_mutex_lock(&pm->lock);
	*(uint8_t *)data = pm->rcr;
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_rcr_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct acpi_pm *pm = dev;
	uint8_t v = *(const uint8_t *)data;

	pthread_mutex_lock(&pm->lock);
	pm->rcr = v & ~RCR_RST_CPU;
	if (v & RCR_RST_CPU) {
		if (!pm->request_logged)
			log_info("acpi-pm: guest wrote 0x%02x to the reset control register", v);
		pm->request_logged = true;
		machine_request(pm->ms, MACHINE_RESET);
	}
	pthread_mutex_unlock(&pm->lock);
}

static const struct io_ops acpi_pm_evt_ops = {
	.read = acpi_pm_evt_read, .write = acpi_pm_evt_write,
};
static const struct io_ops acpi_pm_cnt_ops = {
	.read = acpi_pm_cnt_read, .write = acpi_pm_cnt_write,
};
static const struct io_ops acpi_pm_tmr_ops = {
	.read = acpi_pm_tmr_read,
};
static const struct io_ops acpi_pm_gpe_ops = {
	.read = acpi_pm_gpe_read, .write = acpi_pm_gpe_write,
};
static const struct io_ops acpi_pm_rcr_ops = {
	.read = acpi_pm_rcr_read, .write = acpi_pm_rcr_write,
};

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= PM1_PWRBTN;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned int bit)
{
	if (bit >= 32) {
		log_warn("acpi-pm: GPE0 bit %u out of range", bit);
		return;
	}
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts |= 1u << bit;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts = 0;
	pm->pm1_en = 0;
	pm->pm1_cnt = PM1_CNT_SCI_EN;
	pm->gpe_sts = 0;
	pm->gpe_en = 0;
	pm->rcr = 0;
	pm->request_logged = false;
	pm->tmr_period_acked = acpi_pm_ticks(pm) >> PM_TMR_MSB_SHIFT;
	acpi_pm_update_timer(pm);
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_new(const struct machine_services *ms)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->ms = ms;
	pthread_mutex_init(&pm->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &pm->tmr_base);
	if (ms->loop)
		pm->tmr_timer = loop_timer_new(ms->loop, acpi_pm_timer_tick, pm);
	acpi_pm_reset(pm);
	if (machine_pio_add(ms, PC_ACPI_PM1A_EVT, 4, &acpi_pm_evt_ops, pm) < 0 ||
	    machine_pio_add(ms, PC_ACPI_PM1A_CNT, 2, &acpi_pm_cnt_ops, pm) < 0 ||
	    machine_pio_add(ms, PC_ACPI_PM_TMR, 4, &acpi_pm_tmr_ops, pm) < 0 ||
	    machine_pio_add(ms, PC_ACPI_GPE0, PC_ACPI_GPE0_LEN, &acpi_pm_gpe_ops, pm) < 0 ||
	    machine_pio_add(ms, PC_RESET_CTL_PORT, 1, &acpi_pm_rcr_ops, pm) < 0) {
		log_err("acpi-pm: cannot claim its I/O ports");
		acpi_pm_free(pm);
		return NULL;
	}
	return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	loop_timer_free(pm->tmr_timer);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
