/*
 * A PCI bus (PCI Local Bus 3.0 ch. 3.2.2.3): device/function slots and config
 * access routing; absent functions read as all-ones (ch. 6.1, master abort);
 * INTx (ch. 2.2.6) as a wired OR per GSI, gated by COMMAND.INTX_DISABLE.
 */
#include <errno.h>
#include <string.h>

#include "devices/pci/bus.h"

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->intx_lock, NULL);
}

static void pci_bus_lock(struct pci_bus *bus)
{
	if (bus->lock)
		pthread_mutex_lock(bus->lock);
}

static void pci_bus_unlock(struct pci_bus *bus)
{
	if (bus->lock)
		pthread_mutex_unlock(bus->lock);
}

int pci_bus_register(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn)
{
	unsigned int pin;

	if (devfn >= PCI_SLOTS * PCI_FUNCS || !dev)
		return -EINVAL;
	pci_bus_lock(bus);
	if (bus->devs[devfn]) {
		pci_bus_unlock(bus);
		return -EEXIST;
	}
	bus->devs[devfn] = dev;
	dev->devfn = devfn;
	dev->bus = bus;
	dev->intx_asserted = false;
	pin = dev->cfg.data[PCI_INTERRUPT_PIN];
	if (pin >= 1 && pin <= 4) {
		dev->gsi = PCI_INTX_GSI(devfn >> 3, pin);
		dev->cfg.data[PCI_INTERRUPT_LINE] = (uint8_t)dev->gsi;
	} else {
		dev->gsi = 0;
	}
	pci_bus_unlock(bus);
	return 0;
}

void pci_bus_unregister(struct pci_bus *bus, struct pci_device *dev)
{
	if (!dev || dev->devfn >= PCI_SLOTS * PCI_FUNCS || bus->devs[dev->devfn] != dev)
		return;
	/* A function leaving with its line asserted must not hold the GSI high. */
	pci_device_intx(dev, 0);
	pci_bus_lock(bus);
	bus->devs[dev->devfn] = NULL;
	pci_bus_unlock(bus);
	dev->bus = NULL;
	if (bus->changed)
		bus->changed(bus->changed_opaque);
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
	if (off <= PCI_COMMAND + 1 && off + size > PCI_COMMAND + 1)
		pci_device_intx_refresh(dev);
	if (dev->cfg_written)
		dev->cfg_written(dev, off, size);
}

/*
 * The level dev drives now: STATUS.INTERRUPT unless COMMAND.INTX_DISABLE.
 * Counted per GSI so that functions sharing one line OR together. intx_lock held.
 */
static void pci_intx_apply(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	bool status = dev->cfg.data[PCI_STATUS] & PCI_STATUS_INTERRUPT;
	bool disabled = pci_config_get(&dev->cfg, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
	bool level = status && !disabled;
	unsigned int *cnt;

	if (level == dev->intx_asserted)
		return;
	dev->intx_asserted = level;
	cnt = &bus->intx_count[dev->gsi - PCI_INTX_GSI_BASE];
	if (level) {
		if ((*cnt)++ == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 1);
	} else {
		if (--(*cnt) == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 0);
	}
}

static bool pci_intx_routed(const struct pci_device *dev)
{
	return dev->bus && dev->gsi >= PCI_INTX_GSI_BASE &&
	       dev->gsi < PCI_INTX_GSI_BASE + PCI_INTX_NR_GSI;
}

void pci_device_intx(struct pci_device *dev, int level)
{
	if (!pci_intx_routed(dev))
		return;
	pthread_mutex_lock(&dev->bus->intx_lock);
	/* STATUS.INTERRUPT is read-only to the guest: only this path changes it. */
	if (level)
		__atomic_or_fetch(&dev->cfg.data[PCI_STATUS], PCI_STATUS_INTERRUPT,
				  __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&dev->cfg.data[PCI_STATUS], (uint8_t)~PCI_STATUS_INTERRUPT,
				   __ATOMIC_RELAXED);
	pci_intx_apply(dev);
	pthread_mutex_unlock(&dev->bus->intx_lock);
}

void pci_device_intx_refresh(struct pci_device *dev)
{
	if (!pci_intx_routed(dev))
		return;
	pthread_mutex_lock(&dev->bus->intx_lock);
	pci_intx_apply(dev);
	pthread_mutex_unlock(&dev->bus->intx_lock);
}
