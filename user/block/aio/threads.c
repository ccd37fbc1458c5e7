/* I/O engine on a small pool of worker threads doing preadv/pwritev2/fdatasync,
 * aio=threads; results go back to the owner through the eventfd (issue 3). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/aio/engine.h"
#include "lib/sandbox.h"

#define AIO_THREADS_WORKERS 4

struct aio_threads {
	pthread_mutex_t lock;
	pthread_cond_t work_cond;	/* workers wait for requests */
	pthread_cond_t done_cond;	/* owner waits for completions */
	struct block_req *todo, **todo_tail;
	struct block_req *done, **done_tail;
	struct block_req *pending, **pending_tail;	/* owner only: not yet kicked */
	bool stop;
	int nworkers;
	pthread_t workers[AIO_THREADS_WORKERS];
	int efd;
};

/* result stored in req->result by the worker; eng holds the fd */
static long aio_threads_do(struct block_req *req)
{
	struct aio_req_state *st = (struct aio_req_state *)req->eng.bytes;
	ssize_t n;

	do {
		switch (req->op) {
		case BLOCK_OP_READ:
			n = preadv(st->fd, req->iov, req->iovcnt, req->offset);
			break;
		case BLOCK_OP_WRITE:
			n = pwritev2(st->fd, req->iov, req->iovcnt, req->offset,
				     (req->flags & BLOCK_REQ_FUA) ? RWF_DSYNC : 0);
			break;
		case BLOCK_OP_DISCARD:
		case BLOCK_OP_WRITE_ZEROES:
			n = fallocate(st->fd, st->mode, (off_t)req->offset, (off_t)req->len);
			break;
		default:
			n = fdatasync(st->fd);
			break;
		}
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void *aio_threads_worker(void *opaque)
{
	struct aio_threads *t = opaque;
	struct block_req *req;
	uint64_t one = 1;
	long res;

	/* Under keel's sandbox a worker is an I/O thread (a no-op elsewhere). */
	sandbox_enter(SANDBOX_IO);
	sandbox_selftest(SANDBOX_IO);
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->todo && !t->stop)
			pthread_cond_wait(&t->work_cond, &t->lock);
		if (!t->todo)
			break;
		req = t->todo;
		t->todo = req->next;
		if (!t->todo)
			t->todo_tail = &t->todo;
		pthread_mutex_unlock(&t->lock);

		res = aio_threads_do(req);

		pthread_mutex_lock(&t->lock);
		((struct aio_req_state *)req->eng.bytes)->done_bytes = (uint64_t)res;
		req->next = NULL;
		*t->done_tail = req;
		t->done_tail = &req->next;
		pthread_cond_signal(&t->done_cond);
		if (write(t->efd, &one, sizeof(one)) < 0) {
			/* counter saturated: the owner wakes anyway */
		}
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void aio_threads_destroy(struct aio_ctx *ctx)
{
	struct aio_threads *t = ctx->engine;
	int i;

	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->work_cond);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->work_cond);
	pthread_cond_destroy(&t->done_cond);
	free(t);
}

static int aio_threads_init(struct aio_ctx *ctx, unsigned int depth)
{
	struct aio_threads *t;
	int i, ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->work_cond, NULL);
	pthread_cond_init(&t->done_cond, NULL);
	t->todo_tail = &t->todo;
	t->done_tail = &t->done;
	t->pending_tail = &t->pending;
	t->efd = ctx->efd;
	ctx->engine = t;
	for (i = 0; i < AIO_THREADS_WORKERS; i++) {
		ret = pthread_create(&t->workers[i], NULL, aio_threads_worker, t);
		if (ret) {
			aio_threads_destroy(ctx);
			ctx->engine = NULL;
			return -ret;
		}
		t->nworkers++;
	}
	return 0;
}

static int aio_threads_queue(struct aio_ctx *ctx, int fd, struct block_req *req)
{
	struct aio_threads *t = ctx->engine;

	req->next = NULL;
	*t->pending_tail = req;
	t->pending_tail = &req->next;
	return 0;
}

static int aio_threads_kick(struct aio_ctx *ctx)
{
	struct aio_threads *t = ctx->engine;

	if (!t->pending)
		return 0;
	pthread_mutex_lock(&t->lock);
	*t->todo_tail = t->pending;
	t->todo_tail = t->pending_tail;
	pthread_cond_broadcast(&t->work_cond);
	pthread_mutex_unlock(&t->lock);
	t->pending = NULL;
	t->pending_tail = &t->pending;
	return 0;
}

static int aio_threads_reap(struct aio_ctx *ctx, bool wait)
{
	struct aio_threads *t = ctx->engine;
	struct block_req *list, *req;
	int n = 0;

	pthread_mutex_lock(&t->lock);
	while (wait && !t->done)
		pthread_cond_wait(&t->done_cond, &t->lock);
	list = t->done;
	t->done = NULL;
	t->done_tail = &t->done;
	pthread_mutex_unlock(&t->lock);
	while (list) {
		req = list;
		list = req->next;
		aio_ctx_finish(ctx, req,
			       (long)((struct aio_req_state *)req->eng.bytes)->done_bytes);
		n++;
	}
	return n;
}

const struct aio_engine_ops aio_threads_ops = {
	.name = "threads",
	.fallocate = true,
	.init = aio_threads_init,
	.destroy = aio_threads_destroy,
	.queue = aio_threads_queue,
	.kick = aio_threads_kick,
	.reap = aio_threads_reap,
};
