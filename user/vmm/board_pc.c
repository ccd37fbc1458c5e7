/*
 * The "pc" board (machine type pc-keel-N): an i440FX-style PCI host bridge
 * with ECAM for 256 buses, ACPI PCI hotplug on bus 0, COM1, i8042, CMOS RTC, the ACPI PM block, pvpanic at
 * 0x505, ACPI tables, and the PCI windows and BAR placement firmware would do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/acpi_pcihp.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "devices/pci/host.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "vmm/acpi/acpi.h"
#include "vmm/board.h"
#include "vmm/kvm.h"
#include "vmm/qmp/pci.h"

#define PC_LAPIC_ADDR	0xFEE00000ULL
#define PC_IOAPIC_ADDR	0xFEC00000ULL
/* PCI hole layout: a 32-bit BAR window, then ECAM for 256 buses (reserved in e820). */
#define PC_PCI_MEM32_BASE	0xC0000000ULL
#define PC_PCI_MEM32_SIZE	0x20000000ULL
#define PC_PCI_ECAM_BASE	0xE0000000ULL
#define PC_PCI_BUSES		256	/* ECAM for buses 0..255: 256 MiB below the I/O APIC */
/* I/O BARs; the 64-bit BAR window starts at a 1 GiB boundary above RAM and 4 GiB. */
#define PC_PCI_IO_BASE		0xC000
#define PC_PCI_IO_SIZE		0x4000
#define PC_PCI_MEM64_ALIGN	(1ULL << 30)
#define PC_PCI_MEM64_SIZE	(32ULL << 30)

struct pc_board {
	struct pc_legacy legacy;
	struct pci_host *pci;
	struct dev_bus *root;		/* "pci.0" in the device tree */
	struct acpi_pcihp *pcihp;	/* hotplug on bus 0 through ACPI (acpiphp) */
	struct machine *m;
	uint32_t eject_pending;		/* slots the guest ejected, for the main loop (atomic) */
};

/* The device on bus 0 in slot (function 0), or NULL. */
static struct device *pc_slot_device(struct pc_board *b, unsigned int slot)
{
	struct device *d;

	for (d = b->m->devs.head; d; d = d->next)
		if (d->bus == b->root && d->pci && d->pci->devfn >> 3 == slot)
			return d;
	return NULL;
}

/* On the main loop: the guest ejected these slots; their devices go. */
static void pc_eject_now(void *opaque)
{
	struct machine *m = opaque;
	struct pc_board *b = m->board;
	uint32_t slots;
	unsigned int s;

	/* A reset in between rebuilt the board: the reset completed the unplug. */
	if (!b)
		return;
	slots = __atomic_exchange_n(&b->eject_pending, 0, __ATOMIC_SEQ_CST);
	for (s = 0; s < ACPI_PCIHP_SLOTS; s++) {
		struct device *d;

		if (!(slots & (1u << s)))
			continue;
		d = pc_slot_device(b, s);
		if (d && d->unplug_pending)
			device_unplug_done(d);
	}
}

/* On a vCPU thread (the _EJ0 write): hand the slot to the main loop. */
static void pc_pcihp_eject(void *opaque, unsigned int slot)
{
	struct pc_board *b = opaque;

	if (__atomic_fetch_or(&b->eject_pending, 1u << slot, __ATOMIC_SEQ_CST))
		return;
	if (loop_call(b->m->loop, pc_eject_now, b->m))
		log_err("pci-hotplug: cannot hand slot %u's eject to the main loop", slot);
}

static int pc_hotplug_plugged(struct dev_bus *bus, struct device *dev, char *err,
			      size_t errlen)
{
	struct pc_board *b = bus->ops_opaque;
	unsigned int slot = dev->pci->devfn >> 3;

	acpi_pcihp_set_removable(b->pcihp, slot, true);
	return acpi_pcihp_plug(b->pcihp, slot);
}

static int pc_hotplug_unplug(struct dev_bus *bus, struct device *dev, char *err,
			     size_t errlen)
{
	struct pc_board *b = bus->ops_opaque;

	return acpi_pcihp_unplug_request(b->pcihp, dev->pci->devfn >> 3);
}

