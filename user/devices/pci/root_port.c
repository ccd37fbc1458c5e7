/*
 * PCIe root port with native hot-plug (PCIe Base 4.0 ch. 6.7.3, ch. 7.5.3.9-11):
 * Slot Control writes are commands completed at once (Command Completed set
 * on every write, ch. 6.7.3.2); events interrupt through MSI when the logical
 * AND of HPIE, an enable and its status goes from false to true (ch. 6.7.3.4),
 * else through INTx as a level. And QEMU's pcie-root-port registry type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/host.h"
#include "devices/pci/msi.h"
#include "devices/pci/pcie.h"
#include "devices/pci/root_port.h"
#include "lib/log.h"
#include "lib/loop.h"

/* Attention and power indicator states in Slot Control (ch. 7.5.3.10). */
#define RP_AIC_OFF	0x00c0
#define RP_PIC_ON	0x0100
#define RP_PIC_OFF	0x0300

static uint16_t rp_get(const struct pcie_root_port *rp, unsigned int reg)
{
	return (uint16_t)pci_config_get(&rp->br.pci.cfg, rp->exp + reg, 2);
}

static void rp_set(struct pcie_root_port *rp, unsigned int reg, uint16_t v)
{
	pci_config_set(&rp->br.pci.cfg, rp->exp + reg, 2, v);
}

bool pcie_root_port_present(const struct pcie_root_port *rp)
{
	return rp->br.sec.devs[PCI_DEVFN(0, 0)] != NULL;
}

/* Presence Detect State and Data Link Layer Link Active follow the bus. */
static void rp_sync_presence(struct pcie_root_port *rp)
{
	bool present = pcie_root_port_present(rp);
	uint16_t sta = rp_get(rp, PCI_EXP_SLTSTA);

	sta = present ? sta | PCI_EXP_SLTSTA_PDS : sta & ~PCI_EXP_SLTSTA_PDS;
	rp_set(rp, PCI_EXP_SLTSTA, sta);
	pcie_cap_set_link_active(&rp->br.pci.cfg, rp->exp, present);
}

/* Status bits whose notification the guest enabled (all of them need HPIE). */
static uint16_t rp_enabled_events(uint16_t ctl)
{
	uint16_t m = 0;

	if (!(ctl & PCI_EXP_SLTCTL_HPIE))
		return 0;
	if (ctl & PCI_EXP_SLTCTL_ABPE)
		m |= PCI_EXP_SLTSTA_ABP;
	if (ctl & PCI_EXP_SLTCTL_PFDE)
		m |= PCI_EXP_SLTSTA_PFD;
	if (ctl & PCI_EXP_SLTCTL_MRLSCE)
		m |= PCI_EXP_SLTSTA_MRLSC;
	if (ctl & PCI_EXP_SLTCTL_PDCE)
		m |= PCI_EXP_SLTSTA_PDC;
	if (ctl & PCI_EXP_SLTCTL_CCIE)
		m |= PCI_EXP_SLTSTA_CC;
	if (ctl & PCI_EXP_SLTCTL_DLLSCE)
		m |= PCI_EXP_SLTSTA_DLLSC;
	return m;
}

/* Re-evaluate the hot-plug interrupt. Host lock held. */
static void rp_irq_update(struct pcie_root_port *rp)
{
	struct pci_device *pci = &rp->br.pci;
	uint16_t pending = rp_get(rp, PCI_EXP_SLTSTA) & rp_enabled_events(rp_get(rp, PCI_EXP_SLTCTL));

	if (pci_msi_enabled(&pci->cfg, rp->msi)) {
		pci_device_intx(pci, 0);
		if (pending && !rp->pending) {
			int ret = pci_msi_notify(&pci->cfg, rp->msi, 0, pci->ms);

			if (ret)
				log_debug("%s: hot-plug MSI not delivered: %s", pci->name,
					  strerror(-ret));
		}
	} else {
		pci_device_intx(pci, pending != 0);
	}
	rp->pending = pending;
}

static void rp_event(struct pcie_root_port *rp, uint16_t events)
{
	rp_set(rp, PCI_EXP_SLTSTA, rp_get(rp, PCI_EXP_SLTSTA) | events);
	rp_irq_update(rp);
}

static void rp_cfg_read(struct pci_device *dev, unsigned int off, unsigned int size)
{
	struct pci_bridge *br = dev->opaque;

	rp_sync_presence(br->opaque);
}

