// SPDX-License-Identifier: GPL-2.0
/*
 * vhost device core: ownership, the standard vhost ioctls (linux/vhost.h)
 * and the life cycle of virtqueues, shared by every keel backend module.
 */
#include <linux/file.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>
#include "kv.h"

void kv_vq_fail(struct kv_vq *vq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (vq->broken)
		return;
	vq->broken = true;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn_ratelimited("%s: queue %u: %pV; queue stopped\n",
			    vq->dev->name, vq->index, &vaf);
	va_end(args);
	if (vq->err_ctx)
		eventfd_signal(vq->err_ctx, 1);
}

bool kv_vq_ready(struct kv_vq *vq)
{
	return vq->addr_valid && vq->kick && vq->mem && !vq->broken;
}

static int kv_kick_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
			void *key)
{
	struct kv_vq *vq = container_of(wait, struct kv_vq, kick_wait);

	if (key_to_poll(key) & EPOLLIN)
		kv_worker_queue(vq);
	return 0;
}

static void kv_kick_queue_proc(struct file *file, wait_queue_head_t *wqh,
			       poll_table *pt)
{
	struct kv_vq *vq = container_of(pt, struct kv_vq, kick_pt);

	vq->kick_wqh = wqh;
	add_wait_queue(wqh, &vq->kick_wait);
}

static void kv_kick_detach(struct kv_vq *vq)
{
	if (vq->kick_wqh) {
		remove_wait_queue(vq->kick_wqh, &vq->kick_wait);
		vq->kick_wqh = NULL;
	}
	if (vq->kick) {
		fput(vq->kick);
		vq->kick = NULL;
	}
}

static int kv_kick_attach(struct kv_vq *vq, struct file *f)
{
	__poll_t mask;

	vq->kick = f;
	init_waitqueue_func_entry(&vq->kick_wait, kv_kick_wake);
	init_poll_funcptr(&vq->kick_pt, kv_kick_queue_proc);
	mask = vfs_poll(f, &vq->kick_pt);
	if (!vq->kick_wqh) {
		kv_kick_detach(vq);
		return -EINVAL;
	}
	/* a kick that came before we listened is not lost */
	if (mask & EPOLLIN)
		kv_worker_queue(vq);
	return 0;
}

static void kv_ctx_put(struct eventfd_ctx **ctx)
{
	if (*ctx)
		eventfd_ctx_put(*ctx);
	*ctx = NULL;
}

static int kv_ctx_get(int fd, struct eventfd_ctx **ctx)
{
	struct eventfd_ctx *c = NULL;

	if (fd != VHOST_FILE_UNBIND) {
		c = eventfd_ctx_fdget(fd);
		if (IS_ERR(c))
			return PTR_ERR(c);
	}
	kv_ctx_put(ctx);
	*ctx = c;
	return 0;
}

int kv_dev_init(struct kv_dev *dev, const char *name, struct kv_vq *vqs,
		unsigned int nvqs, u64 supported, kv_handle_fn handle)
{
	unsigned int i;

	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	mutex_init(&dev->mutex);
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	dev->supported = supported;
	for (i = 0; i < nvqs; i++) {
		struct kv_vq *vq = &vqs[i];

		memset(vq, 0, sizeof(*vq));
		vq->dev = dev;
		vq->index = i;
		vq->handle = handle;
		mutex_init(&vq->mutex);
		init_waitqueue_head(&vq->drain_wq);
		atomic_set(&vq->inflight, 0);
		vq->segs = kvmalloc_array(KV_MAX_SEGS, sizeof(*vq->segs), GFP_KERNEL);
		if (!vq->segs) {
			while (i--)
				kvfree(vqs[i].segs);
			return -ENOMEM;
		}
	}
	return 0;
}

int kv_dev_check_owner(struct kv_dev *dev)
{
	return dev->mm == current->mm ? 0 : -EPERM;
}

static void kv_vq_drain(struct kv_vq *vq)
{
	wait_event(vq->drain_wq, atomic_read(&vq->inflight) == 0);
}

/* Wait until no queue has a request in flight (kicks may still come). */
void kv_dev_drain(struct kv_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nvqs; i++)
		kv_vq_drain(&dev->vqs[i]);
}

/* Stop kicks and workers, with nothing left in flight. */
void kv_dev_stop(struct kv_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nvqs; i++) {
		struct kv_vq *vq = &dev->vqs[i];

		mutex_lock(&vq->mutex);
		kv_kick_detach(vq);
		mutex_unlock(&vq->mutex);
	}
	kv_dev_drain(dev);
	for (i = 0; i < dev->nvqs; i++)
		kv_worker_stop(&dev->vqs[i]);
}

