/*
 * Block backend (backend.h): between a disk device and the block layer. Each
 * event loop that serves disks (an I/O thread, the main loop) has one engine
 * here, shared by every backend on it; see design/block-backend.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "block/aio/aio.h"
#include "block/backend.h"
#include "lib/log.h"
#include "lib/loop.h"

#define BLK_ENGINE_KINDS	3	/* enum block_aio */
#define BLK_ENGINE_DEPTH	1024	/* every queue of every disk on the loop */

/*
 * The I/O engine of one loop: one aio context per engine kind a disk there
 * asked for (io_uring unless aio= says otherwise, so normally one), their
 * eventfds watched on the loop, and the backends served through them.
 */
struct blk_engine {
	struct loop *loop;		/* NULL: private, the owner polls */
	unsigned int refs;
	pthread_mutex_t lock;		/* the engine lock (blk_backend_lock) */
	struct aio_ctx *ctx[BLK_ENGINE_KINDS];
	bool watched[BLK_ENGINE_KINDS];
	struct blk_backend *backends;	/* attached, for batch_done */
	bool dispatching;
	bool closed;			/* off the loop; freed with the last backend */
	struct blk_engine *next;	/* engines of every loop */
};

struct blk_backend {
	char name[32];
	struct blk_backend_conf conf;
	struct block_dev *bd;
	struct blk_engine *engine;
	struct aio_ctx *ctx;
	struct blk_backend *next;	/* on engine->backends */
	bool batch_pending;		/* completions since the last batch_done */
	bool stop_enabled;
	bool logged_io;
	bool closed;			/* blk_backend_close ran */

	/* BLK_ERROR_STOP: failed requests waiting for resume. */
	struct blk_backend_req *parked;
	struct blk_backend_req **parked_tail;
	unsigned int nr_parked;		/* atomics: read on any thread */

	struct blk_stats stats;		/* atomics: read on any thread */
};

/* Every loop's engine; a loop gets one when its first disk arrives. */
static pthread_mutex_t blk_engines_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk_engine *blk_engines;

static uint64_t blk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void blk_stat_add(uint64_t *counter, uint64_t v)
{
	__atomic_fetch_add(counter, v, __ATOMIC_RELAXED);
}

/* ---- the engine ---- */

/* Tell every backend that had completions; nested calls leave it to the outer one. */
static void blk_engine_dispatch(struct blk_engine *e)
{
	struct blk_backend *be;
	bool again;

	if (e->dispatching)
		return;
	e->dispatching = true;
	do {
		again = false;
		for (be = e->backends; be; be = be->next) {
			if (!be->batch_pending)
				continue;
			be->batch_pending = false;
			again = true;
			if (be->conf.ops && be->conf.ops->batch_done)
				be->conf.ops->batch_done(be->conf.opaque);
		}
	} while (again);
	e->dispatching = false;
}

static void blk_engine_poll_locked(struct blk_engine *e)
{
	unsigned int k;

	for (k = 0; k < BLK_ENGINE_KINDS; k++)
		if (e->ctx[k])
			while (aio_ctx_poll(e->ctx[k]) > 0)
				;
	blk_engine_dispatch(e);
}

static void blk_engine_on_event(void *opaque, uint32_t events)
{
	struct blk_engine *e = opaque;

	pthread_mutex_lock(&e->lock);
	if (!e->closed)
		blk_engine_poll_locked(e);
	pthread_mutex_unlock(&e->lock);
}

/* The context of kind k, made (and watched) on first use. Engine lock held. */
static struct aio_ctx *blk_engine_ctx(struct blk_engine *e, enum block_aio k)
{
	int ret;

	if ((unsigned int)k >= BLK_ENGINE_KINDS)
		return NULL;
	if (e->ctx[k])
		return e->ctx[k];
	ret = aio_ctx_new(&e->ctx[k], k, BLK_ENGINE_DEPTH);
	if (ret < 0) {
		log_err("block: cannot start the %s I/O engine: %s", aio_engine_name(k),
			strerror(-ret));
		e->ctx[k] = NULL;
		return NULL;
	}
	if (e->loop) {
		ret = loop_add_fd(e->loop, aio_ctx_fd(e->ctx[k]), EPOLLIN, blk_engine_on_event, e);
		if (ret) {
			log_err("block: cannot watch the %s I/O engine: %s", aio_engine_name(k),
				strerror(-ret));
			aio_ctx_free(e->ctx[k]);
			e->ctx[k] = NULL;
			return NULL;
		}
		e->watched[k] = true;
	}
	return e->ctx[k];
}

