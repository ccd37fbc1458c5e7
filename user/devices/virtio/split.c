/*
 * Split virtqueue layout (VIRTIO 1.2 §2.7): descriptor table, avail and used
 * rings, indirect tables (§2.7.5.3), EVENT_IDX suppression (§2.7.7, §2.7.10).
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio/virtqueue_ring.h"

/* avail ring: flags, idx, ring[size], used_event. */
static uint16_t *split_avail(struct virtq *vq, unsigned int word)
{
	return (uint16_t *)vq->driver + word;
}

#define AVAIL_FLAGS	0
#define AVAIL_IDX	1
#define AVAIL_RING(i)	(2 + (i))

static uint16_t *split_used_event(struct virtq *vq)
{
	return split_avail(vq, AVAIL_RING(vq->cfg.size));
}

/* used ring: flags, idx, ring[size] of {id, len}, avail_event. */
static uint16_t *split_used_flags(struct virtq *vq)
{
	return (uint16_t *)vq->device;
}

static uint16_t *split_used_idx(struct virtq *vq)
{
	return (uint16_t *)vq->device + 1;
}

static struct virtq_used_elem *split_used_ring(struct virtq *vq)
{
	return (struct virtq_used_elem *)((char *)vq->device + 4);
}

static uint16_t *split_avail_event(struct virtq *vq)
{
	return (uint16_t *)(split_used_ring(vq) + vq->cfg.size);
}

int virtq_split_start(struct virtq *vq)
{
	const struct virtq_config *cfg = &vq->cfg;
	uint64_t n = cfg->size;

	vq->desc = machine_gpa_to_hva(vq->ms, cfg->desc_gpa, 16 * n);
	vq->driver = machine_gpa_to_hva(vq->ms, cfg->driver_gpa, 6 + 2 * n);
	vq->device = machine_gpa_to_hva(vq->ms, cfg->device_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->driver || !vq->device)
		return virtq_fail(vq, -EFAULT,
				  "rings of size %u outside guest RAM (desc 0x%llx avail 0x%llx used 0x%llx)",
				  cfg->size, (unsigned long long)cfg->desc_gpa,
				  (unsigned long long)cfg->driver_gpa,
				  (unsigned long long)cfg->device_gpa);
	return 0;
}

/*
 * Copy a descriptor out of guest memory once: the driver may rewrite it while
 * we look, so every check and use below works on this private copy.
 */
static void split_desc_read(struct virtq_split_desc *d, const void *table, unsigned int i)
{
	memcpy(d, (const struct virtq_split_desc *)table + i, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Walk the indirect table that ring descriptor desc points to (§2.7.5.3). */
static int split_walk_indirect(struct virtq *vq, struct virtq_elem *elem, unsigned int desc,
			       const struct virtq_split_desc *d)
{
	struct virtq_split_desc e;
	const void *table;
	unsigned int count, i = 0, walked = 0;
	int ret;

	table = virtq_indirect_map(vq, d->addr, d->len, &count, desc);
	if (!table)
		return vq->error;
	for (;;) {
		if (++walked > count)
			return virtq_fail(vq, -ELOOP,
					  "indirect table of descriptor %u loops", desc);
		split_desc_read(&e, table, i);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_fail(vq, -EINVAL,
					  "indirect entry %u of descriptor %u is itself indirect",
					  i, desc);
		ret = virtq_chain_add(vq, elem, e.addr, e.len, e.flags & VIRTQ_DESC_F_WRITE,
				      desc, (int)i);
		if (ret)
			return ret;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= count)
			return virtq_fail(vq, -EINVAL,
					  "indirect entry %u of descriptor %u chains to %u, outside its table of %u",
					  i, desc, e.next, count);
		i = e.next;
	}
}

static int split_walk(struct virtq *vq, struct virtq_elem *elem, uint16_t head)
{
	struct virtq_split_desc d;
	unsigned int i = head, walked = 0;
	int ret;

	virtq_chain_begin(elem);
	for (;;) {
		/* A chain can hold each descriptor once: any longer walk is a loop. */
		if (++walked > vq->cfg.size)
			return virtq_fail(vq, -ELOOP,
					  "chain from descriptor %u loops (longer than the queue size %u)",
					  head, vq->cfg.size);
		split_desc_read(&d, vq->desc, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return virtq_fail(vq, -EINVAL,
						  "descriptor %u is both indirect and chained", i);
			ret = split_walk_indirect(vq, elem, i, &d);
		} else {
			ret = virtq_chain_add(vq, elem, d.addr, d.len,
					      d.flags & VIRTQ_DESC_F_WRITE, i, -1);
		}
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->cfg.size)
			return virtq_fail(vq, -EINVAL, "descriptor %u chains to %u, queue size %u",
					  i, d.next, vq->cfg.size);
		i = d.next;
	}
	elem->ndescs = walked;
	return 0;
}

