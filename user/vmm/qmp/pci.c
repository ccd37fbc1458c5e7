/*
 * query-pci's snapshot of the PCI tree: IDs, class, interrupt and the BARs as
 * the guest programmed them (PCI Local Bus 3.0 ch. 6.1, 6.2.5), and for a
 * bridge its bus numbers and windows (PCI-to-PCI Bridge 1.2 ch. 3.2.5.3-10),
 * read under the host's lock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/device.h"
#include "devices/pci/bridge_window.h"
#include "devices/pci/host.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/pci.h"

static void qmp_pci_regions(const struct pci_config *cfg, struct qmp_pci_function *f)
{
	unsigned int i;

	f->nr_regions = 0;
	for (i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *bar = &cfg->bars[i];
		struct qmp_pci_region *r;

		if (!bar->size)
			continue;
		r = &f->regions[f->nr_regions++];
		r->bar = i;
		r->io = bar->flags & PCI_BAR_IO;
		r->prefetch = bar->flags & PCI_BAR_PREFETCH;
		r->mem64 = bar->flags & PCI_BAR_MEM64;
		r->address = pci_config_bar_addr(cfg, i);
		r->size = bar->size;
		if (r->mem64)
			i++;	/* the upper half is not a BAR of its own */
	}
}

/* Reported as QEMU does: base and limit even for a closed window (base > limit). */
static void qmp_pci_bridge(const struct pci_config *cfg, struct qmp_pci_function *f)
{
	f->bridge = true;
	f->primary = cfg->data[PCI_PRIMARY_BUS];
	f->secondary = cfg->data[PCI_SECONDARY_BUS];
	f->subordinate = cfg->data[PCI_SUBORDINATE_BUS];
	pci_bridge_window(cfg, PCI_BRIDGE_WIN_IO, &f->io_base, &f->io_limit);
	pci_bridge_window(cfg, PCI_BRIDGE_WIN_MEM, &f->mem_base, &f->mem_limit);
	pci_bridge_window(cfg, PCI_BRIDGE_WIN_PREF, &f->pref_base, &f->pref_limit);
}

static const char *qmp_pci_name(const struct devices *devs, const struct pci_device *d)
{
	const struct device *dev;

	for (dev = devs ? devs->head : NULL; dev; dev = dev->next)
		if (dev->pci == d)
			return dev->name;	/* the id when it has one */
	return d->name ? d->name : "";
}

/*
 * The walk is depth-first, so the bridge above a function is on the path
 * from the root to it: path[] holds that path (bounded like the walk itself,
 * which follows the tree's structure, never the guest's bus numbers).
 */
struct qmp_pci_walk {
	const struct devices *devs;
	struct qmp_pci_function *out;
	unsigned int max, n, depth;
	struct {
		const struct pci_bus *sec;
		int idx;
	} path[PCI_MAX_BUSES + 2];
};

static void qmp_pci_visit(struct pci_device *d, void *opaque)
{
	struct qmp_pci_walk *w = opaque;
	const struct pci_config *cfg = &d->cfg;
	struct qmp_pci_function *f;
	unsigned int idx = w->n++;

	while (w->depth && w->path[w->depth - 1].sec != d->bus)
		w->depth--;
	if (idx < w->max) {
		f = &w->out[idx];
		*f = (struct qmp_pci_function){ 0 };
		f->parent = w->depth ? w->path[w->depth - 1].idx : -1;
		f->bus = pci_bus_number(d->bus);
		f->slot = d->devfn >> 3;
		f->function = d->devfn & 7;
		f->vendor = (uint16_t)pci_config_get(cfg, PCI_VENDOR_ID, 2);
		f->device = (uint16_t)pci_config_get(cfg, PCI_DEVICE_ID, 2);
		f->class_code = pci_config_get(cfg, PCI_CLASS_PROG, 4) & 0xffffff;
		f->revision = (uint8_t)pci_config_get(cfg, PCI_REVISION_ID, 1);
		f->irq_line = (uint8_t)pci_config_get(cfg, PCI_INTERRUPT_LINE, 1);
		f->irq_pin = (uint8_t)pci_config_get(cfg, PCI_INTERRUPT_PIN, 1);
		snprintf(f->name, sizeof(f->name), "%s", qmp_pci_name(w->devs, d));
		if (pci_config_is_bridge(cfg)) {
			qmp_pci_bridge(cfg, f);
		} else {
			f->has_subsystem = true;
			f->subsystem_vendor =
				(uint16_t)pci_config_get(cfg, PCI_SUBSYSTEM_VENDOR_ID, 2);
			f->subsystem = (uint16_t)pci_config_get(cfg, PCI_SUBSYSTEM_ID, 2);
		}
		qmp_pci_regions(cfg, f);
	}
	if (d->subordinate && w->depth < sizeof(w->path) / sizeof(w->path[0])) {
		w->path[w->depth].sec = d->subordinate;
		w->path[w->depth].idx = (int)idx;
		w->depth++;
	}
}

unsigned int qmp_pci_collect(struct pci_host *h, const struct devices *devs,
			     struct qmp_pci_function *out, unsigned int max)
{
	struct qmp_pci_walk *w;
	unsigned int n;

	if (!h)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return 0;
	w->devs = devs;
	w->out = out;
	w->max = out ? max : 0;
	pthread_mutex_lock(&h->lock);
	pci_bus_for_each(&h->bus, qmp_pci_visit, w);
	pthread_mutex_unlock(&h->lock);
	n = w->n;
	free(w);
	return n;
}