static struct blk_engine *blk_engine_new(struct loop *loop)
{
	struct blk_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	pthread_mutex_init(&e->lock, NULL);
	return e;
}

/* The engine of loop (a new private one for NULL), with a reference taken. */
static struct blk_engine *blk_engine_get(struct loop *loop)
{
	struct blk_engine *e;

	if (!loop) {
		e = blk_engine_new(NULL);
		if (e)
			e->refs = 1;
		return e;
	}
	pthread_mutex_lock(&blk_engines_lock);
	for (e = blk_engines; e; e = e->next)
		if (e->loop == loop)
			break;
	if (!e) {
		e = blk_engine_new(loop);
		if (e) {
			e->next = blk_engines;
			blk_engines = e;
		}
	}
	if (e)
		e->refs++;
	pthread_mutex_unlock(&blk_engines_lock);
	return e;
}

/* Drop a reference; the last one takes the engine off its loop. True: free it later. */
static bool blk_engine_put(struct blk_engine *e)
{
	struct blk_engine **p;
	unsigned int k;
	bool last;

	pthread_mutex_lock(&blk_engines_lock);
	last = --e->refs == 0;
	if (last && e->loop) {
		for (p = &blk_engines; *p; p = &(*p)->next)
			if (*p == e) {
				*p = e->next;
				break;
			}
	}
	pthread_mutex_unlock(&blk_engines_lock);
	if (!last)
		return false;
	pthread_mutex_lock(&e->lock);
	e->closed = true;
	for (k = 0; k < BLK_ENGINE_KINDS; k++)
		if (e->watched[k])
			loop_del_fd(e->loop, aio_ctx_fd(e->ctx[k]));
	pthread_mutex_unlock(&e->lock);
	return true;
}