static void rp_cfg_written(struct pci_bridge *br, unsigned int off, unsigned int size)
{
	struct pcie_root_port *rp = br->opaque;
	unsigned int ctl_off = rp->exp + PCI_EXP_SLTCTL;

	if (off < ctl_off + 2 && off + size > ctl_off) {
		uint16_t ctl = rp_get(rp, PCI_EXP_SLTCTL), old = rp->last_sltctl;

		rp->last_sltctl = ctl;
		/* Power Controller Control 0 -> 1: the slot's power goes off. */
		if ((ctl & PCI_EXP_SLTCTL_PCC) && !(old & PCI_EXP_SLTCTL_PCC) &&
		    rp->unplug_requested && pcie_root_port_present(rp)) {
			rp->unplug_requested = false;
			if (rp->power_off)
				rp->power_off(rp, rp->opaque);
		}
		/* Every write to Slot Control is a command, done at once. */
		rp_set(rp, PCI_EXP_SLTSTA, rp_get(rp, PCI_EXP_SLTSTA) | PCI_EXP_SLTSTA_CC);
	}
	/* Status acknowledged, enables, MSI or INTX_DISABLE changed: re-evaluate. */
	rp_irq_update(rp);
}

int pcie_root_port_init(struct pcie_root_port *rp, const char *name, unsigned int slot,
			unsigned int port)
{
	struct pci_config *cfg = &rp->br.pci.cfg;
	int exp, msi;

	if (slot > 8191)
		return -EINVAL;
	memset(rp, 0, sizeof(*rp));
	pci_bridge_init(&rp->br, name, PCIE_ROOT_PORT_VENDOR, PCIE_ROOT_PORT_DEVICE,
			PCI_CLASS_BRIDGE_PCI, 0);
	rp->br.opaque = rp;
	rp->br.cfg_written = rp_cfg_written;
	rp->br.pci.cfg_read = rp_cfg_read;
	rp->slot = slot;
	pci_config_set(cfg, PCI_INTERRUPT_PIN, 1, 1);
	exp = pcie_cap_add(cfg, PCI_EXP_TYPE_ROOT_PORT, port);
	if (exp < 0)
		return exp;
	rp->exp = (unsigned int)exp;
	msi = pci_msi_add(cfg, 0, true);
	if (msi < 0)
		return msi;
	rp->msi = (unsigned int)msi;
	pcie_cap_set_slot(cfg, rp->exp, PCI_EXP_SLTCAP_ABP | PCI_EXP_SLTCAP_PCP |
			  PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_PIP | PCI_EXP_SLTCAP_HPC |
			  slot << PCI_EXP_SLTCAP_PSN_SHIFT);
	/* Powered, power indicator on, attention off: what pciehp expects of a live slot. */
	rp->last_sltctl = RP_AIC_OFF | RP_PIC_ON;
	rp_set(rp, PCI_EXP_SLTCTL, rp->last_sltctl);
	if (pcie_aer_add(cfg, true) < 0 || pcie_acs_add(cfg) < 0)
		return -ENOSPC;
	rp->br.sec.reserve[PCI_BRIDGE_WIN_MEM] = PCIE_ROOT_PORT_MEM_RESERVE;
	rp->br.sec.reserve[PCI_BRIDGE_WIN_PREF] = PCIE_ROOT_PORT_PREF_RESERVE;
	return 0;
}

static void rp_lock(struct pcie_root_port *rp, struct pci_host **h)
{
	*h = pci_device_host(&rp->br.pci);
	if (*h)
		pthread_mutex_lock(&(*h)->lock);
}

static void rp_unlock(struct pci_host *h)
{
	if (h)
		pthread_mutex_unlock(&h->lock);
}

void pcie_root_port_plugged(struct pcie_root_port *rp)
{
	struct pci_host *h;

	rp_lock(rp, &h);
	rp->unplug_requested = false;
	rp_sync_presence(rp);
	/*
	 * pciehp enables DLLSCE (and, with a button, ABPE rather than PDCE):
	 * the link change is what it acts on. Into a powered-off slot the button
	 * is pressed too, as QEMU does, for guests that wait for it to power on;
	 * never into a powered one, where it would mean "switch off".
	 */
	rp_event(rp, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC |
		 (rp_get(rp, PCI_EXP_SLTCTL) & PCI_EXP_SLTCTL_PCC ? PCI_EXP_SLTSTA_ABP : 0));
	rp_unlock(h);
}

int pcie_root_port_unplug_request(struct pcie_root_port *rp)
{
	struct pci_host *h;
	int ret = 0;

	rp_lock(rp, &h);
	if (!pcie_root_port_present(rp)) {
		ret = -ENODEV;
	} else if (rp_get(rp, PCI_EXP_SLTCTL) & PCI_EXP_SLTCTL_PCC) {
		/* Already powered off by the guest: nothing to wait for. */
		if (rp->power_off)
			rp->power_off(rp, rp->opaque);
	} else {
		rp->unplug_requested = true;
		rp_event(rp, PCI_EXP_SLTSTA_ABP);
	}
	rp_unlock(h);
	return ret;
}

void pcie_root_port_unplugged(struct pcie_root_port *rp)
{
	struct pci_host *h;

	rp_lock(rp, &h);
	rp->unplug_requested = false;
	rp_sync_presence(rp);
	rp_event(rp, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_DLLSC);
	rp_unlock(h);
}

/* ---- the registry type: pcie-root-port ---- */

