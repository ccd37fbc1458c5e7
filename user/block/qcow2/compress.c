/* qcow2 compressed cluster writes (convert -c): zlib raw deflate or zstd frames
 * (qcow2 spec "Compressed Clusters Descriptor", compression_type), compressed by a
 * small worker pool while the caller goes on; placed in submission order. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

#define CPOOL_MAX_THREADS	4
#define CPOOL_JOBS		16

enum cjob_state { CJOB_FREE, CJOB_QUEUED, CJOB_RUNNING, CJOB_DONE };

struct qcow2_cjob {
	uint64_t off;
	uint8_t *in;
	uint8_t *out;
	size_t out_len;
	enum cjob_state state;
};

struct qcow2_cpool {
	pthread_t th[CPOOL_MAX_THREADS];
	int nth;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;
	pthread_cond_t cv_done;
	struct qcow2_cjob jobs[CPOOL_JOBS];
	unsigned head, tail;	/* submission order: head is the oldest */
	bool stop;
	int type;
	size_t cs;
};

/* Compressed length, or 0 when the data does not shrink or compression fails. */
size_t qcow2_compress(int type, void **zstd_cctx, void **zsp, const void *in, size_t len,
		      uint8_t *out, size_t cap)
{
	if (type == QCOW2_COMP_ZSTD) {
		size_t r;

		if (!*zstd_cctx && !(*zstd_cctx = ZSTD_createCCtx()))
			return 0;
		r = ZSTD_compressCCtx(*zstd_cctx, out, cap, in, len, 3);
		return ZSTD_isError(r) || r >= len ? 0 : r;
	}
	z_stream *zs = *zsp;

	if (!zs) {
		zs = calloc(1, sizeof(*zs));
		if (!zs)
			return 0;
		if (deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(zs);
			return 0;
		}
		*zsp = zs;
	} else {
		deflateReset(zs);
	}
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	zs->next_out = out;
	zs->avail_out = (uInt)cap;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	return cap - zs->avail_out >= len ? 0 : cap - zs->avail_out;
}

static void compress_free_ctx(void *cctx, void *zs)
{
	ZSTD_freeCCtx(cctx);
	if (zs) {
		deflateEnd(zs);
		free(zs);
	}
}

static void *compress_worker(void *opaque)
{
	struct qcow2_cpool *p = opaque;
	void *cctx = NULL, *zs = NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct qcow2_cjob *j = NULL;

		for (unsigned i = p->head; i != p->tail; i++) {
			if (p->jobs[i % CPOOL_JOBS].state == CJOB_QUEUED) {
				j = &p->jobs[i % CPOOL_JOBS];
				break;
			}
		}
		if (!j) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->cv_work, &p->mu);
			continue;
		}
		j->state = CJOB_RUNNING;
		pthread_mutex_unlock(&p->mu);
		j->out_len = qcow2_compress(p->type, &cctx, &zs, j->in, p->cs, j->out, 2 * p->cs);
		pthread_mutex_lock(&p->mu);
		j->state = CJOB_DONE;
		pthread_cond_broadcast(&p->cv_done);
	}
	pthread_mutex_unlock(&p->mu);
	compress_free_ctx(cctx, zs);
	return NULL;
}

static int compress_start(struct qcow2 *q)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct qcow2_cpool *p;

	if (ncpu < 2)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->type = q->h.compression_type;
	p->cs = q->cluster_size;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	for (int i = 0; i < CPOOL_JOBS; i++) {
		p->jobs[i].in = malloc(p->cs);
		p->jobs[i].out = malloc(2 * p->cs);
		if (!p->jobs[i].in || !p->jobs[i].out)
			goto fail;
	}
	p->nth = ncpu > CPOOL_MAX_THREADS ? CPOOL_MAX_THREADS : (int)ncpu;
	for (int i = 0; i < p->nth; i++) {
		if (pthread_create(&p->th[i], NULL, compress_worker, p)) {
			p->nth = i;
			break;
		}
	}
	if (!p->nth)
		goto fail;
	q->cpool = p;
	return 0;
fail:
	for (int i = 0; i < CPOOL_JOBS; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	free(p);
	return 0;	/* fall back to compressing inline */
}

/* Wait for the oldest job and store its cluster. */
static int compress_complete_head(struct qcow2 *q)
{
	struct qcow2_cpool *p = q->cpool;
	struct qcow2_cjob *j = &p->jobs[p->head % CPOOL_JOBS];
	int ret;

	pthread_mutex_lock(&p->mu);
	while (j->state != CJOB_DONE)
		pthread_cond_wait(&p->cv_done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	ret = qcow2_place_compressed(q, j->off, j->in, j->out, j->out_len);
	pthread_mutex_lock(&p->mu);
	j->state = CJOB_FREE;
	p->head++;
	pthread_mutex_unlock(&p->mu);
	return ret;
}

int qcow2_compress_drain(struct qcow2 *q)
{
	int ret = 0, r;

	if (!q->cpool || q->in_drain)
		return 0;
	q->in_drain = true;
	while (q->cpool->head != q->cpool->tail) {
		r = compress_complete_head(q);
		if (r < 0 && ret == 0)
			ret = r;
	}
	q->in_drain = false;
	return ret;
}

int qcow2_write_compressed(struct qcow2 *q, uint64_t off, const void *buf)
{
	struct qcow2_cpool *p;
	int ret = qcow2_begin_write(q);

	if (ret < 0)
		return ret;
	if (off & (q->cluster_size - 1) || off >= q->h.size)
		return -EINVAL;
	if (!q->cpool) {
		ret = compress_start(q);
		if (ret < 0)
			return ret;
	}
	p = q->cpool;
	if (!p) {
		size_t clen = qcow2_compress(q->h.compression_type, &q->zstd_cctx, &q->zs_def,
					     buf, q->cluster_size, q->cbuf, 2 * q->cluster_size);

		return qcow2_place_compressed(q, off, buf, q->cbuf, clen);
	}
	q->in_drain = true;
	while (p->tail - p->head >= CPOOL_JOBS || (p->head != p->tail &&
	       p->jobs[p->head % CPOOL_JOBS].state == CJOB_DONE)) {
		ret = compress_complete_head(q);
		if (ret < 0)
			break;
	}
	q->in_drain = false;
	if (ret < 0)
		return ret;
	struct qcow2_cjob *j = &p->jobs[p->tail % CPOOL_JOBS];

	memcpy(j->in, buf, q->cluster_size);
	j->off = off;
	pthread_mutex_lock(&p->mu);
	j->state = CJOB_QUEUED;
	p->tail++;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void qcow2_compress_stop(struct qcow2 *q)
{
	struct qcow2_cpool *p = q->cpool;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (int i = 0; i < CPOOL_JOBS; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_done);
	free(p);
	q->cpool = NULL;
}
