// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue access (VIRTIO 1.2 section 2.7): taking chains from the
 * available ring with indirect tables, returning them on the used ring, and
 * EVENT_IDX notification suppression. Every guest value is checked here.
 */
#include <linux/uaccess.h>
#include "kv.h"

static int kv_ring_add_desc(struct kv_vq *vq, u16 idx, const struct vring_desc *d)
{
	u16 flags = le16_to_cpu((__force __le16)d->flags);
	u64 addr = le64_to_cpu((__force __le64)d->addr);
	u32 len = le32_to_cpu((__force __le32)d->len);
	bool write = flags & VRING_DESC_F_WRITE;
	unsigned int used = vq->nout + vq->nin;
	int n;

	if (!write && vq->nin) {
		kv_vq_fail(vq, "readable descriptor %u follows a writable one", idx);
		return -EIO;
	}
	n = kv_mem_map(vq, addr, len, vq->segs + used, KV_MAX_SEGS - used);
	if (n == -E2BIG) {
		kv_vq_fail(vq, "descriptor chain too long at descriptor %u", idx);
		return -EIO;
	}
	if (n < 0) {
		kv_vq_fail(vq, "descriptor %u points outside guest memory (0x%llx+%u)",
			   idx, addr, len);
		return -EIO;
	}
	if (write)
		vq->nin += n;
	else
		vq->nout += n;
	return 0;
}

/* Switch the walk to the indirect table descriptor @d describes. */
static int kv_ring_indirect(struct kv_vq *vq, u16 idx, const struct vring_desc *d,
			    struct vring_desc __user **table, unsigned int *max)
{
	u16 flags = le16_to_cpu((__force __le16)d->flags);
	u64 addr = le64_to_cpu((__force __le64)d->addr);
	u32 len = le32_to_cpu((__force __le32)d->len);
	struct kv_seg seg;

	if (!kv_has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC)) {
		kv_vq_fail(vq, "descriptor %u is indirect, feature not negotiated", idx);
		return -EIO;
	}
	if (flags & VRING_DESC_F_NEXT) {
		kv_vq_fail(vq, "indirect descriptor %u also has NEXT", idx);
		return -EIO;
	}
	if (!len || len % sizeof(struct vring_desc) ||
	    len / sizeof(struct vring_desc) > KV_MAX_CHAIN) {
		kv_vq_fail(vq, "indirect descriptor %u has a table of %u bytes", idx, len);
		return -EIO;
	}
	if (kv_mem_map(vq, addr, len, &seg, 1) != 1 || addr % 8) {
		kv_vq_fail(vq, "indirect table of descriptor %u at 0x%llx+%u is not in one guest memory region",
			   idx, addr, len);
		return -EIO;
	}
	*table = seg.iov.iov_base;
	*max = len / sizeof(struct vring_desc);
	return 0;
}

/* Walk the chain starting at @head into vq->segs. */
static int kv_ring_walk(struct kv_vq *vq, u16 head)
{
	struct vring_desc __user *table = vq->desc;
	unsigned int max = vq->num, count = 0;
	bool indirect = false;
	struct vring_desc d;
	u16 i = head;
	int r;

	vq->nout = 0;
	vq->nin = 0;
	for (;;) {
		if (i >= max) {
			kv_vq_fail(vq, "descriptor index %u out of range (%u)", i, max);
			return -EIO;
		}
		if (++count > max) {
			kv_vq_fail(vq, "descriptor chain from head %u loops", head);
			return -EIO;
		}
		if (copy_from_user(&d, table + i, sizeof(d))) {
			kv_vq_fail(vq, "descriptor %u unreadable", i);
			return -EIO;
		}
		if (le16_to_cpu((__force __le16)d.flags) & VRING_DESC_F_INDIRECT) {
			if (indirect) {
				kv_vq_fail(vq, "nested indirect descriptor %u", i);
				return -EIO;
			}
			r = kv_ring_indirect(vq, i, &d, &table, &max);
			if (r)
				return r;
			indirect = true;
			i = 0;
			count = 0;
			continue;
		}
		r = kv_ring_add_desc(vq, i, &d);
		if (r)
			return r;
		if (!(le16_to_cpu((__force __le16)d.flags) & VRING_DESC_F_NEXT))
			return 0;
		i = le16_to_cpu((__force __le16)d.next);
	}
}

/*
 * Take the next available chain: 1 with *head and vq->segs filled, 0 when
 * the ring is empty, -EIO when the ring is corrupt (the queue is stopped).
 */
