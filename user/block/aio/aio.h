/* I/O engines: one context per I/O thread, completions signalled on an eventfd
 * (issue 3, "I/O engines": io_uring, libaio, thread pool). */
#ifndef KEEL_BLOCK_AIO_AIO_H
#define KEEL_BLOCK_AIO_AIO_H

#include <stdbool.h>

#include "block/block.h"

/*
 * A context belongs to one thread (its owner): only that thread submits and polls,
 * and every done() callback runs there. The owner puts aio_ctx_fd() into its epoll
 * set and calls aio_ctx_poll() when it is readable. Submissions made between
 * aio_ctx_plug() and aio_ctx_unplug() are handed to the kernel in one batch.
 */
struct aio_ctx;

int aio_ctx_new(struct aio_ctx **out, enum block_aio engine, unsigned int depth);
void aio_ctx_free(struct aio_ctx *ctx);
int aio_ctx_fd(struct aio_ctx *ctx);
enum block_aio aio_ctx_engine(struct aio_ctx *ctx);

/* READ, WRITE (FUA: RWF_DSYNC), FLUSH (fdatasync) on fd; DISCARD and WRITE_ZEROES
 * (fallocate, with the write-zeroes fallbacks) when aio_ctx_can_fallocate().
 * req->iov/iovcnt/offset/len are read; req->eng is used. req->done runs on completion. */
void aio_ctx_submit(struct aio_ctx *ctx, int fd, struct block_req *req);
bool aio_ctx_can_fallocate(struct aio_ctx *ctx);
/* Complete req with ret from the next poll (never inline). */
void aio_ctx_defer(struct aio_ctx *ctx, struct block_req *req, int ret);
void aio_ctx_plug(struct aio_ctx *ctx);
void aio_ctx_unplug(struct aio_ctx *ctx);
/* Run the callbacks of finished requests; non-blocking. Returns how many ran. */
int aio_ctx_poll(struct aio_ctx *ctx);
/* Block until at least one callback ran (or nothing is in flight: returns 0). */
int aio_ctx_wait(struct aio_ctx *ctx);
unsigned int aio_ctx_inflight(struct aio_ctx *ctx);

/* Parse "io_uring"|"native"|"threads" and back. */
int aio_engine_parse(const char *s, enum block_aio *out);
const char *aio_engine_name(enum block_aio engine);

#endif
