/*
 * The vhost attach path (linux/vhost.h; Documentation/vhost-blk.md "Using it from a
 * VMM"): owner, features, memory table, split rings, error eventfds, dirty log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vhost.h>

#include "devices/virtio/vhost.h"
#include "lib/log.h"
#include "lib/loop.h"

static int vhost_sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int vhost_ioctl(struct vhost_dev *dev, unsigned long req, void *arg)
{
	int ret = dev->ioctl(dev->fd, req, arg);

	return ret < 0 ? ret : 0;
}

int vhost_init(struct vhost_dev *dev, const char *name, int fd, vhost_ioctl_fn ioctl_fn,
	       struct loop *loop, vhost_error_fn on_error, vhost_call_fn on_call, void *opaque)
{
	unsigned int i;
	int ret;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->fd = fd;
	dev->ioctl = ioctl_fn ? ioctl_fn : vhost_sys_ioctl;
	dev->loop = loop;
	dev->on_error = on_error;
	dev->on_call = on_call;
	dev->opaque = opaque;
	for (i = 0; i < VHOST_MAX_VRINGS; i++) {
		dev->err_fd[i] = dev->call_fd[i] = -1;
		dev->ref[i].dev = dev;
		dev->ref[i].idx = i;
	}
	ret = vhost_ioctl(dev, VHOST_GET_FEATURES, &dev->features);
	if (ret) {
		log_err("%s: vhost GET_FEATURES failed: %s", dev->name, strerror(-ret));
		dev->fd = -1;
		return ret;
	}
	return 0;
}

void vhost_fini(struct vhost_dev *dev)
{
	if (dev->fd < 0)
		return;
	vhost_stop(dev);
	close(dev->fd);
	dev->fd = -1;
}

static bool vhost_drain(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n);
}

static void vhost_on_err(void *opaque, uint32_t events)
{
	struct vhost_ring_ref *ref = opaque;
	struct vhost_dev *dev = ref->dev;

	(void)events;
	if (!vhost_drain(dev->err_fd[ref->idx]))
		return;
	log_err("%s: the kernel backend stopped queue %u (corrupt ring)", dev->name, ref->idx);
	if (dev->on_error)
		dev->on_error(dev->opaque, ref->idx);
}

static void vhost_on_call(void *opaque, uint32_t events)
{
	struct vhost_ring_ref *ref = opaque;
	struct vhost_dev *dev = ref->dev;

	(void)events;
	if (vhost_drain(dev->call_fd[ref->idx]) && dev->on_call)
		dev->on_call(dev->opaque, ref->idx);
}

static void vhost_unwatch(struct vhost_dev *dev, unsigned int i)
{
	if (dev->err_fd[i] >= 0) {
		if (dev->loop)
			loop_del_fd(dev->loop, dev->err_fd[i]);
		close(dev->err_fd[i]);
		dev->err_fd[i] = -1;
	}
	if (dev->call_fd[i] >= 0) {
		if (dev->loop)
			loop_del_fd(dev->loop, dev->call_fd[i]);
		close(dev->call_fd[i]);
		dev->call_fd[i] = -1;
	}
}

/* A new eventfd watched on the device's loop: the fd, or -errno. */
static int vhost_watched_fd(struct vhost_dev *dev, unsigned int i, loop_fd_fn fn)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	if (dev->loop) {
		ret = loop_add_fd(dev->loop, fd, EPOLLIN, fn, &dev->ref[i]);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd;
}

static int vhost_set_mem_table(struct vhost_dev *dev, const struct machine_services *ms)
{
	struct machine_ram_region r[VHOST_MAX_MEM_REGIONS];
	struct vhost_memory *mem;
	int n, i, ret;

	n = machine_ram_regions(ms, r, VHOST_MAX_MEM_REGIONS);
	if (n < 0)
		return n;
	if (n == 0 || n > VHOST_MAX_MEM_REGIONS)
		return -E2BIG;
	mem = calloc(1, sizeof(*mem) + n * sizeof(mem->regions[0]));
	if (!mem)
		return -ENOMEM;
	mem->nregions = n;
	for (i = 0; i < n; i++) {
		mem->regions[i].guest_phys_addr = r[i].gpa;
		mem->regions[i].memory_size = r[i].size;
		mem->regions[i].userspace_addr = (uintptr_t)r[i].hva;
	}
	ret = vhost_ioctl(dev, VHOST_SET_MEM_TABLE, mem);
	free(mem);
	return ret;
}

static int vhost_set_addr(struct vhost_dev *dev, unsigned int i)
{
	struct vhost_vring_addr a = {
		.index = i,
		.flags = dev->logging ? 1u << VHOST_VRING_F_LOG : 0,
		.desc_user_addr = dev->desc_hva[i],
		.used_user_addr = dev->used_hva[i],
		.avail_user_addr = dev->avail_hva[i],
		.log_guest_addr = dev->used_gpa[i],
	};

	return vhost_ioctl(dev, VHOST_SET_VRING_ADDR, &a);
}

