/*
 * Internals shared by virtqueue.c and the two ring layouts, split.c (VIRTIO 1.2
 * §2.7) and packed.c (§2.8). Not for devices: they use virtqueue.h.
 */
#ifndef KEEL_DEVICES_VIRTIO_VIRTQUEUE_RING_H
#define KEEL_DEVICES_VIRTIO_VIRTQUEUE_RING_H

#include <endian.h>
#include <stdatomic.h>

#include "devices/virtio/virtqueue.h"

/* Guest-memory layouts, little-endian (§2.7, §2.8). */
struct virtq_split_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

_Static_assert(sizeof(struct virtq_split_desc) == 16, "descriptor is 16 bytes");
_Static_assert(sizeof(struct virtq_packed_desc) == 16, "descriptor is 16 bytes");

/* Mark the queue broken with err and log the guest-visible fact, once. */
int virtq_fail(struct virtq *vq, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Guest-shared ring fields are read and written with single relaxed atomic
 * accesses, so the compiler neither tears nor repeats them; the ordering the
 * spec asks for is added with explicit fences where the protocol needs it.
 */
static inline uint16_t virtq_ld16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline void virtq_st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void virtq_st32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* Start a chain in elem. */
void virtq_chain_begin(struct virtq_elem *elem);
/*
 * Append one buffer descriptor to the chain: checks order (readable before
 * writable), segment count, total length and that it lies in guest RAM.
 * desc is the descriptor's ring index, entry its index in an indirect table
 * (or -1); both only name it in the log.
 */
int virtq_chain_add(struct virtq *vq, struct virtq_elem *elem, uint64_t addr, uint32_t len,
		    bool writable, unsigned int desc, int entry);
/*
 * Map the indirect table that ring descriptor desc points to; returns its host
 * address and entry count, or NULL after failing the queue.
 */
const void *virtq_indirect_map(struct virtq *vq, uint64_t addr, uint32_t len,
			       unsigned int *count, unsigned int desc);

/* Chain ids in flight: refuse an id the driver offers twice. */
int virtq_id_claim(struct virtq *vq, uint16_t id);
int virtq_id_release(struct virtq *vq, uint16_t id);

int virtq_split_start(struct virtq *vq);
int virtq_split_pop(struct virtq *vq, struct virtq_elem *elem);
int virtq_split_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);
bool virtq_split_should_notify(struct virtq *vq);
bool virtq_split_set_notify(struct virtq *vq, bool enable);

int virtq_packed_start(struct virtq *vq);
int virtq_packed_pop(struct virtq *vq, struct virtq_elem *elem);
int virtq_packed_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);
bool virtq_packed_should_notify(struct virtq *vq);
bool virtq_packed_set_notify(struct virtq *vq, bool enable);

/* 16-bit ring index arithmetic of §2.7.10: did new_idx pass event since old? */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
