/*
 * DSDT (ACPI 6.x ch. 5.2.11.1): COM1 (PNP0501), CMOS RTC (PNP0B00), i8042
 * keyboard (PNP0303), PS/2 mouse (PNP0F13) and pvpanic (QEMU0001) under \_SB with their _CRS
 * (ch. 6.4), the PCI host bridge PCI0 (PNP0A08, PCI Firmware 3.0 ch. 4.1.5)
 * with its _PRT (ch. 6.2.13: every slot's INTA-D on GSIs 16-19) and, on a
 * PCIe machine, its _OSC (PCI Firmware 3.2 ch. 4.5), microvm's virtio-mmio
 * transports (LNRO0005, the ACPI id Linux's virtio_mmio driver matches),
 * \_S5 (ch. 7.4.2) and an empty \_PIC (ch. 5.8.1). The power
 * button is the FADT fixed-feature button, so it has no device here.
 */
#include <stdio.h>

#include "devices/pci/bus.h"
#include "vmm/acpi/dsdt.h"
#include "vmm/acpi/pcihp_aml.h"

#define DSDT_RTC_PORT		0x70
#define DSDT_RTC_IRQ		8
#define DSDT_I8042_DATA		0x60
#define DSDT_I8042_CMD		0x64
#define DSDT_KBD_IRQ		1
#define DSDT_AUX_IRQ		12
#define DSDT_VIRTIO_MMIO_SIZE	0x200

static void acpi_dsdt_hid(struct aml *a, const char *eisaid)
{
	aml_name_decl(a, "_HID");
	aml_eisaid(a, eisaid);
}

static void acpi_dsdt_com1(struct aml *a, const struct acpi_config *cfg)
{
	aml_device_begin(a, "COM1");
	acpi_dsdt_hid(a, "PNP0501");
	aml_name_decl(a, "_UID");
	aml_int(a, 1);
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_io(a, cfg->com1_port, cfg->com1_port, 1, 8);
	aml_res_irq(a, cfg->com1_irq);
	aml_res_end(a);
	aml_end(a);
}

static void acpi_dsdt_rtc(struct aml *a)
{
	aml_device_begin(a, "RTC");
	acpi_dsdt_hid(a, "PNP0B00");
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_io(a, DSDT_RTC_PORT, DSDT_RTC_PORT, 1, 2);
	aml_res_irq(a, DSDT_RTC_IRQ);
	aml_res_end(a);
	aml_end(a);
}

static void acpi_dsdt_i8042(struct aml *a)
{
	aml_device_begin(a, "KBD");
	acpi_dsdt_hid(a, "PNP0303");
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_io(a, DSDT_I8042_DATA, DSDT_I8042_DATA, 1, 1);
	aml_res_io(a, DSDT_I8042_CMD, DSDT_I8042_CMD, 1, 1);
	aml_res_irq(a, DSDT_KBD_IRQ);
	aml_res_end(a);
	aml_end(a);

	aml_device_begin(a, "MOU");
	acpi_dsdt_hid(a, "PNP0F13");
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_irq(a, DSDT_AUX_IRQ);
	aml_res_end(a);
	aml_end(a);
}