static int vhost_start_ring(struct vhost_dev *dev, unsigned int i, const struct vhost_vring *vr)
{
	struct virtq *vq = vr->vq;
	struct vhost_vring_state st = { .index = i };
	struct vhost_vring_file f = { .index = i };
	int ret, fd;

	if (vq->cfg.packed)
		return -EOPNOTSUPP;	/* vhost-blk serves split rings only */
	st.num = vq->cfg.size;
	ret = vhost_ioctl(dev, VHOST_SET_VRING_NUM, &st);
	if (ret)
		return ret;
	st.num = vq->last_avail_idx;
	ret = vhost_ioctl(dev, VHOST_SET_VRING_BASE, &st);
	if (ret)
		return ret;
	dev->desc_hva[i] = (uintptr_t)vq->desc;
	dev->avail_hva[i] = (uintptr_t)vq->driver;
	dev->used_hva[i] = (uintptr_t)vq->device;
	dev->used_gpa[i] = vq->cfg.device_gpa;
	ret = vhost_set_addr(dev, i);
	if (ret)
		return ret;
	fd = vr->call_fd;
	if (fd < 0) {
		fd = vhost_watched_fd(dev, i, vhost_on_call);
		if (fd < 0)
			return fd;
		dev->call_fd[i] = fd;
	}
	f.fd = fd;
	ret = vhost_ioctl(dev, VHOST_SET_VRING_CALL, &f);
	if (ret)
		return ret;
	fd = vhost_watched_fd(dev, i, vhost_on_err);
	if (fd < 0)
		return fd;
	dev->err_fd[i] = fd;
	f.fd = fd;
	ret = vhost_ioctl(dev, VHOST_SET_VRING_ERR, &f);
	if (ret)
		return ret;
	f.fd = vr->kick_fd;
	return vhost_ioctl(dev, VHOST_SET_VRING_KICK, &f);
}

int vhost_start(struct vhost_dev *dev, const struct machine_services *ms, uint64_t features,
		const struct vhost_vring *vrings, unsigned int nr)
{
	const char *step;
	unsigned int i;
	int ret;

	if (nr > VHOST_MAX_VRINGS)
		return -EINVAL;
	if (dev->running)
		vhost_stop(dev);
	step = "SET_OWNER";
	if (!dev->owned) {
		ret = vhost_ioctl(dev, VHOST_SET_OWNER, NULL);
		if (ret)
			goto fail;
		dev->owned = true;
	}
	step = "SET_FEATURES";
	dev->acked = features & dev->features & ~(1ull << VHOST_F_LOG_ALL);
	if (dev->logging)
		dev->acked |= 1ull << VHOST_F_LOG_ALL;
	ret = vhost_ioctl(dev, VHOST_SET_FEATURES, &dev->acked);
	if (ret)
		goto fail;
	step = "SET_MEM_TABLE";
	ret = vhost_set_mem_table(dev, ms);
	if (ret)
		goto fail;
	if (dev->log_base) {
		step = "SET_LOG_BASE";
		ret = vhost_ioctl(dev, VHOST_SET_LOG_BASE, &dev->log_base);
		if (ret)
			goto fail;
	}
	dev->nr_vrings = nr;
	step = "ring setup";
	for (i = 0; i < nr; i++) {
		if (!vrings[i].vq)
			continue;
		dev->vring_on[i] = true;
		ret = vhost_start_ring(dev, i, &vrings[i]);
		if (ret)
			goto fail;
	}
	dev->running = true;
	return 0;
fail:
	log_err("%s: vhost %s failed: %s", dev->name, step, strerror(-ret));
	dev->running = true;
	vhost_stop(dev);
	return ret;
}

void vhost_stop(struct vhost_dev *dev)
{
	unsigned int i;

	if (dev->running) {
		for (i = 0; i < dev->nr_vrings; i++) {
			struct vhost_vring_file f = { .index = i, .fd = -1 };
			struct vhost_vring_state st = { .index = i };

			if (!dev->vring_on[i])
				continue;
			vhost_ioctl(dev, VHOST_SET_VRING_KICK, &f);
			/* Waits for the ring's requests in flight. */
			if (vhost_ioctl(dev, VHOST_GET_VRING_BASE, &st) == 0)
				dev->last_avail[i] = st.num;
			dev->vring_on[i] = false;
		}
		dev->running = false;
	}
	for (i = 0; i < VHOST_MAX_VRINGS; i++)
		vhost_unwatch(dev, i);
	if (dev->owned) {
		vhost_ioctl(dev, VHOST_RESET_OWNER, NULL);
		dev->owned = false;
	}
	dev->nr_vrings = 0;
}

int vhost_set_log(struct vhost_dev *dev, void *log_base, bool enable)
{
	uint64_t acked;
	unsigned int i;
	int ret;

	if (!(dev->features & (1ull << VHOST_F_LOG_ALL)))
		return -EOPNOTSUPP;
	dev->log_base = (uintptr_t)log_base;
	if (!dev->running) {
		dev->logging = enable;
		return 0;
	}
	if (dev->log_base) {
		ret = vhost_ioctl(dev, VHOST_SET_LOG_BASE, &dev->log_base);
		if (ret)
			return ret;
	}
	acked = dev->acked & ~(1ull << VHOST_F_LOG_ALL);
	if (enable)
		acked |= 1ull << VHOST_F_LOG_ALL;
	ret = vhost_ioctl(dev, VHOST_SET_FEATURES, &acked);
	if (ret)
		return ret;
	dev->acked = acked;
	dev->logging = enable;
	for (i = 0; i < dev->nr_vrings; i++) {
		if (!dev->vring_on[i])
			continue;
		ret = vhost_set_addr(dev, i);
		if (ret)
			return ret;
	}
	return 0;
}
