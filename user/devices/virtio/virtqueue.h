/*
 * Virtqueues, independent of transport and device: split (VIRTIO 1.2 §2.7) and
 * packed (§2.8) rings, indirect descriptors, EVENT_IDX notification suppression.
 */
#ifndef KEEL_DEVICES_VIRTIO_VIRTQUEUE_H
#define KEEL_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/machine.h"

/* Queue sizes: split rings need a power of two, packed rings any size. */
#define VIRTQ_MAX_SIZE		32768
/* Segments one request may carry; a longer chain is refused, not grown. */
#define VIRTQ_MAX_SEGS		1024
/* Entries an indirect table may hold (§2.7.5.3 leaves it to the device). */
#define VIRTQ_MAX_INDIRECT	VIRTQ_MAX_SEGS

/* Descriptor flags, shared by both layouts. */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
/* Packed only (§2.8). */
#define VIRTQ_DESC_F_AVAIL	(1u << 7)
#define VIRTQ_DESC_F_USED	(1u << 15)

/* Split ring flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

/* Packed event suppression flags (§2.8.10). */
#define VIRTQ_EVENT_F_ENABLE	0
#define VIRTQ_EVENT_F_DISABLE	1
#define VIRTQ_EVENT_F_DESC	2

/* What the transport learned from the driver when it enabled the queue. */
struct virtq_config {
	uint32_t size;		/* queue size (entries) */
	bool packed;		/* VIRTIO_F_RING_PACKED negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t desc_gpa;	/* descriptor area */
	uint64_t driver_gpa;	/* driver area: split avail ring / packed driver event */
	uint64_t device_gpa;	/* device area: split used ring / packed device event */
};

/*
 * One request (a descriptor chain) as the device sees it: iov[0, out_num) are
 * readable by the device, iov[out_num, out_num + in_num) writable. The caller
 * owns the storage; virtq_pop() fills it without allocating.
 */
struct virtq_elem {
	uint16_t id;		/* split: head index; packed: buffer id */
	uint16_t ndescs;	/* packed: ring slots the chain used */
	unsigned int out_num;
	unsigned int in_num;
	uint32_t out_len;	/* bytes readable in total */
	uint32_t in_len;	/* bytes writable in total */
	struct iovec iov[VIRTQ_MAX_SEGS];
};

static inline struct iovec *virtq_elem_in(struct virtq_elem *elem)
{
	return elem->iov + elem->out_num;
}

/*
 * A queue is owned by one thread (the device's I/O thread); the driver runs on
 * other CPUs and shares only guest memory with it.
 */
struct virtq {
	char name[32];				/* "blk0/0": device, then queue number */
	const struct machine_services *ms;
	struct virtq_config cfg;
	bool started;
	int error;				/* 0, or the -errno that broke it */

	/* Host views of the rings, translated once at start. */
	void *desc;
	void *driver;
	void *device;

	/* Chain ids handed out and not yet pushed back: one bit per id. */
	uint64_t *in_flight;
	uint32_t nr_in_flight;

	/* Split ring state (§2.7). */
	uint16_t last_avail_idx;	/* next avail ring slot to read */
	uint16_t avail_idx_shadow;	/* driver's avail idx as last read */
	uint16_t used_idx;		/* next used ring slot to write */
	uint16_t signalled_used;	/* used_idx when we last decided to notify */
	bool signalled_used_valid;

	/* Packed ring state (§2.8). */
	uint16_t next_avail;		/* ring slot of the next available chain */
	bool avail_wrap;		/* Driver Ring Wrap Counter as the device tracks it */
	uint16_t next_used;		/* ring slot for the next used descriptor */
	bool used_wrap;			/* Device Ring Wrap Counter */
	uint32_t used_since_signal;	/* descriptors made used since the last decision */
};

/*
 * Check the configuration, translate the ring areas and make the queue live.
 * vq must be zero-filled or stopped before (a started one is stopped first).
 * Returns 0, or a negative errno (the queue is then broken and says why once).
 */
int virtq_start(struct virtq *vq, const struct machine_services *ms, const char *name,
		const struct virtq_config *cfg);
/* Forget the queue (device reset); safe on a queue never started. */
void virtq_stop(struct virtq *vq);

/*
 * Take the next available chain: 1 when elem holds one, 0 when the ring is
 * empty, a negative errno when the driver broke the rules (the queue is then
 * broken, logged once, and every later call returns the same error).
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/* Give a chain back with len bytes written into its writable part. */
int virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);

/* After one or more pushes: must the driver be interrupted? (EVENT_IDX aware) */
bool virtq_should_notify(struct virtq *vq);

/* Ask the driver not to kick while the device is already polling the ring. */
void virtq_disable_notify(struct virtq *vq);
/*
 * Ask for kicks again. Returns true when chains arrived meanwhile: the caller
 * must pop again, since the driver may have decided not to kick for them.
 */
bool virtq_enable_notify(struct virtq *vq);

static inline bool virtq_is_broken(const struct virtq *vq)
{
	return vq->error != 0;
}

#endif