/* Back to the state after open: no owner, no rings, no memory table. */
void kv_dev_cleanup(struct kv_dev *dev)
{
	unsigned int i;

	kv_dev_stop(dev);
	for (i = 0; i < dev->nvqs; i++) {
		struct kv_vq *vq = &dev->vqs[i];

		kv_ctx_put(&vq->call_ctx);
		kv_ctx_put(&vq->err_ctx);
		vq->log_ctx = NULL;
		vq->mem = NULL;
		vq->num = 0;
		vq->addr_valid = false;
		vq->last_avail_idx = 0;
		vq->used_idx_valid = false;
		vq->signalled_valid = false;
		vq->broken = false;
		vq->features = 0;
		vq->log_base = 0;
	}
	kvfree(dev->mem);
	dev->mem = NULL;
	kv_ctx_put(&dev->log_ctx);
	dev->log_base = 0;
	dev->features = 0;
	if (dev->mm) {
		mmput(dev->mm);
		dev->mm = NULL;
	}
}

static long kv_dev_set_owner(struct kv_dev *dev)
{
	unsigned int i;
	int r;

	if (dev->mm)
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	for (i = 0; i < dev->nvqs; i++) {
		r = kv_worker_start(&dev->vqs[i]);
		if (r) {
			kv_dev_cleanup(dev);
			return r;
		}
	}
	return 0;
}

static long kv_dev_set_features(struct kv_dev *dev, u64 __user *argp)
{
	unsigned int i;
	u64 f;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f & ~dev->supported)
		return -EOPNOTSUPP;
	if ((f & (1ULL << VHOST_F_LOG_ALL)) && !dev->log_base)
		return -EFAULT;
	dev->features = f;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i].mutex);
		dev->vqs[i].features = f;
		/* a new negotiation restarts notification suppression */
		dev->vqs[i].signalled_valid = false;
		mutex_unlock(&dev->vqs[i].mutex);
	}
	return 0;
}

static long kv_dev_set_mem(struct kv_dev *dev, struct vhost_memory __user *argp)
{
	struct kv_mem *mem, *old;
	unsigned int i;

	mem = kv_mem_from_user(argp);
	if (IS_ERR(mem))
		return PTR_ERR(mem);
	old = dev->mem;
	dev->mem = mem;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i].mutex);
		dev->vqs[i].mem = mem;
		mutex_unlock(&dev->vqs[i].mutex);
	}
	/* requests in flight hold user addresses, never the table itself */
	kvfree(old);
	return 0;
}

static long kv_dev_set_log(struct kv_dev *dev, unsigned int cmd, void __user *argp)
{
	struct eventfd_ctx *ctx = dev->log_ctx, *old = NULL;
	unsigned int i;
	u64 base;
	int fd;

	if (cmd == VHOST_SET_LOG_BASE) {
		if (copy_from_user(&base, argp, sizeof(base)))
			return -EFAULT;
		if (base != (unsigned long)base || base % sizeof(long) ||
		    !access_ok((void __user *)(unsigned long)base, 1))
			return -EFAULT;
		dev->log_base = base;
	} else {
		if (copy_from_user(&fd, argp, sizeof(fd)))
			return -EFAULT;
		ctx = NULL;
		if (fd != VHOST_FILE_UNBIND) {
			ctx = eventfd_ctx_fdget(fd);
			if (IS_ERR(ctx))
				return PTR_ERR(ctx);
		}
		old = dev->log_ctx;
		dev->log_ctx = ctx;
	}
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i].mutex);
		dev->vqs[i].log_base = dev->log_base;
		dev->vqs[i].log_ctx = ctx;
		mutex_unlock(&dev->vqs[i].mutex);
	}
	/* no worker can still be signalling the old one */
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

