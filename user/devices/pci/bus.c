/*
 * A PCI bus (PCI Local Bus 3.0 ch. 3.2.2.3): device/function slots and config
 * access routing; absent functions read as all-ones (ch. 6.1, master abort);
 * INTx (ch. 2.2.6) as a wired OR per GSI, gated by COMMAND.INTX_DISABLE. Buses
 * form a tree through bridges (PCI-to-PCI Bridge 1.2 ch. 3.2.5.3, ch. 9.1).
 */
#include <errno.h>
#include <string.h>

#include "devices/pci/bus.h"

/* Type 1 header bus number registers (PCI-to-PCI Bridge 1.2 ch. 3.2.5.3). */
#define PCI_SECONDARY_BUS	0x19
#define PCI_SUBORDINATE_BUS	0x1a

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->intx_lock, NULL);
}

struct pci_bus *pci_bus_root(const struct pci_bus *bus)
{
	unsigned int depth = 0;

	while (bus && bus->self) {
		if (++depth > PCI_MAX_BUSES)
			return NULL;
		bus = bus->self->bus;
	}
	return (struct pci_bus *)bus;
}

unsigned int pci_bus_number(const struct pci_bus *bus)
{
	return bus->self ? bus->self->cfg.data[PCI_SECONDARY_BUS] : 0;
}

struct pci_bus *pci_bus_route(struct pci_bus *root, unsigned int nr)
{
	struct pci_bus *bus = root;
	unsigned int depth = 0, devfn;

	if (nr == 0)
		return root;
	/*
	 * The walk follows the tree's structure, not the bus numbers, so no
	 * programming (overlaps, subordinate < secondary) can make it loop.
	 */
	while (bus && depth++ < PCI_MAX_BUSES) {
		struct pci_bus *next = NULL;

		for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS && !next; devfn++) {
			const struct pci_device *d = bus->devs[devfn];
			unsigned int sec, sub;

			if (!d || !d->subordinate)
				continue;
			sec = d->cfg.data[PCI_SECONDARY_BUS];
			sub = d->cfg.data[PCI_SUBORDINATE_BUS];
			if (nr == sec)
				return d->subordinate;
			if (nr > sec && nr <= sub)
				next = d->subordinate;
		}
		bus = next;
	}
	return NULL;
}

static void pci_bus_walk(struct pci_bus *bus, void (*fn)(struct pci_device *, void *),
			 void *opaque, unsigned int depth)
{
	unsigned int devfn;

	if (depth > PCI_MAX_BUSES)
		return;
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *d = bus->devs[devfn];

		if (!d)
			continue;
		fn(d, opaque);
		if (d->subordinate)
			pci_bus_walk(d->subordinate, fn, opaque, depth + 1);
	}
}

void pci_bus_for_each(struct pci_bus *bus, void (*fn)(struct pci_device *dev, void *opaque),
		      void *opaque)
{
	pci_bus_walk(bus, fn, opaque, 0);
}

bool pci_device_intx_root(const struct pci_device *dev, unsigned int *slot,
			  unsigned int *pin)
{
	const struct pci_bus *bus = dev->bus;
	unsigned int p = dev->cfg.data[PCI_INTERRUPT_PIN], s = dev->devfn >> 3, depth = 0;

	if (p < 1 || p > 4 || !bus)
		return false;
	while (bus->self) {
		if (++depth > PCI_MAX_BUSES || !bus->self->bus)
			return false;
		p = PCI_INTX_SWIZZLE(s, p);
		s = bus->self->devfn >> 3;
		bus = bus->self->bus;
	}
	*slot = s;
	*pin = p;
	return true;
}

static bool pci_intx_routed(const struct pci_device *dev)
{
	return dev->bus && dev->gsi >= PCI_INTX_GSI_BASE &&
	       dev->gsi < PCI_INTX_GSI_BASE + PCI_INTX_NR_GSI;
}

static void pci_intx_apply(struct pci_device *dev, struct pci_bus *root);

/* Give dev its machine and GSI now that its path to the root may be known. */
static void pci_device_attach(struct pci_device *dev, void *opaque)
{
	struct pci_bus *root = opaque;
	unsigned int slot, pin;

	if (!dev->ms && root)
		dev->ms = root->ms;
	if (pci_intx_routed(dev) && dev->intx_asserted && root) {
		/* Drop the share counted under the old GSI before moving it. */
		dev->intx_asserted = false;
		if (--root->intx_count[dev->gsi - PCI_INTX_GSI_BASE] == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 0);
	}
	dev->intx_asserted = false;
	if (root && pci_device_intx_root(dev, &slot, &pin)) {
		dev->gsi = PCI_INTX_GSI(slot, pin);
		dev->cfg.data[PCI_INTERRUPT_LINE] = (uint8_t)dev->gsi;
		pci_intx_apply(dev, root);
	} else {
		dev->gsi = 0;
	}
}

