/*
 * Packed virtqueue layout (VIRTIO 1.2 §2.8): one descriptor ring with wrap
 * counters, indirect tables, event suppression structures (§2.8.10).
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio/virtqueue_ring.h"

/* Event suppression structure (§2.8.10): off_wrap then flags, both le16. */
#define EVENT_OFF_WRAP	0
#define EVENT_FLAGS	1

static struct virtq_packed_desc *packed_desc(struct virtq *vq, unsigned int i)
{
	return (struct virtq_packed_desc *)vq->desc + i;
}

int virtq_packed_start(struct virtq *vq)
{
	const struct virtq_config *cfg = &vq->cfg;

	vq->desc = machine_gpa_to_hva(vq->ms, cfg->desc_gpa, 16 * (uint64_t)cfg->size);
	vq->driver = machine_gpa_to_hva(vq->ms, cfg->driver_gpa, 4);
	vq->device = machine_gpa_to_hva(vq->ms, cfg->device_gpa, 4);
	if (!vq->desc || !vq->driver || !vq->device)
		return virtq_fail(vq, -EFAULT,
				  "packed ring of size %u outside guest RAM (desc 0x%llx driver 0x%llx device 0x%llx)",
				  cfg->size, (unsigned long long)cfg->desc_gpa,
				  (unsigned long long)cfg->driver_gpa,
				  (unsigned long long)cfg->device_gpa);
	/* "Ring Wrap Counters": both start at 1. */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	return 0;
}

/* Available when AVAIL matches the wrap counter and USED does not. */
static bool packed_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_DESC_F_USED) != wrap;
}

/*
 * Load a descriptor's flags with acquire: the driver writes the rest of the
 * descriptor (and of its chain) first and the head's flags last, behind a
 * write barrier ("Updating flags"), so fields read after this load are the new ones.
 */
static uint16_t packed_flags_acquire(struct virtq *vq, unsigned int i)
{
	return le16toh(__atomic_load_n(&packed_desc(vq, i)->flags, __ATOMIC_ACQUIRE));
}

