/*
 * Fuzz target for the PCI bus tree (user/devices/pci/: bus.c, host.c, bridge.c,
 * enum.c, root_port.c): config writes and reads through 0xCF8/0xCFC and ECAM to
 * a tree of bridges and a hot-plug root port (slot control included), BAR
 * window accesses and hot-plug steps. Read-only IDs and capabilities must
 * survive; every walk must end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bridge.h"
#include "devices/pci/host.h"
#include "devices/pci/pcie.h"
#include "devices/pci/root_port.h"
#include "fake_machine.h"
#include "lib/log.h"

#define ECAM		0xE0000000ULL
#define MEM32		0xC0000000ULL
#define MEM64		0x400000000ULL
#define NR_BUSES	8
#define REC_LEN		8

/* bridge.o and root_port.o hold registry types; the device core may be absent. */
__attribute__((weak)) struct dev_bus *device_bus_add(struct devices *devs,
						     struct device *owner, const char *id,
						     enum dev_bus_kind kind, void *impl)
{
	return NULL;
}

__attribute__((weak)) void device_bus_del(struct devices *devs, struct dev_bus *bus)
{
}

__attribute__((weak)) void device_unplug_done(struct device *dev)
{
}

static const unsigned int fuzz_sizes[] = { 1, 2, 4, 4, 3, 1, 2, 8 };
/* Functions worth hitting: host, bridges, root port, devices behind them. */
static const uint8_t fuzz_devfns[] = { 0x00, 0x10, 0x18, 0x08, 0x00, 0x28, 0x38, 0xff };

static bool power_off_seen;

static void fuzz_power_off(struct pcie_root_port *rp, void *opaque)
{
	power_off_seen = true;
}

static void fuzz_bar_read(void *d, uint64_t off, void *data, unsigned int size)
{
	memset(data, 0x5a, size);
}

static void fuzz_bar_write(void *d, uint64_t off, const void *data, unsigned int size)
{
}

static const struct io_ops fuzz_bar_ops = { .read = fuzz_bar_read, .write = fuzz_bar_write };

