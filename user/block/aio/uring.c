/* I/O engine on io_uring (liburing): readv/writev/fsync SQEs, completions signalled on
 * the context's eventfd (issue 3, "I/O engines: io_uring as the default"). */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

#include "block/aio/engine.h"

struct aio_uring {
	struct io_uring ring;
};

static int aio_uring_init(struct aio_ctx *ctx, unsigned int depth)
{
	struct io_uring_params p = { 0 };
	struct aio_uring *u;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = depth * 4;
	ret = io_uring_queue_init_params(depth, &u->ring, &p);
	if (ret < 0) {
		free(u);
		return ret;
	}
	ret = io_uring_register_eventfd(&u->ring, ctx->efd);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return ret;
	}
	ctx->engine = u;
	return 0;
}

static void aio_uring_destroy(struct aio_ctx *ctx)
{
	struct aio_uring *u = ctx->engine;

	io_uring_queue_exit(&u->ring);
	free(u);
}

static int aio_uring_queue(struct aio_ctx *ctx, int fd, struct block_req *req)
{
	struct aio_uring *u = ctx->engine;
	struct io_uring_sqe *sqe;

	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		/* submission queue full: hand it over and try again */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return -EAGAIN;
	}
	switch (req->op) {
	case BLOCK_OP_READ:
		io_uring_prep_readv(sqe, fd, req->iov, req->iovcnt, req->offset);
		break;
	case BLOCK_OP_WRITE:
		io_uring_prep_writev2(sqe, fd, req->iov, req->iovcnt, req->offset,
				      (req->flags & BLOCK_REQ_FUA) ? RWF_DSYNC : 0);
		break;
	case BLOCK_OP_DISCARD:
	case BLOCK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, ((struct aio_req_state *)req->eng.bytes)->mode,
					(off_t)req->offset, (off_t)req->len);
		break;
	default:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	return 0;
}

static int aio_uring_kick(struct aio_ctx *ctx)
{
	struct aio_uring *u = ctx->engine;
	int ret;

	do
		ret = io_uring_submit(&u->ring);
	while (ret == -EINTR);
	return ret < 0 ? ret : 0;
}

static int aio_uring_reap(struct aio_ctx *ctx, bool wait)
{
	struct aio_uring *u = ctx->engine;
	struct io_uring_cqe *cqe;
	struct block_req *req;
	int n = 0, ret;
	long res;

	if (wait) {
		do
			ret = io_uring_wait_cqe(&u->ring, &cqe);
		while (ret == -EINTR);
		if (ret < 0)
			return ret;
	}
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		req = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		aio_ctx_finish(ctx, req, res);
		n++;
	}
	return n;
}

const struct aio_engine_ops aio_uring_ops = {
	.name = "io_uring",
	.fallocate = true,
	.init = aio_uring_init,
	.destroy = aio_uring_destroy,
	.queue = aio_uring_queue,
	.kick = aio_uring_kick,
	.reap = aio_uring_reap,
};
