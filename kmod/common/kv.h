/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side vhost core shared by every keel backend module: device and
 * virtqueue state, standard vhost ioctls (linux/vhost.h), split rings
 * (VIRTIO 1.2 section 2.7), guest memory table, dirty log and workers.
 */
#ifndef KEEL_KV_H
#define KEEL_KV_H

#include <linux/eventfd.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/virtio_ring.h>
#include <linux/vhost_types.h>

#define KV_MAX_REGIONS	64
/* Descriptors one request may chain, after indirect tables are expanded. */
#define KV_MAX_CHAIN	1024
/* Segments a chain may map to after splitting at memory region borders. */
#define KV_MAX_SEGS	(KV_MAX_CHAIN + 16)

struct kv_mem {
	unsigned int nregions;
	struct vhost_memory_region regions[];
};

/* One piece of guest buffer: where it is in the owner's mm and in guest RAM. */
struct kv_seg {
	struct iovec iov;
	u64 gpa;
};

struct kv_vq;
typedef void (*kv_handle_fn)(struct kv_vq *vq);

struct kv_vq {
	struct kv_dev *dev;
	unsigned int index;
	struct mutex mutex;	/* ring state; held by the worker per batch */

	unsigned int num;
	bool addr_valid;
	struct vring_desc __user *desc;
	struct vring_avail __user *avail;
	struct vring_used __user *used;
	u64 log_guest_addr;
	bool log_used;
	u16 last_avail_idx;
	u16 last_used_idx;
	bool used_idx_valid;
	u16 signalled_used;
	bool signalled_valid;
	bool broken;

	/* copies of device-wide settings, changed under this vq's mutex */
	u64 features;
	struct kv_mem *mem;
	u64 log_base;
	struct eventfd_ctx *log_ctx;

	struct file *kick;
	wait_queue_head_t *kick_wqh;
	wait_queue_entry_t kick_wait;
	poll_table kick_pt;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *err_ctx;

	struct task_struct *worker;
	unsigned long work;		/* bit 0: run the handler */
	atomic_t inflight;
	wait_queue_head_t drain_wq;
	kv_handle_fn handle;

	struct kv_seg *segs;		/* scratch for one chain */
	unsigned int nout, nin;		/* readable, then writable segments */
};

struct kv_dev {
	const char *name;
	struct mutex mutex;		/* ioctls */
	struct mm_struct *mm;
	struct kv_vq *vqs;
	unsigned int nvqs;
	u64 supported;
	u64 features;
	struct kv_mem *mem;
	u64 log_base;
	struct eventfd_ctx *log_ctx;
};

/* dev.c */
int kv_dev_init(struct kv_dev *dev, const char *name, struct kv_vq *vqs,
		unsigned int nvqs, u64 supported, kv_handle_fn handle);
long kv_dev_ioctl(struct kv_dev *dev, unsigned int cmd, void __user *argp);
int kv_dev_check_owner(struct kv_dev *dev);
void kv_dev_drain(struct kv_dev *dev);
void kv_dev_stop(struct kv_dev *dev);
void kv_dev_cleanup(struct kv_dev *dev);
bool kv_vq_ready(struct kv_vq *vq);
void kv_vq_fail(struct kv_vq *vq, const char *fmt, ...) __printf(2, 3);

/* ring.c */
int kv_ring_pop(struct kv_vq *vq, u16 *head);
int kv_ring_push(struct kv_vq *vq, u16 head, u32 len);
void kv_ring_signal(struct kv_vq *vq);
bool kv_ring_arm(struct kv_vq *vq);
static inline bool kv_has_feature(struct kv_vq *vq, unsigned int bit)
{
	return vq->features & (1ULL << bit);
}

/* memtable.c */
struct kv_mem *kv_mem_from_user(struct vhost_memory __user *um);
int kv_mem_map(struct kv_vq *vq, u64 gpa, u32 len, struct kv_seg *segs,
	       unsigned int max);

/* dirty_log.c */
void kv_log_write(struct kv_vq *vq, u64 gpa, u64 len);
void kv_log_used(struct kv_vq *vq, u64 offset, u64 len);

/* worker.c */
int kv_worker_start(struct kv_vq *vq);
void kv_worker_stop(struct kv_vq *vq);
void kv_worker_queue(struct kv_vq *vq);

#endif /* KEEL_KV_H */
