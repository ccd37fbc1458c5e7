/*
 * VIRTIO 1.x over PCI, modern interface only (VIRTIO 1.2 ch. 4.1): the common,
 * notify, ISR and device configuration structures in BAR 4, MSI-X (table and PBA
 * in BAR 1), feature negotiation, device status and reset. A device type (blk,
 * rng, console, ...) plugs in with struct virtio_device_ops and serves its
 * queues on whatever thread it likes: kicks arrive on an eventfd per queue
 * (an ioeventfd of the machine), interrupts leave through irqfds.
 */
#ifndef KEEL_DEVICES_VIRTIO_PCI_H
#define KEEL_DEVICES_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/pci/bus.h"
#include "devices/virtio/virtqueue.h"

/* Device types (VIRTIO 1.2 ch. 5); the PCI device ID is 0x1040 + type. */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4

/* Transport feature bits (ch. 6) the transport offers on every device. */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_RING_PACKED	34

/* Device status bits (ch. 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

#define VIRTIO_MSI_NO_VECTOR	0xffff

struct virtio_pci;

struct virtio_device_ops {
	/*
	 * Device-specific configuration (ch. 5.x "Device configuration layout"):
	 * off + size stays inside config_size; called on a vCPU thread.
	 */
	void (*config_read)(void *dev, uint32_t off, void *data, unsigned int size);
	void (*config_write)(void *dev, uint32_t off, const void *data, unsigned int size);
	/*
	 * DRIVER_OK was set: every queue the driver enabled is started
	 * (virtio_pci_queue()) and kicks on it arrive on virtio_pci_kick_fd().
	 * features is what was negotiated. 0, or -errno to refuse (the transport
	 * then sets NEEDS_RESET). Called on a vCPU thread.
	 */
	int (*start)(void *dev, uint64_t features);
	/*
	 * The driver reset the device (or the machine is going away): return only
	 * when no thread of the device touches the queues any more. Called on a
	 * vCPU thread or the main thread; never without a start() before it.
	 */
	void (*stop)(void *dev);
};

struct virtio_pci_info {
	const char *name;		/* "virtio-blk0": for log lines */
	uint16_t type;			/* VIRTIO_ID_* */
	uint32_t class_code;		/* PCI class (base << 16 | sub << 8 | prog-if) */
	uint64_t features;		/* device-type features offered */
	unsigned int nr_queues;		/* 1..VIRTIO_PCI_MAX_QUEUES */
	unsigned int queue_size;	/* largest queue (power of two, <= VIRTQ_MAX_SIZE) */
	unsigned int config_size;	/* bytes of device configuration */
	const struct virtio_device_ops *ops;
	void *dev;			/* passed to ops */
	uint64_t withhold_features;	/* transport features not to offer (vhost: packed) */
};

#define VIRTIO_PCI_MAX_QUEUES	64

/*
 * Create the PCI function (not yet registered: the caller puts
 * virtio_pci_device() on the bus). One MSI-X vector per queue plus one for
 * configuration changes. NULL on failure, with a log line.
 */
struct virtio_pci *virtio_pci_new(const struct machine_services *ms,
				  const struct virtio_pci_info *info);
/* Stops the device (ops->stop) if running, unregisters ioeventfds and irqfds, frees. */
void virtio_pci_free(struct virtio_pci *vp);

struct pci_device *virtio_pci_device(struct virtio_pci *vp);

/* Queue idx, valid between start() and stop(); NULL if the driver left it disabled. */
struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned int idx);
/* The eventfd kicks on queue idx arrive on (read it to clear); -1 if none. */
int virtio_pci_kick_fd(struct virtio_pci *vp, unsigned int idx);

/*
 * The eventfd that interrupts the driver for queue idx (the MSI-X vector it
 * chose; for vhost's call fd): -1 when MSI-X is off or the queue has no vector.
 */
int virtio_pci_call_fd(struct virtio_pci *vp, unsigned int idx);
/* Interrupt for queue idx now, without checking the ring's suppression. */
void virtio_pci_interrupt(struct virtio_pci *vp, unsigned int idx);

/*
 * After pushing used buffers on queue idx: interrupt the driver unless the
 * ring's suppression says not to (virtq_should_notify). Any thread.
 */
void virtio_pci_notify(struct virtio_pci *vp, unsigned int idx);
/* Device configuration changed: configuration interrupt (ISR bit 1). */
void virtio_pci_config_changed(struct virtio_pci *vp);
/*
 * The device cannot go on (a broken queue, ...): set DEVICE_NEEDS_RESET and
 * send a configuration interrupt (ch. 2.1.2). Logged once with why.
 */
void virtio_pci_set_broken(struct virtio_pci *vp, const char *why);

#endif
