/*
 * Virtqueue core shared by both ring layouts: set-up, chain building with the
 * checks of VIRTIO 1.2 §2.7, §2.7.5.3 and §2.8, in-flight ids, dispatch.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue_ring.h"
#include "lib/log.h"

int virtq_fail(struct virtq *vq, int err, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	if (vq->error)
		return vq->error;
	vq->error = err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("virtq %s: %s", vq->name, msg);
	return err;
}

void virtq_chain_begin(struct virtq_elem *elem)
{
	elem->out_num = 0;
	elem->in_num = 0;
	elem->out_len = 0;
	elem->in_len = 0;
	elem->ndescs = 0;
}

/* Names a descriptor for the log: ring index, and table entry if indirect. */
static const char *virtq_desc_name(char *buf, size_t size, unsigned int desc, int entry)
{
	if (entry < 0)
		snprintf(buf, size, "descriptor %u", desc);
	else
		snprintf(buf, size, "indirect entry %d of descriptor %u", entry, desc);
	return buf;
}

int virtq_chain_add(struct virtq *vq, struct virtq_elem *elem, uint64_t addr, uint32_t len,
		    bool writable, unsigned int desc, int entry)
{
	char name[64];
	void *hva;

	if (!writable && elem->in_num)
		return virtq_fail(vq, -EINVAL, "%s is readable but follows a writable one",
				  virtq_desc_name(name, sizeof(name), desc, entry));
	if ((uint64_t)elem->out_len + elem->in_len + len > UINT32_MAX)
		return virtq_fail(vq, -E2BIG, "chain through %s is longer than 4 GiB",
				  virtq_desc_name(name, sizeof(name), desc, entry));
	if (addr > UINT64_MAX - len)
		return virtq_fail(vq, -EFAULT, "%s wraps the address space (0x%llx+%u)",
				  virtq_desc_name(name, sizeof(name), desc, entry),
				  (unsigned long long)addr, len);
	/* An empty buffer carries nothing: no segment, and no address to check. */
	if (!len)
		return 0;
	hva = machine_gpa_to_hva(vq->ms, addr, len);
	if (!hva)
		return virtq_fail(vq, -EFAULT, "%s points outside guest RAM (0x%llx+%u)",
				  virtq_desc_name(name, sizeof(name), desc, entry),
				  (unsigned long long)addr, len);
	if (elem->out_num + elem->in_num >= VIRTQ_MAX_SEGS)
		return virtq_fail(vq, -E2BIG, "chain through %s has more than %u segments",
				  virtq_desc_name(name, sizeof(name), desc, entry),
				  VIRTQ_MAX_SEGS);
	elem->iov[elem->out_num + elem->in_num].iov_base = hva;
	elem->iov[elem->out_num + elem->in_num].iov_len = len;
	if (writable) {
		elem->in_num++;
		elem->in_len += len;
	} else {
		elem->out_num++;
		elem->out_len += len;
	}
	return 0;
}

const void *virtq_indirect_map(struct virtq *vq, uint64_t addr, uint32_t len,
			       unsigned int *count, unsigned int desc)
{
	const void *table;

	if (!vq->cfg.indirect) {
		virtq_fail(vq, -EINVAL,
			   "descriptor %u is indirect but VIRTIO_F_INDIRECT_DESC is off", desc);
		return NULL;
	}
	if (!len || len % 16) {
		virtq_fail(vq, -EINVAL,
			   "descriptor %u: indirect table length %u is not a non-zero multiple of 16",
			   desc, len);
		return NULL;
	}
	if (len / 16 > VIRTQ_MAX_INDIRECT) {
		virtq_fail(vq, -E2BIG, "descriptor %u: indirect table of %u entries (limit %u)",
			   desc, len / 16, VIRTQ_MAX_INDIRECT);
		return NULL;
	}
	table = addr <= UINT64_MAX - len ? machine_gpa_to_hva(vq->ms, addr, len) : NULL;
	if (!table) {
		virtq_fail(vq, -EFAULT,
			   "descriptor %u: indirect table outside guest RAM (0x%llx+%u)",
			   desc, (unsigned long long)addr, len);
		return NULL;
	}
	*count = len / 16;
	return table;
}

