/*
 * virtio-blk accel=vhost (Documentation/vhost-blk.md "keel's side"): the
 * queues of a virtio-blk device served by /dev/vhost-blk instead of the block
 * backend. Internal to virtio/blk.c.
 */
#ifndef KEEL_DEVICES_VIRTIO_BLK_VHOST_H
#define KEEL_DEVICES_VIRTIO_BLK_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/virtio/device.h"

struct blk_vhost;
struct vhost_blk_stats;

struct blk_vhost_conf {
	const char *name;
	struct virtio_dev *vdev;	/* the device whose queues the kernel serves */
	unsigned int nr_queues;
	bool read_only;
	const uint8_t *serial;		/* VIRTIO_BLK_ID_BYTES, NUL-padded */
	int vhost_fd;			/* open /dev/vhost-blk, the caller's */
	int backend_fd;			/* the raw image, the caller's */
	int (*vhost_ioctl)(int fd, unsigned long req, void *arg);	/* NULL: ioctl(2) */
};

/* Talk to the module: *withhold gets the transport features it lacks. NULL on failure. */
struct blk_vhost *blk_vhost_new(const struct machine_services *ms,
				const struct blk_vhost_conf *conf, uint64_t *withhold);
/* DRIVER_OK: hand the rings and the image to the kernel. 0 or -errno (logged). */
int blk_vhost_start(struct blk_vhost *bv, uint64_t features, struct virtq *const *vqs);
/* Driver reset: returns when no request uses the image any more. */
void blk_vhost_stop(struct blk_vhost *bv);
int blk_vhost_stats(struct blk_vhost *bv, struct vhost_blk_stats *stats);
void blk_vhost_free(struct blk_vhost *bv);

#endif