static long kv_vq_set_addr(struct kv_vq *vq, struct vhost_vring_addr *a)
{
	size_t dsz, asz, usz;

	if (a->flags & ~(1U << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if (!vq->num)
		return -EINVAL;
	if (a->desc_user_addr % 16 || a->avail_user_addr % 2 || a->used_user_addr % 4)
		return -EINVAL;
	dsz = vq->num * sizeof(struct vring_desc);
	asz = sizeof(struct vring_avail) + (vq->num + 1) * sizeof(__virtio16);
	usz = sizeof(struct vring_used) + vq->num * sizeof(struct vring_used_elem) +
	      sizeof(__virtio16);
	if (a->desc_user_addr != (unsigned long)a->desc_user_addr ||
	    a->avail_user_addr != (unsigned long)a->avail_user_addr ||
	    a->used_user_addr != (unsigned long)a->used_user_addr ||
	    !access_ok((void __user *)(unsigned long)a->desc_user_addr, dsz) ||
	    !access_ok((void __user *)(unsigned long)a->avail_user_addr, asz) ||
	    !access_ok((void __user *)(unsigned long)a->used_user_addr, usz))
		return -EFAULT;
	vq->desc = (void __user *)(unsigned long)a->desc_user_addr;
	vq->avail = (void __user *)(unsigned long)a->avail_user_addr;
	vq->used = (void __user *)(unsigned long)a->used_user_addr;
	vq->log_used = a->flags & (1U << VHOST_VRING_F_LOG);
	vq->log_guest_addr = a->log_guest_addr;
	vq->addr_valid = true;
	vq->used_idx_valid = false;
	vq->broken = false;
	return 0;
}

static long kv_vq_ioctl(struct kv_dev *dev, unsigned int cmd, void __user *argp)
{
	struct vhost_vring_state s;
	struct vhost_vring_addr a;
	struct vhost_vring_file f;
	struct file *file;
	struct kv_vq *vq;
	u32 idx;
	long r = 0;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	vq = &dev->vqs[idx];
	/* ring layout changes only with nothing in flight */
	if (cmd == VHOST_SET_VRING_NUM || cmd == VHOST_SET_VRING_ADDR ||
	    cmd == VHOST_SET_VRING_BASE || cmd == VHOST_GET_VRING_BASE)
		kv_vq_drain(vq);
	mutex_lock(&vq->mutex);
	switch (cmd) {
	case VHOST_SET_VRING_NUM:
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		if (!s.num || s.num > KV_MAX_CHAIN || (s.num & (s.num - 1))) {
			r = -EINVAL;
			break;
		}
		vq->num = s.num;
		vq->addr_valid = false;
		break;
	case VHOST_SET_VRING_ADDR:
		if (copy_from_user(&a, argp, sizeof(a))) {
			r = -EFAULT;
			break;
		}
		r = kv_vq_set_addr(vq, &a);
		break;
	case VHOST_SET_VRING_BASE:
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		if (s.num > 0xffff) {
			r = -EINVAL;
			break;
		}
		vq->last_avail_idx = s.num;
		vq->used_idx_valid = false;
		vq->signalled_valid = false;
		vq->broken = false;
		break;
	case VHOST_GET_VRING_BASE:
		s.index = idx;
		s.num = vq->last_avail_idx;
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		if (copy_from_user(&f, argp, sizeof(f))) {
			r = -EFAULT;
			break;
		}
		if (cmd == VHOST_SET_VRING_CALL) {
			r = kv_ctx_get(f.fd, &vq->call_ctx);
			vq->signalled_valid = false;
			break;
		}
		if (cmd == VHOST_SET_VRING_ERR) {
			r = kv_ctx_get(f.fd, &vq->err_ctx);
			break;
		}
		kv_kick_detach(vq);
		if (f.fd == VHOST_FILE_UNBIND)
			break;
		file = eventfd_fget(f.fd);
		if (IS_ERR(file)) {
			r = PTR_ERR(file);
			break;
		}
		r = kv_kick_attach(vq, file);
		break;
	default:
		r = -ENOIOCTLCMD;
	}
	mutex_unlock(&vq->mutex);
	return r;
}

/* The standard vhost ioctls; -ENOIOCTLCMD for the backend's own. */
long kv_dev_ioctl(struct kv_dev *dev, unsigned int cmd, void __user *argp)
{
	u64 f;
	long r;

	if (cmd == VHOST_GET_FEATURES) {
		f = dev->supported;
		return copy_to_user(argp, &f, sizeof(f)) ? -EFAULT : 0;
	}
	if (cmd == VHOST_SET_OWNER)
		return kv_dev_set_owner(dev);
	r = kv_dev_check_owner(dev);
	if (r)
		return r;
	switch (cmd) {
	case VHOST_RESET_OWNER:
		kv_dev_cleanup(dev);
		return 0;
	case VHOST_SET_FEATURES:
		return kv_dev_set_features(dev, argp);
	case VHOST_SET_MEM_TABLE:
		return kv_dev_set_mem(dev, argp);
	case VHOST_SET_LOG_BASE:
	case VHOST_SET_LOG_FD:
		return kv_dev_set_log(dev, cmd, argp);
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		return kv_vq_ioctl(dev, cmd, argp);
	}
	return -ENOIOCTLCMD;
}
