/*
 * Unit tests for user/devices/pci/root_port.c and pcie.c (PCIe Base 4.0 ch.
 * 6.7.3, ch. 7.5.3, ch. 7.8.4, ch. 7.7.7): the capability layout pciehp reads,
 * its init, hot-add and button-driven removal as pciehp drives them, command
 * completed on every Slot Control write, MSI edges and INTx levels, window
 * reservation for an empty slot, and hostile slot control writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/host.h"
#include "devices/pci/msi.h"
#include "devices/pci/pcie.h"
#include "devices/pci/root_port.h"
#include "fake_machine.h"
#include "lib/log.h"
#include "lib/loop.h"

/* The device core's side, as the registry type's realize and hot-plug use it. */
static struct dev_bus stub_bus;
static unsigned int stub_dels, unplug_dones;
static struct device *unplugged_dev;
static struct pci_device *stub_child;	/* what the core would take off the bus */

__attribute__((weak)) struct dev_bus *device_bus_add(struct devices *devs,
						     struct device *owner, const char *id,
						     enum dev_bus_kind kind, void *impl)
{
	memset(&stub_bus, 0, sizeof(stub_bus));
	snprintf(stub_bus.id, sizeof(stub_bus.id), "%s", id);
	stub_bus.kind = kind;
	stub_bus.impl = impl;
	stub_bus.owner = owner;
	return &stub_bus;
}

__attribute__((weak)) void device_bus_del(struct devices *devs, struct dev_bus *bus)
{
	stub_dels++;
}

static struct fake_machine fm;

__attribute__((weak)) void device_unplug_done(struct device *dev)
{
	unplug_dones++;
	unplugged_dev = dev;
	if (stub_child)
		pci_host_unplug(stub_child);
	loop_stop(fm.ms.loop, 0);
}

#define ECAM	0xE0000000ULL
#define MEM32	0xC0000000ULL
#define MEM64	0x400000000ULL
#define RP	PCI_DEVFN(3, 0)

static struct pci_host *host;
static struct pcie_root_port rp;
static struct pci_device ep;
static unsigned int power_offs;

static void on_power_off(struct pcie_root_port *r, void *opaque)
{
	power_offs++;
}

static uint32_t ecam_rd(unsigned int bus, unsigned int devfn, unsigned int reg,
			unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + ((uint64_t)bus << 20 | devfn << 12 | reg),
					 &v, size), 0);
	return v;
}

static void ecam_wr(unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size,
		    uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + ((uint64_t)bus << 20 | devfn << 12 | reg),
					 &v, size), 0);
}

static uint16_t sltsta(void)
{
	return (uint16_t)ecam_rd(0, RP, rp.exp + PCI_EXP_SLTSTA, 2);
}

static uint16_t sltctl(void)
{
	return (uint16_t)ecam_rd(0, RP, rp.exp + PCI_EXP_SLTCTL, 2);
}

/* pciehp's pcie_write_cmd: a word write of Slot Control. */
static void write_cmd(uint16_t v)
{
	ecam_wr(0, RP, rp.exp + PCI_EXP_SLTCTL, 2, v);
}

static void ack(uint16_t events)
{
	ecam_wr(0, RP, rp.exp + PCI_EXP_SLTSTA, 2, events);
}

