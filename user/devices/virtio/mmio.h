/*
 * VIRTIO over MMIO, version 2 registers only (VIRTIO 1.2 ch. 4.2): one
 * 0x200-byte register block per device for the microvm machine, kicks on an
 * ioeventfd per queue (QueueNotify with the queue index as its value), the
 * interrupt on a level-triggered GSI while InterruptStatus is non-zero.
 */
#ifndef KEEL_DEVICES_VIRTIO_MMIO_H
#define KEEL_DEVICES_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/virtio/device.h"

#define VIRTIO_MMIO_SIZE	0x200
#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION	2
#define VIRTIO_MMIO_VENDOR	0x4c45454b	/* "KEEL" */

/* Register offsets (ch. 4.2.2, table 4.1). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

/* InterruptStatus bits (ch. 4.2.2). */
#define VIRTIO_MMIO_INT_VRING		0x1
#define VIRTIO_MMIO_INT_CONFIG		0x2

struct virtio_mmio;

/*
 * The slots of a machine's virtio-mmio bus (DEV_BUS_VIRTIO_MMIO, the bus's
 * impl): slot i is the register block at base + i * VIRTIO_MMIO_SIZE with its
 * interrupt on GSI gsi_base + i, as QEMU's microvm lays its transports out.
 * A device takes the first free slot when it is realized and gives it back
 * when its transport goes; the board describes the taken ones to the guest.
 */
#define VIRTIO_MMIO_BUS_MAX_SLOTS	32

struct virtio_mmio_bus {
	uint64_t base;
	unsigned int gsi_base;
	unsigned int nr_slots;		/* at most VIRTIO_MMIO_BUS_MAX_SLOTS */
	uint32_t used;			/* bit i: slot i has a device (main loop only) */
};

void virtio_mmio_bus_init(struct virtio_mmio_bus *bus, uint64_t base, unsigned int gsi_base,
			  unsigned int nr_slots);
/* Slot i's register block and GSI; false if i is not a taken slot. */
bool virtio_mmio_bus_slot(const struct virtio_mmio_bus *bus, unsigned int i, uint64_t *base,
			  unsigned int *gsi);
/*
 * Bind vdev to the first free slot of bus: the transport, registered, with
 * the slot taken until virtio_mmio_free(). NULL: -ENOSPC (the bus is full)
 * or another -errno in *ret, with err set.
 */
struct virtio_mmio *virtio_mmio_bus_plug(struct virtio_mmio_bus *bus,
					 const struct machine_services *ms,
					 struct virtio_dev *vdev, int *ret, char *err,
					 size_t errlen);


/*
 * Register the device's 0x200 bytes at base (machine_mmio_add) with its
 * interrupt on gsi, and bind vdev to them. NULL on failure, logged.
 */
struct virtio_mmio *virtio_mmio_new(const struct machine_services *ms, struct virtio_dev *vdev,
				    uint64_t base, unsigned int gsi);
/*
 * Stops the device if running, removes the ioeventfds, unbinds, frees. The
 * MMIO region stays registered (the machine has no removal; its handlers
 * are the machine's to drop with it). A device's free does this too.
 */
void virtio_mmio_free(struct virtio_mmio *vm);

/*
 * "virtio_mmio.device=512@0xd0000000:5" for the guest kernel's command line
 * (Linux drivers/virtio/virtio_mmio.c, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
 * Returns the length it has (or would have had), like snprintf.
 */
int virtio_mmio_cmdline(const struct virtio_mmio *vm, char *buf, size_t len);

uint64_t virtio_mmio_base(const struct virtio_mmio *vm);
unsigned int virtio_mmio_gsi(const struct virtio_mmio *vm);

/* The transport side of device.h, for tests. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned int idx);
int virtio_mmio_kick_fd(struct virtio_mmio *vm, unsigned int idx);
void virtio_mmio_notify(struct virtio_mmio *vm, unsigned int idx);
void virtio_mmio_interrupt(struct virtio_mmio *vm, unsigned int idx);
void virtio_mmio_config_changed(struct virtio_mmio *vm);
void virtio_mmio_set_broken(struct virtio_mmio *vm, const char *why);

#endif
