/*
 * libFuzzer target for user/devices/legacy/acpi_pcihp.c: random guest
 * accesses of every width around the hotplug register block and GPE0, mixed
 * with host plugs, unplug requests and resets. The guest may only ever eject
 * a slot the host asked to unplug, and only once per request.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_machine.h"
#include "devices/legacy/acpi_pcihp.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/pc_io.h"
#include "lib/log.h"

/* The unplug requests not yet answered, as the host sees them. */
static uint32_t fuzz_requested;

static void fuzz_eject(void *opaque, unsigned int slot)
{
	if (slot >= ACPI_PCIHP_SLOTS || !(fuzz_requested & (1u << slot)))
		__builtin_trap();
	fuzz_requested &= ~(1u << slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_machine fm;
	struct acpi_pcihp *hp;
	struct acpi_pm *pm;
	uint32_t v;
	size_t i;

	log_threshold = LOG_ERR;	/* the device warns once per reset */
	fake_machine_init(&fm, 0);
	pm = acpi_pm_new(&fm.ms);
	hp = pm ? acpi_pcihp_new(&fm.ms, ACPI_PCIHP_PORT, pm, fuzz_eject, NULL) : NULL;
	if (!hp)
		__builtin_trap();
	fuzz_requested = 0;

	/* Each operation is 6 bytes: kind/width, argument, 4 bytes of value. */
	for (i = 0; i + 6 <= size; i += 6) {
		uint8_t op = data[i], arg = data[i + 1], buf[8];
		unsigned int width = 1u << ((op >> 3) & 3);
		uint16_t port = ACPI_PCIHP_PORT - 2 + arg % (ACPI_PCIHP_LEN + 4);

		if (op & 0x80)
			port = PC_ACPI_GPE0 + arg % PC_ACPI_GPE0_LEN;
		memcpy(buf, data + i + 2, 4);
		memcpy(buf + 4, data + i + 2, 4);
		switch (op & 7) {
		case 0: case 1:
			fake_pio_write(&fm, port, buf, width);
			break;
		case 2: case 3:
			fake_pio_read(&fm, port, buf, width);
			break;
		case 4:
			acpi_pcihp_plug(hp, arg % 40);
			break;
		case 5:
			if (acpi_pcihp_unplug_request(hp, arg % 40) == 0)
				fuzz_requested |= 1u << (arg % 40);
			break;
		case 6:
			acpi_pcihp_set_removable(hp, arg % 40, buf[0] & 1);
			break;
		case 7:
			if (acpi_pcihp_reset(hp) != fuzz_requested)
				__builtin_trap();
			fuzz_requested = 0;
			if (arg & 1)
				acpi_pm_reset(pm);
			break;
		}
	}

	/* Whatever happened, the lines hold 0 or 1 and the registers still answer. */
	if (fm.irq_level[PC_ACPI_SCI_IRQ] != 0 && fm.irq_level[PC_ACPI_SCI_IRQ] != 1)
		__builtin_trap();
	v = 0;
	fake_pio_read(&fm, ACPI_PCIHP_PORT + ACPI_PCIHP_DOWN, &v, 4);
	if (v != fuzz_requested)
		__builtin_trap();
	fake_pio_write(&fm, ACPI_PCIHP_PORT + ACPI_PCIHP_EJECT, &v, 4);
	if (fuzz_requested)
		__builtin_trap();

	acpi_pcihp_free(hp);
	acpi_pm_free(pm);
	fake_machine_fini(&fm);
	return 0;
}