int pci_bus_register(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn)
{
	struct pci_bus *root;

	if (devfn >= PCI_SLOTS * PCI_FUNCS || !dev)
		return -EINVAL;
	if (bus->devs[devfn])
		return -EEXIST;
	/* A bridge may not be put below its own secondary bus. */
	if (dev->subordinate) {
		const struct pci_bus *b = bus;
		unsigned int depth = 0;

		for (; b; b = b->self ? b->self->bus : NULL)
			if (b == dev->subordinate || ++depth > PCI_MAX_BUSES)
				return -ELOOP;
	}
	root = pci_bus_root(bus);
	if (root)
		pthread_mutex_lock(&root->intx_lock);
	bus->devs[devfn] = dev;
	dev->devfn = devfn;
	dev->bus = bus;
	dev->intx_asserted = false;
	dev->gsi = 0;
	memset(dev->mapped, 0, sizeof(dev->mapped));
	pci_device_attach(dev, root);
	if (dev->subordinate) {
		dev->subordinate->self = dev;
		pci_bus_for_each(dev->subordinate, pci_device_attach, root);
	}
	if (root)
		pthread_mutex_unlock(&root->intx_lock);
	return 0;
}

static void pci_device_detach(struct pci_device *dev, void *opaque)
{
	struct pci_bus *root = opaque;

	if (pci_intx_routed(dev) && dev->intx_asserted) {
		dev->intx_asserted = false;
		if (--root->intx_count[dev->gsi - PCI_INTX_GSI_BASE] == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 0);
	}
	dev->gsi = 0;
}

void pci_bus_unregister(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus, *root;

	if (!bus || dev->devfn >= PCI_SLOTS * PCI_FUNCS || bus->devs[dev->devfn] != dev)
		return;
	root = pci_bus_root(bus);
	if (root) {
		pthread_mutex_lock(&root->intx_lock);
		pci_device_detach(dev, root);
		if (dev->subordinate)
			pci_bus_for_each(dev->subordinate, pci_device_detach, root);
	}
	bus->devs[dev->devfn] = NULL;
	dev->bus = NULL;
	if (root)
		pthread_mutex_unlock(&root->intx_lock);
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
 * Counted per GSI on the root bus so that functions sharing one line OR
 * together, whichever bus they sit on. root->intx_lock held.
 */
static void pci_intx_apply(struct pci_device *dev, struct pci_bus *root)
{
	bool status = dev->cfg.data[PCI_STATUS] & PCI_STATUS_INTERRUPT;
	bool disabled = pci_config_get(&dev->cfg, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
	bool level = status && !disabled;
	unsigned int *cnt;

	if (!pci_intx_routed(dev) || level == dev->intx_asserted)
		return;
	dev->intx_asserted = level;
	cnt = &root->intx_count[dev->gsi - PCI_INTX_GSI_BASE];
	if (level) {
		if ((*cnt)++ == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 1);
	} else {
		if (--(*cnt) == 0 && dev->ms)
			machine_irq_set(dev->ms, dev->gsi, 0);
	}
}

void pci_device_intx(struct pci_device *dev, int level)
{
	struct pci_bus *root;

	if (!pci_intx_routed(dev) || !(root = pci_bus_root(dev->bus)))
		return;
	pthread_mutex_lock(&root->intx_lock);
	/* STATUS.INTERRUPT is read-only to the guest: only this path changes it. */
	if (level)
		__atomic_or_fetch(&dev->cfg.data[PCI_STATUS], PCI_STATUS_INTERRUPT,
				  __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&dev->cfg.data[PCI_STATUS], (uint8_t)~PCI_STATUS_INTERRUPT,
				   __ATOMIC_RELAXED);
	pci_intx_apply(dev, root);
	pthread_mutex_unlock(&root->intx_lock);
}

void pci_device_intx_refresh(struct pci_device *dev)
{
	struct pci_bus *root;

	if (!pci_intx_routed(dev) || !(root = pci_bus_root(dev->bus)))
		return;
	pthread_mutex_lock(&root->intx_lock);
	pci_intx_apply(dev, root);
	pthread_mutex_unlock(&root->intx_lock);
}