static void ep_init(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	d->name = "ep";
	pci_config_init(&d->cfg, 0x1af4, 0x1042, 0x010000, 1, PCI_HEADER_TYPE_NORMAL);
	pci_config_set_bar(&d->cfg, 1, 0x1000, 0);
	pci_config_set_bar(&d->cfg, 4, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	pci_config_set(&d->cfg, PCI_INTERRUPT_PIN, 1, 1);
	assert_true(pcie_endpoint_cap_add(&d->cfg) >= 0);
}

static void msi_enable(void)
{
	ecam_wr(0, RP, rp.msi + PCI_MSI_ADDR_LO, 4, 0xfee00000);
	ecam_wr(0, RP, rp.msi + PCI_MSI_ADDR_HI, 4, 0);
	ecam_wr(0, RP, rp.msi + PCI_MSI_DATA_64, 2, 0x4041);
	ecam_wr(0, RP, rp.msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
}

static int setup(void **state)
{
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x10000000 },
		.mem64 = { MEM64, 1ULL << 32 },
		.io = { 0xc000, 0x4000 },
	};

	log_threshold = LOG_WARN;
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new_ecam(&fm.ms, ECAM, 4);
	assert_non_null(host);
	assert_int_equal(pci_host_set_windows(host, &w), 0);
	assert_int_equal(pcie_root_port_init(&rp, "rp1", 5, 1), 0);
	rp.power_off = on_power_off;
	power_offs = 0;
	assert_int_equal(pci_host_register(host, &rp.br.pci, RP), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	return 0;
}

static int teardown(void **state)
{
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

static void test_capabilities(void **state)
{
	unsigned int exp = pci_config_find_cap(&rp.br.pci.cfg, PCI_CAP_ID_EXP);
	uint32_t sltcap, aer;

	assert_int_equal(exp, rp.exp);
	assert_int_equal(ecam_rd(0, RP, 0, 4), 0x000c1b36);
	assert_int_equal(ecam_rd(0, RP, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
	/* Version 2, root port, slot implemented. */
	assert_int_equal(ecam_rd(0, RP, exp + PCI_EXP_FLAGS, 2), 0x0142);
	sltcap = ecam_rd(0, RP, exp + PCI_EXP_SLTCAP, 4);
	assert_int_equal(sltcap >> PCI_EXP_SLTCAP_PSN_SHIFT, 5);
	assert_true(sltcap & PCI_EXP_SLTCAP_HPC);
	assert_true(sltcap & PCI_EXP_SLTCAP_ABP);
	assert_true(sltcap & PCI_EXP_SLTCAP_PCP);
	assert_true(sltcap & PCI_EXP_SLTCAP_AIP);
	assert_true(sltcap & PCI_EXP_SLTCAP_PIP);
	assert_false(sltcap & (PCI_EXP_SLTCAP_MRLSP | PCI_EXP_SLTCAP_NCCS | PCI_EXP_SLTCAP_HPS));
	assert_true(ecam_rd(0, RP, exp + PCI_EXP_LNKCAP, 4) & PCI_EXP_LNKCAP_DLLLARC);
	assert_int_equal(ecam_rd(0, RP, exp + PCI_EXP_LNKCAP, 4) >> 24, 1);
	/* Negotiated width x1 (pciehp's link check), no training in progress. */
	assert_int_equal(ecam_rd(0, RP, exp + PCI_EXP_LNKSTA, 2) & 0x0bf0, 0x0010);
	assert_int_not_equal(pci_config_find_cap(&rp.br.pci.cfg, PCI_CAP_ID_MSI), 0);
	assert_int_equal(ecam_rd(0, RP, PCI_INTERRUPT_PIN, 1), 1);
	/* AER (version 2) at 0x100, then ACS. */
	aer = ecam_rd(0, RP, 0x100, 4);
	assert_int_equal(aer & 0xffff, PCI_EXT_CAP_ID_ERR);
	assert_int_equal(aer >> 16 & 0xf, 2);
	assert_int_equal(pcie_ext_cap_find(&rp.br.pci.cfg, PCI_EXT_CAP_ID_ACS), aer >> 20);
	assert_int_equal(ecam_rd(0, RP, (aer >> 20) + 4, 2), 0x001f);
	/* AER status RW1C, mask writable. */
	rp.br.pci.cfg.data[0x104] = 0x10;
	ecam_wr(0, RP, 0x104, 4, 0x10);
	assert_int_equal(ecam_rd(0, RP, 0x104, 4), 0);
	ecam_wr(0, RP, 0x108, 4, 0xffffffff);
	assert_int_equal(ecam_rd(0, RP, 0x108, 4), 0x003ff030);
	/* A live, powered slot at start: PCC on, power indicator on, attention off. */
	assert_int_equal(sltctl() & 0x07c0, 0x01c0);
	/* Empty slot: no presence, link down. */
	assert_false(sltsta() & PCI_EXP_SLTSTA_PDS);
	assert_false(ecam_rd(0, RP, exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
}

static void test_empty_slot_reserves_windows(void **state)
{
	uint64_t base, limit;

	assert_int_equal(ecam_rd(0, RP, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x010100);
	assert_true(pci_bridge_window(&rp.br.pci.cfg, PCI_BRIDGE_WIN_MEM, &base, &limit));
	assert_int_equal(limit - base + 1, PCIE_ROOT_PORT_MEM_RESERVE);
	assert_true(pci_bridge_window(&rp.br.pci.cfg, PCI_BRIDGE_WIN_PREF, &base, &limit));
	assert_int_equal(limit - base + 1, PCIE_ROOT_PORT_PREF_RESERVE);
	assert_true(base >= MEM64);
	assert_false(pci_bridge_window(&rp.br.pci.cfg, PCI_BRIDGE_WIN_IO, &base, &limit));
}

/* pciehp_probe + pcie_enable_notification, then the hot-add, then the button. */
static void test_pciehp_flow(void **state)
{
	uint16_t enable = PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_DLLSCE | PCI_EXP_SLTCTL_HPIE |
			  PCI_EXP_SLTCTL_CCIE;
	uint16_t ctl;
	int n;

	msi_enable();
	ack(PCI_EXP_SLTSTA_EVENTS);
	/* Every Slot Control write completes at once; CCIE + HPIE: an MSI. */
	ctl = sltctl();
	write_cmd(ctl | enable);
	assert_true(sltsta() & PCI_EXP_SLTSTA_CC);
	assert_int_equal(fm.nr_msi, 1);
	assert_int_equal(fm.msi[0].addr, 0xfee00000);
	assert_int_equal(fm.msi[0].data, 0x4041);
	ack(PCI_EXP_SLTSTA_CC);
	assert_false(sltsta() & PCI_EXP_SLTSTA_CC);
	/* Empty slot with power on: pciehp powers it off; no unplug to finish. */
	write_cmd(sltctl() | PCI_EXP_SLTCTL_PCC | 0x0300);
	assert_int_equal(fm.nr_msi, 2);
	assert_int_equal(power_offs, 0);
	ack(PCI_EXP_SLTSTA_CC);

	/* device_add: the device is on the bus, then the slot tells. */
	ep_init(&ep);
	assert_int_equal(pci_host_plug(&rp.br.sec, &ep, PCI_DEVFN(0, 0)), 0);
	pcie_root_port_plugged(&rp);
	assert_int_equal(fm.nr_msi, 3);
	assert_int_equal(sltsta() & (PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC),
			 PCI_EXP_SLTSTA_PDS | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC);
	assert_true(ecam_rd(0, RP, rp.exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	/* Edge: while events are unacknowledged a new one sends nothing. */
	pcie_root_port_plugged(&rp);
	assert_int_equal(fm.nr_msi, 3);
	/* Into a powered-off slot the button is pressed too. */
	assert_true(sltsta() & PCI_EXP_SLTSTA_ABP);
	ack(PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC | PCI_EXP_SLTSTA_ABP);
	/* pciehp_power_on_slot, indicators on; the device answers on bus 1. */
	write_cmd((sltctl() & ~PCI_EXP_SLTCTL_PCC & ~PCI_EXP_SLTCTL_PIC) | 0x0100);
	assert_int_equal(fm.nr_msi, 4);
	ack(PCI_EXP_SLTSTA_CC);
	assert_int_equal(ecam_rd(1, 0, 0, 4), 0x10421af4);
	/* The guest assigns the BARs inside the reserved windows: they decode. */
	{
		uint64_t mb, ml, pb, pl;

		assert_true(pci_bridge_window(&rp.br.pci.cfg, PCI_BRIDGE_WIN_MEM, &mb, &ml));
		assert_true(pci_bridge_window(&rp.br.pci.cfg, PCI_BRIDGE_WIN_PREF, &pb, &pl));
		ecam_wr(1, 0, PCI_BAR0 + 4, 4, (uint32_t)mb);
		ecam_wr(1, 0, PCI_BAR0 + 16, 4, (uint32_t)pb | 0xc);
		ecam_wr(1, 0, PCI_BAR0 + 20, 4, (uint32_t)(pb >> 32));
		ecam_wr(1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(ep.mapped[1], mb);
		assert_int_equal(ep.mapped[4], pb);
	}

	/* device_del: attention button; pciehp blinks, waits 5 s, powers off. */
	n = fm.nr_msi;
	assert_int_equal(pcie_root_port_unplug_request(&rp), 0);
	assert_int_equal(fm.nr_msi, n + 1);
	assert_true(sltsta() & PCI_EXP_SLTSTA_ABP);
	ack(PCI_EXP_SLTSTA_ABP);
	write_cmd((sltctl() & ~PCI_EXP_SLTCTL_PIC) | 0x0200);	/* power indicator blinks */
	ack(PCI_EXP_SLTSTA_CC);
	assert_int_equal(power_offs, 0);
	write_cmd(sltctl() | PCI_EXP_SLTCTL_PCC);
	assert_int_equal(power_offs, 1);
	ack(PCI_EXP_SLTSTA_CC);
	/* The machine finished the unplug: presence and link down, events. */
	n = fm.nr_msi;
	pci_host_unplug(&ep);
	assert_int_equal(ep.mapped[1], 0);
	pcie_root_port_unplugged(&rp);
	assert_int_equal(fm.nr_msi, n + 1);
	assert_false(sltsta() & PCI_EXP_SLTSTA_PDS);
	assert_true(sltsta() & PCI_EXP_SLTSTA_DLLSC);
	assert_false(ecam_rd(0, RP, rp.exp + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_DLLLA);
	assert_int_equal(ecam_rd(1, 0, 0, 4), 0xffffffff);
	assert_int_equal(pcie_root_port_unplug_request(&rp), -ENODEV);
}

static void test_intx_fallback(void **state)
{
	unsigned int gsi = rp.br.pci.gsi;

	assert_int_equal(gsi, PCI_INTX_GSI(3, 1));
	ack(PCI_EXP_SLTSTA_EVENTS);
	write_cmd(PCI_EXP_SLTCTL_DLLSCE | PCI_EXP_SLTCTL_PDCE);	/* no HPIE: no interrupt */
	ack(PCI_EXP_SLTSTA_CC);
	ep_init(&ep);
	assert_int_equal(pci_host_plug(&rp.br.sec, &ep, 0), 0);
	pcie_root_port_plugged(&rp);
	assert_int_equal(fm.irq_level[gsi], 0);
	/* Enabling HPIE with events pending raises the level at once. */
	write_cmd(PCI_EXP_SLTCTL_DLLSCE | PCI_EXP_SLTCTL_HPIE);
	assert_int_equal(fm.irq_level[gsi], 1);
	assert_true(ecam_rd(0, RP, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	ack(PCI_EXP_SLTSTA_DLLSC | PCI_EXP_SLTSTA_PDC);
	assert_int_equal(fm.irq_level[gsi], 0);
	/* The endpoint's INTA behind the root port (slot 0) is the port's line. */
	assert_int_equal(ep.gsi, gsi);
	assert_int_equal(fm.nr_msi, 0);
	/* INTX_DISABLE masks the port's line. */
	pcie_root_port_unplug_request(&rp);
	write_cmd(PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_HPIE);
	assert_int_equal(fm.irq_level[gsi], 1);
	ecam_wr(0, RP, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fm.irq_level[gsi], 0);
	/* Switching to MSI drops the level. */
	ecam_wr(0, RP, PCI_COMMAND, 2, 0);
	assert_int_equal(fm.irq_level[gsi], 1);
	msi_enable();
	assert_int_equal(fm.irq_level[gsi], 0);
}

static void test_guest_power_off_without_request(void **state)
{
	ep_init(&ep);
	assert_int_equal(pci_host_plug(&rp.br.sec, &ep, 0), 0);
	pcie_root_port_plugged(&rp);
	/* Into a powered slot the button is not pressed (it would mean "off"). */
	assert_false(sltsta() & PCI_EXP_SLTSTA_ABP);
	write_cmd(sltctl() | PCI_EXP_SLTCTL_PCC);
	assert_int_equal(power_offs, 0);
	/* A request with the power already off completes at once. */
	assert_int_equal(pcie_root_port_unplug_request(&rp), 0);
	assert_int_equal(power_offs, 1);
}

static void test_hostile_slot_writes(void **state)
{
	unsigned int i, reg;

	ep_init(&ep);
	assert_int_equal(pci_host_plug(&rp.br.sec, &ep, 0), 0);
	pcie_root_port_plugged(&rp);
	msi_enable();
	pcie_root_port_unplug_request(&rp);
	for (i = 0; i < 0x10000; i += 0x0123) {
		for (reg = rp.exp; reg < rp.exp + PCI_EXP_SIZEOF; reg += 2)
			ecam_wr(0, RP, reg, 2, i);
		ecam_wr(0, RP, rp.exp + PCI_EXP_SLTCTL, 4, i * 0x10001u);
	}
	/* Read-only parts stayed: capability ID/type, slot capabilities, presence. */
	assert_int_equal(ecam_rd(0, RP, rp.exp, 1), PCI_CAP_ID_EXP);
	assert_int_equal(ecam_rd(0, RP, rp.exp + PCI_EXP_FLAGS, 2), 0x0142);
	assert_int_equal(ecam_rd(0, RP, rp.exp + PCI_EXP_SLTCAP, 4) >> 19, 5);
	assert_true(sltsta() & PCI_EXP_SLTSTA_PDS);
	assert_true(power_offs <= 1);
}

/* A PCIe-to-PCI bridge in the root port's slot, a conventional device behind it. */
static void test_pcie_pci_bridge_behind_port(void **state)
{
	struct pci_bridge br;
	struct pci_device d;
	int exp;

	pci_bridge_init(&br, "pcie-pci-bridge", 0x1b36, 0x000e, PCI_CLASS_BRIDGE_PCI, 0);
	exp = pcie_cap_add(&br.pci.cfg, PCI_EXP_TYPE_PCI_BRIDGE, 0);
	assert_true(exp >= 0);
	ep_init(&d);
	assert_int_equal(pci_host_plug(&br.sec, &d, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_plug(&rp.br.sec, &br.pci, 0), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	assert_int_equal(ecam_rd(1, 0, 0, 4), 0x000e1b36);
	assert_int_equal(ecam_rd(1, 0, exp + PCI_EXP_FLAGS, 2) >> 4 & 0xf, PCI_EXP_TYPE_PCI_BRIDGE);
	assert_int_equal(ecam_rd(2, PCI_DEVFN(2, 0), 0, 4), 0x10421af4);
	/* slot 2 pin A -> pin C at the bridge (slot 0 of the port) -> root slot 3 pin C. */
	assert_int_equal(d.gsi, PCI_INTX_GSI(3, 3));
	assert_int_not_equal(d.mapped[1], 0);
	assert_int_not_equal(d.mapped[4], 0);
	pci_host_unplug(&br.pci);
	assert_int_equal(d.mapped[1], 0);
}

static void test_endpoint_cap(void **state)
{
	struct pci_config cfg;
	int cap;

	pci_config_init(&cfg, 1, 2, 0, 0, PCI_HEADER_TYPE_NORMAL);
	cap = pcie_endpoint_cap_add(&cfg);
	assert_true(cap >= 0);
	assert_int_equal(pci_config_get(&cfg, cap + PCI_EXP_FLAGS, 2), 0x0002);
	assert_false(pci_config_get(&cfg, cap + PCI_EXP_LNKCAP, 4) & PCI_EXP_LNKCAP_DLLLARC);
	/* Device status RW1C, device control writable, link status read-only. */
	pci_config_set(&cfg, cap + PCI_EXP_DEVSTA, 2, 0xf);
	pci_config_write(&cfg, cap + PCI_EXP_DEVSTA, 2, 0x5);
	assert_int_equal(pci_config_get(&cfg, cap + PCI_EXP_DEVSTA, 2), 0xa);
	pci_config_write(&cfg, cap + PCI_EXP_LNKSTA, 2, 0);
	assert_int_equal(pci_config_get(&cfg, cap + PCI_EXP_LNKSTA, 2) & 0x3ff, 0x11);
	assert_int_equal(pcie_ext_cap_find(&cfg, PCI_EXT_CAP_ID_ERR), 0);
	assert_int_equal(pcie_ext_cap_add(&cfg, 1, 2, 0x1000), -ENOSPC);
}

static void loop_timeout(void *opaque)
{
	loop_stop(fm.ms.loop, 1);
}

/* pcie-root-port through its registry type and the bus ops the core calls. */
static void test_registry_type(void **state)
{
	struct pcie_root_port_conf conf = { .chassis = 1, .slot = 9, .port = 2 };
	struct devices devs = { 0 };
	struct device_ctx ctx = { .ms = &fm.ms, .devs = &devs };
	struct device dev, child;
	struct loop_timer *t;
	struct dev_bus *bus;
	char err[128] = "";
	unsigned int exp;
	uint16_t ctl;

	assert_string_equal(pcie_root_port_type.name, "pcie-root-port");
	assert_int_equal(pcie_root_port_type.conf_size, sizeof(conf));
	memset(&dev, 0, sizeof(dev));
	memset(&child, 0, sizeof(child));
	dev.type = &pcie_root_port_type;
	snprintf(dev.id, sizeof(dev.id), "rp9");
	snprintf(dev.name, sizeof(dev.name), "rp9");
	dev.conf = &conf;
	assert_int_equal(pcie_root_port_type.create(&dev, &fm.ms, err, sizeof(err)), 0);
	assert_int_equal(pcie_root_port_type.realize(&dev, &ctx, err, sizeof(err)), 0);
	bus = &stub_bus;
	assert_string_equal(bus->id, "rp9");
	assert_ptr_equal(bus->owner, &dev);
	assert_ptr_equal(bus->impl, dev.pci->subordinate);
	assert_true(bus->pcie);
	assert_int_equal(bus->max_slot, 0);
	assert_non_null(bus->ops);
	assert_non_null(bus->ops->plugged);
	assert_non_null(bus->ops->unplug_request);
	exp = pci_config_find_cap(&dev.pci->cfg, PCI_CAP_ID_EXP);
	assert_int_equal(pci_config_get(&dev.pci->cfg, exp + PCI_EXP_SLTCAP, 4) >> 19, 9);
	assert_int_equal(pci_config_get(&dev.pci->cfg, exp + PCI_EXP_LNKCAP, 4) >> 24, 2);
	assert_int_equal(pci_host_register(host, dev.pci, PCI_DEVFN(4, 0)), 0);
	assert_int_equal(pci_host_place_bars(host), 0);

	/* device_add on the port: the core plugs the function, then calls plugged. */
	assert_int_equal(bus->ops->unplug_request(bus, &child, err, sizeof(err)), -ENODEV);
	ep_init(&ep);
	assert_int_equal(pci_host_plug(bus->impl, &ep, 0), 0);
	assert_int_equal(bus->ops->plugged(bus, &child, err, sizeof(err)), 0);
	assert_true(ecam_rd(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDC);
	/* device_del: button; a second request while one is pending is -EBUSY. */
	assert_int_equal(bus->ops->unplug_request(bus, &child, err, sizeof(err)), 0);
	assert_true(ecam_rd(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_ABP);
	assert_int_equal(bus->ops->unplug_request(bus, &child, err, sizeof(err)), -EBUSY);
	/* The guest powers the slot off; the unplug completes on the main loop. */
	stub_child = &ep;
	unplug_dones = 0;
	ctl = (uint16_t)ecam_rd(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTCTL, 2);
	ecam_wr(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTCTL, 2, ctl | PCI_EXP_SLTCTL_PCC);
	assert_int_equal(unplug_dones, 0);
	t = loop_timer_new(fm.ms.loop, loop_timeout, NULL);
	assert_non_null(t);
	assert_int_equal(loop_timer_arm(t, 2000000000ULL, 0), 0);
	assert_int_equal(loop_run(fm.ms.loop), 0);
	loop_timer_free(t);
	assert_int_equal(unplug_dones, 1);
	assert_ptr_equal(unplugged_dev, &child);
	assert_null(ep.bus);
	assert_false(ecam_rd(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_PDS);
	assert_true(ecam_rd(0, PCI_DEVFN(4, 0), exp + PCI_EXP_SLTSTA, 2) & PCI_EXP_SLTSTA_DLLSC);
	stub_child = NULL;

	pci_host_unplug(dev.pci);
	stub_dels = 0;
	pcie_root_port_type.unrealize(&dev);
	assert_int_equal(stub_dels, 1);
	pcie_root_port_type.destroy(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_slot_reserves_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pciehp_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_power_off_without_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_slot_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcie_pci_bridge_behind_port, setup, teardown),
		cmocka_unit_test(test_endpoint_cap),
		cmocka_unit_test_setup_teardown(test_registry_type, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
