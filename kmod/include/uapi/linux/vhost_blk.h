/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhost-blk userspace interface: the backend and statistics ioctls that
 * /dev/vhost-blk adds to the standard vhost ones (ARCHITECTURE.md "The
 * accelerator contract"); requests follow VIRTIO 1.2 section 5.2.
 */
#ifndef _UAPI_LINUX_VHOST_BLK_H
#define _UAPI_LINUX_VHOST_BLK_H

#include <linux/types.h>
#include <linux/vhost.h>

/* Virtqueues one /dev/vhost-blk instance serves, each with its own worker. */
#define VHOST_BLK_MAX_QUEUES	8
/* Largest ring (descriptors per virtqueue) the module accepts. */
#define VHOST_BLK_MAX_RING	1024

/* The backend is never written: OUT, DISCARD and WRITE_ZEROES fail. */
#define VHOST_BLK_BACKEND_F_RO	(1U << 0)

struct vhost_blk_backend {
	__s32 fd;		/* regular file or block device; -1 detaches */
	__u32 flags;		/* VHOST_BLK_BACKEND_F_* */
	__u8 serial[20];	/* VIRTIO_BLK_T_GET_ID answer, NUL padded */
	__u32 reserved[3];	/* must be zero */
};

struct vhost_blk_queue_stats {
	__u64 requests;		/* completed requests of any type */
	__u64 read_bytes;	/* data bytes moved by IN */
	__u64 write_bytes;	/* data bytes moved by OUT */
	__u64 errors;		/* requests answered IOERR or UNSUPP */
	__u64 inflight;		/* requests submitted, not completed yet */
	__u64 queued;		/* IN/OUT the backend completed asynchronously */
	__u32 broken;		/* 1 once the ring was found corrupt */
	__u32 reserved;
};

struct vhost_blk_stats {
	__u32 nvqs;		/* out: entries filled in q[] */
	__u32 reserved;
	struct vhost_blk_queue_stats q[VHOST_BLK_MAX_QUEUES];
};

/*
 * Attach (or with fd -1 detach) the backing file; waits for requests in
 * flight. The fd's O_DIRECT decides direct or buffered I/O.
 */
#define VHOST_BLK_SET_BACKEND	_IOW(VHOST_VIRTIO, 0x50, struct vhost_blk_backend)
#define VHOST_BLK_GET_STATS	_IOR(VHOST_VIRTIO, 0x51, struct vhost_blk_stats)

#endif /* _UAPI_LINUX_VHOST_BLK_H */
