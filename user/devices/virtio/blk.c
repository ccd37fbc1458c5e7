/*
 * virtio-blk (VIRTIO 1.2 ch. 5.2): request validation and the data plane on
 * the disk's loop (an I/O thread or the main loop), served by a block backend
 * (block/backend.h: engine, werror, statistics) or by vhost-blk
 * (blk_vhost.c); on any transport (device.h). See design/virtio-blk.md.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_vhost.h"
#include "devices/virtio/device.h"
#include "lib/log.h"
#include "lib/loop.h"

struct blk_seg {
	uint64_t sector;
	uint32_t nr;
	uint32_t flags;
};

/* One guest request; a queue owns size of them, allocated at start. */
struct blk_req {
	struct blk_queue *q;
	struct blk_backend_req br;
	uint8_t *status;		/* last writable byte of the chain */
	uint32_t used_len;		/* reported in the used ring */
	uint32_t type;
	uint64_t offset;		/* bytes, for IN / OUT */
	const struct iovec *data;	/* IN / OUT payload, inside elem.iov */
	int data_cnt;
	unsigned int nr_segs, seg;	/* DISCARD / WRITE_ZEROES progress */
	struct blk_seg segs[VIRTIO_BLK_MAX_DISCARD_SEG];
	struct blk_req *next;		/* free list or parked list */
	struct virtq_elem elem;
};

struct blk_queue {
	struct virtio_blk *blk;
	unsigned int idx;
	struct virtq *vq;
	int kick_fd;
	bool watched;
	struct blk_req *reqs;
	unsigned int nr_reqs;
	struct blk_req *free;
	unsigned int inflight;		/* popped, not pushed back */
	bool pushed;			/* used buffers since the last notify */
	bool starved;			/* stopped popping: no free request */
};

struct virtio_blk {
	char name[32];
	const struct machine_services *ms;
	struct virtio_blk_conf conf;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct blk_backend *be;
	bool own_be;			/* made here (conf->be NULL): freed here */
	struct loop *loop;		/* where the disk is served; NULL: caller drives */
	bool on_iothread;
	struct virtio_dev vdev;		/* what the transport sees */
	uint8_t config[VIRTIO_BLK_CFG_SIZE];
	uint64_t features;		/* offered */
	uint64_t negotiated;
	uint64_t capacity;		/* 512-byte sectors */

	/*
	 * Every handler runs under lock (recursive: a request failing inline
	 * completes inside the submit), and the data path also under the
	 * backend's engine lock, taken first; backend callbacks come with the
	 * engine lock held and take lock.
	 */
	pthread_mutex_t lock;
	bool running;
	unsigned int nr_queues;
	struct blk_queue queues[VIRTIO_BLK_MAX_QUEUES];

	/* Guest mistakes are logged once per kind. */
	unsigned int logged;

	/* accel=vhost: the kernel serves the queues (blk_vhost.c). */
	struct blk_vhost *vhost;
};

enum blk_log {
	BLK_LOG_NO_STATUS = 1u << 0,
	BLK_LOG_SHORT_HDR = 1u << 1,
	BLK_LOG_RANGE = 1u << 2,
	BLK_LOG_ALIGN = 1u << 3,
	BLK_LOG_RO = 1u << 4,
	BLK_LOG_UNSUPP = 1u << 5,
	BLK_LOG_SEGS = 1u << 6,
	BLK_LOG_IO = 1u << 7,
	BLK_LOG_BROKEN = 1u << 8,
};

static bool blk_log_first(struct virtio_blk *blk, enum blk_log what)
{
	if (blk->logged & what)
		return false;
	blk->logged |= what;
	return true;
}

static void blk_submit(struct blk_req *req);

/* ---- completion ---- */

static void blk_req_release(struct blk_req *req)
{
	struct blk_queue *q = req->q;

	q->inflight--;
	req->next = q->free;
	q->free = req;
}