/* pvpanic (QEMU docs/specs/pvpanic.txt): ACPI id QEMU0001, one I/O port. */
static void acpi_dsdt_pvpanic(struct aml *a, const struct acpi_config *cfg)
{
	aml_device_begin(a, "PEVT");
	aml_name_decl(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_io(a, cfg->pvpanic_port, cfg->pvpanic_port, 1, 1);
	aml_res_end(a);
	aml_name_decl(a, "_STA");
	aml_int(a, 0x0f);
	aml_end(a);
}

/*
 * One virtio-mmio transport (VIRTIO 1.2 ch. 4.2): _HID LNRO0005, its 0x200
 * bytes of registers and its interrupt, a level-triggered, active-high GSI
 * (the transport holds the line while InterruptStatus is non-zero).
 */
static void acpi_dsdt_virtio_mmio(struct aml *a, unsigned int i,
				  const struct acpi_virtio_mmio *v)
{
	char name[5];

	snprintf(name, sizeof(name), "VR%02u", i);
	aml_device_begin(a, name);
	aml_name_decl(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_decl(a, "_UID");
	aml_int(a, i);
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_mem32_fixed(a, (uint32_t)v->base, DSDT_VIRTIO_MMIO_SIZE, 1);
	aml_res_ext_irq(a, v->gsi, AML_IRQ_CONSUMER);
	aml_res_end(a);
	aml_end(a);
}

/*
 * _PRT (ACPI 6.x ch. 6.2.13), one entry per slot and pin, each a direct GSI
 * (Source 0, SourceIndex = GSI: level-triggered, active-low) following the
 * swizzle of devices/pci/bus.h. Address is slot << 16 | 0xFFFF (any function).
 */
static void acpi_dsdt_prt(struct aml *a)
{
	unsigned int slot, pin;

	aml_name_decl(a, "_PRT");
	aml_package_begin(a, PCI_SLOTS * 4);
	for (slot = 0; slot < PCI_SLOTS; slot++) {
		for (pin = 0; pin < 4; pin++) {
			aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, PCI_INTX_GSI(slot, pin + 1));
			aml_end(a);
		}
	}
	aml_end(a);
}

/* The PCI host bridge _OSC UUID 33DB4D5B-1FF7-401C-9657-7441C03DD766, ToUUID order. */
static const uint8_t dsdt_osc_pci_uuid[16] = {
	0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
	0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
};

/* _OSC status (DWORD 1) and control (DWORD 3) bits, PCI Firmware 3.2 ch. 4.5.1-4.5.2. */
#define DSDT_OSC_FAILURE	0x02
#define DSDT_OSC_BAD_UUID	0x04
#define DSDT_OSC_BAD_REVISION	0x08
#define DSDT_OSC_MASKED		0x10
#define DSDT_OSC_PCIE_HOTPLUG	0x01
#define DSDT_OSC_PCIE_PME	0x04
#define DSDT_OSC_PCIE_AER	0x08
#define DSDT_OSC_PCIE_CAP	0x10
#define DSDT_OSC_GRANTED	(DSDT_OSC_PCIE_HOTPLUG | DSDT_OSC_PCIE_PME | \
				 DSDT_OSC_PCIE_AER | DSDT_OSC_PCIE_CAP)

/* Or (name, bit, name): set a status bit in a buffer field. */
static void acpi_dsdt_or_into(struct aml *a, const char *name, unsigned int bit)
{
	aml_or(a);
	aml_name(a, name);
	aml_int(a, bit);
	aml_name(a, name);
}

/* If (LNot (LEqual (x, y))): the caller emits x and y, the body, and aml_end(). */
static void acpi_dsdt_if_not_equal(struct aml *a)
{
	aml_if_begin(a);
	aml_lnot(a);
	aml_lequal(a);
}

/*
 * _OSC of a PCIe host bridge (PCI Firmware 3.2 ch. 4.5): the OS gets native
 * control of PCIe hotplug, PME, AER and the PCIe capability (so pciehp and
 * aer bind on root ports); SHPC, LTR and the rest stay refused. A requested
 * bit that is refused sets "capabilities masked" (the OS then asks for what
 * it was granted); an unknown UUID or revision, or too short a buffer, is
 * reported in the status DWORD.
 */
static void acpi_dsdt_osc(struct aml *a)
{
	aml_method_begin(a, "_OSC", 4, 0);
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_int(a, 0);
	aml_name(a, "CDW1");

	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_buffer(a, dsdt_osc_pci_uuid, sizeof(dsdt_osc_pci_uuid));

	aml_if_begin(a);			/* fewer than 3 DWORDs: no control field */
	aml_lless(a);
	aml_arg(a, 2);
	aml_int(a, 3);
	acpi_dsdt_or_into(a, "CDW1", DSDT_OSC_FAILURE);
	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);

	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_int(a, 8);
	aml_name(a, "CDW3");
	aml_store(a);
	aml_name(a, "CDW3");
	aml_local(a, 0);
	aml_and(a);
	aml_local(a, 0);
	aml_int(a, DSDT_OSC_GRANTED);
	aml_local(a, 0);

	acpi_dsdt_if_not_equal(a);
	aml_arg(a, 1);
	aml_int(a, 1);
	acpi_dsdt_or_into(a, "CDW1", DSDT_OSC_BAD_REVISION);
	aml_end(a);

	acpi_dsdt_if_not_equal(a);
	aml_name(a, "CDW3");
	aml_local(a, 0);
	acpi_dsdt_or_into(a, "CDW1", DSDT_OSC_MASKED);
	aml_end(a);

	aml_store(a);
	aml_local(a, 0);
	aml_name(a, "CDW3");
	aml_end(a);				/* If UUID */
	aml_else_begin(a);
	acpi_dsdt_or_into(a, "CDW1", DSDT_OSC_BAD_UUID);
	aml_end(a);

	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);
}

