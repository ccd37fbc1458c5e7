/*
 * A PCI Express root port with a native hot-plug slot (PCIe Base 4.0 ch. 6.7,
 * ch. 7.5.3.9-11), as QEMU's pcie-root-port (1b36:000c): a type 1 bridge with
 * the PCIe capability (root port, slot), MSI with INTx fallback for hot-plug
 * events, AER and ACS. The client is Linux's pciehp.
 */
#ifndef KEEL_DEVICES_PCI_ROOT_PORT_H
#define KEEL_DEVICES_PCI_ROOT_PORT_H

#include "devices/pci/bridge.h"

#define PCIE_ROOT_PORT_VENDOR	0x1b36
#define PCIE_ROOT_PORT_DEVICE	0x000c
/* Window space kept open behind an empty slot for a device plugged later. */
#define PCIE_ROOT_PORT_MEM_RESERVE	(2ULL << 20)
#define PCIE_ROOT_PORT_PREF_RESERVE	(2ULL << 20)

struct pcie_root_port {
	struct pci_bridge br;
	unsigned int exp;		/* PCIe capability offset */
	unsigned int msi;		/* MSI capability offset */
	unsigned int slot;		/* physical slot number */
	uint16_t pending;		/* hot-plug events signalled and enabled */
	uint16_t last_sltctl;		/* Slot Control before the last guest write */
	bool unplug_requested;		/* the button was pressed for an unplug */
	/*
	 * The guest turned the slot's power off while an unplug was requested
	 * (pciehp: 5 s after the button, once the driver let go). Called under
	 * the host lock from a vCPU thread: defer the real work.
	 */
	void (*power_off)(struct pcie_root_port *rp, void *opaque);
	void *opaque;
};

/* The registry type (root_port.c): QEMU's pcie-root-port, conf below. */
struct pcie_root_port_conf {
	uint8_t chassis;		/* chassis= */
	uint16_t slot;			/* slot=: physical slot number, 0..8191 */
	uint8_t port;			/* port=: port number in Link Capabilities */
};

struct device_type;
extern const struct device_type pcie_root_port_type;

/*
 * A root port with physical slot number slot (0..8191) and port number port
 * (Link Capabilities). The slot starts powered, indicators per presence.
 */
int pcie_root_port_init(struct pcie_root_port *rp, const char *name, unsigned int slot,
			unsigned int port);

/* Is a function at devfn 0 of the secondary bus? */
bool pcie_root_port_present(const struct pcie_root_port *rp);

/*
 * Hot-plug side (main thread, takes the host lock): a device now sits on the
 * secondary bus: Presence Detect and Link Active set, Presence Detect Changed
 * and DLL State Changed signalled (and Attention Button Pressed when the
 * guest had powered the slot off).
 */
void pcie_root_port_plugged(struct pcie_root_port *rp);
/*
 * Ask the guest to let the device go: Attention Button Pressed. -ENODEV on an
 * empty slot; if the slot is already powered off, power_off is called at once.
 */
int pcie_root_port_unplug_request(struct pcie_root_port *rp);
/* The device left the secondary bus: presence and link down, events signalled. */
void pcie_root_port_unplugged(struct pcie_root_port *rp);

#endif