static void blk_req_complete(struct blk_req *req, uint8_t status)
{
	struct blk_queue *q = req->q;
	struct virtio_blk *blk = q->blk;

	if (req->status)
		*req->status = status;
	if (blk->running && q->vq) {
		if (status != VIRTIO_BLK_S_OK && req->type != VIRTIO_BLK_T_GET_ID)
			req->used_len = req->status ? 1 : 0;
		if (virtq_push(q->vq, &req->elem, req->used_len) == 0)
			q->pushed = true;
	}
	blk_req_release(req);
}

static void blk_req_done(struct blk_backend_req *br, int ret)
{
	struct blk_req *req = br->opaque;
	struct virtio_blk *blk = req->q->blk;

	pthread_mutex_lock(&blk->lock);
	/* Discard is a hint: a file system that cannot punch holes is no error. */
	if (ret == -ENOTSUP && req->type == VIRTIO_BLK_T_DISCARD)
		ret = 0;
	if (ret == 0 && req->nr_segs && ++req->seg < req->nr_segs)
		blk_submit(req);
	else	/* the backend logged a failure and applied werror= */
		blk_req_complete(req, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
	pthread_mutex_unlock(&blk->lock);
}

/* Build the block request for the request's current step and submit it. */
static void blk_submit(struct blk_req *req)
{
	struct virtio_blk *blk = req->q->blk;
	struct blk_backend_req *br = &req->br;

	br->flags = 0;
	br->offset = 0;
	br->len = 0;
	br->iov = NULL;
	br->iovcnt = 0;
	br->done = blk_req_done;
	br->opaque = req;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		br->op = req->type == VIRTIO_BLK_T_IN ? BLOCK_OP_READ : BLOCK_OP_WRITE;
		br->offset = req->offset;
		br->iov = req->data;
		br->iovcnt = req->data_cnt;
		break;
	case VIRTIO_BLK_T_FLUSH:
		br->op = BLOCK_OP_FLUSH;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		const struct blk_seg *s = &req->segs[req->seg];

		br->offset = s->sector * BLOCK_SECTOR_SIZE;
		br->len = (uint64_t)s->nr * BLOCK_SECTOR_SIZE;
		if (req->type == VIRTIO_BLK_T_DISCARD) {
			br->op = BLOCK_OP_DISCARD;
		} else {
			br->op = BLOCK_OP_WRITE_ZEROES;
			if ((s->flags & VIRTIO_BLK_WZ_F_UNMAP) && blk->conf.discard)
				br->flags = BLOCK_REQ_MAY_UNMAP;
		}
		break;
	}
	}
	blk_backend_submit(blk->be, br);
}

/* ---- request parsing ---- */

/*
 * The status is the last byte the device may write (ch. 5.2.6); cut it off
 * the writable iovecs, which then describe only the payload.
 */
static bool blk_take_status(struct blk_req *req, unsigned int *in_cnt)
{
	struct virtq_elem *e = &req->elem;
	unsigned int i = e->out_num + e->in_num;

	while (i > e->out_num && e->iov[i - 1].iov_len == 0)
		i--;
	if (i == e->out_num)
		return false;
	e->iov[i - 1].iov_len--;
	req->status = (uint8_t *)e->iov[i - 1].iov_base + e->iov[i - 1].iov_len;
	if (e->iov[i - 1].iov_len == 0)
		i--;
	*in_cnt = i - e->out_num;
	return true;
}

/* The readable payload after the header, in place. */
static void blk_skip_header(struct blk_req *req)
{
	struct virtq_elem *e = &req->elem;
	size_t skip = VIRTIO_BLK_HDR_SIZE;
	unsigned int k = 0;

	while (k < e->out_num && skip >= e->iov[k].iov_len) {
		skip -= e->iov[k].iov_len;
		k++;
	}
	if (k < e->out_num) {
		e->iov[k].iov_base = (uint8_t *)e->iov[k].iov_base + skip;
		e->iov[k].iov_len -= skip;
	}
	req->data = e->iov + k;
	req->data_cnt = (int)(e->out_num - k);
}

static bool blk_range_ok(struct virtio_blk *blk, uint64_t sector, uint64_t sectors)
{
	return sector <= blk->capacity && sectors <= blk->capacity - sector;
}

