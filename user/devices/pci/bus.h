/*
 * A PCI bus (PCI Local Bus 3.0 ch. 3.2.2.3): 32 device slots of 8 functions that
 * device models register on; config accesses routed by device/function number.
 * Buses form a tree: a bridge function owns its secondary bus (PCI-to-PCI Bridge
 * Architecture 1.2 ch. 3.2.5), whose number the guest programs into it.
 */
#ifndef KEEL_DEVICES_PCI_BUS_H
#define KEEL_DEVICES_PCI_BUS_H

#include "devices/pci/config.h"

#define PCI_SLOTS		32
#define PCI_FUNCS		8
#define PCI_DEVFN(slot, fn)	((unsigned int)(((slot) << 3) | (fn)))

/*
 * INTx routing (design/pci.md "INTx"): slot s, pin p (1 = INTA .. 4 = INTD)
 * reaches IOAPIC GSI 16 + ((s + p - 1) & 3), as the DSDT's _PRT says.
 */
#define PCI_INTX_GSI_BASE	16
#define PCI_INTX_NR_GSI		4
#define PCI_INTX_GSI(slot, pin)	(PCI_INTX_GSI_BASE + (((slot) + (pin) - 1) & 3))
/*
 * Behind a bridge, a function's pin reaches the bridge's secondary side as
 * pin' on the bridge's primary side (PCI-to-PCI Bridge 1.2 ch. 9.1, table 9-1).
 */
#define PCI_INTX_SWIZZLE(slot, pin)	((((pin) - 1 + (slot)) & 3) + 1)

/* Bus numbers are 8 bits; no walk of the tree goes deeper than this. */
#define PCI_MAX_BUSES		256

#include <pthread.h>

#include "devices/machine.h"

struct pci_bus;

struct pci_device {
	const char *name;		/* for log lines: "pci-host", "virtio-blk0" */
	struct pci_config cfg;
	/* Optional: called after a guest write went through the masks. */
	void (*cfg_written)(struct pci_device *dev, unsigned int off, unsigned int size);
	/*
	 * Optional: called before a guest read of off/size, so that the device
	 * can refresh bytes whose value is produced on demand (virtio's PCI
	 * configuration access window).
	 */
	void (*cfg_read)(struct pci_device *dev, unsigned int off, unsigned int size);
	void *opaque;

	/*
	 * Handlers of the BARs declared with pci_config_set_bar(): called for
	 * accesses inside BAR i while its decoding (COMMAND.IO / COMMAND.MEMORY) is
	 * on, with the offset from the BAR's start; dev is the pci_device's opaque.
	 */
	const struct io_ops *bar_ops[PCI_NR_BARS];
	/*
	 * Optional: BAR idx now decodes at addr, or no longer decodes (addr 0:
	 * moved away or decoding turned off). For ioeventfd registrations.
	 */
	void (*bar_mapped)(struct pci_device *dev, unsigned int idx, uint64_t addr);

	/* Filled in by the host bridge at registration. */
	const struct machine_services *ms;
	unsigned int devfn;
	unsigned int gsi;		/* INTx line (ACPI _PRT), 0: no interrupt pin */
	struct pci_bus *bus;		/* filled in by pci_bus_register() */
	bool intx_asserted;		/* counted in the root bus's intx_count (intx_lock) */

	/* A bridge's secondary bus (set by the bridge model); NULL: not a bridge. */
	struct pci_bus *subordinate;
	/* Where each BAR decodes now, 0: nowhere (the host's, under its lock). */
	uint64_t mapped[PCI_NR_BARS];
	/*
	 * Optional: put the function in its power-on state (a secondary bus reset
	 * of the bridge above it). Called under the host lock.
	 */
	void (*reset)(struct pci_device *dev);
};

/*
 * Drive the function's INTx line (its pin is config byte 0x3d, set by the
 * device before registration): sets or clears STATUS.INTERRUPT and, unless
 * COMMAND.INTX_DISABLE is set, the GSI the _PRT routes the pin to.
 */
void pci_device_intx(struct pci_device *dev, int level);

struct pci_host;

struct pci_bus {
	struct pci_device *devs[PCI_SLOTS * PCI_FUNCS];
	/*
	 * Functions sharing a GSI: the line is high while any of them asserts.
	 * Only the root bus's lock and counts are used, for every bus below it.
	 */
	pthread_mutex_t intx_lock;
	unsigned int intx_count[PCI_INTX_NR_GSI];

	/* The bridge whose secondary bus this is; NULL: a root bus. */
	struct pci_device *self;
	/* A root bus: its host bridge and machine (both NULL in bare tests). */
	struct pci_host *host;
	const struct machine_services *ms;
	/*
	 * Bytes of I/O, memory and prefetchable window enumeration keeps open
	 * behind this bus's bridge even when nothing is there yet: room for
	 * hotplug (a root port's slot).
	 */
	uint64_t reserve[3];
};

void pci_bus_init(struct pci_bus *bus);
/*
 * Put dev at devfn; -EEXIST if taken, -EINVAL if devfn is out of range. Fills
 * dev->devfn, dev->bus and, when config byte 0x3d names a pin, dev->gsi and
 * the interrupt line byte (as firmware would), swizzled through the bridges
 * above (0 while the bus is not yet attached to a root). Registering a bridge
 * attaches its secondary bus: the functions already there get their GSI.
 */
int pci_bus_register(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn);
/* Take dev off its bus (its INTx share dropped); nothing if not registered. */
void pci_bus_unregister(struct pci_device *dev);
struct pci_device *pci_bus_find(const struct pci_bus *bus, unsigned int devfn);

/* The root of bus's tree (bus itself for a root bus), NULL if detached. */
struct pci_bus *pci_bus_root(const struct pci_bus *bus);
/* The number of bus: 0 for a root, else its bridge's secondary bus number. */
unsigned int pci_bus_number(const struct pci_bus *bus);
/*
 * The bus a type 1 config cycle for bus number nr reaches from root (0: root
 * itself): down through each bridge whose secondary..subordinate range holds
 * nr, as the guest programmed them; NULL if no bridge claims it.
 */
struct pci_bus *pci_bus_route(struct pci_bus *root, unsigned int nr);
/*
 * Call fn for every function of bus and of the buses below it, depth-first in
 * devfn order (a bridge before its secondary bus). fn must not change the tree.
 */
void pci_bus_for_each(struct pci_bus *bus, void (*fn)(struct pci_device *dev, void *opaque),
		      void *opaque);
/*
 * INTx routing of dev through the bridges above it: the root-bus slot and
 * pin its pin arrives on; false if dev has no pin or no path to a root bus.
 */
bool pci_device_intx_root(const struct pci_device *dev, unsigned int *slot,
			  unsigned int *pin);

/* Config accesses: an empty devfn reads all-ones, writes vanish. */
uint32_t pci_bus_cfg_read(const struct pci_bus *bus, unsigned int devfn, unsigned int off,
			  unsigned int size);
void pci_bus_cfg_write(struct pci_bus *bus, unsigned int devfn, unsigned int off,
		       unsigned int size, uint32_t val);

/* Re-evaluate dev's INTx output after COMMAND.INTX_DISABLE may have changed. */
void pci_device_intx_refresh(struct pci_device *dev);

#endif