static void fuzz_dev_init(struct pci_device *d, uint16_t id, bool pcie)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->name = "fuzz-dev";
	pci_config_init(&d->cfg, 0x1af4, id, 0x010000, 1, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(&d->cfg, PCI_INTERRUPT_PIN, 1, 1);
	pci_config_set_bar(&d->cfg, 0, 0x1000, 0);
	pci_config_set_bar(&d->cfg, 2, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	pci_config_set_bar(&d->cfg, 5, 0x20, PCI_BAR_IO);
	if (pcie)
		pcie_endpoint_cap_add(&d->cfg);
	for (i = 0; i < PCI_NR_BARS; i++)
		d->bar_ops[i] = &fuzz_bar_ops;
}

static uint32_t fuzz_ecam_rd(struct fake_machine *fm, uint64_t off, unsigned int size)
{
	uint32_t v = 0;

	fake_mmio_read(fm, ECAM + off, &v, size);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pci_bridge br_a, br_b, br_c;
	static struct pcie_root_port rp;
	static struct pci_device d1, d2, d3, ep;
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x10000000 },
		.mem64 = { MEM64, 1ULL << 32 },
		.io = { 0xc000, 0x4000 },
	};
	struct fake_machine fm;
	struct pci_host *h;
	bool ep_in = false;
	unsigned int b;
	size_t i;

	log_threshold = LOG_ERR + 1;
	fake_machine_init(&fm, 0);
	h = pci_host_new_ecam(&fm.ms, ECAM, NR_BUSES);
	if (!h || pci_host_set_windows(h, &w))
		abort();
	/* 00:02 bridge A > (01:05 bridge B > 02:00 d2), 01:03 d1; 00:03 root port > bridge C > d3. */
	pci_bridge_init(&br_a, "br-a", 0x1b36, 1, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_b, "br-b", 0x1b36, 1, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_c, "br-c", 0x1b36, 0xe, PCI_CLASS_BRIDGE_PCI, 0);
	pcie_cap_add(&br_c.pci.cfg, PCI_EXP_TYPE_PCI_BRIDGE, 0);
	if (pcie_root_port_init(&rp, "rp", 7, 1))
		abort();
	rp.power_off = fuzz_power_off;
	power_off_seen = false;
	fuzz_dev_init(&d1, 0x1001, false);
	fuzz_dev_init(&d2, 0x1002, false);
	fuzz_dev_init(&d3, 0x1003, false);
	fuzz_dev_init(&ep, 0x1004, true);
	pci_host_plug(&br_a.sec, &d1, PCI_DEVFN(3, 0));
	pci_host_plug(&br_b.sec, &d2, PCI_DEVFN(0, 0));
	pci_host_plug(&br_a.sec, &br_b.pci, PCI_DEVFN(5, 0));
	pci_host_plug(&br_c.sec, &d3, PCI_DEVFN(7, 0));
	pci_host_register(h, &br_a.pci, PCI_DEVFN(2, 0));
	pci_host_register(h, &rp.br.pci, PCI_DEVFN(3, 0));
	pci_host_place_bars(h);

	for (i = 0; i + REC_LEN <= size; i += REC_LEN) {
		const uint8_t *r = data + i;
		unsigned int sz = fuzz_sizes[r[1] & 7];
		unsigned int bus = (r[1] >> 3) % NR_BUSES;
		unsigned int devfn = r[1] & 0x80 ? r[2] : fuzz_devfns[r[2] & 7];
		unsigned int reg = r[3] | (r[0] & 0x10 ? (r[2] & 0xf) << 8 : 0);
		uint64_t val = r[4] | r[5] << 8 | r[6] << 16 | (uint64_t)r[7] << 24;
		bool wr = r[0] & 1;
		uint8_t buf[8];

		memcpy(buf, &val, 4);
		memcpy(buf + 4, &val, 4);
		switch ((r[0] >> 1) & 7) {
		case 0:		/* 0xCF8/0xCFC: any bus number, byte lanes */
			val = 0x80000000u | (uint32_t)r[4] << 16 | devfn << 8 | (reg & 0xfc);
			fake_pio_write(&fm, 0xcf8, &val, 4);
			if (wr)
				fake_pio_write(&fm, 0xcfc + (reg & 3), buf, sz > 4 ? 4 : sz);
			else
				fake_pio_read(&fm, 0xcfc + (reg & 3), buf, sz > 4 ? 4 : sz);
			break;
		case 1:
		case 2:		/* ECAM */
			{
				uint64_t off = (uint64_t)bus << 20 | devfn << 12 | (reg & 0xfff);

				if (wr)
					fake_mmio_write(&fm, ECAM + off, buf, sz);
				else
					fake_mmio_read(&fm, ECAM + off, buf, sz);
			}
			break;
		case 3:		/* the root port's slot registers and MSI */
			reg = (r[3] & 1 ? rp.msi : rp.exp + PCI_EXP_SLTCTL) + (r[2] & 0xe);
			if (wr)
				fake_mmio_write(&fm, ECAM + ((uint64_t)PCI_DEVFN(3, 0) << 12) +
						(reg & ~1u), buf, 2);
			else
				fake_mmio_read(&fm, ECAM + ((uint64_t)PCI_DEVFN(3, 0) << 12) +
					       (reg & ~1u), buf, 2);
			break;
		case 4:		/* hot-plug steps, as the device core would take them */
			if (!ep_in) {
				if (!pci_host_plug(&rp.br.sec, &ep, PCI_DEVFN(0, 0))) {
					ep_in = true;
					pcie_root_port_plugged(&rp);
				}
			} else if (power_off_seen || (r[2] & 3) == 0) {
				power_off_seen = false;
				pci_host_unplug(&ep);
				ep_in = false;
				pcie_root_port_unplugged(&rp);
			} else {
				pcie_root_port_unplug_request(&rp);
			}
			break;
		case 5:		/* BAR windows */
			{
				uint64_t a = MEM32 + ((val & 0xffffff) << 4);

				if (r[0] & 0x20)
					a = MEM64 + ((val & 0xffffff) << 4);
				if (wr)
					fake_mmio_write(&fm, a, buf, sz);
				else
					fake_mmio_read(&fm, a, buf, sz);
			}
			break;
		case 6:		/* I/O window */
			{
				uint16_t port = (uint16_t)(0xc000 + (val & 0x3fff));

				if (sz > 4)
					sz = 4;
				if (wr)
					fake_pio_write(&fm, port, buf, sz);
				else
					fake_pio_read(&fm, port, buf, sz);
			}
			break;
		default:	/* INTx from the functions behind bridges */
			pci_device_intx(r[2] & 1 ? &d2 : &d3, wr);
			break;
		}
	}

	/* Every bus number routes somewhere or nowhere, and quickly. */
	for (b = 0; b < 256; b++) {
		uint32_t a = 0x80000000u | b << 16, v;

		fake_pio_write(&fm, 0xcf8, &a, 4);
		fake_pio_read(&fm, 0xcfc, &v, 4);
	}
	/* Invariants: IDs and capability layouts are read-only. */
	if (fuzz_ecam_rd(&fm, 0, 4) != (PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR) ||
	    fuzz_ecam_rd(&fm, PCI_DEVFN(2, 0) << 12, 4) != 0x00011b36 ||
	    fuzz_ecam_rd(&fm, PCI_DEVFN(3, 0) << 12, 4) != 0x000c1b36 ||
	    pci_config_get(&rp.br.pci.cfg, rp.exp, 1) != PCI_CAP_ID_EXP ||
	    pci_config_get(&rp.br.pci.cfg, rp.exp + PCI_EXP_FLAGS, 2) != 0x0142 ||
	    pci_config_get(&rp.br.pci.cfg, rp.exp + PCI_EXP_SLTCAP, 4) >> 19 != 7 ||
	    pcie_ext_cap_find(&rp.br.pci.cfg, PCI_EXT_CAP_ID_ACS) == 0 ||
	    (pci_config_get(&br_a.pci.cfg, PCI_IO_BASE, 2) & 0x0f0f) != 0 ||
	    (pci_config_get(&br_a.pci.cfg, PCI_PREF_MEMORY_BASE, 4) & 0x000f000f) != 0x00010001 ||
	    pci_config_get(&d1.cfg, PCI_VENDOR_ID, 4) != 0x10011af4)
		abort();
	/* Shared INTx counts never go negative (they are unsigned: huge). */
	for (b = 0; b < PCI_INTX_NR_GSI; b++)
		if (h->bus.intx_count[b] > 8)
			abort();
	if (ep_in)
		pci_host_unplug(&ep);
	pci_host_free(h);
	fake_machine_fini(&fm);
	return 0;
}
