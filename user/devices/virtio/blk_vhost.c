/*
 * virtio-blk accel=vhost (blk_vhost.h): the queues go to /dev/vhost-blk over
 * the vhost UAPI (devices/virtio/vhost.c) plus VHOST_BLK_SET_BACKEND.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vhost_blk.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_vhost.h"
#include "devices/virtio/vhost.h"
#include "lib/log.h"

struct blk_vhost {
	struct blk_vhost_conf conf;
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	const struct machine_services *ms;
	struct vhost_dev vhost;
	pthread_mutex_t lock;		/* start/stop against statistics readers */
};

static void blk_vhost_on_error(void *opaque, unsigned int idx)
{
	struct blk_vhost *bv = opaque;

	virtio_dev_set_broken(bv->conf.vdev, "the kernel backend found a corrupt ring");
}

static void blk_vhost_on_call(void *opaque, unsigned int idx)
{
	struct blk_vhost *bv = opaque;

	virtio_dev_interrupt(bv->conf.vdev, idx);
}

int blk_vhost_start(struct blk_vhost *bv, uint64_t features, struct virtq *const *vqs)
{
	struct vhost_vring vr[VIRTIO_BLK_MAX_QUEUES];
	struct vhost_blk_backend be = { .fd = bv->conf.backend_fd };
	unsigned int i;
	int ret;

	for (i = 0; i < bv->conf.nr_queues; i++) {
		vr[i].vq = vqs[i];
		vr[i].kick_fd = virtio_dev_kick_fd(bv->conf.vdev, i);
		vr[i].call_fd = virtio_dev_call_fd(bv->conf.vdev, i);
	}
	pthread_mutex_lock(&bv->lock);
	ret = vhost_start(&bv->vhost, bv->ms, features, vr, bv->conf.nr_queues);
	if (ret)
		goto out;
	if (bv->conf.read_only)
		be.flags = VHOST_BLK_BACKEND_F_RO;
	memcpy(be.serial, bv->serial, sizeof(be.serial));
	ret = vhost_ioctl(&bv->vhost, VHOST_BLK_SET_BACKEND, &be);
	if (ret) {
		log_err("%s: vhost-blk refused the backend: %s", bv->conf.name, strerror(-ret));
		vhost_stop(&bv->vhost);
	}
out:
	pthread_mutex_unlock(&bv->lock);
	return ret;
}

void blk_vhost_stop(struct blk_vhost *bv)
{
	struct vhost_blk_backend be = { .fd = -1 };

	pthread_mutex_lock(&bv->lock);
	if (bv->vhost.running) {
		/* Returns when no request uses the image any more. */
		vhost_ioctl(&bv->vhost, VHOST_BLK_SET_BACKEND, &be);
		vhost_stop(&bv->vhost);
	}
	pthread_mutex_unlock(&bv->lock);
}

int blk_vhost_stats(struct blk_vhost *bv, struct vhost_blk_stats *stats)
{
	int ret;

	memset(stats, 0, sizeof(*stats));
	pthread_mutex_lock(&bv->lock);
	ret = vhost_ioctl(&bv->vhost, VHOST_BLK_GET_STATS, stats);
	pthread_mutex_unlock(&bv->lock);
	return ret;
}

struct blk_vhost *blk_vhost_new(const struct machine_services *ms,
				const struct blk_vhost_conf *conf, uint64_t *withhold)
{
	uint64_t ring = (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX);
	struct blk_vhost *bv = calloc(1, sizeof(*bv));
	int ret;

	if (!bv)
		return NULL;
	bv->conf = *conf;
	bv->ms = ms;
	memcpy(bv->serial, conf->serial, sizeof(bv->serial));
	pthread_mutex_init(&bv->lock, NULL);
	ret = vhost_init(&bv->vhost, conf->name, conf->vhost_fd, conf->vhost_ioctl,
			 ms ? ms->loop : NULL, blk_vhost_on_error, blk_vhost_on_call, bv);
	if (ret) {
		pthread_mutex_destroy(&bv->lock);
		free(bv);
		return NULL;
	}
	/* The module serves split rings only, with the ring features it lists. */
	*withhold = (1ull << VIRTIO_F_RING_PACKED) | (ring & ~bv->vhost.features);
	return bv;
}

void blk_vhost_free(struct blk_vhost *bv)
{
	if (!bv)
		return;
	blk_vhost_stop(bv);
	pthread_mutex_destroy(&bv->lock);
	free(bv);	/* the fds belong to the caller */
}
