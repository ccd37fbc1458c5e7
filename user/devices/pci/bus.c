/*
 * A PCI bus (PCI Local Bus 3.0 ch. 3.2.2.3): device/function slots and config
 * access routing; absent functions read as all-ones (ch. 6.1, master abort).
 */
#include <errno.h>
#include <string.h>

#include "devices/pci/bus.h"

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int pci_bus_register(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn)
{
	if (devfn >= PCI_SLOTS * PCI_FUNCS || !dev)
		return -EINVAL;
	if (bus->devs[devfn])
		return -EEXIST;
	bus->devs[devfn] = dev;
	return 0;
}

struct pci_device *pci_bus_find(const struct pci_bus *bus, unsigned int devfn)
{
	if (devfn >= PCI_SLOTS * PCI_FUNCS)
		return NULL;
	/* A guest probes function N only after function 0 (ch. 6.2.1). */
	return bus->devs[devfn];
}

uint32_t pci_bus_cfg_read(const struct pci_bus *bus, unsigned int devfn, unsigned int off,
			  unsigned int size)
{
	struct pci_device *dev = pci_bus_find(bus, devfn);
	uint32_t v;

	if (!dev)
		return size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
	if (dev->cfg_read)
		dev->cfg_read(dev, off, size);
	pci_config_read(&dev->cfg, off, size, &v);
	if (size < 4)
		v &= (1u << (8 * size)) - 1;
	return v;
}

void pci_bus_cfg_write(struct pci_bus *bus, unsigned int devfn, unsigned int off,
		       unsigned int size, uint32_t val)
{
	struct pci_device *dev = pci_bus_find(bus, devfn);

	if (!dev || pci_config_write(&dev->cfg, off, size, val))
		return;
	if (dev->cfg_written)
		dev->cfg_written(dev, off, size);
}
