/*
 * The virtio device interface (VIRTIO 1.2 ch. 2, ch. 6): what a device type
 * (blk, rng, console, ...) provides, and what it may ask of the transport it
 * is bound to (virtio-pci, ch. 4.1; virtio-mmio, ch. 4.2). A device includes
 * this header and no transport's; see design/virtio-pci.md "Devices and
 * transports".
 */
#ifndef KEEL_DEVICES_VIRTIO_DEVICE_H
#define KEEL_DEVICES_VIRTIO_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"

/* Device types (ch. 5). */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4

/* Transport feature bits (ch. 6) every transport offers unless withheld. */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_RING_PACKED	34

#define VIRTIO_TRANSPORT_FEATURES \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED) | \
	 (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX))

/* Device status bits (ch. 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* Queues a device may have on any transport (virtio-pci's MSI-X table sets it). */
#define VIRTIO_MAX_QUEUES	64

struct virtio_dev;

/* What a device does when its transport calls it. */
struct virtio_dev_ops {
	/*
	 * Device-specific configuration (ch. 5.x "Device configuration layout"):
	 * off + size stays inside config_size; called on a vCPU thread. Either
	 * may be NULL (reads then give 0, writes are dropped).
	 */
	void (*config_read)(struct virtio_dev *vdev, uint32_t off, void *data,
			    unsigned int size);
	void (*config_write)(struct virtio_dev *vdev, uint32_t off, const void *data,
			     unsigned int size);
	/*
	 * DRIVER_OK was set: vqs[0..nr_queues) are the started queues, NULL for
	 * one the driver left disabled (the same as virtio_dev_queue()); kicks
	 * arrive on virtio_dev_kick_fd(). features is what was negotiated. 0, or
	 * -errno to refuse (the transport then sets NEEDS_RESET). Called on a vCPU
	 * thread with the transport's lock held.
	 */
	int (*start)(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs);
	/*
	 * The driver reset the device (or the transport is going away): return
	 * only when no thread of the device touches the queues any more. Called
	 * on a vCPU thread or the main thread; never without a start() before it.
	 * A device reset is this stop: there is no separate reset call.
	 */
	void (*stop)(struct virtio_dev *vdev);
};

/*
 * What a device may ask of its transport. Every call takes the transport's
 * own pointer (vdev->transport). notify, interrupt, config_changed and
 * set_broken may be called from any thread, also while stop() is waiting.
 */
struct virtio_transport_ops {
	/* Queue idx, valid between start() and stop(); NULL if disabled. */
	struct virtq *(*queue)(void *transport, unsigned int idx);
	/* The eventfd kicks on queue idx arrive on (read it to clear); -1 if none. */
	int (*kick_fd)(void *transport, unsigned int idx);
	/*
	 * An eventfd that interrupts the driver for queue idx inside the kernel
	 * (an irqfd: vhost's call fd); -1 when there is none right now.
	 */
	int (*call_fd)(void *transport, unsigned int idx);
	/* Used buffers pushed on idx: interrupt unless the ring suppresses it. */
	void (*notify)(void *transport, unsigned int idx);
	/* Interrupt for queue idx now, without asking the ring. */
	void (*interrupt)(void *transport, unsigned int idx);
	/* The device configuration changed: new generation, config interrupt. */
	void (*config_changed)(void *transport);
	/* Set DEVICE_NEEDS_RESET and tell the driver (ch. 2.1.2); logged once. */
	void (*set_broken)(void *transport, const char *why);
	/*
	 * The transport is going away with its device (virtio_dev_detach()):
	 * stop the device if running, unbind it, free the transport.
	 */
	void (*free)(void *transport);
};

/*
 * A device type's description, embedded in the device's own structure
 * (container_of from the ops). The device fills the fields above the line
 * before binding; the transport fills the ones below.
 */
struct virtio_dev {
	const char *name;		/* "virtio-blk0": log lines; outlives the binding */
	uint16_t type;			/* VIRTIO_ID_* */
	uint64_t features;		/* device-type features offered (bits 0..23, 50+) */
	uint64_t withhold_features;	/* transport features not to offer (vhost: packed) */
	unsigned int nr_queues;		/* 1..VIRTIO_MAX_QUEUES */
	unsigned int queue_size;	/* largest queue: a power of two <= VIRTQ_MAX_SIZE */
	unsigned int config_size;	/* bytes of device configuration */
	const struct virtio_dev_ops *ops;

	/* Set by virtio_dev_bind(): the transport the device is plugged into. */
	const struct virtio_transport_ops *trans_ops;
	void *transport;
};

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/*
 * For transports: is vdev a description they can serve? (ops with start and
 * stop, queue counts and sizes in range, config_size <= max_config.)
 */
bool virtio_dev_valid(const struct virtio_dev *vdev, unsigned int max_config);
/* For transports: plug vdev in (-EBUSY if it is bound already) and out. */
int virtio_dev_bind(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
		    void *transport);
void virtio_dev_unbind(struct virtio_dev *vdev);
/* Features a transport offers for vdev: the device's plus its own, less withheld. */
uint64_t virtio_dev_offered(const struct virtio_dev *vdev);

/*
 * For devices going away: free the transport still bound (it stops the
 * device first). Nothing if none is bound.
 */
void virtio_dev_detach(struct virtio_dev *vdev);

/* The calls a device makes; an unbound device gets NULL / -1 / nothing. */
static inline struct virtq *virtio_dev_queue(struct virtio_dev *vdev, unsigned int idx)
{
	return vdev->trans_ops ? vdev->trans_ops->queue(vdev->transport, idx) : NULL;
}

static inline int virtio_dev_kick_fd(struct virtio_dev *vdev, unsigned int idx)
{
	return vdev->trans_ops ? vdev->trans_ops->kick_fd(vdev->transport, idx) : -1;
}

static inline int virtio_dev_call_fd(struct virtio_dev *vdev, unsigned int idx)
{
	return vdev->trans_ops && vdev->trans_ops->call_fd ?
	       vdev->trans_ops->call_fd(vdev->transport, idx) : -1;
}

static inline void virtio_dev_notify(struct virtio_dev *vdev, unsigned int idx)
{
	if (vdev->trans_ops)
		vdev->trans_ops->notify(vdev->transport, idx);
}

static inline void virtio_dev_interrupt(struct virtio_dev *vdev, unsigned int idx)
{
	if (vdev->trans_ops)
		vdev->trans_ops->interrupt(vdev->transport, idx);
}

static inline void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	if (vdev->trans_ops)
		vdev->trans_ops->config_changed(vdev->transport);
}

static inline void virtio_dev_set_broken(struct virtio_dev *vdev, const char *why)
{
	if (vdev->trans_ops)
		vdev->trans_ops->set_broken(vdev->transport, why);
}

#endif