int virtq_id_claim(struct virtq *vq, uint16_t id)
{
	uint64_t bit = 1ull << (id % 64);

	if (id >= vq->cfg.size)
		return virtq_fail(vq, -EINVAL, "chain id %u out of range (queue size %u)",
				  id, vq->cfg.size);
	if (vq->in_flight[id / 64] & bit)
		return virtq_fail(vq, -EINVAL, "chain id %u offered again while in flight", id);
	vq->in_flight[id / 64] |= bit;
	vq->nr_in_flight++;
	return 0;
}

int virtq_id_release(struct virtq *vq, uint16_t id)
{
	uint64_t bit = 1ull << (id % 64);

	/* Only the device itself can get this wrong: say so, do not break the queue. */
	if (id >= vq->cfg.size || !(vq->in_flight[id / 64] & bit)) {
		log_err("virtq %s: device pushed chain id %u that is not in flight",
			vq->name, id);
		return -EINVAL;
	}
	vq->in_flight[id / 64] &= ~bit;
	vq->nr_in_flight--;
	return 0;
}

static bool virtq_aligned(uint64_t gpa, uint64_t align)
{
	return !(gpa & (align - 1));
}

int virtq_start(struct virtq *vq, const struct machine_services *ms, const char *name,
		const struct virtq_config *cfg)
{
	uint32_t size = cfg->size;

	virtq_stop(vq);
	snprintf(vq->name, sizeof(vq->name), "%s", name);
	vq->ms = ms;
	vq->cfg = *cfg;

	if (!size || size > VIRTQ_MAX_SIZE || (!cfg->packed && (size & (size - 1))))
		return virtq_fail(vq, -EINVAL, "queue size %u is not %s in 1..%u", size,
				  cfg->packed ? "a size" : "a power of two", VIRTQ_MAX_SIZE);
	/* §2.7 and §2.8 alignment: descriptor areas 16-aligned, split avail 2, the others 4. */
	if (!virtq_aligned(cfg->desc_gpa, 16) ||
	    !virtq_aligned(cfg->driver_gpa, cfg->packed ? 4 : 2) ||
	    !virtq_aligned(cfg->device_gpa, 4))
		return virtq_fail(vq, -EINVAL, "ring areas misaligned (desc 0x%llx driver 0x%llx device 0x%llx)",
				  (unsigned long long)cfg->desc_gpa,
				  (unsigned long long)cfg->driver_gpa,
				  (unsigned long long)cfg->device_gpa);
	vq->in_flight = calloc((size + 63) / 64, sizeof(*vq->in_flight));
	if (!vq->in_flight) {
		vq->error = -ENOMEM;
		log_err("virtq %s: out of memory", vq->name);
		return -ENOMEM;
	}
	vq->started = true;
	return cfg->packed ? virtq_packed_start(vq) : virtq_split_start(vq);
}

void virtq_stop(struct virtq *vq)
{
	free(vq->in_flight);
	memset(vq, 0, sizeof(*vq));
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	if (vq->error)
		return vq->error;
	if (!vq->started)
		return -EIO;
	return vq->cfg.packed ? virtq_packed_pop(vq, elem) : virtq_split_pop(vq, elem);
}

int virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	int ret;

	if (vq->error)
		return vq->error;
	if (!vq->started)
		return -EIO;
	if (len > elem->in_len) {
		log_err("virtq %s: device reports %u bytes written into %u writable",
			vq->name, len, elem->in_len);
		return -EINVAL;
	}
	if (vq->cfg.packed && (!elem->ndescs || elem->ndescs > vq->cfg.size)) {
		log_err("virtq %s: device pushed a chain of %u descriptors", vq->name,
			elem->ndescs);
		return -EINVAL;
	}
	ret = virtq_id_release(vq, elem->id);
	if (ret)
		return ret;
	return vq->cfg.packed ? virtq_packed_push(vq, elem, len) :
				virtq_split_push(vq, elem, len);
}

bool virtq_should_notify(struct virtq *vq)
{
	if (vq->error || !vq->started)
		return false;
	return vq->cfg.packed ? virtq_packed_should_notify(vq) : virtq_split_should_notify(vq);
}

void virtq_disable_notify(struct virtq *vq)
{
	if (vq->error || !vq->started)
		return;
	if (vq->cfg.packed)
		virtq_packed_set_notify(vq, false);
	else
		virtq_split_set_notify(vq, false);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (vq->error || !vq->started)
		return false;
	return vq->cfg.packed ? virtq_packed_set_notify(vq, true) :
				virtq_split_set_notify(vq, true);
}