static const struct dev_bus_ops pc_root_bus_ops = {
	.plugged = pc_hotplug_plugged,
	.unplug_request = pc_hotplug_unplug,
};

static int pc_pio_claim(struct machine *m, uint16_t base, uint16_t len,
			const struct io_ops *ops, void *dev)
{
	struct pc_board *b = m->board;

	/* 0xCF9 lies inside the PCI address dword: the host bridge forwards its bytes. */
	if (b && b->pci && base == PCI_HOST_RESET_CTL && len == 1) {
		pci_host_set_cf9(b->pci, ops, dev);
		return 1;
	}
	return 0;
}

/* The CMOS bytes PC firmware leaves for the OS (memory sizes, CPU count). */
static void pc_cmos_init(struct machine *m, struct rtc *rtc)
{
	uint64_t low = guest_mem_low_end(&m->mem);
	uint64_t high = m->mem.ram_size - low;
	uint64_t ext_kb, above16m, above4g;

	ext_kb = ((low < (64ULL << 20) ? low : (64ULL << 20)) - (1ULL << 20)) >> 10;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	above16m = low > (16ULL << 20) ? (low - (16ULL << 20)) >> 16 : 0;
	if (above16m > 0xffff)
		above16m = 0xffff;
	above4g = high >> 16;

	rtc_cmos_set(rtc, 0x15, 640 & 0xff);	/* base memory in KiB */
	rtc_cmos_set(rtc, 0x16, 640 >> 8);
	rtc_cmos_set(rtc, 0x17, ext_kb & 0xff);	/* KiB above 1 MiB */
	rtc_cmos_set(rtc, 0x18, ext_kb >> 8);
	rtc_cmos_set(rtc, 0x30, ext_kb & 0xff);
	rtc_cmos_set(rtc, 0x31, ext_kb >> 8);
	rtc_cmos_set(rtc, 0x34, above16m & 0xff);	/* 64 KiB units above 16 MiB */
	rtc_cmos_set(rtc, 0x35, above16m >> 8);
	rtc_cmos_set(rtc, 0x5b, above4g & 0xff);	/* 64 KiB units above 4 GiB */
	rtc_cmos_set(rtc, 0x5c, (above4g >> 8) & 0xff);
	rtc_cmos_set(rtc, 0x5d, (above4g >> 16) & 0xff);
	rtc_cmos_set(rtc, 0x5f, m->cfg->cpus - 1);
}

static void pc_pvpanic_event(void *opaque, unsigned int events)
{
	struct machine *m = opaque;

	machine_guest_panic(&m->ms, events);
}

int pc_legacy_new(struct machine *m, struct pc_legacy *l)
{
	/* POST codes: firmware-style debug output nobody reads; accept quietly. */
	int ret = bus_add(&m->pio, PC_POST_PORT, 1, &bus_sink_ops, NULL);

	if (ret)
		return ret;
	l->com1 = serial_new(&m->ms, "com1", PC_COM1_PORT, PC_COM1_IRQ, m->console);
	l->kbc = i8042_new(&m->ms);
	l->rtc = rtc_new(&m->ms);
	l->pm = acpi_pm_new(&m->ms);
	l->pvpanic = pvpanic_new(&m->ms, PC_PVPANIC_PORT, pc_pvpanic_event, m);
	if (!l->com1 || !l->kbc || !l->rtc || !l->pm || !l->pvpanic) {
		log_err("cannot create the legacy devices");
		return -ENOMEM;
	}
	pc_cmos_init(m, l->rtc);
	return 0;
}

void pc_legacy_free(struct pc_legacy *l)
{
	if (l->com1)
		serial_free(l->com1);
	if (l->kbc)
		i8042_free(l->kbc);
	if (l->rtc)
		rtc_free(l->rtc);
	if (l->pm)
		acpi_pm_free(l->pm);
	pvpanic_free(l->pvpanic);
	*l = (struct pc_legacy){ 0 };
}

