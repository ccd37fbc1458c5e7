/* I/O engines, common part: context, eventfd, deferred completions and short transfers
 * (issue 3, "I/O engines"). The engines themselves are uring.c, libaio.c, threads.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/aio/engine.h"
#include "lib/log.h"

_Static_assert(sizeof(struct aio_req_state) <= sizeof(((struct block_req *)0)->eng),
	       "aio state must fit the engine scratch");

static const struct aio_engine_ops *aio_ops_of(enum block_aio engine)
{
	switch (engine) {
	case BLOCK_AIO_URING:
		return &aio_uring_ops;
	case BLOCK_AIO_NATIVE:
		return &aio_libaio_ops;
	case BLOCK_AIO_THREADS:
		return &aio_threads_ops;
	}
	return NULL;
}

int aio_engine_parse(const char *s, enum block_aio *out)
{
	if (!strcmp(s, "io_uring") || !strcmp(s, "uring"))
		*out = BLOCK_AIO_URING;
	else if (!strcmp(s, "native") || !strcmp(s, "libaio"))
		*out = BLOCK_AIO_NATIVE;
	else if (!strcmp(s, "threads"))
		*out = BLOCK_AIO_THREADS;
	else
		return -EINVAL;
	return 0;
}

const char *aio_engine_name(enum block_aio engine)
{
	const struct aio_engine_ops *ops = aio_ops_of(engine);

	return ops ? ops->name : "?";
}

int aio_ctx_new(struct aio_ctx **out, enum block_aio engine, unsigned int depth)
{
	struct aio_ctx *ctx;
	int ret;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->ops = aio_ops_of(engine);
	if (!ctx->ops) {
		free(ctx);
		return -EINVAL;
	}
	ctx->engine_kind = engine;
	ctx->deferred_tail = &ctx->deferred;
	ctx->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ctx->efd < 0) {
		ret = -errno;
		free(ctx);
		return ret;
	}
	ret = ctx->ops->init(ctx, depth ? depth : 128);
	if (ret < 0 && engine == BLOCK_AIO_URING && ret != -ENOMEM) {
		/* io_uring can be switched off (sysctl, container seccomp profiles):
		 * the thread pool works everywhere */
		log_warn("aio: io_uring unavailable (%s), using the thread pool",
			 strerror(-ret));
		ctx->ops = &aio_threads_ops;
		ctx->engine_kind = BLOCK_AIO_THREADS;
		ret = ctx->ops->init(ctx, depth ? depth : 128);
	}
	if (ret < 0) {
		log_err("aio: cannot set up the %s engine: %s", ctx->ops->name, strerror(-ret));
		close(ctx->efd);
		free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

void aio_ctx_free(struct aio_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->inflight || ctx->deferred)
		if (aio_ctx_wait(ctx) < 0)
			break;
	ctx->ops->destroy(ctx);
	close(ctx->efd);
	free(ctx);
}

int aio_ctx_fd(struct aio_ctx *ctx)
{
	return ctx->efd;
}

enum block_aio aio_ctx_engine(struct aio_ctx *ctx)
{
	return ctx->engine_kind;
}

unsigned int aio_ctx_inflight(struct aio_ctx *ctx)
{
	return ctx->inflight;
}

static void aio_ctx_signal(struct aio_ctx *ctx)
{
	uint64_t one = 1;

	if (write(ctx->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the owner will wake */
	}
}

void aio_ctx_defer(struct aio_ctx *ctx, struct block_req *req, int ret)
{
	req->result = ret;
	req->next = NULL;
	*ctx->deferred_tail = req;
	ctx->deferred_tail = &req->next;
	aio_ctx_signal(ctx);
}

bool aio_ctx_can_fallocate(struct aio_ctx *ctx)
{
	return ctx->ops->fallocate;
}

void aio_ctx_submit(struct aio_ctx *ctx, int fd, struct block_req *req)
{
	struct aio_req_state *st = (struct aio_req_state *)req->eng.bytes;
	int ret;

	st->fd = fd;
	st->done_bytes = 0;
	st->mode = 0;
	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
	case BLOCK_OP_FLUSH:
		break;
	case BLOCK_OP_DISCARD:
	case BLOCK_OP_WRITE_ZEROES:
		if (!ctx->ops->fallocate) {
			aio_ctx_defer(ctx, req, -EOPNOTSUPP);
			return;
		}
		/* a hole reads as zeroes: write-zeroes that may unmap punches one */
		if (req->op == BLOCK_OP_DISCARD || (req->flags & BLOCK_REQ_MAY_UNMAP))
			st->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		else
			st->mode = FALLOC_FL_ZERO_RANGE;
		break;
	default:
		aio_ctx_defer(ctx, req, -EOPNOTSUPP);
		return;
	}
	ret = ctx->ops->queue(ctx, fd, req);
	if (ret < 0) {
		aio_ctx_defer(ctx, req, ret);
		return;
	}
	ctx->inflight++;
	ctx->queued++;
	if (!ctx->plugged) {
		ctx->queued = 0;
		ctx->ops->kick(ctx);
	}
}

