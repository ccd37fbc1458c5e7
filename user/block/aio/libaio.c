/* I/O engine on Linux native AIO (libaio), aio=native: iocbs live in the request's
 * engine scratch, completions signalled on the eventfd (issue 3, "I/O engines"). */
#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/aio/engine.h"

struct aio_native {
	io_context_t io;
	unsigned int depth;
	unsigned int in_kernel;
	struct iocb **batch;		/* queued, not yet io_submit()ted */
	unsigned int nbatch;
	struct block_req *wait_head;	/* over depth: wait for a free slot */
	struct block_req **wait_tail;
	struct io_event *events;
};

struct aio_native_req {
	struct aio_req_state st;
	struct iocb iocb;
};

_Static_assert(sizeof(struct aio_native_req) <= sizeof(((struct block_req *)0)->eng),
	       "iocb must fit the engine scratch");

static int aio_native_init(struct aio_ctx *ctx, unsigned int depth)
{
	struct aio_native *a;
	int ret;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->depth = depth;
	a->batch = calloc(depth, sizeof(*a->batch));
	a->events = calloc(depth, sizeof(*a->events));
	a->wait_tail = &a->wait_head;
	if (!a->batch || !a->events) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = io_setup(depth, &a->io);
	if (ret < 0)
		goto fail;
	ctx->engine = a;
	return 0;
fail:
	free(a->batch);
	free(a->events);
	free(a);
	return ret;
}

static void aio_native_destroy(struct aio_ctx *ctx)
{
	struct aio_native *a = ctx->engine;

	io_destroy(a->io);
	free(a->batch);
	free(a->events);
	free(a);
}

static void aio_native_prep(struct aio_ctx *ctx, struct block_req *req)
{
	struct aio_native_req *r = (struct aio_native_req *)req->eng.bytes;
	int fd = r->st.fd;

	switch (req->op) {
	case BLOCK_OP_READ:
		io_prep_preadv(&r->iocb, fd, req->iov, req->iovcnt, req->offset);
		break;
	case BLOCK_OP_WRITE:
		io_prep_pwritev(&r->iocb, fd, req->iov, req->iovcnt, req->offset);
		if (req->flags & BLOCK_REQ_FUA)
			r->iocb.aio_rw_flags = RWF_DSYNC;
		break;
	default:
		io_prep_fdsync(&r->iocb, fd);
		break;
	}
	r->iocb.data = req;
	io_set_eventfd(&r->iocb, ctx->efd);
}

static int aio_native_queue(struct aio_ctx *ctx, int fd, struct block_req *req)
{
	struct aio_native *a = ctx->engine;

	aio_native_prep(ctx, req);
	if (a->in_kernel + a->nbatch >= a->depth) {
		req->next = NULL;
		*a->wait_tail = req;
		a->wait_tail = &req->next;
		return 0;
	}
	a->batch[a->nbatch++] = &((struct aio_native_req *)req->eng.bytes)->iocb;
	return 0;
}

/* fdsync is not supported everywhere through AIO: do it inline then. */
static long aio_native_sync_fallback(struct block_req *req)
{
	struct aio_native_req *r = (struct aio_native_req *)req->eng.bytes;

	return fdatasync(r->st.fd) < 0 ? -errno : 0;
}

static int aio_native_kick(struct aio_ctx *ctx)
{
	struct aio_native *a = ctx->engine;
	unsigned int off = 0;
	struct block_req *req;
	int ret;

	/* refill the batch from requests that waited for a slot */
	while (a->wait_head && a->in_kernel + a->nbatch < a->depth) {
		req = a->wait_head;
		a->wait_head = req->next;
		if (!a->wait_head)
			a->wait_tail = &a->wait_head;
		a->batch[a->nbatch++] = &((struct aio_native_req *)req->eng.bytes)->iocb;
	}
	while (off < a->nbatch) {
		ret = io_submit(a->io, a->nbatch - off, a->batch + off);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0) {
			/* the first iocb was refused: finish it, go on with the rest */
			struct iocb *cb = a->batch[off++];

			req = cb->data;
			if (req->op == BLOCK_OP_FLUSH && ret == -EINVAL)
				aio_ctx_finish(ctx, req, aio_native_sync_fallback(req));
			else
				aio_ctx_finish(ctx, req, ret);
			continue;
		}
		a->in_kernel += ret;
		off += ret;
	}
	a->nbatch = 0;
	return 0;
}

static int aio_native_reap(struct aio_ctx *ctx, bool wait)
{
	struct aio_native *a = ctx->engine;
	struct block_req *req;
	int ret, i, total = 0;

	if (!a->in_kernel) {
		if (a->nbatch || a->wait_head)
			aio_native_kick(ctx);
		if (!a->in_kernel)
			return 0;
	}
	do
		ret = io_getevents(a->io, wait ? 1 : 0, a->depth, a->events, NULL);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	for (i = 0; i < ret; i++) {
		req = a->events[i].data;
		a->in_kernel--;
		if (req->op == BLOCK_OP_FLUSH && (long)a->events[i].res == -EINVAL)
			aio_ctx_finish(ctx, req, aio_native_sync_fallback(req));
		else
			aio_ctx_finish(ctx, req, (long)a->events[i].res);
		total++;
	}
	if (a->wait_head)
		aio_native_kick(ctx);
	return total;
}

const struct aio_engine_ops aio_libaio_ops = {
	.name = "native",
	.init = aio_native_init,
	.destroy = aio_native_destroy,
	.queue = aio_native_queue,
	.kick = aio_native_kick,
	.reap = aio_native_reap,
};