int kv_ring_pop(struct kv_vq *vq, u16 *head)
{
	__virtio16 v;
	u16 avail_idx, h;
	int r;

	if (vq->broken)
		return -EIO;
	if (!vq->used_idx_valid) {
		if (get_user(v, &vq->used->idx)) {
			kv_vq_fail(vq, "used ring unreadable");
			return -EIO;
		}
		vq->last_used_idx = le16_to_cpu((__force __le16)v);
		vq->used_idx_valid = true;
	}
	if (get_user(v, &vq->avail->idx)) {
		kv_vq_fail(vq, "available ring unreadable");
		return -EIO;
	}
	avail_idx = le16_to_cpu((__force __le16)v);
	if (avail_idx == vq->last_avail_idx)
		return 0;
	if ((u16)(avail_idx - vq->last_avail_idx) > vq->num) {
		kv_vq_fail(vq, "available index %u is more than %u ahead of %u",
			   avail_idx, vq->num, vq->last_avail_idx);
		return -EIO;
	}
	/* the ring entry is read after the index that published it */
	smp_rmb();
	if (get_user(v, &vq->avail->ring[vq->last_avail_idx & (vq->num - 1)])) {
		kv_vq_fail(vq, "available ring unreadable");
		return -EIO;
	}
	h = le16_to_cpu((__force __le16)v);
	if (h >= vq->num) {
		kv_vq_fail(vq, "available ring names head %u, ring size %u", h, vq->num);
		return -EIO;
	}
	r = kv_ring_walk(vq, h);
	if (r)
		return r;
	vq->last_avail_idx++;
	*head = h;
	return 1;
}

int kv_ring_push(struct kv_vq *vq, u16 head, u32 len)
{
	struct vring_used_elem e = {
		.id = (__force __virtio32)cpu_to_le32(head),
		.len = (__force __virtio32)cpu_to_le32(len),
	};
	u16 slot = vq->last_used_idx & (vq->num - 1);

	if (copy_to_user(&vq->used->ring[slot], &e, sizeof(e))) {
		kv_vq_fail(vq, "used ring not writable");
		return -EIO;
	}
	kv_log_used(vq, offsetof(struct vring_used, ring[slot]), sizeof(e));
	/* the element is visible before the index that publishes it */
	smp_wmb();
	vq->last_used_idx++;
	if (put_user((__force __virtio16)cpu_to_le16(vq->last_used_idx), &vq->used->idx)) {
		kv_vq_fail(vq, "used ring not writable");
		return -EIO;
	}
	kv_log_used(vq, offsetof(struct vring_used, idx), sizeof(u16));
	return 0;
}

/* Interrupt the driver for what was pushed, unless it asked not to be. */
void kv_ring_signal(struct kv_vq *vq)
{
	__virtio16 v;
	u16 old, new;
	bool valid;

	if (!vq->call_ctx)
		return;
	/* used->idx is written before the driver's suppression state is read */
	smp_mb();
	if (kv_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		old = vq->signalled_used;
		valid = vq->signalled_valid;
		new = vq->last_used_idx;
		vq->signalled_used = new;
		vq->signalled_valid = true;
		if (valid && !get_user(v, &vq->avail->ring[vq->num]) &&
		    !vring_need_event(le16_to_cpu((__force __le16)v), new, old))
			return;
	} else {
		if (!get_user(v, &vq->avail->flags) &&
		    (le16_to_cpu((__force __le16)v) & VRING_AVAIL_F_NO_INTERRUPT))
			return;
	}
	eventfd_signal(vq->call_ctx, 1);
}

/*
 * Ask for a kick at the next available entry (EVENT_IDX). True when more
 * entries arrived meanwhile, so the caller keeps going instead of sleeping.
 */
bool kv_ring_arm(struct kv_vq *vq)
{
	__virtio16 v;

	if (vq->broken || !kv_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return false;
	v = (__force __virtio16)cpu_to_le16(vq->last_avail_idx);
	if (put_user(v, (__virtio16 __user *)&vq->used->ring[vq->num])) {
		kv_vq_fail(vq, "used ring not writable");
		return false;
	}
	kv_log_used(vq, offsetof(struct vring_used, ring[vq->num]), sizeof(u16));
	/* avail_event is published before avail->idx is read again */
	smp_mb();
	if (get_user(v, &vq->avail->idx))
		return false;
	return le16_to_cpu((__force __le16)v) != vq->last_avail_idx;
}