int pc_legacy_powerdown(struct pc_legacy *l)
{
	if (!l->pm)
		return -ENODEV;
	acpi_pm_power_button(l->pm);
	return 0;
}

static int pc_build(struct machine *m)
{
	struct pc_board *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	m->board = b;
	b->m = m;
	m->pio_claim = pc_pio_claim;
	ret = guest_mem_e820_reserve(&m->mem, PC_PCI_ECAM_BASE, PCI_ECAM_SIZE(PC_PCI_BUSES));
	if (ret) {
		log_err("cannot reserve the PCI ECAM window in the e820 map: %s", strerror(-ret));
		return ret;
	}
	b->pci = pci_host_new_ecam(&m->ms, PC_PCI_ECAM_BASE, PC_PCI_BUSES);
	if (!b->pci)
		return -ENOMEM;
	b->root = device_bus_add(&m->devs, NULL, "pci.0", DEV_BUS_PCI, &b->pci->bus);
	if (!b->root)
		return -ENOMEM;
	b->root->hotplug = true;
	b->root->ops = &pc_root_bus_ops;
	b->root->ops_opaque = b;
	/* After the host bridge: acpi_pm's 0xCF9 goes through it (pc_pio_claim). */
	ret = pc_legacy_new(m, &b->legacy);
	if (ret)
		return ret;
	b->pcihp = acpi_pcihp_new(&m->ms, ACPI_PCIHP_PORT, b->legacy.pm, pc_pcihp_eject, b);
	if (!b->pcihp) {
		log_err("cannot create the ACPI PCI hotplug block");
		return -ENOMEM;
	}
	return 0;
}

/*
 * The BAR windows (design/pci.md): 32-bit below the ECAM, I/O at 0xC000, and
 * 64-bit from the first 1 GiB boundary at or above max(4 GiB, top of RAM),
 * 32 GiB long but below the guest's physical address width. q35 has the same.
 */
void pc_pci_windows(struct machine *m, struct pci_host_windows *w)
{
	uint64_t top = GUEST_4G, limit = 1ULL << kvm_phys_bits(m->kvm), base;
	unsigned int i;

	*w = (struct pci_host_windows){
		.mem32 = { PC_PCI_MEM32_BASE, PC_PCI_MEM32_SIZE },
		.io = { PC_PCI_IO_BASE, PC_PCI_IO_SIZE },
	};
	for (i = 0; i < m->mem.nr_regions; i++)
		if (m->mem.regions[i].gpa + m->mem.regions[i].size > top)
			top = m->mem.regions[i].gpa + m->mem.regions[i].size;
	base = (top + PC_PCI_MEM64_ALIGN - 1) & ~(PC_PCI_MEM64_ALIGN - 1);
	if (base >= limit) {
		log_info("pci: no room for a 64-bit BAR window below the %u-bit physical address limit",
			 kvm_phys_bits(m->kvm));
		return;
	}
	w->mem64.base = base;
	w->mem64.size = limit - base < PC_PCI_MEM64_SIZE ? limit - base : PC_PCI_MEM64_SIZE;
}

/* The ACPI description every PC-family board shares: CPUs, APICs, PM block, COM1. */
void pc_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus)
{
	*cfg = (struct acpi_config){
		.base = ACPI_TABLES_BASE,
		.nr_cpus = nr_cpus,
		.lapic_addr = PC_LAPIC_ADDR,
		.ioapic_addr = PC_IOAPIC_ADDR,
		/* LAPIC IDs are 0..cpus-1: the I/O APIC takes the next one. */
		.ioapic_id = (uint8_t)nr_cpus,
		.sci_irq = PC_ACPI_SCI_IRQ,
		.pm1a_evt_port = PC_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PC_ACPI_PM1A_CNT,
		.pm_tmr_port = PC_ACPI_PM_TMR,
		.gpe0_port = PC_ACPI_GPE0,
		.gpe0_len = PC_ACPI_GPE0_LEN,
		.reset_port = PC_RESET_CTL_PORT,
		.reset_value = PC_RESET_VALUE,
		.s5_slp_typ = PC_ACPI_S5_SLP_TYP,
		.com1_port = PC_COM1_PORT,
		.com1_irq = PC_COM1_IRQ,
		.pvpanic_port = PC_PVPANIC_PORT,
	};
}

