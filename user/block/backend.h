/*
 * Block backend: what a disk device (virtio-blk, later AHCI and virtio-scsi)
 * talks to instead of the block layer, as QEMU's BlockBackend: the open
 * image, read-only/discard, the error policy (werror=/rerror=), request
 * submission with batching, statistics (query-blockstats) and, later,
 * throttling. Design: Documentation/design/block-backend.md.
 */
#ifndef KEEL_BLOCK_BACKEND_H
#define KEEL_BLOCK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"

struct loop;
struct blk_backend;
struct blk_engine;

/* What a failed request does (QEMU's werror= / rerror= names). */
enum blk_error_action {
	BLK_ERROR_REPORT,	/* the device answers the guest with an I/O error */
	BLK_ERROR_STOP,		/* the request waits for blk_backend_resume(); the
				 * device asks the machine to pause */
};

/* Counters as QEMU's query-blockstats names them (BlockDeviceStats). */
struct blk_stats {
	uint64_t rd_bytes, wr_bytes, unmap_bytes;
	uint64_t rd_operations, wr_operations, flush_operations, unmap_operations;
	uint64_t rd_total_time_ns, wr_total_time_ns, flush_total_time_ns,
		 unmap_total_time_ns;
	uint64_t failed_rd_operations, failed_wr_operations, failed_flush_operations,
		 failed_unmap_operations;
	uint64_t invalid_rd_operations, invalid_wr_operations, invalid_flush_operations,
		 invalid_unmap_operations;
};

struct blk_backend_req;
typedef void (*blk_backend_done_fn)(struct blk_backend_req *req, int ret);

/*
 * One request of a device. The device embeds it in its own request, fills
 * the first block of fields and keeps it (and iov[]) alive until done() runs.
 * A request parked by BLK_ERROR_STOP is submitted again as it is.
 */
struct blk_backend_req {
	enum block_op op;
	uint32_t flags;			/* BLOCK_REQ_* */
	uint64_t offset;		/* bytes */
	uint64_t len;			/* discard / write-zeroes */
	const struct iovec *iov;	/* read / write */
	int iovcnt;
	blk_backend_done_fn done;	/* 0 or -errno; never for a parked request */
	void *opaque;

	/* the backend's */
	struct blk_backend *be;
	uint64_t start_ns;
	uint64_t bytes;
	struct blk_backend_req *next;	/* parked list */
	struct block_req br;
};

/* What the device hears from its backend, on the engine's thread. */
struct blk_backend_ops {
	/*
	 * A round of completions ended (one engine poll): the place to notify
	 * the guest once for many requests, and to take new ones. May be NULL.
	 */
	void (*batch_done)(void *opaque);
	/*
	 * BLK_ERROR_STOP parked a request (once per request): the device asks
	 * the machine to pause and tells management. May be NULL.
	 */
	void (*io_error)(void *opaque, bool write, int err);
};

struct blk_backend_conf {
	const char *name;		/* the device's name: log lines */
	struct block_dev *bd;		/* open image; the backend does not close it */
	bool read_only;
	bool discard;			/* discard=unmap: DISCARD reaches the image */
	enum blk_error_action werror;	/* writes, flushes, discards, write-zeroes */
	enum blk_error_action rerror;	/* reads */
	/*
	 * The loop that serves the device (an I/O thread's or the main loop):
	 * every backend on one loop shares that loop's engine. NULL: a private
	 * engine nobody watches; the caller polls (blk_backend_poll, tests).
	 */
	struct loop *loop;
	/*
	 * loop runs on a thread of its own (an I/O thread) until after the
	 * backend is freed: the last backend's free waits for a call run there
	 * before freeing the engine. Off: loop is the caller's own (main loop).
	 */
	bool iothread;
	const struct blk_backend_ops *ops;
	void *opaque;
};

/*
 * An event loop's I/O engine, held by whoever owns the loop (an I/O thread
 * holds its own from start to stop) with an engine context of kind made
 * at once: disks served there come and go without a new engine each time.
 * Release after the loop's thread stopped running it. NULL on failure (logged).
 */
struct blk_engine *blk_engine_hold(struct loop *loop, enum block_aio kind);
void blk_engine_release(struct blk_engine *e);

/* NULL on failure (logged). The image must have no request in flight. */
struct blk_backend *blk_backend_new(const struct blk_backend_conf *conf);
/*
 * Drain, and stop using the engine: the image is served by the context it was
 * opened with again. free closes first if close was not called.
 */
void blk_backend_close(struct blk_backend *be);
void blk_backend_free(struct blk_backend *be);

/*
 * The engine lock: every call below except the statistics, the parked count,
 * blk_backend_resume and the accessors runs with it held, on any thread (it
 * is what lets a vCPU thread drain a disk that the main loop serves).
 * Completions and batch_done run with it held.
 */
void blk_backend_lock(struct blk_backend *be);
void blk_backend_unlock(struct blk_backend *be);

/* The device listening (ops may be NULL: nobody). Before serving, or with the lock. */
void blk_backend_set_ops(struct blk_backend *be, const struct blk_backend_ops *ops,
			 void *opaque);

/* Submissions between plug and unplug reach the kernel in one batch. */
void blk_backend_plug(struct blk_backend *be);
void blk_backend_unplug(struct blk_backend *be);
/* Asynchronous; done() may run before this returns (errors found at once). */
void blk_backend_submit(struct blk_backend *be, struct blk_backend_req *req);
/* Wait until none of this backend's requests is in flight; runs batch_done. */
int blk_backend_drain(struct blk_backend *be);
/* Run finished requests' callbacks and batch_done; non-blocking. */
void blk_backend_poll(struct blk_backend *be);

/* A request the device refused before submitting it (QEMU's invalid_*). */
void blk_backend_account_invalid(struct blk_backend *be, enum block_op op);

/*
 * BLK_ERROR_STOP: park failed requests only while enabled (the device turns
 * it off while it stops, so a reset never waits for cont).
 */
void blk_backend_set_stop_enabled(struct blk_backend *be, bool on);
/* Forget the parked requests (device reset): no callback for them. */
void blk_backend_drop_parked(struct blk_backend *be);
/* QMP cont: submit the parked requests again, on the engine's thread. */
void blk_backend_resume(struct blk_backend *be);
/* Requests parked and not yet submitted again. Any thread. */
unsigned int blk_backend_parked(struct blk_backend *be);

/* A consistent copy of the counters. Any thread. */
void blk_backend_stats(struct blk_backend *be, struct blk_stats *out);

bool blk_backend_read_only(const struct blk_backend *be);
bool blk_backend_discard(const struct blk_backend *be);
/* Virtual size in bytes. */
uint64_t blk_backend_size(const struct blk_backend *be);
/* Allocation unit of the image format (qcow2 clusters), or 0. */
uint32_t blk_backend_cluster_size(struct blk_backend *be);
const char *blk_backend_op_name(enum block_op op);
/* The image, for code beside the backend (vhost setup, QMP). */
struct block_dev *blk_backend_bdev(struct blk_backend *be);

#endif
