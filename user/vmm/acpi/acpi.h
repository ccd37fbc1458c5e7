/*
 * ACPI tables (ACPI 6.x): RSDP, XSDT, FADT, FACS, MADT, DSDT, built in C
 * into a buffer that is then copied into guest RAM at cfg->base.
 */
#ifndef KEEL_VMM_ACPI_ACPI_H
#define KEEL_VMM_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the tables live in guest RAM: the BIOS area, reserved in e820. */
#define ACPI_TABLES_BASE	0xE0000
#define ACPI_TABLES_SIZE	0x20000

/* microvm's virtio-mmio slots: at most one DSDT device per GSI of the I/O APIC. */
#define ACPI_MAX_VIRTIO_MMIO	24

struct acpi_virtio_mmio {
	uint64_t base;			/* 0x200 bytes of registers (VIRTIO 1.2 ch. 4.2.2) */
	uint32_t gsi;			/* level-triggered, active high */
};

struct acpi_config {
	uint64_t base;			/* guest-physical address of the buffer */
	unsigned int nr_cpus;		/* LAPIC IDs 0 .. nr_cpus-1, all enabled */
	uint64_t lapic_addr;		/* 0xFEE00000 */
	uint64_t ioapic_addr;		/* 0xFEC00000 */
	uint8_t ioapic_id;
	uint16_t sci_irq;		/* 9, level, active high */
	uint16_t pm1a_evt_port;		/* 4 bytes: status + enable */
	uint16_t pm1a_cnt_port;		/* 2 bytes */
	uint16_t pm_tmr_port;		/* 4 bytes, 24-bit timer */
	uint16_t gpe0_port;		/* gpe0_len bytes: status half, enable half */
	uint8_t gpe0_len;
	uint16_t reset_port;		/* FADT RESET_REG, I/O space */
	uint8_t reset_value;
	uint8_t s5_slp_typ;		/* SLP_TYP for \_S5 */
	/* Legacy devices described in the DSDT (present on every PC machine). */
	uint16_t com1_port;
	uint8_t com1_irq;
	uint16_t pvpanic_port;		/* QEMU0001 at this I/O port; 0: none */
	/* PCI host bridge PCI0 and the MCFG table; 0: no PCI. */
	uint64_t pci_ecam_base;		/* ECAM of buses 0 .. pci_bus_end, 1 MiB each */
	uint8_t pci_bus_end;		/* last bus the host decodes (MCFG, PCI0 _CRS) */
	/* PCI0 is a PCIe root complex: _OSC hands the OS native PCIe control. */
	bool pcie_native;
	uint64_t pci_mem32_base;	/* 32-bit BAR window in the PCI hole */
	uint64_t pci_mem32_size;
	uint64_t pci_mem64_base;	/* 64-bit BAR window above RAM; size 0: none */
	uint64_t pci_mem64_size;
	/* ACPI PCI hotplug of bus 0 (acpi_pcihp.h): register block port, 0: none. */
	uint16_t pcihp_port;
	uint32_t pcihp_slots;		/* slots described with _EJ0 */
	/* virtio-mmio transports (microvm), one LNRO0005 device each; 0: none. */
	unsigned int nr_virtio_mmio;
	struct acpi_virtio_mmio virtio_mmio[ACPI_MAX_VIRTIO_MMIO];
};

struct acpi_tables {
	uint8_t *buf;		/* cfg->base corresponds to buf[0] */
	size_t len;		/* bytes used */
	size_t cap;
	uint64_t rsdp_addr;	/* guest-physical address of the RSDP */
};

/* Build all tables; returns 0 or negative errno. Free with acpi_tables_free(). */
int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out);
void acpi_tables_free(struct acpi_tables *t);

#endif
