/*
 * query-pci's snapshot of bus 0: IDs, class, interrupt and the BARs as the guest
 * programmed them (PCI Local Bus 3.0 ch. 6.1, 6.2.5), read under the host's lock.
 */
#include <stdio.h>

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

unsigned int qmp_pci_collect(struct pci_host *h, struct qmp_pci_function *out,
			     unsigned int max)
{
	unsigned int devfn, n = 0;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS && n < max; devfn++) {
		const struct pci_device *d = pci_bus_find(&h->bus, devfn);
		const struct pci_config *cfg;
		struct qmp_pci_function *f;

		if (!d)
			continue;
		cfg = &d->cfg;
		f = &out[n++];
		f->bus = 0;
		f->slot = devfn >> 3;
		f->function = devfn & 7;
		f->vendor = (uint16_t)pci_config_get(cfg, PCI_VENDOR_ID, 2);
		f->device = (uint16_t)pci_config_get(cfg, PCI_DEVICE_ID, 2);
		f->subsystem_vendor = (uint16_t)pci_config_get(cfg, PCI_SUBSYSTEM_VENDOR_ID, 2);
		f->subsystem = (uint16_t)pci_config_get(cfg, PCI_SUBSYSTEM_ID, 2);
		f->class_code = pci_config_get(cfg, PCI_CLASS_PROG, 4) & 0xffffff;
		f->revision = (uint8_t)pci_config_get(cfg, PCI_REVISION_ID, 1);
		f->irq_line = (uint8_t)pci_config_get(cfg, PCI_INTERRUPT_LINE, 1);
		f->irq_pin = (uint8_t)pci_config_get(cfg, PCI_INTERRUPT_PIN, 1);
		snprintf(f->name, sizeof(f->name), "%s", d->name ? d->name : "");
		qmp_pci_regions(cfg, f);
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}
