/*
 * FADT revision 6 (ACPI 6.x ch. 5.2.9) and FACS (ch. 5.2.10). Not
 * hardware-reduced: PM1a event/control, PM timer and GPE0 in I/O space,
 * given both as 32-bit block addresses and as X_ Generic Address Structures.
 */
#include <string.h>

#include "vmm/acpi/fadt.h"

static void acpi_gas_io(struct acpi_blob *b, size_t at, uint16_t port,
			uint8_t bytes, uint8_t access)
{
	acpi_put8(b, at, ACPI_GAS_SYSTEM_IO);
	acpi_put8(b, at + 1, bytes * 8);
	acpi_put8(b, at + 2, 0);
	acpi_put8(b, at + 3, access);
	acpi_put64(b, at + 4, port);
}

size_t acpi_facs_build(struct acpi_blob *b)
{
	size_t t = acpi_blob_alloc(b, FACS_LEN, 64);

	acpi_put_bytes(b, t, "FACS", 4);
	acpi_put32(b, t + 4, FACS_LEN);
	acpi_put8(b, t + 32, FACS_VERSION);
	return t;
}

/* The 32-bit blocks and their X_ twins describe the same registers. */
static void acpi_fadt_blocks(struct acpi_blob *b, size_t t,
			     const struct acpi_config *cfg)
{
	acpi_put32(b, t + FADT_PM1A_EVT_BLK, cfg->pm1a_evt_port);
	acpi_put32(b, t + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt_port);
	acpi_put32(b, t + FADT_PM_TMR_BLK, cfg->pm_tmr_port);
	acpi_put8(b, t + FADT_PM1_EVT_LEN, 4);
	acpi_put8(b, t + FADT_PM1_CNT_LEN, 2);
	acpi_put8(b, t + FADT_PM_TMR_LEN, 4);
	/* PM1 status and enable are 16-bit registers; GPE0 is byte-wide. */
	acpi_gas_io(b, t + FADT_X_PM1A_EVT_BLK, cfg->pm1a_evt_port, 4,
		    ACPI_GAS_ACCESS_WORD);
	acpi_gas_io(b, t + FADT_X_PM1A_CNT_BLK, cfg->pm1a_cnt_port, 2,
		    ACPI_GAS_ACCESS_WORD);
	acpi_gas_io(b, t + FADT_X_PM_TMR_BLK, cfg->pm_tmr_port, 4,
		    ACPI_GAS_ACCESS_DWORD);
	/* GPE0 is optional: a zero length means no block at all. */
	if (!cfg->gpe0_len)
		return;
	acpi_put32(b, t + FADT_GPE0_BLK, cfg->gpe0_port);
	acpi_put8(b, t + FADT_GPE0_BLK_LEN, cfg->gpe0_len);
	acpi_gas_io(b, t + FADT_X_GPE0_BLK, cfg->gpe0_port, cfg->gpe0_len,
		    ACPI_GAS_ACCESS_BYTE);
}

size_t acpi_fadt_build(struct acpi_blob *b, const struct acpi_config *cfg,
		       size_t facs, size_t dsdt)
{
	size_t t = acpi_table_begin(b, "FACP", FADT_REVISION);

	acpi_blob_alloc(b, FADT_LEN - ACPI_HEADER_LEN, 1);
	/*
	 * FACS only in X_FIRMWARE_CTRL: with both set, ACPICA installs the
	 * same FACS twice. The DSDT goes in both (they must then agree).
	 */
	acpi_blob_add_ptr32(b, t + FADT_DSDT, dsdt);
	acpi_blob_add_ptr64(b, t + FADT_X_FIRMWARE_CTRL, facs);
	acpi_blob_add_ptr64(b, t + FADT_X_DSDT, dsdt);
	acpi_put16(b, t + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD 0: no SMI handshake, the OS finds ACPI mode enabled. */
	acpi_put32(b, t + FADT_SMI_CMD, 0);
	acpi_fadt_blocks(b, t, cfg);
	/* Latencies above 100/1000 us say C2/C3 are not supported. */
	acpi_put16(b, t + FADT_P_LVL2_LAT, 101);
	acpi_put16(b, t + FADT_P_LVL3_LAT, 1001);
	/* The RTC keeps the century in CMOS byte 0x32, as PC firmware does. */
	acpi_put8(b, t + FADT_CENTURY, FADT_RTC_CENTURY_INDEX);
	acpi_put16(b, t + FADT_IAPC_BOOT_ARCH,
		   FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042);
	/* PWR_BUTTON clear: fixed power button; 24-bit timer: no TMR_VAL_EXT. */
	acpi_put32(b, t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 |
		   FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	acpi_gas_io(b, t + FADT_RESET_REG, cfg->reset_port, 1,
		    ACPI_GAS_ACCESS_BYTE);
	acpi_put8(b, t + FADT_RESET_VALUE, cfg->reset_value);
	acpi_put8(b, t + FADT_MINOR_VERSION, FADT_MINOR);
	acpi_put_bytes(b, t + FADT_HYPERVISOR_ID, "KEELKEEL", 8);
	acpi_table_end(b, t);
	return t;
}