/*
 * The PCI host bridge (PCI Firmware 3.0 ch. 4.1.5): PNP0A08 compatible with
 * PNP0A03, segment 0, buses 0 .. pci_bus_end, and _OSC when it is a PCIe
 * root complex (q35); _CRS hands it the I/O space around 0xCF8 (which
 * holds the I/O BAR window 0xC000-0xFFFF), the 32-bit BAR window and the 64-bit
 * one, and consumes the 0xCF8 ports itself.
 */
static void acpi_dsdt_pci0(struct aml *a, const struct acpi_config *cfg)
{
	uint32_t mem_min = (uint32_t)cfg->pci_mem32_base;
	uint32_t mem_len = (uint32_t)cfg->pci_mem32_size;
	uint8_t win = AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED;

	aml_device_begin(a, "PCI0");
	acpi_dsdt_hid(a, "PNP0A08");
	aml_name_decl(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name_decl(a, "_SEG");
	aml_int(a, 0);
	aml_name_decl(a, "_BBN");
	aml_int(a, 0);
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_name_decl(a, "_CRS");
	aml_res_begin(a);
	aml_res_word(a, AML_RES_BUS, win, 0, 0, cfg->pci_bus_end, 0,
		     (uint16_t)cfg->pci_bus_end + 1);
	aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
	aml_res_word(a, AML_RES_IO, win, AML_IO_RANGE_ENTIRE, 0x0000, 0x0cf7, 0, 0x0cf8);
	aml_res_word(a, AML_RES_IO, win, AML_IO_RANGE_ENTIRE, 0x0d00, 0xffff, 0, 0xf300);
	aml_res_dword(a, AML_RES_MEMORY, win, AML_MEM_RW | AML_MEM_CACHEABLE, mem_min,
		      mem_min + mem_len - 1, 0, mem_len);
	if (cfg->pci_mem64_size)
		aml_res_qword(a, AML_RES_MEMORY, win, AML_MEM_RW | AML_MEM_CACHEABLE,
			      cfg->pci_mem64_base,
			      cfg->pci_mem64_base + cfg->pci_mem64_size - 1, 0,
			      cfg->pci_mem64_size);
	aml_res_end(a);
	if (cfg->pcie_native)
		acpi_dsdt_osc(a);
	acpi_dsdt_prt(a);
	aml_end(a);
}

/* \_S5: SLP_TYPa, SLP_TYPb, two reserved elements. */
static void acpi_dsdt_s5(struct aml *a, const struct acpi_config *cfg)
{
	aml_name_decl(a, "\\_S5");
	aml_package_begin(a, 4);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a);
}

int acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	unsigned int i;

	aml_scope_begin(a, "\\_SB");
	acpi_dsdt_com1(a, cfg);
	acpi_dsdt_rtc(a);
	acpi_dsdt_i8042(a);
	if (cfg->pvpanic_port)
		acpi_dsdt_pvpanic(a, cfg);
	if (cfg->pci_ecam_base)
		acpi_dsdt_pci0(a, cfg);
	for (i = 0; i < cfg->nr_virtio_mmio && i < ACPI_MAX_VIRTIO_MMIO; i++)
		acpi_dsdt_virtio_mmio(a, i, &cfg->virtio_mmio[i]);
	aml_end(a);
	if (cfg->pci_ecam_base && cfg->pcihp_port)
		pcihp_aml_append(a, cfg->pcihp_port, cfg->pcihp_slots);
	acpi_dsdt_s5(a, cfg);
	/* The interrupt model (PIC/APIC) changes nothing in our tables. */
	aml_method_begin(a, "\\_PIC", 1, 0);
	aml_end(a);
	return aml_finish(a);
}

size_t acpi_dsdt_build(struct acpi_blob *b, const struct acpi_config *cfg)
{
	size_t t = acpi_table_begin(b, "DSDT", DSDT_REVISION);
	struct aml a;
	int err;

	aml_init(&a);
	err = acpi_dsdt_aml(&a, cfg);
	/* A bad config value (an IRQ above 15, ...) ends the build. */
	if (!err)
		acpi_blob_append(b, a.buf, a.len);
	else if (!b->err)
		b->err = err;
	aml_free(&a);
	acpi_table_end(b, t);
	return t;
}