static void blk_reject(struct blk_req *req, uint8_t status, enum blk_log kind,
		       const char *why, uint64_t sector)
{
	struct virtio_blk *blk = req->q->blk;

	if (blk_log_first(blk, kind))
		log_warn("%s: queue %u: %s (request type %u, sector %llu): %s", blk->name,
			 req->q->idx, why, req->type, (unsigned long long)sector,
			 status == VIRTIO_BLK_S_UNSUPP ? "unsupported" : "I/O error");
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		blk_backend_account_invalid(blk->be, BLOCK_OP_READ);
		break;
	case VIRTIO_BLK_T_OUT:
		blk_backend_account_invalid(blk->be, BLOCK_OP_WRITE);
		break;
	case VIRTIO_BLK_T_DISCARD:
		blk_backend_account_invalid(blk->be, BLOCK_OP_DISCARD);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_backend_account_invalid(blk->be, BLOCK_OP_WRITE_ZEROES);
		break;
	default:
		break;
	}
	blk_req_complete(req, status);
}

static void blk_start_rw(struct blk_req *req, uint64_t sector, unsigned int in_cnt)
{
	struct virtio_blk *blk = req->q->blk;
	struct virtq_elem *e = &req->elem;
	uint64_t len;

	if (req->type == VIRTIO_BLK_T_IN) {
		req->data = virtq_elem_in(e);
		req->data_cnt = (int)in_cnt;
		len = e->in_len - 1;
		req->used_len = e->in_len;
	} else {
		if (blk->conf.read_only) {
			blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_RO, "write to a read-only disk",
				   sector);
			return;
		}
		blk_skip_header(req);
		len = e->out_len - VIRTIO_BLK_HDR_SIZE;
		req->used_len = 1;
	}
	if (len % BLOCK_SECTOR_SIZE) {
		blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_ALIGN,
			   "data length is not a multiple of 512", sector);
		return;
	}
	if (!blk_range_ok(blk, sector, len / BLOCK_SECTOR_SIZE)) {
		blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_RANGE, "beyond the end of the disk",
			   sector);
		return;
	}
	req->offset = sector * BLOCK_SECTOR_SIZE;
	blk_submit(req);
}

static void blk_start_segs(struct blk_req *req)
{
	struct virtio_blk *blk = req->q->blk;
	struct virtq_elem *e = &req->elem;
	uint32_t len = e->out_len - VIRTIO_BLK_HDR_SIZE;
	uint64_t feature = req->type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD
							     : VIRTIO_BLK_F_WRITE_ZEROES;
	uint8_t raw[VIRTIO_BLK_SEG_SIZE];
	unsigned int i;

	if (!(blk->negotiated & (1ull << feature))) {
		blk_reject(req, VIRTIO_BLK_S_UNSUPP, BLK_LOG_UNSUPP,
			   "discard/write-zeroes without the feature", 0);
		return;
	}
	if (blk->conf.read_only) {
		blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_RO, "write to a read-only disk", 0);
		return;
	}
	if (len == 0 || len % VIRTIO_BLK_SEG_SIZE ||
	    len / VIRTIO_BLK_SEG_SIZE > VIRTIO_BLK_MAX_DISCARD_SEG) {
		blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_SEGS,
			   "bad discard/write-zeroes segment count", 0);
		return;
	}
	req->nr_segs = len / VIRTIO_BLK_SEG_SIZE;
	for (i = 0; i < req->nr_segs; i++) {
		struct blk_seg *s = &req->segs[i];
		uint64_t sector;
		uint32_t v;

		block_iov_to_buf(e->iov, (int)e->out_num,
				 VIRTIO_BLK_HDR_SIZE + i * VIRTIO_BLK_SEG_SIZE, raw, sizeof(raw));
		memcpy(&sector, raw, 8);
		s->sector = le64toh(sector);
		memcpy(&v, raw + 8, 4);
		s->nr = le32toh(v);
		memcpy(&v, raw + 12, 4);
		s->flags = le32toh(v);
		if ((s->flags & ~VIRTIO_BLK_WZ_F_UNMAP) ||
		    (req->type == VIRTIO_BLK_T_DISCARD && s->flags)) {
			blk_reject(req, VIRTIO_BLK_S_UNSUPP, BLK_LOG_SEGS,
				   "unknown segment flags", s->sector);
			return;
		}
		if (s->nr > VIRTIO_BLK_MAX_DISCARD_SECTORS) {
			blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_SEGS,
				   "segment larger than the advertised maximum", s->sector);
			return;
		}
		if (!blk_range_ok(blk, s->sector, s->nr)) {
			blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_RANGE,
				   "beyond the end of the disk", s->sector);
			return;
		}
	}
	req->used_len = 1;
	if (req->type == VIRTIO_BLK_T_DISCARD && !blk->conf.discard) {
		blk_req_complete(req, VIRTIO_BLK_S_OK);	/* discard=ignore */
		return;
	}
	req->seg = 0;
	blk_submit(req);
}

