/*
 * PCI-to-PCI bridge core (PCI-to-PCI Bridge Architecture 1.2 ch. 3.2, ch. 4.3,
 * ch. 13.1): the type 1 header's masks, window decode, secondary bus reset;
 * and QEMU's pci-bridge (1b36:0001) and pcie-pci-bridge (1b36:000e) types.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bridge.h"
#include "devices/pci/pcie.h"
#include "lib/log.h"

/* What a type 1 header holds after reset (ch. 3.2.5: most fields 0). */
static void pci_bridge_regs_reset(struct pci_config *cfg)
{
	unsigned int off;

	pci_config_set(cfg, PCI_COMMAND, 2, 0);
	for (off = PCI_PRIMARY_BUS; off < PCI_CAPABILITY_LIST; off++)
		cfg->data[off] = 0;
	pci_config_set(cfg, PCI_PREF_MEMORY_BASE, 2, PCI_PREF_RANGE_64);
	pci_config_set(cfg, PCI_PREF_MEMORY_LIMIT, 2, PCI_PREF_RANGE_64);
	pci_config_set(cfg, PCI_BRIDGE_CONTROL, 2, 0);
}

static void pci_bridge_reset_dev(struct pci_device *dev)
{
	pci_bridge_reset(dev->opaque);
}

/* Secondary bus reset: every function behind the bridge back to power-on. */
static void pci_bridge_reset_secondary(struct pci_bridge *br)
{
	unsigned int devfn;

	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *d = br->sec.devs[devfn];

		if (d && d->reset)
			d->reset(d);
	}
}

void pci_bridge_reset(struct pci_bridge *br)
{
	pci_bridge_regs_reset(&br->pci.cfg);
	br->last_ctl = 0;
	pci_bridge_reset_secondary(br);
}

static void pci_bridge_cfg_written(struct pci_device *dev, unsigned int off,
				   unsigned int size)
{
	struct pci_bridge *br = dev->opaque;
	uint16_t ctl = (uint16_t)pci_config_get(&dev->cfg, PCI_BRIDGE_CONTROL, 2);

	/* Devices behind see reset asserted on the bit's rising edge (ch. 3.2.5.18). */
	if ((ctl & PCI_BRIDGE_CTL_BUS_RESET) && !(br->last_ctl & PCI_BRIDGE_CTL_BUS_RESET))
		pci_bridge_reset_secondary(br);
	br->last_ctl = ctl;
	if (br->cfg_written)
		br->cfg_written(br, off, size);
}

void pci_bridge_init(struct pci_bridge *br, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision)
{
	struct pci_config *cfg = &br->pci.cfg;

	memset(&br->pci, 0, sizeof(br->pci));
	br->pci.name = name;
	br->pci.opaque = br;
	br->pci.cfg_written = pci_bridge_cfg_written;
	br->pci.reset = pci_bridge_reset_dev;
	br->pci.subordinate = &br->sec;
	br->last_ctl = 0;
	pci_bus_init(&br->sec);
	br->sec.self = &br->pci;
	pci_config_init(cfg, vendor, device, class_code, revision, PCI_HEADER_TYPE_BRIDGE);
	pci_config_set_wmask(cfg, PCI_PRIMARY_BUS, 4, 0xffffffff);
	/* 16-bit I/O decode: the capability nibble reads 0, upper 16 bits are 0. */
	pci_config_set_wmask(cfg, PCI_IO_BASE, 2, 0xf0f0);
	pci_config_set_w1cmask(cfg, PCI_SEC_STATUS, 2, PCI_STATUS_W1C);
	pci_config_set_wmask(cfg, PCI_MEMORY_BASE, 4, 0xfff0fff0);
	pci_config_set_wmask(cfg, PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0);
	pci_config_set_wmask(cfg, PCI_PREF_BASE_UPPER32, 4, 0xffffffff);
	pci_config_set_wmask(cfg, PCI_PREF_LIMIT_UPPER32, 4, 0xffffffff);
	/* VGA bits stick but keel forwards no legacy VGA ranges. */
	pci_config_set_wmask(cfg, PCI_BRIDGE_CONTROL, 2,
			     PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR | PCI_BRIDGE_CTL_ISA |
			     PCI_BRIDGE_CTL_VGA | PCI_BRIDGE_CTL_VGA16 |
			     PCI_BRIDGE_CTL_MASTER_ABORT | PCI_BRIDGE_CTL_BUS_RESET);
	pci_bridge_regs_reset(cfg);
}

int pci_bridge_add_slotid(struct pci_bridge *br, uint8_t chassis_nr)
{
	int cap = pci_config_add_cap(&br->pci.cfg, PCI_CAP_ID_SLOTID, 4);

	if (cap < 0)
		return cap;
	/* No expansion slots of its own numbered; first in chassis (FIC). */
	pci_config_set(&br->pci.cfg, cap + 2, 1, 0x20);
	pci_config_set(&br->pci.cfg, cap + 3, 1, chassis_nr);
	pci_config_set_wmask(&br->pci.cfg, cap + 3, 1, 0xff);
	return cap;
}

