/*
 * PCI-to-PCI bridges (PCI-to-PCI Bridge Architecture 1.2 ch. 3.2): the type 1
 * header with bus numbers, the I/O, memory and prefetchable windows, bridge
 * control and command forwarding; one core for QEMU's pci-bridge (1b36:0001),
 * pcie-pci-bridge (1b36:000e) and the PCIe root port (root_port.c).
 */
#ifndef KEEL_DEVICES_PCI_BRIDGE_H
#define KEEL_DEVICES_PCI_BRIDGE_H

#include "devices/pci/bridge_window.h"
#include "devices/pci/bus.h"

/* The Slot Identification capability (ch. 3.2.5.20 / 13.1). */
#define PCI_CAP_ID_SLOTID	0x04

/* The bridge part of a model: its function and the bus behind it. */
struct pci_bridge {
	struct pci_device pci;
	struct pci_bus sec;
	uint16_t last_ctl;		/* bridge control before the last write */
	/* Optional: the model's own hook for writes the core has handled. */
	void (*cfg_written)(struct pci_bridge *br, unsigned int off, unsigned int size);
	void *opaque;			/* the model owning this bridge */
};

/*
 * A type 1 header for br with the given IDs: bus numbers, windows, bridge
 * control writable; secondary status RW1C; the secondary bus empty and owned
 * by br. Sets br->pci.cfg_written and .reset (the model keeps br->cfg_written).
 */
void pci_bridge_init(struct pci_bridge *br, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision);
/* Power-on state of the bridge registers, and reset of everything behind it. */
void pci_bridge_reset(struct pci_bridge *br);

/*
 * The registry types (bridge.c): QEMU's pci-bridge (conf: struct
 * pci_bridge_conf) and pcie-pci-bridge (no properties).
 */
struct pci_bridge_conf {
	uint8_t chassis_nr;		/* chassis_nr=, 0: no Slot ID capability */
	bool shpc;			/* shpc=, only off */
};

struct device_type;
extern const struct device_type pci_bridge_type;
extern const struct device_type pcie_pci_bridge_type;

/* Add the Slot ID capability (chassis number, slots first 1, FIC) at init. */
int pci_bridge_add_slotid(struct pci_bridge *br, uint8_t chassis_nr);

#endif
