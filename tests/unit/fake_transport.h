/*
 * A fake virtio transport (devices/virtio/device.h) for device unit tests and
 * fuzz targets: the test starts and stops the device itself with queues it
 * made, and sees what the device asks of its transport.
 */
#ifndef KEEL_TESTS_FAKE_TRANSPORT_H
#define KEEL_TESTS_FAKE_TRANSPORT_H

#include <string.h>

#include "devices/virtio/device.h"

struct fake_transport {
	struct virtio_dev *vdev;
	struct virtq *vq[VIRTIO_MAX_QUEUES];	/* between start and stop */
	int kick_fd[VIRTIO_MAX_QUEUES];		/* -1 unless the test set one */
	int call_fd[VIRTIO_MAX_QUEUES];
	int notifies[VIRTIO_MAX_QUEUES];	/* atomic: devices notify from any thread */
	int interrupts[VIRTIO_MAX_QUEUES];
	int config_changes;
	int broken;
	bool running;
	/* Called after counting, when set. */
	void (*on_notify)(void *opaque, unsigned int idx);
	void (*on_broken)(void *opaque, const char *why);
	void *opaque;
};

static inline struct virtq *fake_t_queue(void *t, unsigned int idx)
{
	struct fake_transport *ft = t;

	return idx < VIRTIO_MAX_QUEUES && ft->running ? ft->vq[idx] : NULL;
}

static inline int fake_t_kick_fd(void *t, unsigned int idx)
{
	return idx < VIRTIO_MAX_QUEUES ? ((struct fake_transport *)t)->kick_fd[idx] : -1;
}

static inline int fake_t_call_fd(void *t, unsigned int idx)
{
	return idx < VIRTIO_MAX_QUEUES ? ((struct fake_transport *)t)->call_fd[idx] : -1;
}

static inline void fake_t_notify(void *t, unsigned int idx)
{
	struct fake_transport *ft = t;

	if (idx < VIRTIO_MAX_QUEUES)
		__atomic_fetch_add(&ft->notifies[idx], 1, __ATOMIC_SEQ_CST);
	if (ft->on_notify)
		ft->on_notify(ft->opaque, idx);
}

static inline void fake_t_interrupt(void *t, unsigned int idx)
{
	struct fake_transport *ft = t;

	if (idx < VIRTIO_MAX_QUEUES)
		__atomic_fetch_add(&ft->interrupts[idx], 1, __ATOMIC_SEQ_CST);
}

static inline void fake_t_config_changed(void *t)
{
	__atomic_fetch_add(&((struct fake_transport *)t)->config_changes, 1, __ATOMIC_SEQ_CST);
}

static inline void fake_t_set_broken(void *t, const char *why)
{
	struct fake_transport *ft = t;

	__atomic_fetch_add(&ft->broken, 1, __ATOMIC_SEQ_CST);
	if (ft->on_broken)
		ft->on_broken(ft->opaque, why);
}

/* No free: the test owns the fake, a device's free only unbinds it. */
static const struct virtio_transport_ops fake_transport_ops __attribute__((unused)) = {
	.queue = fake_t_queue,
	.kick_fd = fake_t_kick_fd,
	.call_fd = fake_t_call_fd,
	.notify = fake_t_notify,
	.interrupt = fake_t_interrupt,
	.config_changed = fake_t_config_changed,
	.set_broken = fake_t_set_broken,
};

/* Bind vdev to a zeroed ft (no kick or call fds); 0 or -EBUSY. */
static inline int fake_transport_bind(struct fake_transport *ft, struct virtio_dev *vdev)
{
	unsigned int i;

	memset(ft, 0, sizeof(*ft));
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		ft->kick_fd[i] = ft->call_fd[i] = -1;
	ft->vdev = vdev;
	return virtio_dev_bind(vdev, &fake_transport_ops, ft);
}

/*
 * What a transport does at DRIVER_OK: queues vqs[0..n) (NULL: disabled; the
 * rest of the device's queues are disabled), then the device's start().
 */
static inline int fake_transport_start(struct fake_transport *ft, uint64_t features,
				       struct virtq *const *vqs, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		ft->vq[i] = i < n ? vqs[i] : NULL;
	ft->running = true;
	ret = ft->vdev->ops->start(ft->vdev, features, ft->vq);
	if (ret)
		ft->running = false;
	return ret;
}

/*
 * Driver reset: the device's stop(). Unlike a real transport this calls it
 * even when not running: the tests check that a second stop is harmless.
 */
static inline void fake_transport_stop(struct fake_transport *ft)
{
	ft->vdev->ops->stop(ft->vdev);
	ft->running = false;
}

#endif