/* Build the tables of cfg into guest memory at ACPI_TABLES_BASE; *rsdp for the boot. */
int pc_acpi_write(struct machine *m, const struct acpi_config *cfg, uint64_t *rsdp)
{
	struct acpi_tables t = { 0 };
	int ret;

	ret = acpi_build(cfg, &t);
	if (ret) {
		log_err("cannot build the ACPI tables: %s", strerror(-ret));
		return ret;
	}
	if (t.len > ACPI_TABLES_SIZE ||
	    guest_mem_write(&m->mem, ACPI_TABLES_BASE, t.buf, t.len)) {
		log_err("ACPI tables (%zu bytes) do not fit at %#x", t.len, ACPI_TABLES_BASE);
		acpi_tables_free(&t);
		return -ENOSPC;
	}
	*rsdp = t.rsdp_addr;
	acpi_tables_free(&t);
	return 0;
}

static int pc_acpi_init(struct machine *m, struct pc_board *b, uint64_t *rsdp)
{
	struct acpi_config cfg;

	pc_acpi_config(&cfg, m->cfg->cpus);
	cfg.pci_ecam_base = PC_PCI_ECAM_BASE;
	cfg.pci_mem32_base = PC_PCI_MEM32_BASE;
	cfg.pci_mem32_size = PC_PCI_MEM32_SIZE;
	cfg.pci_mem64_base = b->pci->win.mem64.base;
	cfg.pci_mem64_size = b->pci->win.mem64.size;
	cfg.pci_bus_end = PC_PCI_BUSES - 1;
	cfg.pcihp_port = ACPI_PCIHP_PORT;
	cfg.pcihp_slots = ACPI_PCIHP_SLOT_MASK;
	return pc_acpi_write(m, &cfg, rsdp);
}

/* After every PCI device is on its bus: the windows and BAR placement, then ACPI. */
static int pc_finish(struct machine *m, uint64_t *rsdp)
{
	struct pc_board *b = m->board;
	struct pci_host_windows w;
	struct device *d;
	int ret;

	/* The guest may eject what could also have been hot-plugged. */
	for (d = m->devs.head; d; d = d->next)
		if (d->bus == b->root && d->pci && d->type->hotpluggable)
			acpi_pcihp_set_removable(b->pcihp, d->pci->devfn >> 3, true);
	pc_pci_windows(m, &w);
	ret = pci_host_set_windows(b->pci, &w);
	if (ret)
		return ret;
	ret = pci_host_place_bars(b->pci);
	if (ret) {
		log_err("pci: the devices' BARs do not fit the PCI windows");
		return ret;
	}
	return pc_acpi_init(m, b, rsdp);
}

static void pc_teardown(struct machine *m)
{
	struct pc_board *b = m->board;

	if (!b)
		return;
	acpi_pcihp_free(b->pcihp);
	pc_legacy_free(&b->legacy);
	device_bus_del(&m->devs, b->root);
	pci_host_free(b->pci);
	free(b);
	m->board = NULL;
	m->pio_claim = NULL;
}

static int pc_powerdown(struct machine *m)
{
	struct pc_board *b = m->board;

	return b ? pc_legacy_powerdown(&b->legacy) : -ENODEV;
}

static unsigned int pc_pci_functions(struct machine *m, struct qmp_pci_function *out,
				     unsigned int max)
{
	struct pc_board *b = m->board;

	return b && b->pci ? qmp_pci_collect(b->pci, &m->devs, out, max) : 0;
}

const struct board_ops board_pc_ops = {
	.build = pc_build,
	.finish = pc_finish,
	.teardown = pc_teardown,
	.powerdown = pc_powerdown,
	.pci_functions = pc_pci_functions,
};
