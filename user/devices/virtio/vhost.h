/*
 * The vhost attach path (linux/vhost.h; Documentation/vhost-blk.md "Using it from a
 * VMM"): hand a virtio device's started split rings to an in-kernel backend.
 * Device-neutral: virtio-blk uses it for /dev/vhost-blk, vhost-net can reuse it.
 */
#ifndef KEEL_DEVICES_VIRTIO_VHOST_H
#define KEEL_DEVICES_VIRTIO_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/virtio/virtqueue.h"

#define VHOST_MAX_VRINGS	16
#define VHOST_MAX_MEM_REGIONS	8

/* A ring gone bad in the kernel (its error eventfd fired); on the main loop. */
typedef void (*vhost_error_fn)(void *opaque, unsigned int idx);
/* The backend signalled a ring that has no interrupt eventfd of its own. */
typedef void (*vhost_call_fn)(void *opaque, unsigned int idx);

/* ioctl(2) or a test double recording the sequence. */
typedef int (*vhost_ioctl_fn)(int fd, unsigned long req, void *arg);

struct vhost_vring {
	struct virtq *vq;	/* started split ring (cfg and host views); NULL: off */
	int kick_fd;		/* the queue's ioeventfd */
	int call_fd;		/* interrupt eventfd (an MSI-X irqfd), or -1: call_fn */
};

struct vhost_dev;

/* What an error or fallback call eventfd handler needs to know. */
struct vhost_ring_ref {
	struct vhost_dev *dev;
	unsigned int idx;
};

struct vhost_dev {
	char name[32];			/* "virtio-blk0": for log lines */
	int fd;
	vhost_ioctl_fn ioctl;
	struct loop *loop;		/* where error (and fallback call) eventfds are watched */
	vhost_error_fn on_error;
	vhost_call_fn on_call;
	void *opaque;
	uint64_t features;		/* what the backend offers */
	uint64_t acked;			/* what it was told at the last start */
	bool owned, running, logging;
	uint64_t log_base;		/* HVA of the dirty bitmap, 0: none */
	unsigned int nr_vrings;
	bool vring_on[VHOST_MAX_VRINGS];
	int err_fd[VHOST_MAX_VRINGS];
	int call_fd[VHOST_MAX_VRINGS];	/* own eventfd when the caller gave -1 */
	uint16_t last_avail[VHOST_MAX_VRINGS];	/* from GET_VRING_BASE at stop */
	struct vhost_ring_ref ref[VHOST_MAX_VRINGS];
	/* Ring addresses as last given (HVAs; log: GPA of the used ring), for LOG_ALL. */
	uint64_t desc_hva[VHOST_MAX_VRINGS], avail_hva[VHOST_MAX_VRINGS];
	uint64_t used_hva[VHOST_MAX_VRINGS], used_gpa[VHOST_MAX_VRINGS];
};

/*
 * Take over fd (an open /dev/vhost-*; ioctl may be NULL for the real one) and read
 * the backend's features. 0 or -errno (logged); on error fd is not closed.
 */
int vhost_init(struct vhost_dev *dev, const char *name, int fd, vhost_ioctl_fn ioctl,
	       struct loop *loop, vhost_error_fn on_error, vhost_call_fn on_call, void *opaque);
/* Stop if running and close the fd. */
void vhost_fini(struct vhost_dev *dev);

/* An ioctl on the device (device-specific ones: backend, statistics). */
int vhost_ioctl(struct vhost_dev *dev, unsigned long req, void *arg);

/*
 * Give the rings to the kernel: SET_OWNER, SET_FEATURES (features & the backend's),
 * SET_MEM_TABLE from ms's RAM, then per ring NUM/BASE/ADDR/CALL/ERR/KICK.
 * The device-specific backend is attached by the caller afterwards.
 * 0 or -errno, logged once; on error nothing stays attached.
 */
int vhost_start(struct vhost_dev *dev, const struct machine_services *ms, uint64_t features,
		const struct vhost_vring *vrings, unsigned int nr);
/*
 * Take the rings back (kick detached, GET_VRING_BASE waits for requests in
 * flight) and RESET_OWNER. The caller detaches its backend first.
 */
void vhost_stop(struct vhost_dev *dev);

/*
 * Dirty logging for migration: log_base is the HVA of a bitmap with one bit per
 * 4 KiB guest page (VHOST_SET_LOG_BASE); enable adds VHOST_F_LOG_ALL to the
 * features of the running device. 0 or -errno (-EOPNOTSUPP: backend cannot log).
 */
int vhost_set_log(struct vhost_dev *dev, void *log_base, bool enable);

#endif
