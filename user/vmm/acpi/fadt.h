/*
 * FADT (ACPI 6.x ch. 5.2.9, revision 6) and FACS (ch. 5.2.10) of keel's PC
 * machine: fixed hardware in I/O space, ACPI mode already enabled.
 */
#ifndef KEEL_VMM_ACPI_FADT_H
#define KEEL_VMM_ACPI_FADT_H

#include "vmm/acpi/acpi.h"
#include "vmm/acpi/table.h"

/* FADT byte offsets (ACPI 6.x table 5.9). */
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_PM_PROFILE		45
#define FADT_SCI_INT		46
#define FADT_SMI_CMD		48
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM_TMR_BLK		76
#define FADT_GPE0_BLK		80
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_PM_TMR_LEN		91
#define FADT_GPE0_BLK_LEN	92
#define FADT_P_LVL2_LAT		96
#define FADT_P_LVL3_LAT		98
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_MINOR_VERSION	131
#define FADT_X_FIRMWARE_CTRL	132
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM_TMR_BLK	208
#define FADT_X_GPE0_BLK		220
#define FADT_HYPERVISOR_ID	268
#define FADT_LEN		276

#define FADT_RTC_CENTURY_INDEX	0x32
#define FADT_REVISION		6
#define FADT_MINOR		0

/* FADT flags (table 5.10). */
#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* set: no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* set: no fixed sleep button */
#define FADT_F_TMR_VAL_EXT	(1u << 8)
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)

/* IA-PC boot architecture flags (table 5.11). */
#define FADT_BOOT_LEGACY_DEVICES	(1u << 0)
#define FADT_BOOT_8042			(1u << 1)

/* Generic Address Structure (ch. 5.2.3.2). */
#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1
#define ACPI_GAS_ACCESS_WORD	2
#define ACPI_GAS_ACCESS_DWORD	3

#define FACS_LEN		64
#define FACS_VERSION		2

size_t acpi_facs_build(struct acpi_blob *b);
size_t acpi_fadt_build(struct acpi_blob *b, const struct acpi_config *cfg,
		       size_t facs, size_t dsdt);

#endif