void aio_ctx_plug(struct aio_ctx *ctx)
{
	ctx->plugged = true;
}

void aio_ctx_unplug(struct aio_ctx *ctx)
{
	ctx->plugged = false;
	if (ctx->queued) {
		ctx->queued = 0;
		ctx->ops->kick(ctx);
	}
}

/* Finish a transfer the kernel cut short: synchronously, it is rare (EOF, signals). */
static long aio_finish_short(struct block_req *req, int fd, size_t done)
{
	size_t total = block_iov_size(req->iov, req->iovcnt);
	struct iovec stack[64];
	struct iovec *iov = stack;
	ssize_t n;
	int cnt;

	if (req->iovcnt > 64) {
		iov = calloc(req->iovcnt, sizeof(*iov));
		if (!iov)
			return -ENOMEM;
	}
	while (done < total) {
		cnt = block_iov_slice(req->iov, req->iovcnt, done, total - done, iov,
				      req->iovcnt > 64 ? req->iovcnt : 64);
		if (cnt < 0)
			break;
		if (req->op == BLOCK_OP_READ)
			n = preadv(fd, iov, cnt, req->offset + done);
		else
			n = pwritev(fd, iov, cnt, req->offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			goto out;
		}
		if (n == 0) {
			if (req->op == BLOCK_OP_READ) {
				/* end of file: the rest reads as zeroes */
				block_iov_memset(req->iov, req->iovcnt, done, 0, total - done);
				done = total;
				break;
			}
			n = -EIO;
			goto out;
		}
		done += n;
	}
	n = (long)done;
out:
	if (iov != stack)
		free(iov);
	return n;
}

/* Write-zeroes the filesystem could not do with fallocate: zero range, then real zeroes. */
static long aio_zeroes_fallback(struct block_req *req, int fd, int mode)
{
	static const char zero[65536];
	uint64_t off = req->offset, end = req->offset + req->len;
	ssize_t n;

	if (mode != FALLOC_FL_ZERO_RANGE &&
	    fallocate(fd, FALLOC_FL_ZERO_RANGE, req->offset, req->len) == 0)
		return 0;
	if (req->flags & BLOCK_REQ_NO_FALLBACK)
		return -ENOTSUP;
	while (off < end) {
		n = pwrite(fd, zero, end - off < sizeof(zero) ? end - off : sizeof(zero), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
	}
	return 0;
}

void aio_ctx_finish(struct aio_ctx *ctx, struct block_req *req, long res)
{
	struct aio_req_state *st = (struct aio_req_state *)req->eng.bytes;
	int ret = 0;

	ctx->inflight--;
	if (req->op == BLOCK_OP_WRITE_ZEROES && (res == -EOPNOTSUPP || res == -EINVAL))
		res = aio_zeroes_fallback(req, st->fd, st->mode);
	if (res < 0) {
		ret = (int)res;
	} else if (req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE) {
		size_t total = block_iov_size(req->iov, req->iovcnt);

		if ((size_t)res < total) {
			res = aio_finish_short(req, st->fd, res);
			if (res < 0)
				ret = (int)res;
		}
	}
	req->result = ret;
	req->done(req, ret);
}

static int aio_run_deferred(struct aio_ctx *ctx)
{
	struct block_req *list = ctx->deferred, *req;
	int n = 0;

	ctx->deferred = NULL;
	ctx->deferred_tail = &ctx->deferred;
	while (list) {
		req = list;
		list = req->next;
		req->done(req, req->result);
		n++;
	}
	return n;
}

int aio_ctx_poll(struct aio_ctx *ctx)
{
	uint64_t cnt;
	int n, m;

	if (read(ctx->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled, reap anyway (cheap) */
	}
	if (ctx->queued) {
		ctx->queued = 0;
		ctx->ops->kick(ctx);
	}
	n = ctx->inflight ? ctx->ops->reap(ctx, false) : 0;
	if (n < 0)
		return n;
	m = aio_run_deferred(ctx);
	return n + m;
}

int aio_ctx_wait(struct aio_ctx *ctx)
{
	int n;

	for (;;) {
		n = aio_ctx_poll(ctx);
		if (n != 0)
			return n;
		if (!ctx->inflight)
			return 0;
		n = ctx->ops->reap(ctx, true);
		if (n != 0)
			return n;
	}
}