int virtq_split_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t idx, head;
	int ret;

	if (vq->last_avail_idx == vq->avail_idx_shadow) {
		idx = virtq_ld16(split_avail(vq, AVAIL_IDX));
		/*
		 * Acquire: the ring entries and descriptors the driver wrote before
		 * publishing idx (behind its write barrier) must be read
		 * after idx, not from before it.
		 */
		atomic_thread_fence(memory_order_acquire);
		if ((uint16_t)(idx - vq->last_avail_idx) > vq->cfg.size)
			return virtq_fail(vq, -EINVAL,
					  "avail idx %u is %u entries ahead of the device (queue size %u)",
					  idx, (uint16_t)(idx - vq->last_avail_idx), vq->cfg.size);
		vq->avail_idx_shadow = idx;
		if (idx == vq->last_avail_idx)
			return 0;
	}
	head = virtq_ld16(split_avail(vq, AVAIL_RING(vq->last_avail_idx & (vq->cfg.size - 1))));
	if (head >= vq->cfg.size)
		return virtq_fail(vq, -EINVAL, "avail entry %u names descriptor %u, queue size %u",
				  vq->last_avail_idx, head, vq->cfg.size);
	ret = split_walk(vq, elem, head);
	if (ret)
		return ret;
	ret = virtq_id_claim(vq, head);
	if (ret)
		return ret;
	elem->id = head;
	vq->last_avail_idx++;
	return 1;
}

int virtq_split_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	struct virtq_used_elem *u = split_used_ring(vq) + (vq->used_idx & (vq->cfg.size - 1));

	virtq_st32(&u->id, elem->id);
	virtq_st32(&u->len, len);
	vq->used_idx++;
	/*
	 * Release: the used element (and the data written into the buffers) must
	 * be visible before the driver sees the new used idx.
	 */
	atomic_thread_fence(memory_order_release);
	virtq_st16(split_used_idx(vq), vq->used_idx);
	return 0;
}

bool virtq_split_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, event;
	bool valid = vq->signalled_used_valid;

	/*
	 * Full fence: our used idx store must be globally visible before we read
	 * the driver's flags/used_event, while the driver stores used_event and
	 * then reads used idx. Store->load needs seq_cst on both sides, or each
	 * could miss the other's update and the interrupt is lost.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (!vq->cfg.event_idx)
		return !(virtq_ld16(split_avail(vq, AVAIL_FLAGS)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	event = virtq_ld16(split_used_event(vq));
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	return !valid || virtq_need_event(event, vq->used_idx, old);
}

bool virtq_split_set_notify(struct virtq *vq, bool enable)
{
	uint16_t idx;

	if (!vq->cfg.event_idx)
		virtq_st16(split_used_flags(vq), enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	else if (enable)
		/* §2.7.10: kick me once the driver publishes past what I consumed. */
		virtq_st16(split_avail_event(vq), vq->last_avail_idx);
	/* With EVENT_IDX, a stale avail_event already stops kicks: nothing to write. */
	if (!enable)
		return false;
	/*
	 * Full fence: the store above must be visible before we re-read avail idx,
	 * while the driver stores avail idx and then reads our flag/event. Without
	 * it a chain published in between would get neither a kick nor a look.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	idx = virtq_ld16(split_avail(vq, AVAIL_IDX));
	return idx != vq->last_avail_idx;
}