struct pcie_root_port_dev {
	struct pcie_root_port rp;
	const struct machine_services *ms;
	struct device *dev;
	struct dev_bus *child;
	struct device *leaving;		/* the device an unplug was requested for */
};

static const struct opt_desc pcie_root_port_props[] = {
	OPT_D_UINT(struct pcie_root_port_conf, chassis, "chassis", "0", 0, 255,
		   "chassis number (with slot, names the slot)"),
	OPT_D_UINT(struct pcie_root_port_conf, slot, "slot", "0", 0, 8191,
		   "physical slot number in Slot Capabilities"),
	OPT_D_UINT(struct pcie_root_port_conf, port, "port", "0", 0, 255,
		   "port number in Link Capabilities"),
	{ .name = NULL },
};

/* On the main thread: the guest let the device go. */
static void rp_dev_unplug_done(void *opaque)
{
	struct pcie_root_port_dev *d = opaque;
	struct device *leaving = d->leaving;

	d->leaving = NULL;
	if (!leaving)
		return;
	device_unplug_done(leaving);
	pcie_root_port_unplugged(&d->rp);
}

static void rp_dev_power_off(struct pcie_root_port *rp, void *opaque)
{
	struct pcie_root_port_dev *d = opaque;

	if (!d->ms || !d->ms->loop || loop_call(d->ms->loop, rp_dev_unplug_done, d) < 0)
		log_err("%s: cannot complete the unplug of the device in its slot", d->dev->name);
}

static int rp_bus_plugged(struct dev_bus *bus, struct device *dev, char *err, size_t errlen)
{
	struct pcie_root_port_dev *d = bus->ops_opaque;

	pcie_root_port_plugged(&d->rp);
	return 0;
}

static int rp_bus_unplug_request(struct dev_bus *bus, struct device *dev, char *err,
				 size_t errlen)
{
	struct pcie_root_port_dev *d = bus->ops_opaque;
	int ret;

	if (d->leaving) {
		snprintf(err, errlen, "%s: an unplug is already in progress", d->dev->name);
		return -EBUSY;
	}
	d->leaving = dev;
	ret = pcie_root_port_unplug_request(&d->rp);
	if (ret) {
		d->leaving = NULL;
		snprintf(err, errlen, "%s: its slot is empty", d->dev->name);
	}
	return ret;
}

static const struct dev_bus_ops pcie_root_port_bus_ops = {
	.plugged = rp_bus_plugged,
	.unplug_request = rp_bus_unplug_request,
};

static int pcie_root_port_create(struct device *dev, const struct machine_services *ms,
				 char *err, size_t errlen)
{
	struct pcie_root_port_dev *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "%s: out of memory", dev->type->name);
		return -ENOMEM;
	}
	d->dev = dev;
	d->ms = ms;
	dev->priv = d;
	return 0;
}

static int pcie_root_port_realize(struct device *dev, const struct device_ctx *ctx, char *err,
				  size_t errlen)
{
	const struct pcie_root_port_conf *conf = dev->conf;
	struct pcie_root_port_dev *d = dev->priv;
	const char *bus_id = dev->id[0] ? dev->id : dev->name;
	int ret;

	ret = pcie_root_port_init(&d->rp, dev->name, conf ? conf->slot : 0,
				  conf ? conf->port : 0);
	if (ret) {
		snprintf(err, errlen, "%s: cannot build its configuration space", dev->name);
		return ret;
	}
	d->ms = ctx->ms;
	d->leaving = NULL;
	d->rp.power_off = rp_dev_power_off;
	d->rp.opaque = d;
	d->child = device_bus_add(ctx->devs, dev, bus_id, DEV_BUS_PCI, &d->rp.br.sec);
	if (!d->child) {
		snprintf(err, errlen, "%s: cannot add bus '%s'", dev->name, bus_id);
		return -EEXIST;
	}
	/* One slot, device 0, PCIe; hot-plug through the slot registers. */
	d->child->pcie = true;
	d->child->hotplug = true;
	d->child->max_slot = 0;
	d->child->min_slot = 0;
	d->child->ops = &pcie_root_port_bus_ops;
	d->child->ops_opaque = d;
	dev->pci = &d->rp.br.pci;
	return 0;
}

static void pcie_root_port_unrealize(struct device *dev)
{
	struct pcie_root_port_dev *d = dev->priv;

	if (d && d->child) {
		device_bus_del(dev->devs, d->child);
		d->child = NULL;
	}
	if (d)
		d->leaving = NULL;
}

static void pcie_root_port_destroy(struct device *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

const struct device_type pcie_root_port_type = {
	.name = "pcie-root-port",
	.desc = "PCIe root port with one hot-plug slot (native hot-plug, pciehp)",
	.bus = DEV_BUS_PCI,
	.props = pcie_root_port_props,
	.conf_size = sizeof(struct pcie_root_port_conf),
	.create = pcie_root_port_create,
	.realize = pcie_root_port_realize,
	.unrealize = pcie_root_port_unrealize,
	.destroy = pcie_root_port_destroy,
};
