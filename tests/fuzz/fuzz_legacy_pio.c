/*
 * Fuzz target for the legacy PC devices (serial, i8042, rtc, acpi_pm): random
 * sequences of port reads and writes of every width over all their ports,
 * mixed with the host-side events, on the fake machine.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_machine.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "lib/chardev.h"
#include "lib/log.h"

static const uint16_t fuzz_ports[] = {
	PC_COM1_PORT + 0, PC_COM1_PORT + 1, PC_COM1_PORT + 2, PC_COM1_PORT + 3,
	PC_COM1_PORT + 4, PC_COM1_PORT + 5, PC_COM1_PORT + 6, PC_COM1_PORT + 7,
	PC_I8042_DATA_PORT, PC_I8042_CMD_PORT, PC_RTC_PORT, PC_RTC_PORT + 1,
	PC_ACPI_PM1A_EVT, PC_ACPI_PM1A_EVT + 1, PC_ACPI_PM1A_EVT + 2, PC_ACPI_PM1A_EVT + 3,
	PC_ACPI_PM1A_CNT, PC_ACPI_PM1A_CNT + 1, PC_ACPI_PM_TMR, PC_ACPI_PM_TMR + 2,
	PC_ACPI_GPE0, PC_ACPI_GPE0 + 1, PC_ACPI_GPE0 + 3, PC_ACPI_GPE0 + 4,
	PC_ACPI_GPE0 + 6, PC_ACPI_GPE0 + 7, PC_RESET_CTL_PORT,
	/* Rarely useful ports get fewer slots; these weight the busy ones. */
	PC_COM1_PORT + 0, PC_COM1_PORT + 2, PC_COM1_PORT + 3, PC_COM1_PORT + 4,
	PC_RTC_PORT + 1,
};

#define NR_PORTS (sizeof(fuzz_ports) / sizeof(fuzz_ports[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_machine fm;
	struct chardev *cd;
	struct serial *s;
	struct i8042 *kbc;
	struct rtc *rtc;
	struct acpi_pm *pm;
	size_t i;
	int gsi;

	log_threshold = LOG_ERR;	/* reset requests etc. would flood */
	fake_machine_init(&fm, 0);
	cd = chardev_open("null", fm.ms.loop);
	s = serial_new(&fm.ms, "ttyS0", PC_COM1_PORT, PC_COM1_IRQ, cd);
	kbc = i8042_new(&fm.ms);
	rtc = rtc_new(&fm.ms);
	pm = acpi_pm_new(&fm.ms);
	if (!cd || !s || !kbc || !rtc || !pm)
		__builtin_trap();

	/* Each operation is 6 bytes: kind/width, port, and 4 bytes of value. */
	for (i = 0; i + 6 <= size; i += 6) {
		uint8_t op = data[i], arg = data[i + 1];
		uint8_t buf[8];
		unsigned int width = 1u << ((op >> 3) & 3);
		uint16_t port = fuzz_ports[arg % NR_PORTS];

		memcpy(buf, data + i + 2, 4);
		memcpy(buf + 4, data + i + 2, 4);
		switch (op & 7) {
		case 0: case 1: case 2:
			fake_pio_write(&fm, port, buf, width);
			break;
		case 3: case 4:
			fake_pio_read(&fm, port, buf, width);
			break;
		case 5:
			if (arg & 1)
				acpi_pm_power_button(pm);
			else
				acpi_pm_gpe_raise(pm, buf[0]);
			break;
		case 6:
			rtc_cmos_set(rtc, arg, buf[0]);
			break;
		case 7:
			switch (arg & 3) {
			case 0: serial_reset(s); break;
			case 1: i8042_reset(kbc); break;
			case 2: rtc_reset(rtc); break;
			case 3: acpi_pm_reset(pm); break;
			}
			break;
		}
	}

	/* Whatever happened, interrupt lines hold 0 or 1 and the devices still answer. */
	for (gsi = 0; gsi < FAKE_MAX_GSI; gsi++)
		if (fm.irq_level[gsi] != 0 && fm.irq_level[gsi] != 1)
			__builtin_trap();
	serial_reset(s);
	if (fake_inb(&fm, PC_COM1_PORT + 5) != 0x60)
		__builtin_trap();

	acpi_pm_free(pm);
	rtc_free(rtc);
	i8042_free(kbc);
	serial_free(s);
	chardev_close(cd);
	fake_machine_fini(&fm);
	return 0;
}