static void blk_engine_free(struct blk_engine *e)
{
	unsigned int k;

	for (k = 0; k < BLK_ENGINE_KINDS; k++)
		if (e->ctx[k])
			aio_ctx_free(e->ctx[k]);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

struct blk_engine *blk_engine_hold(struct loop *loop, enum block_aio kind)
{
	struct blk_engine *e = blk_engine_get(loop);
	struct aio_ctx *ctx;

	if (!e)
		return NULL;
	pthread_mutex_lock(&e->lock);
	ctx = blk_engine_ctx(e, kind);
	pthread_mutex_unlock(&e->lock);
	if (!ctx) {
		blk_engine_release(e);
		return NULL;
	}
	return e;
}

void blk_engine_release(struct blk_engine *e)
{
	if (e && blk_engine_put(e))
		blk_engine_free(e);
}

/* ---- statistics ---- */

static void blk_account(struct blk_backend *be, struct blk_backend_req *req, int ret)
{
	struct blk_stats *s = &be->stats;
	uint64_t ns = blk_now_ns() - req->start_ns;

	switch (req->op) {
	case BLOCK_OP_READ:
		if (ret < 0)
			return blk_stat_add(&s->failed_rd_operations, 1);
		blk_stat_add(&s->rd_operations, 1);
		blk_stat_add(&s->rd_bytes, req->bytes);
		blk_stat_add(&s->rd_total_time_ns, ns);
		return;
	case BLOCK_OP_WRITE:
	case BLOCK_OP_WRITE_ZEROES:	/* QEMU counts write-zeroes as writes */
		if (ret < 0)
			return blk_stat_add(&s->failed_wr_operations, 1);
		blk_stat_add(&s->wr_operations, 1);
		blk_stat_add(&s->wr_bytes, req->bytes);
		blk_stat_add(&s->wr_total_time_ns, ns);
		return;
	case BLOCK_OP_FLUSH:
		if (ret < 0)
			return blk_stat_add(&s->failed_flush_operations, 1);
		blk_stat_add(&s->flush_operations, 1);
		blk_stat_add(&s->flush_total_time_ns, ns);
		return;
	case BLOCK_OP_DISCARD:
		if (ret < 0)
			return blk_stat_add(&s->failed_unmap_operations, 1);
		blk_stat_add(&s->unmap_operations, 1);
		blk_stat_add(&s->unmap_bytes, req->bytes);
		blk_stat_add(&s->unmap_total_time_ns, ns);
		return;
	default:
		return;
	}
}

void blk_backend_account_invalid(struct blk_backend *be, enum block_op op)
{
	struct blk_stats *s = &be->stats;

	switch (op) {
	case BLOCK_OP_READ:
		blk_stat_add(&s->invalid_rd_operations, 1);
		break;
	case BLOCK_OP_WRITE:
	case BLOCK_OP_WRITE_ZEROES:
		blk_stat_add(&s->invalid_wr_operations, 1);
		break;
	case BLOCK_OP_FLUSH:
		blk_stat_add(&s->invalid_flush_operations, 1);
		break;
	case BLOCK_OP_DISCARD:
		blk_stat_add(&s->invalid_unmap_operations, 1);
		break;
	default:
		break;
	}
}

void blk_backend_stats(struct blk_backend *be, struct blk_stats *out)
{
	const uint64_t *src = (const uint64_t *)&be->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	_Static_assert(sizeof(struct blk_stats) % sizeof(uint64_t) == 0, "u64 counters only");
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- requests ---- */

static bool blk_req_is_read(const struct blk_backend_req *req)
{
	return req->op == BLOCK_OP_READ;
}

static void blk_park(struct blk_backend *be, struct blk_backend_req *req, int err)
{
	req->next = NULL;
	*be->parked_tail = req;
	be->parked_tail = &req->next;
	if (__atomic_fetch_add(&be->nr_parked, 1, __ATOMIC_RELAXED) == 0)
		log_err("%s: %s error at byte %llu: %s; machine paused (%s=stop)", be->name,
			block_op_name(req->op), (unsigned long long)req->offset, strerror(-err),
			blk_req_is_read(req) ? "rerror" : "werror");
	if (be->conf.ops && be->conf.ops->io_error)
		be->conf.ops->io_error(be->conf.opaque, !blk_req_is_read(req), err);
}

static void blk_req_done(struct block_req *br, int ret)
{
	struct blk_backend_req *req = br->opaque;
	struct blk_backend *be = req->be;
	enum blk_error_action act;

	blk_account(be, req, ret);
	be->batch_pending = true;
	if (ret < 0) {
		act = blk_req_is_read(req) ? be->conf.rerror : be->conf.werror;
		if (act == BLK_ERROR_STOP && be->stop_enabled) {
			blk_park(be, req, ret);
			return;
		}
		if (!be->logged_io) {
			be->logged_io = true;
			log_err("%s: %s at byte %llu failed: %s; the guest sees an I/O error",
				be->name, block_op_name(req->op), (unsigned long long)req->offset,
				strerror(-ret));
		}
	}
	req->done(req, ret);
}

void blk_backend_submit(struct blk_backend *be, struct blk_backend_req *req)
{
	struct block_req *br = &req->br;

	req->be = be;
	req->start_ns = blk_now_ns();
	req->bytes = req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE ?
		     block_iov_size(req->iov, req->iovcnt) : req->len;
	/*
	 * Throttling goes here (block/throttle.c): a request over its budget
	 * waits on a timer of the engine's loop instead of going down now.
	 */
	memset(br, 0, offsetof(struct block_req, bd));
	br->op = req->op;
	br->flags = req->flags;
	br->offset = req->offset;
	br->iov = req->iov;
	br->iovcnt = req->iovcnt;
	br->len = req->len;
	br->done = blk_req_done;
	br->opaque = req;
	block_submit(be->bd, br);
}

void blk_backend_set_ops(struct blk_backend *be, const struct blk_backend_ops *ops,
			 void *opaque)
{
	be->conf.ops = ops;
	be->conf.opaque = opaque;
}

void blk_backend_plug(struct blk_backend *be)
{
	aio_ctx_plug(be->ctx);
}

void blk_backend_unplug(struct blk_backend *be)
{
	aio_ctx_unplug(be->ctx);
	/* Inline completions (and other disks' ones a driver waited for) get their batch. */
	blk_engine_dispatch(be->engine);
}

int blk_backend_drain(struct blk_backend *be)
{
	int ret = block_drain(be->bd);

	if (ret)
		log_err("%s: cannot drain in-flight requests: %s", be->name, strerror(-ret));
	/* Draining ran other disks' completions too: each gets its batch_done. */
	blk_engine_dispatch(be->engine);
	return ret;
}

void blk_backend_poll(struct blk_backend *be)
{
	blk_engine_poll_locked(be->engine);
}

void blk_backend_lock(struct blk_backend *be)
{
	pthread_mutex_lock(&be->engine->lock);
}

void blk_backend_unlock(struct blk_backend *be)
{
	pthread_mutex_unlock(&be->engine->lock);
}

/* ---- werror=stop / rerror=stop ---- */

void blk_backend_set_stop_enabled(struct blk_backend *be, bool on)
{
	be->stop_enabled = on;
}

void blk_backend_drop_parked(struct blk_backend *be)
{
	be->parked = NULL;
	be->parked_tail = &be->parked;
	__atomic_store_n(&be->nr_parked, 0, __ATOMIC_RELAXED);
}

static void blk_resume_now(void *opaque)
{
	struct blk_backend *be = opaque;
	struct blk_backend_req *req, *next;

	blk_backend_lock(be);
	req = be->parked;
	blk_backend_drop_parked(be);
	blk_backend_plug(be);
	for (; req; req = next) {
		next = req->next;
		blk_backend_submit(be, req);
	}
	blk_backend_unplug(be);
	blk_backend_unlock(be);
}

void blk_backend_resume(struct blk_backend *be)
{
	unsigned int n = blk_backend_parked(be);

	if (!n)
		return;
	log_info("%s: re-submitting %u request(s) held by %s", be->name, n, "werror/rerror=stop");
	/* An I/O thread submits its own requests; the main loop's caller is its thread. */
	if (be->conf.iothread && loop_call(be->engine->loop, blk_resume_now, be) == 0)
		return;
	blk_resume_now(be);
}

unsigned int blk_backend_parked(struct blk_backend *be)
{
	return __atomic_load_n(&be->nr_parked, __ATOMIC_RELAXED);
}

/* ---- lifecycle ---- */

struct blk_backend *blk_backend_new(const struct blk_backend_conf *conf)
{
	struct blk_backend *be;
	int ret;

	if (!conf->bd || conf->bd->inflight)
		return NULL;
	be = calloc(1, sizeof(*be));
	if (!be)
		return NULL;
	snprintf(be->name, sizeof(be->name), "%s", conf->name ? conf->name : "disk");
	be->conf = *conf;
	be->conf.name = be->name;
	be->bd = conf->bd;
	be->parked_tail = &be->parked;
	be->stop_enabled = true;
	be->engine = blk_engine_get(conf->loop);
	if (!be->engine) {
		free(be);
		return NULL;
	}
	blk_backend_lock(be);
	be->ctx = blk_engine_ctx(be->engine, be->bd->aio_engine);
	ret = be->ctx ? block_set_aio(be->bd, be->ctx) : -ENOMEM;
	if (ret == 0) {
		be->next = be->engine->backends;
		be->engine->backends = be;
	}
	blk_backend_unlock(be);
	if (ret) {
		log_err("%s: cannot serve the image on the I/O engine: %s", be->name,
			strerror(-ret));
		if (blk_engine_put(be->engine))
			blk_engine_free(be->engine);
		free(be);
		return NULL;
	}
	return be;
}

void blk_backend_close(struct blk_backend *be)
{
	struct blk_backend **p;
	struct blk_engine *e;

	if (!be || be->closed)
		return;
	be->closed = true;
	e = be->engine;
	blk_backend_lock(be);
	blk_backend_drain(be);
	for (p = &e->backends; *p; p = &(*p)->next)
		if (*p == be) {
			*p = be->next;
			break;
		}
	/* The image goes back to the context it was opened with (block_close, keel-img). */
	block_set_aio(be->bd, NULL);
	blk_backend_drop_parked(be);
	blk_backend_unlock(be);
	if (!blk_engine_put(e))
		be->engine = NULL;
	be->ctx = NULL;
}

void blk_backend_free(struct blk_backend *be)
{
	if (!be)
		return;
	blk_backend_close(be);
	/* Still set: this was the engine's last backend, now off its loop. */
	if (be->engine) {
		/* None of the engine's handlers can still be running on the I/O thread. */
		if (be->conf.iothread && be->engine->loop)
			loop_call_wait(be->engine->loop, NULL, NULL);
		blk_engine_free(be->engine);
	}
	free(be);
}

/* ---- accessors ---- */

bool blk_backend_read_only(const struct blk_backend *be)
{
	return be->conf.read_only;
}

bool blk_backend_discard(const struct blk_backend *be)
{
	return be->conf.discard;
}

uint64_t blk_backend_size(const struct blk_backend *be)
{
	return be->bd->size;
}

uint32_t blk_backend_cluster_size(struct blk_backend *be)
{
	struct block_info info;

	return block_get_info(be->bd, &info) == 0 ? info.cluster_size : 0;
}

const char *blk_backend_op_name(enum block_op op)
{
	return block_op_name(op);
}

struct block_dev *blk_backend_bdev(struct blk_backend *be)
{
	return be->bd;
}
