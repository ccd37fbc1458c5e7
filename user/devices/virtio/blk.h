/*
 * virtio-blk (VIRTIO 1.2 ch. 5.2) on any virtio transport (device.h), served
 * by a block backend (block/backend.h) on an I/O thread's loop or the main
 * loop, or by vhost-blk (design/virtio-blk.md).
 */
#ifndef KEEL_DEVICES_VIRTIO_BLK_H
#define KEEL_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "block/backend.h"
#include "devices/machine.h"
#include "devices/virtio/device.h"
#include "devices/virtio/virtqueue.h"

struct pci_device;

/* Feature bits (ch. 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_GEOMETRY		4
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_CONFIG_WCE		11
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* Request types (ch. 5.2.6). */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_GET_LIFETIME	10
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_T_SECURE_ERASE	14

/* Status byte values. */
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2

/* Discard / write-zeroes segment flags. */
#define VIRTIO_BLK_WZ_F_UNMAP		1

#define VIRTIO_BLK_ID_BYTES		20
#define VIRTIO_BLK_HDR_SIZE		16	/* le32 type, le32 ioprio, le64 sector */
#define VIRTIO_BLK_SEG_SIZE		16	/* le64 sector, le32 sectors, le32 flags */

/* Limits keel offers in the configuration space. */
#define VIRTIO_BLK_QUEUE_SIZE		256
#define VIRTIO_BLK_SEG_MAX		(VIRTIO_BLK_QUEUE_SIZE - 2)
#define VIRTIO_BLK_MAX_QUEUES		16
#define VIRTIO_BLK_MAX_DISCARD_SEG	32
#define VIRTIO_BLK_MAX_DISCARD_SECTORS	(1u << 22)	/* 2 GiB per segment */

/* Configuration layout offsets (ch. 5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY		0
#define VIRTIO_BLK_CFG_SIZE_MAX		8
#define VIRTIO_BLK_CFG_SEG_MAX		12
#define VIRTIO_BLK_CFG_GEOMETRY		16
#define VIRTIO_BLK_CFG_BLK_SIZE		20
#define VIRTIO_BLK_CFG_TOPOLOGY		24
#define VIRTIO_BLK_CFG_WRITEBACK	32
#define VIRTIO_BLK_CFG_NUM_QUEUES	34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN	44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS	48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG	52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP	56
#define VIRTIO_BLK_CFG_SIZE		60

enum virtio_blk_werror {
	VIRTIO_BLK_WERROR_REPORT,	/* the guest gets IOERR */
	VIRTIO_BLK_WERROR_STOP,		/* the request waits, the machine pauses */
};

struct virtio_blk;

/*
 * werror=stop hit a failed request: called on the disk's thread, once per
 * request parked. The device has already asked the machine to pause.
 */
typedef void (*virtio_blk_error_fn)(void *opaque, const char *name, bool write, int err);

struct virtio_blk_conf {
	const char *name;		/* "virtio-blk0": log lines, QMP events */
	/*
	 * The backend serving the disk, made by the caller on the loop of
	 * iothread (or the main loop) and outliving the device: its statistics
	 * last for the run. NULL: the device makes one over bd with read_only,
	 * discard and werror, and frees it with itself.
	 */
	struct blk_backend *be;
	struct block_dev *bd;		/* opened by the caller, outlives the device */
	bool read_only;			/* offer RO and refuse writes */
	bool discard;			/* discard=unmap: pass DISCARD on, may unmap */
	const char *serial;		/* GET_ID answer (up to 20 bytes), or NULL */
	unsigned int num_queues;	/* 1..VIRTIO_BLK_MAX_QUEUES */
	const char *iothread;		/* serve on this I/O thread; NULL: main loop */
	enum virtio_blk_werror werror;
	virtio_blk_error_fn on_error;	/* may be NULL */
	void *on_error_opaque;
	/*
	 * accel=vhost: the queues are served by /dev/vhost-blk (vhost_fd, open,
	 * owned by the caller) on vhost_backend_fd (the raw image), not by bd.
	 */
	bool vhost;
	int vhost_fd;
	int vhost_backend_fd;
	int (*vhost_ioctl)(int fd, unsigned long req, void *arg);	/* NULL: ioctl(2) */
};

/*
 * The device, on no transport yet: bind it with virtio_pci_new() or
 * virtio_mmio_new() on virtio_blk_vdev(). accel=vhost is set up here (the
 * transport features the module lacks are withheld). NULL on failure, logged.
 */
struct virtio_blk *virtio_blk_create(const struct machine_services *ms,
				     const struct virtio_blk_conf *conf);
struct virtio_dev *virtio_blk_vdev(struct virtio_blk *blk);
/*
 * Frees the transport still bound, stops the device (draining in-flight
 * requests) and frees it; bd stays open.
 */
void virtio_blk_free(struct virtio_blk *blk);

/*
 * Before the device/transport split, for user/vmm/machine.c until it binds
 * transports itself (virtio/pci_devices.c): the device on its own PCI
 * function, and that function.
 */

/* The machine resumed (QMP cont): re-submit requests werror=stop parked. */
void virtio_blk_resume(struct virtio_blk *blk);
/* Requests parked by werror=stop and not yet re-submitted. */
unsigned int virtio_blk_parked(struct virtio_blk *blk);
/* The backend serving the disk (statistics). */
struct blk_backend *virtio_blk_backend(struct virtio_blk *blk);

struct vhost_blk_stats;
/* accel=vhost: the kernel's per-queue counters. 0, -ENODEV without vhost, -errno. */
int virtio_blk_vhost_stats(struct virtio_blk *blk, struct vhost_blk_stats *stats);

/* For tests, which drive the device without a transport's thread. */
uint64_t virtio_blk_features(const struct virtio_blk *blk);
void virtio_blk_config_read(struct virtio_blk *blk, uint32_t off, void *data,
			    unsigned int size);
/* What a kick on queue idx does, on the calling thread. */
void virtio_blk_kick(struct virtio_blk *blk, unsigned int idx);
/* Wait for every submitted request to complete (completions pushed, notified). */
void virtio_blk_wait(struct virtio_blk *blk);

#endif
