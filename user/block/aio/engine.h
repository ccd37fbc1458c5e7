/* I/O engines: the table each engine (uring.c, libaio.c, threads.c) fills for aio.c. */
#ifndef KEEL_BLOCK_AIO_ENGINE_H
#define KEEL_BLOCK_AIO_ENGINE_H

#include "block/aio/aio.h"

struct aio_engine_ops {
	const char *name;
	/* can run DISCARD / WRITE_ZEROES (fallocate) asynchronously */
	bool fallocate;
	/* set up engine state in ctx->engine; ctx->efd exists already */
	int (*init)(struct aio_ctx *ctx, unsigned int depth);
	void (*destroy)(struct aio_ctx *ctx);
	/* queue one read/write/flush (or fallocate, if .fallocate); may hand it to the
	 * kernel at once */
	int (*queue)(struct aio_ctx *ctx, int fd, struct block_req *req);
	/* hand queued requests to the kernel */
	int (*kick)(struct aio_ctx *ctx);
	/* reap finished requests with aio_ctx_finish(); wait: block for at least one */
	int (*reap)(struct aio_ctx *ctx, bool wait);
};

struct aio_ctx {
	const struct aio_engine_ops *ops;
	enum block_aio engine_kind;
	int efd;			/* eventfd the owner polls */
	bool plugged;
	unsigned int inflight;		/* handed to the engine, not finished */
	unsigned int queued;		/* queued but not kicked */
	struct block_req *deferred;	/* complete at next poll */
	struct block_req **deferred_tail;
	void *engine;
};

/* Engines call this for each finished request with the syscall result (bytes or
 * -errno); aio.c handles short transfers and runs done(). */
void aio_ctx_finish(struct aio_ctx *ctx, struct block_req *req, long res);

/* engine scratch layout inside req->eng shared by all engines */
struct aio_req_state {
	int fd;
	int mode;		/* fallocate mode for DISCARD / WRITE_ZEROES */
	uint64_t done_bytes;	/* progress of a transfer resubmitted after a short one */
};

extern const struct aio_engine_ops aio_uring_ops;
extern const struct aio_engine_ops aio_libaio_ops;
extern const struct aio_engine_ops aio_threads_ops;

#endif