/* One private copy per descriptor: the driver may rewrite it as we look. */
static void packed_desc_read(struct virtq_packed_desc *d, const void *table, unsigned int i)
{
	memcpy(d, (const struct virtq_packed_desc *)table + i, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->id = le16toh(d->id);
	d->flags = le16toh(d->flags);
}

static int packed_walk_indirect(struct virtq *vq, struct virtq_elem *elem, unsigned int slot,
				const struct virtq_packed_desc *d)
{
	struct virtq_packed_desc e;
	const void *table;
	unsigned int count, i;
	int ret;

	table = virtq_indirect_map(vq, d->addr, d->len, &count, slot);
	if (!table)
		return vq->error;
	/*
	 * The table is used in order; WRITE is its only valid flag and ids are
	 * ignored ("Indirect Flag"). A driver must not set INDIRECT here: refuse.
	 */
	for (i = 0; i < count; i++) {
		packed_desc_read(&e, table, i);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_fail(vq, -EINVAL,
					  "indirect entry %u of descriptor %u is itself indirect",
					  i, slot);
		ret = virtq_chain_add(vq, elem, e.addr, e.len, e.flags & VIRTQ_DESC_F_WRITE,
				      slot, (int)i);
		if (ret)
			return ret;
	}
	return 0;
}

int virtq_packed_pop(struct virtq *vq, struct virtq_elem *elem)
{
	struct virtq_packed_desc d;
	unsigned int slot = vq->next_avail, walked = 0;
	bool wrap = vq->avail_wrap;
	uint16_t flags, id = 0;
	int ret;

	flags = packed_flags_acquire(vq, slot);
	if (!packed_is_avail(flags, wrap))
		return 0;
	virtq_chain_begin(elem);
	for (;;) {
		if (++walked > vq->cfg.size)
			return virtq_fail(vq, -ELOOP,
					  "chain at descriptor %u is longer than the queue size %u",
					  vq->next_avail, vq->cfg.size);
		packed_desc_read(&d, vq->desc, slot);
		/*
		 * The head's flags were checked by the acquire load; a later copy
		 * may differ if the driver is scribbling, so keep the checked one.
		 */
		if (walked == 1)
			d.flags = flags;
		else if (!packed_is_avail(d.flags, wrap))
			return virtq_fail(vq, -EINVAL,
					  "descriptor %u continues a chain but is not available (flags 0x%x, wrap counter %d)",
					  slot, d.flags, wrap);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* A list holds one indirect descriptor or only direct ones. */
			if ((d.flags & VIRTQ_DESC_F_NEXT) || walked > 1)
				return virtq_fail(vq, -EINVAL,
						  "descriptor %u is both indirect and chained", slot);
			ret = packed_walk_indirect(vq, elem, slot, &d);
		} else {
			ret = virtq_chain_add(vq, elem, d.addr, d.len,
					      d.flags & VIRTQ_DESC_F_WRITE, slot, -1);
		}
		if (ret)
			return ret;
		/* "Next Flag": the buffer id is in the chain's last descriptor. */
		id = d.id;
		if (++slot == vq->cfg.size) {
			slot = 0;
			wrap = !wrap;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
	}
	if (id >= vq->cfg.size)
		return virtq_fail(vq, -EINVAL, "buffer id %u at descriptor %u out of range (queue size %u)",
				  id, vq->next_avail, vq->cfg.size);
	ret = virtq_id_claim(vq, id);
	if (ret)
		return ret;
	elem->id = id;
	elem->ndescs = walked;
	vq->next_avail = slot;
	vq->avail_wrap = wrap;
	return 1;
}

int virtq_packed_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	struct virtq_packed_desc *d = packed_desc(vq, vq->next_used);
	uint16_t flags = vq->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

	/* "Write Flag": in a used descriptor WRITE says len bytes were written. */
	if (len)
		flags |= VIRTQ_DESC_F_WRITE;

	virtq_st16(&d->id, elem->id);
	virtq_st32(&d->len, len);
	/*
	 * Release: id, len and the buffer contents must be visible before the
	 * flags that hand the descriptor back to the driver.
	 */
	__atomic_store_n(&d->flags, htole16(flags), __ATOMIC_RELEASE);
	vq->next_used += elem->ndescs;
	if (vq->next_used >= vq->cfg.size) {
		vq->next_used -= vq->cfg.size;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->used_since_signal += elem->ndescs;
	return 0;
}

bool virtq_packed_should_notify(struct virtq *vq)
{
	uint32_t delta = vq->used_since_signal;
	uint16_t flags, off_wrap;
	int32_t event, new_pos, old_pos;

	vq->used_since_signal = 0;
	/*
	 * Full fence: our used flags must be visible before we read the driver's
	 * event suppression structure, which it writes before re-checking the
	 * ring (store->load on both sides; §2.8.10).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	flags = virtq_ld16((uint16_t *)vq->driver + EVENT_FLAGS) & 3;
	if (flags == VIRTQ_EVENT_F_DISABLE)
		return false;
	/* ENABLE, the reserved value 3, or DESC without EVENT_IDX: always notify. */
	if (flags != VIRTQ_EVENT_F_DESC || !vq->cfg.event_idx)
		return true;
	if (!delta)
		return false;
	if (delta >= vq->cfg.size)
		return true;
	off_wrap = virtq_ld16((uint16_t *)vq->driver + EVENT_OFF_WRAP);
	/*
	 * Put event and the span just used on one line: positions in this lap
	 * are 0..size-1, the previous lap's are shifted down by size.
	 */
	new_pos = vq->next_used;
	old_pos = new_pos - (int32_t)delta;
	event = off_wrap & 0x7fff;
	if (!!(off_wrap >> 15) != vq->used_wrap)
		event -= vq->cfg.size;
	return event >= old_pos && event < new_pos;
}

bool virtq_packed_set_notify(struct virtq *vq, bool enable)
{
	uint16_t *ev = vq->device;

	if (!enable) {
		virtq_st16(ev + EVENT_FLAGS, VIRTQ_EVENT_F_DISABLE);
		return false;
	}
	if (vq->cfg.event_idx) {
		virtq_st16(ev + EVENT_OFF_WRAP, vq->next_avail | (uint16_t)vq->avail_wrap << 15);
		virtq_st16(ev + EVENT_FLAGS, VIRTQ_EVENT_F_DESC);
	} else {
		virtq_st16(ev + EVENT_FLAGS, VIRTQ_EVENT_F_ENABLE);
	}
	/*
	 * Full fence: the stores above must be visible before we look at the ring
	 * again, while the driver makes a chain available and then reads our
	 * structure; otherwise a chain could slip through unkicked and unseen.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	return packed_is_avail(packed_flags_acquire(vq, vq->next_avail), vq->avail_wrap);
}