static void blk_get_id(struct blk_req *req, unsigned int in_cnt)
{
	struct virtio_blk *blk = req->q->blk;
	struct virtq_elem *e = &req->elem;
	size_t n = e->in_len - 1;

	if (n > VIRTIO_BLK_ID_BYTES)
		n = VIRTIO_BLK_ID_BYTES;
	block_iov_from_buf(virtq_elem_in(e), (int)in_cnt, 0, blk->serial, n);
	req->used_len = (uint32_t)n + 1;
	blk_req_complete(req, VIRTIO_BLK_S_OK);
}

/* A popped chain: check its layout and header, then hand it on. */
static void blk_req_start(struct blk_req *req)
{
	struct virtio_blk *blk = req->q->blk;
	struct virtq_elem *e = &req->elem;
	uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
	unsigned int in_cnt = 0;
	uint64_t sector;
	uint32_t type;

	req->status = NULL;
	req->used_len = 0;
	req->nr_segs = 0;
	req->seg = 0;
	req->type = UINT32_MAX;
	if (!blk_take_status(req, &in_cnt)) {
		if (blk_log_first(blk, BLK_LOG_NO_STATUS))
			log_warn("%s: queue %u: request %u has no writable status byte; "
				 "returned unanswered", blk->name, req->q->idx, e->id);
		blk_req_complete(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (e->out_len < VIRTIO_BLK_HDR_SIZE) {
		blk_reject(req, VIRTIO_BLK_S_IOERR, BLK_LOG_SHORT_HDR,
			   "readable part shorter than the 16-byte header", 0);
		return;
	}
	block_iov_to_buf(e->iov, (int)e->out_num, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	req->type = le32toh(type);
	sector = le64toh(sector);
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		blk_start_rw(req, sector, in_cnt);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (blk->conf.read_only) {
			req->used_len = 1;
			blk_req_complete(req, VIRTIO_BLK_S_OK);
			break;
		}
		req->used_len = 1;
		blk_submit(req);
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(req, in_cnt);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk_start_segs(req);
		break;
	default:
		blk_reject(req, VIRTIO_BLK_S_UNSUPP, BLK_LOG_UNSUPP, "unknown request type",
			   sector);
		break;
	}
}

/* ---- queue service ---- */

static void blk_queue_broken(struct blk_queue *q)
{
	struct virtio_blk *blk = q->blk;

	if (blk_log_first(blk, BLK_LOG_BROKEN))
		virtio_dev_set_broken(&blk->vdev, "a virtqueue broke the ring rules");
}

/* Pop every available chain and submit it; one batch for the I/O engine. */
static void blk_queue_process(struct blk_queue *q)
{
	struct virtio_blk *blk = q->blk;
	int ret;

	if (!q->vq || virtq_is_broken(q->vq))
		return;
	q->starved = false;
	blk_backend_plug(blk->be);
	for (;;) {
		virtq_disable_notify(q->vq);
		while (q->free) {
			struct blk_req *req = q->free;

			ret = virtq_pop(q->vq, &req->elem);
			if (ret < 0) {
				blk_queue_broken(q);
				goto out;
			}
			if (ret == 0)
				break;
			q->free = req->next;
			q->inflight++;
			blk_req_start(req);
		}
		if (!q->free) {
			/* Completions make room; they pop again (notify stays off). */
			q->starved = true;
			break;
		}
		if (!virtq_enable_notify(q->vq))
			break;
	}
out:
	blk_backend_unplug(blk->be);
}

static void blk_notify_pending(struct virtio_blk *blk)
{
	unsigned int i;

	for (i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		if (q->pushed) {
			q->pushed = false;
			virtio_dev_notify(&blk->vdev, i);
		}
	}
}

/* The backend finished a round of completions: one notify, and room for more. */
static void blk_batch_done(void *opaque)
{
	struct virtio_blk *blk = opaque;
	unsigned int i;

	pthread_mutex_lock(&blk->lock);
	for (i = 0; i < blk->nr_queues; i++)
		if (blk->running && blk->queues[i].starved && blk->queues[i].free)
			blk_queue_process(&blk->queues[i]);
	blk_notify_pending(blk);
	pthread_mutex_unlock(&blk->lock);
}

/* werror=stop parked a request: the machine pauses, management hears of it. */
static void blk_io_error(void *opaque, bool write, int err)
{
	struct virtio_blk *blk = opaque;

	if (blk->conf.on_error)
		blk->conf.on_error(blk->conf.on_error_opaque, blk->name, write, err);
	if (blk->ms && blk->ms->request)
		machine_request(blk->ms, MACHINE_PAUSE);
}

static const struct blk_backend_ops blk_backend_ops = {
	.batch_done = blk_batch_done,
	.io_error = blk_io_error,
};

static void blk_on_kick(void *opaque, uint32_t events)
{
	struct blk_queue *q = opaque;
	struct virtio_blk *blk = q->blk;
	uint64_t cnt;

	blk_backend_lock(blk->be);
	pthread_mutex_lock(&blk->lock);
	if (blk->running && q->watched) {
		if (read(q->kick_fd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: a spurious wakeup; look at the ring anyway */
		}
		blk_queue_process(q);
		blk_notify_pending(blk);
	}
	pthread_mutex_unlock(&blk->lock);
	blk_backend_unlock(blk->be);
}

void virtio_blk_kick(struct virtio_blk *blk, unsigned int idx)
{
	blk_backend_lock(blk->be);
	pthread_mutex_lock(&blk->lock);
	if (blk->running && idx < blk->nr_queues) {
		blk_queue_process(&blk->queues[idx]);
		blk_notify_pending(blk);
	}
	pthread_mutex_unlock(&blk->lock);
	blk_backend_unlock(blk->be);
}

void virtio_blk_wait(struct virtio_blk *blk)
{
	blk_backend_lock(blk->be);
	pthread_mutex_lock(&blk->lock);
	blk_backend_drain(blk->be);
	blk_notify_pending(blk);
	pthread_mutex_unlock(&blk->lock);
	blk_backend_unlock(blk->be);
}

/* ---- werror=stop ---- */

void virtio_blk_resume(struct virtio_blk *blk)
{
	blk_backend_resume(blk->be);
}

unsigned int virtio_blk_parked(struct virtio_blk *blk)
{
	return blk_backend_parked(blk->be);
}

struct blk_backend *virtio_blk_backend(struct virtio_blk *blk)
{
	return blk->be;
}

/* ---- configuration and lifecycle ---- */

static void blk_put32(uint8_t *cfg, unsigned int off, uint32_t v)
{
	v = htole32(v);
	memcpy(cfg + off, &v, 4);
}

static void blk_config_build(struct virtio_blk *blk)
{
	uint64_t cap = htole64(blk->capacity);
	uint16_t nq = htole16((uint16_t)blk->nr_queues);
	uint32_t align = 4096, cluster = blk_backend_cluster_size(blk->be);

	memset(blk->config, 0, sizeof(blk->config));
	memcpy(blk->config + VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
	blk_put32(blk->config, VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	blk_put32(blk->config, VIRTIO_BLK_CFG_BLK_SIZE, BLOCK_SECTOR_SIZE);
	memcpy(blk->config + VIRTIO_BLK_CFG_NUM_QUEUES, &nq, 2);
	/* Freeing space works in whole clusters: discard in their granularity. */
	if (cluster > align && cluster <= (1u << 21))
		align = cluster;
	blk_put32(blk->config, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS,
		  VIRTIO_BLK_MAX_DISCARD_SECTORS);
	blk_put32(blk->config, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG);
	blk_put32(blk->config, VIRTIO_BLK_CFG_DISCARD_ALIGN, align / BLOCK_SECTOR_SIZE);
	blk_put32(blk->config, VIRTIO_BLK_CFG_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS);
	blk_put32(blk->config, VIRTIO_BLK_CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_DISCARD_SEG);
	blk->config[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = blk->conf.discard ? 1 : 0;
}

static const struct virtio_dev_ops blk_ops;

/* conf->be NULL: a backend of the device's own over conf->bd (tests, fuzzing). */
static struct blk_backend *blk_backend_make(struct virtio_blk *blk,
					    const struct virtio_blk_conf *conf)
{
	struct blk_backend_conf bc = {
		.name = blk->name,
		.bd = conf->bd,
		.read_only = conf->read_only,
		.discard = conf->discard,
		.werror = conf->werror == VIRTIO_BLK_WERROR_STOP ? BLK_ERROR_STOP
								 : BLK_ERROR_REPORT,
		.rerror = BLK_ERROR_REPORT,
		.loop = blk->loop,
		.iothread = blk->on_iothread,
	};

	return blk_backend_new(&bc);
}

static void blk_free_struct(struct virtio_blk *blk)
{
	if (blk->own_be)
		blk_backend_free(blk->be);
	pthread_mutex_destroy(&blk->lock);
	free(blk);
}

struct virtio_blk *virtio_blk_create(const struct machine_services *ms,
				     const struct virtio_blk_conf *conf)
{
	pthread_mutexattr_t attr;
	uint64_t withhold = 0;
	struct virtio_blk *blk;
	size_t slen;

	if ((!conf->bd && !conf->be) || conf->num_queues < 1 ||
	    conf->num_queues > VIRTIO_BLK_MAX_QUEUES) {
		log_err("%s: bad virtio-blk configuration (%u queues)",
			conf->name ? conf->name : "virtio-blk", conf->num_queues);
		return NULL;
	}
	slen = conf->serial ? strlen(conf->serial) : 0;
	if (slen > VIRTIO_BLK_ID_BYTES) {
		log_err("%s: serial '%s' is longer than %d bytes", conf->name, conf->serial,
			VIRTIO_BLK_ID_BYTES);
		return NULL;
	}
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return NULL;
	snprintf(blk->name, sizeof(blk->name), "%s", conf->name ? conf->name : "virtio-blk");
	blk->ms = ms;
	blk->conf = *conf;
	blk->conf.name = blk->name;
	blk->conf.serial = NULL;
	if (slen)
		memcpy(blk->serial, conf->serial, slen);
	blk->nr_queues = conf->num_queues;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&blk->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (conf->iothread) {
		blk->loop = machine_iothread(ms, conf->iothread);
		if (!blk->loop) {
			log_err("%s: no I/O thread '%s'", blk->name, conf->iothread);
			blk_free_struct(blk);
			return NULL;
		}
		blk->on_iothread = true;
	} else {
		blk->loop = ms ? ms->loop : NULL;
	}
	if (conf->be) {
		blk->be = conf->be;
		blk->conf.read_only = blk_backend_read_only(conf->be);
		blk->conf.discard = blk_backend_discard(conf->be);
	} else {
		blk->be = blk_backend_make(blk, conf);
		if (!blk->be) {
			blk_free_struct(blk);
			return NULL;
		}
		blk->own_be = true;
	}
	blk_backend_set_ops(blk->be, &blk_backend_ops, blk);
	blk->capacity = blk_backend_size(blk->be) / BLOCK_SECTOR_SIZE;
	blk->features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
			(1ull << VIRTIO_BLK_F_FLUSH);
	if (blk->conf.read_only)
		blk->features |= 1ull << VIRTIO_BLK_F_RO;
	else
		blk->features |= (1ull << VIRTIO_BLK_F_DISCARD) |
				 (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	if (conf->num_queues > 1)
		blk->features |= 1ull << VIRTIO_BLK_F_MQ;
	blk_config_build(blk);
	if (conf->vhost) {
		struct blk_vhost_conf vc = {
			.name = blk->name, .vdev = &blk->vdev, .nr_queues = blk->nr_queues,
			.read_only = blk->conf.read_only, .serial = (const uint8_t *)blk->serial,
			.vhost_fd = conf->vhost_fd, .backend_fd = conf->vhost_backend_fd,
			.vhost_ioctl = conf->vhost_ioctl,
		};

		blk->vhost = blk_vhost_new(ms, &vc, &withhold);
		if (!blk->vhost) {
			blk_backend_set_ops(blk->be, NULL, NULL);
			blk_free_struct(blk);
			return NULL;
		}
	}
	blk->vdev = (struct virtio_dev){
		.name = blk->name,
		.type = VIRTIO_ID_BLOCK,
		.features = blk->features,
		.withhold_features = withhold,
		.nr_queues = blk->nr_queues,
		.queue_size = VIRTIO_BLK_QUEUE_SIZE,
		.config_size = VIRTIO_BLK_CFG_SIZE,
		.ops = &blk_ops,
	};
	return blk;
}

struct virtio_dev *virtio_blk_vdev(struct virtio_blk *blk)
{
	return &blk->vdev;
}

uint64_t virtio_blk_features(const struct virtio_blk *blk)
{
	return blk->features;
}

void virtio_blk_config_read(struct virtio_blk *blk, uint32_t off, void *data,
			    unsigned int size)
{
	memset(data, 0, size);
	if (off < sizeof(blk->config)) {
		size_t n = sizeof(blk->config) - off;

		memcpy(data, blk->config + off, n < size ? n : size);
	}
}

static void blk_queue_free_reqs(struct blk_queue *q)
{
	free(q->reqs);
	q->reqs = NULL;
	q->free = NULL;
	q->nr_reqs = 0;
	q->inflight = 0;
	q->starved = false;
	q->pushed = false;
}

static int blk_queue_alloc_reqs(struct blk_queue *q)
{
	unsigned int i, n = q->vq->cfg.size;

	q->reqs = calloc(n, sizeof(*q->reqs));
	if (!q->reqs)
		return -ENOMEM;
	q->nr_reqs = n;
	for (i = 0; i < n; i++) {
		q->reqs[i].q = q;
		q->reqs[i].next = i + 1 < n ? &q->reqs[i + 1] : NULL;
	}
	q->free = &q->reqs[0];
	return 0;
}

static void blk_unwatch_locked(struct virtio_blk *blk)
{
	unsigned int i;

	for (i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		if (q->watched)
			loop_del_fd(blk->loop, q->kick_fd);
		q->watched = false;
	}
}

/* Serve vqs[0..nr_queues) through the backend; kicks come on the transport's fds. */
static int blk_core_start(struct virtio_blk *blk, uint64_t features, struct virtq *const *vqs)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&blk->lock);
	blk->negotiated = features & blk->features;
	blk->logged = 0;
	for (i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		q->blk = blk;
		q->idx = i;
		q->vq = vqs[i];
		q->kick_fd = q->vq ? virtio_dev_kick_fd(&blk->vdev, i) : -1;
		if (q->vq) {
			ret = blk_queue_alloc_reqs(q);
			if (ret)
				goto fail;
		}
	}
	blk->running = true;
	blk_backend_set_stop_enabled(blk->be, true);
	if (blk->loop) {
		for (i = 0; i < blk->nr_queues; i++) {
			struct blk_queue *q = &blk->queues[i];

			if (!q->vq || q->kick_fd < 0)
				continue;
			ret = loop_add_fd(blk->loop, q->kick_fd, EPOLLIN, blk_on_kick, q);
			if (ret)
				goto fail;
			q->watched = true;
		}
	}
	pthread_mutex_unlock(&blk->lock);
	return 0;
fail:
	log_err("%s: cannot start serving the queues: %s", blk->name, strerror(-ret));
	blk->running = false;
	blk_unwatch_locked(blk);
	for (i = 0; i < blk->nr_queues; i++)
		blk_queue_free_reqs(&blk->queues[i]);
	pthread_mutex_unlock(&blk->lock);
	return ret;
}

/* Both locks held. */
static void blk_stop_locked(struct virtio_blk *blk)
{
	unsigned int i;

	blk->running = false;
	blk_unwatch_locked(blk);
	/*
	 * In-flight requests finish here; with running false nothing is pushed,
	 * and a failure no longer waits for cont: a reset drops what was parked.
	 */
	blk_backend_set_stop_enabled(blk->be, false);
	blk_backend_drain(blk->be);
	blk_backend_drop_parked(blk->be);
	for (i = 0; i < blk->nr_queues; i++) {
		blk->queues[i].vq = NULL;
		blk_queue_free_reqs(&blk->queues[i]);
	}
}

static void blk_stop_now(struct virtio_blk *blk)
{
	blk_backend_lock(blk->be);
	pthread_mutex_lock(&blk->lock);
	blk_stop_locked(blk);
	pthread_mutex_unlock(&blk->lock);
	blk_backend_unlock(blk->be);
}

static void blk_stop_on_loop(void *opaque)
{
	blk_stop_now(opaque);
}

static void blk_core_stop(struct virtio_blk *blk)
{
	/*
	 * An I/O thread stops its own disks, so its handlers never see a queue
	 * go away under them; the caller (a vCPU or the main thread) waits. A
	 * main-loop disk is stopped here, under the engine lock.
	 */
	if (blk->on_iothread && !loop_call_wait(blk->loop, blk_stop_on_loop, blk))
		return;
	blk_stop_now(blk);
}

int virtio_blk_vhost_stats(struct virtio_blk *blk, struct vhost_blk_stats *stats)
{
	if (!blk->vhost)
		return -ENODEV;
	return blk_vhost_stats(blk->vhost, stats);
}

/* ---- the device interface ---- */

static void blk_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    unsigned int size)
{
	virtio_blk_config_read(container_of(vdev, struct virtio_blk, vdev), off, data, size);
}

static void blk_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
			     unsigned int size)
{
	/* Nothing is writable without CONFIG_WCE, which keel does not offer. */
}

static int blk_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	struct virtio_blk *blk = container_of(vdev, struct virtio_blk, vdev);
	int ret;

	if (!blk->vhost)
		return blk_core_start(blk, features, vqs);
	ret = blk_vhost_start(blk->vhost, features, vqs);
	if (ret == 0)
		blk->negotiated = features & blk->features;
	return ret;
}

static void blk_stop(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = container_of(vdev, struct virtio_blk, vdev);

	if (blk->vhost) {
		blk_vhost_stop(blk->vhost);
		return;
	}
	blk_core_stop(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.start = blk_start,
	.stop = blk_stop,
};

void virtio_blk_free(struct virtio_blk *blk)
{
	if (!blk)
		return;
	/* The transport still bound stops the device and goes first. */
	virtio_dev_detach(&blk->vdev);
	blk_vhost_free(blk->vhost);
	blk->vhost = NULL;
	blk_core_stop(blk);
	/*
	 * A handler of the I/O thread may have been dispatched just before its fd
	 * went away: once a call queued now has run, none can still be running.
	 */
	if (blk->on_iothread)
		loop_call_wait(blk->loop, NULL, NULL);
	/* A backend given by the caller outlives the device: it no longer calls us. */
	blk_backend_lock(blk->be);
	blk_backend_set_ops(blk->be, NULL, NULL);
	blk_backend_unlock(blk->be);
	blk_free_struct(blk);
}
