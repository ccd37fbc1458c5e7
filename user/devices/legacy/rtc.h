/* MC146818 CMOS RTC at 0x70/0x71: host wall-clock time (UTC), CMOS RAM, IRQ 8. */
#ifndef KEEL_DEVICES_LEGACY_RTC_H
#define KEEL_DEVICES_LEGACY_RTC_H

#include <stdint.h>

#include "devices/machine.h"

struct rtc;

struct rtc *rtc_new(const struct machine_services *ms);
/* CMOS bytes firmware would set (memory size etc.); index < 128. */
void rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t val);
void rtc_reset(struct rtc *rtc);
void rtc_free(struct rtc *rtc);

#endif
