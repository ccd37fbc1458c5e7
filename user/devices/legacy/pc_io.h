/*
 * The fixed I/O ports, IRQs and ACPI register blocks of keel's PC machines.
 * The devices in this folder use them and user/vmm/acpi describes them, so
 * they are written down once, here.
 */
#ifndef KEEL_DEVICES_LEGACY_PC_IO_H
#define KEEL_DEVICES_LEGACY_PC_IO_H

#define PC_COM1_PORT		0x3f8
#define PC_COM1_IRQ		4
#define PC_I8042_DATA_PORT	0x60
#define PC_I8042_CMD_PORT	0x64
#define PC_I8042_KBD_IRQ	1
#define PC_I8042_AUX_IRQ	12
#define PC_RTC_PORT		0x70	/* index 0x70, data 0x71 */
#define PC_RTC_IRQ		8
#define PC_POST_PORT		0x80
#define PC_PVPANIC_PORT		0x505	/* pvpanic (ACPI QEMU0001) */
#define PC_RESET_CTL_PORT	0xcf9	/* reset control: FADT RESET_REG */
#define PC_RESET_VALUE		0x06	/* full reset, as written by the guest */

/* ACPI fixed hardware (PM1a event/control, PM timer, GPE0). */
#define PC_ACPI_PM_BASE		0x600
#define PC_ACPI_PM1A_EVT	(PC_ACPI_PM_BASE + 0x00)	/* 4 bytes */
#define PC_ACPI_PM1A_CNT	(PC_ACPI_PM_BASE + 0x04)	/* 2 bytes */
#define PC_ACPI_PM_TMR		(PC_ACPI_PM_BASE + 0x08)	/* 4 bytes */
#define PC_ACPI_GPE0		(PC_ACPI_PM_BASE + 0x20)	/* 8 bytes */
#define PC_ACPI_GPE0_LEN	8
#define PC_ACPI_SCI_IRQ		9
#define PC_ACPI_S5_SLP_TYP	5

#endif