/* ---- the registry types: pci-bridge, pcie-pci-bridge ---- */

#define PCI_BRIDGE_VENDOR	0x1b36	/* Red Hat, as QEMU's bridges */
#define PCI_BRIDGE_DEVICE	0x0001
#define PCIE_PCI_BRIDGE_DEVICE	0x000e

struct pci_bridge_dev {
	struct pci_bridge br;
	struct dev_bus *child;
	bool pcie;
};

static const struct opt_desc pci_bridge_props[] = {
	OPT_D_UINT(struct pci_bridge_conf, chassis_nr, "chassis_nr", "0", 0, 255,
		   "chassis number in the Slot ID capability (0: no capability)"),
	OPT_D_BOOL(struct pci_bridge_conf, shpc, "shpc", "off",
		   "standard hot-plug controller (keel has none: only off)"),
	{ .name = NULL },
};

static const struct opt_desc pcie_pci_bridge_props[] = {
	{ .name = NULL },
};

static int pci_bridge_dev_create(struct device *dev, const struct machine_services *ms,
				 char *err, size_t errlen)
{
	bool pcie = !strcmp(dev->type->name, "pcie-pci-bridge");
	/* pcie-pci-bridge has no properties: its conf is not a pci_bridge_conf. */
	const struct pci_bridge_conf *conf = pcie ? NULL : dev->conf;
	struct pci_bridge_dev *b;

	if (conf && conf->shpc) {
		snprintf(err, errlen, "%s: shpc=on is not supported (use shpc=off)",
			 dev->type->name);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", dev->type->name);
		return -ENOMEM;
	}
	b->pcie = pcie;
	dev->priv = b;
	return 0;
}

static int pci_bridge_dev_realize(struct device *dev, const struct device_ctx *ctx, char *err,
				  size_t errlen)
{
	struct pci_bridge_dev *b = dev->priv;
	const struct pci_bridge_conf *conf = b->pcie ? NULL : dev->conf;
	const char *bus_id = dev->id[0] ? dev->id : dev->name;
	int ret = 0;

	pci_bridge_init(&b->br, dev->name, PCI_BRIDGE_VENDOR,
			b->pcie ? PCIE_PCI_BRIDGE_DEVICE : PCI_BRIDGE_DEVICE,
			PCI_CLASS_BRIDGE_PCI, 0);
	b->br.opaque = b;
	if (b->pcie)
		ret = pcie_cap_add(&b->br.pci.cfg, PCI_EXP_TYPE_PCI_BRIDGE, 0);
	else if (conf && conf->chassis_nr)
		ret = pci_bridge_add_slotid(&b->br, conf->chassis_nr);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot build its capabilities", dev->name);
		return ret;
	}
	b->child = device_bus_add(ctx->devs, dev, bus_id, DEV_BUS_PCI, &b->br.sec);
	if (!b->child) {
		snprintf(err, errlen, "%s: cannot add bus '%s'", dev->name, bus_id);
		return -EEXIST;
	}
	/* Behind either bridge is conventional PCI: 32 slots, INTx swizzled. */
	b->child->pcie = false;
	b->child->max_slot = PCI_SLOTS - 1;
	b->child->min_slot = 0;
	dev->pci = &b->br.pci;
	return 0;
}

static void pci_bridge_dev_unrealize(struct device *dev)
{
	struct pci_bridge_dev *b = dev->priv;

	if (b && b->child) {
		device_bus_del(dev->devs, b->child);
		b->child = NULL;
	}
}

static void pci_bridge_dev_destroy(struct device *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

const struct device_type pci_bridge_type = {
	.name = "pci-bridge",
	.desc = "PCI-to-PCI bridge: a conventional PCI bus of 32 slots behind it",
	.bus = DEV_BUS_PCI,
	.props = pci_bridge_props,
	.conf_size = sizeof(struct pci_bridge_conf),
	.create = pci_bridge_dev_create,
	.realize = pci_bridge_dev_realize,
	.unrealize = pci_bridge_dev_unrealize,
	.destroy = pci_bridge_dev_destroy,
};

const struct device_type pcie_pci_bridge_type = {
	.name = "pcie-pci-bridge",
	.desc = "PCIe-to-PCI bridge: a conventional PCI bus behind a PCIe port",
	.bus = DEV_BUS_PCI,
	.props = pcie_pci_bridge_props,
	.conf_size = 0,
	.create = pci_bridge_dev_create,
	.realize = pci_bridge_dev_realize,
	.unrealize = pci_bridge_dev_unrealize,
	.destroy = pci_bridge_dev_destroy,
};
