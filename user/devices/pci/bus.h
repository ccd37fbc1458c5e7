/*
 * A PCI bus (PCI Local Bus 3.0 ch. 3.2.2.3): 32 device slots of 8 functions that
 * device models register on; config accesses routed by device/function number.
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
	bool intx_asserted;		/* counted in bus->intx_count (intx_lock) */
};

/*
 * Drive the function's INTx line (its pin is config byte 0x3d, set by the
 * device before registration): sets or clears STATUS.INTERRUPT and, unless
 * COMMAND.INTX_DISABLE is set, the GSI the _PRT routes the pin to.
 */
void pci_device_intx(struct pci_device *dev, int level);

struct pci_bus {
	struct pci_device *devs[PCI_SLOTS * PCI_FUNCS];
	/*
	 * Set by the host bridge: config cycles run under *lock, and changed()
	 * runs (without the lock) after a function came or went while the guest
	 * runs, so that BAR dispatch forgets or learns it.
	 */
	pthread_mutex_t *lock;
	void (*changed)(void *opaque);
	void *changed_opaque;
	/* Functions sharing a GSI: the line is high while any of them asserts. */
	pthread_mutex_t intx_lock;
	unsigned int intx_count[PCI_INTX_NR_GSI];
};

void pci_bus_init(struct pci_bus *bus);
/*
 * Put dev at devfn; -EEXIST if taken, -EINVAL if devfn is out of range. Fills
 * dev->devfn, dev->bus and, when config byte 0x3d names a pin, dev->gsi and
 * the interrupt line byte (as firmware would).
 */
int pci_bus_register(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn);
/* Take dev off the bus (hot-unplug, machine teardown); its INTx is released. */
void pci_bus_unregister(struct pci_bus *bus, struct pci_device *dev);
struct pci_device *pci_bus_find(const struct pci_bus *bus, unsigned int devfn);

/* Config accesses: an empty devfn reads all-ones, writes vanish. */
uint32_t pci_bus_cfg_read(const struct pci_bus *bus, unsigned int devfn, unsigned int off,
			  unsigned int size);
void pci_bus_cfg_write(struct pci_bus *bus, unsigned int devfn, unsigned int off,
		       unsigned int size, uint32_t val);

/* Re-evaluate dev's INTx output after COMMAND.INTX_DISABLE may have changed. */
void pci_device_intx_refresh(struct pci_device *dev);

#endif
