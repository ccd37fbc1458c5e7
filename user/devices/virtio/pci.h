/*
 * VIRTIO 1.x over PCI, modern interface only (VIRTIO 1.2 ch. 4.1): the common,
 * notify, ISR and device configuration structures in BAR 4, MSI-X (table and PBA
 * in BAR 1), feature negotiation, device status and reset. One transport for
 * any struct virtio_dev (device.h): kicks arrive on an eventfd per queue (an
 * ioeventfd of the machine), interrupts leave through irqfds or INTx.
 */
#ifndef KEEL_DEVICES_VIRTIO_PCI_H
#define KEEL_DEVICES_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/pci/bus.h"
#include "devices/virtio/device.h"

#define VIRTIO_MSI_NO_VECTOR	0xffff
#define VIRTIO_PCI_MAX_QUEUES	VIRTIO_MAX_QUEUES

struct virtio_pci;

/* PCI-only choices; the device itself is described by struct virtio_dev. */
struct virtio_pci_info {
	/*
	 * PCI class (base << 16 | sub << 8 | prog-if); 0: the usual one for
	 * the device type (block: mass storage, console: communication, ...).
	 */
	uint32_t class_code;
	/*
	 * The function sits on a PCI Express bus (q35's pcie.0, a root port):
	 * it gets a PCIe endpoint capability (pcie_endpoint_cap_add), or what
	 * pcie_caps adds when that is set. Either runs once the virtio
	 * capabilities are laid out and before MSI-X; an error fails creation.
	 */
	bool pcie;
	int (*pcie_caps)(struct pci_device *pdev, void *opaque);
	void *pcie_opaque;
};

/*
 * Make the PCI function of vdev and bind vdev to it (not yet registered: the
 * caller puts virtio_pci_device() on the bus). info may be NULL. One MSI-X
 * vector per queue plus one for configuration changes. NULL on failure, with
 * a log line.
 */
struct virtio_pci *virtio_pci_new(const struct machine_services *ms, struct virtio_dev *vdev,
				  const struct virtio_pci_info *info);
/*
 * Stops the device (ops->stop) if running, unregisters ioeventfds and irqfds,
 * unbinds the device and frees. The device's own free does this too
 * (virtio_dev_detach()) if it was not done before.
 */
void virtio_pci_free(struct virtio_pci *vp);

struct pci_device *virtio_pci_device(struct virtio_pci *vp);
/* The PCI function vdev is bound to; NULL if it is on another transport or none. */
struct pci_device *virtio_pci_function(struct virtio_dev *vdev);

/* The transport side of device.h, for tests and for callers holding a vp. */
struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned int idx);
int virtio_pci_kick_fd(struct virtio_pci *vp, unsigned int idx);
/* -1 when MSI-X is off or the queue has no vector. */
int virtio_pci_call_fd(struct virtio_pci *vp, unsigned int idx);
void virtio_pci_interrupt(struct virtio_pci *vp, unsigned int idx);
void virtio_pci_notify(struct virtio_pci *vp, unsigned int idx);
/* Configuration interrupt (ISR bit 1), new config_generation. */
void virtio_pci_config_changed(struct virtio_pci *vp);
void virtio_pci_set_broken(struct virtio_pci *vp, const char *why);

#endif
