/* keel-img convert: copy one or more images (concatenated) into a new image of any
 * writable format, sparse, pipelined on the shared I/O engine; -c compresses. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/keel-img/keel_img.h"

#define CONVERT_SLOTS_MAX	64
#define CONVERT_CHUNK	(2u << 20)

enum convert_stage { CONVERT_IDLE, CONVERT_READING, CONVERT_READ_DONE, CONVERT_WRITING, CONVERT_WRITE_DONE };

struct convert;

struct convert_slot {
	struct block_req req;
	struct iovec iov;
	struct convert *cv;
	uint8_t *buf;
	uint8_t *cmp;		/* backing content, -B only */
	uint64_t off;		/* in the output */
	size_t len;
	size_t cursor;		/* next byte of buf to write */
	enum convert_stage stage;
	struct convert_slot *next_ready;
};

struct convert {
	struct block_dev **src;
	uint64_t *src_base;
	int nsrc;
	struct block_dev *out;
	struct aio_ctx *ctx;
	uint64_t total;
	uint64_t next_off;	/* planning cursor */
	uint64_t done_bytes;
	size_t sparse;		/* granule for zero detection, 0 = write everything */
	size_t chunk;
	bool fresh;		/* output reads as zeroes everywhere before we write */
	bool progress;
	double last_pct;
	int err;
	int busy;		/* slots with a request in flight */
	struct convert_slot slots[CONVERT_SLOTS_MAX];
	int nslots;
	struct convert_slot *ready;	/* completed requests waiting for the main loop */
};

static void convert_progress(struct convert *cv)
{
	double pct;

	if (!cv->progress || !cv->total)
		return;
	pct = cv->done_bytes * 100.0 / cv->total;
	if (pct - cv->last_pct >= 1.0 || pct >= 100.0) {
		cv->last_pct = pct;
		kimg_progress(pct, false);
	}
}

static int convert_src_index(struct convert *cv, uint64_t off)
{
	int i;

	for (i = cv->nsrc - 1; i > 0; i--)
		if (off >= cv->src_base[i])
			break;
	return i;
}

static void convert_done(struct block_req *req, int ret)
{
	struct convert_slot *s = req->opaque;
	struct convert *cv = s->cv;

	cv->busy--;
	if (ret < 0 && !cv->err) {
		kimg_err("error while %s at byte %llu: %s",
			 s->stage == CONVERT_READING ? "reading" : "writing",
			 (unsigned long long)req->offset, strerror(-ret));
		cv->err = ret;
	}
	s->stage = s->stage == CONVERT_READING ? CONVERT_READ_DONE : CONVERT_WRITE_DONE;
	s->next_ready = cv->ready;
	cv->ready = s;
}

/* Does this granule need writing? */
static bool convert_granule_needed(struct convert_slot *s, size_t off, size_t len)
{
	if (s->cmp)
		return memcmp(s->buf + off, s->cmp + off, len) != 0;
	if (!s->cv->fresh)
		return true;
	return !block_buf_is_zero(s->buf + off, len);
}

/* Start the next write of the slot's buffer, skipping granules that need none.
 * Returns false when the slot has nothing more to write. */
static bool convert_write_next(struct convert *cv, struct convert_slot *s)
{
	size_t g = cv->sparse, start, end;

	if (!g) {
		if (s->cursor >= s->len)
			return false;
		start = s->cursor;
		end = s->len;
	} else {
		start = s->cursor;
		while (start < s->len) {
			size_t n = s->len - start < g ? s->len - start : g;

			if (convert_granule_needed(s, start, n))
				break;
			start += n;
		}
		if (start >= s->len)
			return false;
		end = start;
		while (end < s->len) {
			size_t n = s->len - end < g ? s->len - end : g;

			if (!convert_granule_needed(s, end, n))
				break;
			end += n;
		}
	}
	s->cursor = end;
	memset(&s->req, 0, offsetof(struct block_req, bd));
	s->iov.iov_base = s->buf + start;
	s->iov.iov_len = end - start;
	s->req.op = BLOCK_OP_WRITE;
	s->req.offset = s->off + start;
	s->req.iov = &s->iov;
	s->req.iovcnt = 1;
	s->req.done = convert_done;
	s->req.opaque = s;
	s->stage = CONVERT_WRITING;
	cv->busy++;
	block_submit(cv->out, &s->req);
	return true;
}

/* Plan the next piece of work for an idle slot. Returns false when none is left. */
static bool convert_start(struct convert *cv, struct convert_slot *s)
{
	while (cv->next_off < cv->total && !cv->err) {
		int i = convert_src_index(cv, cv->next_off);
		struct block_dev *src = cv->src[i];
		uint64_t local = cv->next_off - cv->src_base[i];
		uint64_t len = cv->chunk - (cv->next_off % cv->chunk), pnum;
		int st;

		if (len > src->size - local)
			len = src->size - local;
		st = block_status(src, local, len, &pnum, NULL);
		if (st < 0) {
			st = BLOCK_STATUS_DATA;
			pnum = len;
		}
		if ((st & BLOCK_STATUS_ZERO) && !s->cmp && cv->sparse) {
			uint64_t off = cv->next_off;

			cv->next_off += pnum;
			if (cv->fresh) {
				cv->done_bytes += pnum;
				convert_progress(cv);
				continue;
			}
			/* existing target (-n): zero it explicitly */
			memset(&s->req, 0, offsetof(struct block_req, bd));
			s->req.op = BLOCK_OP_WRITE_ZEROES;
			s->req.flags = BLOCK_REQ_MAY_UNMAP;
			s->req.offset = off;
			s->req.len = pnum;
			s->req.done = convert_done;
			s->req.opaque = s;
			s->off = off;
			s->len = pnum;
			s->cursor = pnum;
			s->stage = CONVERT_WRITING;
			cv->busy++;
			block_submit(cv->out, &s->req);
			return true;
		}
		s->off = cv->next_off;
		s->len = pnum;
		s->cursor = 0;
		cv->next_off += pnum;
		memset(&s->req, 0, offsetof(struct block_req, bd));
		s->iov.iov_base = s->buf;
		s->iov.iov_len = pnum;
		s->req.op = BLOCK_OP_READ;
		s->req.offset = local;
		s->req.iov = &s->iov;
		s->req.iovcnt = 1;
		s->req.done = convert_done;
		s->req.opaque = s;
		s->stage = CONVERT_READING;
		cv->busy++;
		block_submit(src, &s->req);
		return true;
	}
	return false;
}

static void convert_advance(struct convert *cv, struct convert_slot *s)
{
	int ret;

	if (cv->err)
		return;
	if (s->stage == CONVERT_READ_DONE) {
		if (s->cmp) {
			ret = block_read_backing(cv->out->backing, s->off, s->cmp, s->len);
			if (ret < 0) {
				kimg_err("error reading the backing file: %s", strerror(-ret));
				cv->err = ret;
				return;
			}
		}
		if (convert_write_next(cv, s))
			return;
	} else if (s->stage == CONVERT_WRITE_DONE && s->cursor < s->len) {
		if (convert_write_next(cv, s))
			return;
	}
	cv->done_bytes += s->len;
	convert_progress(cv);
	s->stage = CONVERT_IDLE;
	convert_start(cv, s);
}

static int convert_run(struct convert *cv)
{
	struct convert_slot *s;
	int i, n;

	aio_ctx_plug(cv->ctx);
	for (i = 0; i < cv->nslots; i++)
		if (!convert_start(cv, &cv->slots[i]))
			break;
	aio_ctx_unplug(cv->ctx);
	for (;;) {
		while (cv->ready) {
			s = cv->ready;
			cv->ready = s->next_ready;
			aio_ctx_plug(cv->ctx);
			convert_advance(cv, s);
			aio_ctx_unplug(cv->ctx);
		}
		if (!cv->busy)
			break;
		n = aio_ctx_wait(cv->ctx);
		if (n < 0) {
			cv->err = n;
			break;
		}
	}
	return cv->err;
}

/* Read [off, off+len) of the concatenated sources, synchronously. */
static int convert_read_sources(struct convert *cv, uint64_t off, uint8_t *buf, size_t len)
{
	while (len) {
		int i = convert_src_index(cv, off);
		uint64_t local = off - cv->src_base[i];
		size_t n = len;
		int ret;

		if (n > cv->src[i]->size - local)
			n = cv->src[i]->size - local;
		ret = block_pread(cv->src[i], local, buf, n);
		if (ret < 0)
			return ret;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int convert_compressed(struct convert *cv, uint32_t cluster)
{
	uint8_t *buf = block_alloc_aligned(cluster);
	uint64_t off;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (off = 0; off < cv->total && !ret; off += cluster) {
		size_t len = cv->total - off < cluster ? cv->total - off : cluster;
		uint64_t pnum;
		int i = convert_src_index(cv, off), st;

		st = block_status(cv->src[i], off - cv->src_base[i], len, &pnum, NULL);
		if (st >= 0 && (st & BLOCK_STATUS_ZERO) && pnum >= len)
			goto next;
		ret = convert_read_sources(cv, off, buf, len);
		if (ret < 0) {
			kimg_err("error while reading at byte %llu: %s", (unsigned long long)off,
				 strerror(-ret));
			break;
		}
		if (block_buf_is_zero(buf, len))
			goto next;
		/* the image's last cluster may be partial: pad it with zeroes */
		memset(buf + len, 0, cluster - len);
		ret = block_write_compressed(cv->out, off, buf, len);
		if (ret == -ENOTSUP) {
			kimg_err("Compression not supported for this file format");
			break;
		}
		if (ret < 0)
			kimg_err("error while compressing cluster at %llu: %s",
				 (unsigned long long)off, strerror(-ret));
next:
		cv->done_bytes = off + len;
		convert_progress(cv);
	}
	free(buf);
	return ret;
}

/* ---- convert -c on several threads (drivers with .compress) ---- */

#define CONVERT_PAR_BATCH 64

struct convert_par {
	struct convert *cv;
	uint32_t cluster;
	int n;				/* clusters in this batch */
	uint64_t off[CONVERT_PAR_BATCH];
	size_t len[CONVERT_PAR_BATCH];
	bool skip[CONVERT_PAR_BATCH];		/* all zero */
	long clen[CONVERT_PAR_BATCH];
	uint8_t *in, *out;		/* CONVERT_PAR_BATCH clusters, 2 * CONVERT_PAR_BATCH clusters */
	int next;			/* next cluster to compress (atomic) */
};

static void *convert_par_worker(void *opaque)
{
	struct convert_par *z = opaque;
	int i;

	while ((i = __atomic_fetch_add(&z->next, 1, __ATOMIC_RELAXED)) < z->n) {
		if (z->skip[i])
			continue;
		z->clen[i] = block_compress(z->cv->out, z->in + (size_t)i * z->cluster,
					    z->len[i], z->out + (size_t)i * 2 * z->cluster,
					    2 * (size_t)z->cluster);
	}
	return NULL;
}

static int convert_par_write_batch(struct convert_par *z)
{
	struct convert *cv = z->cv;
	int i, ret;

	for (i = 0; i < z->n; i++) {
		if (z->skip[i])
			continue;
		if (z->clen[i] == -ENOSPC)
			ret = block_pwrite(cv->out, z->off[i], z->in + (size_t)i * z->cluster,
					   z->len[i]);
		else if (z->clen[i] < 0)
			ret = (int)z->clen[i];
		else
			ret = block_write_precompressed(cv->out, z->off[i],
							z->out + (size_t)i * 2 * z->cluster,
							(size_t)z->clen[i]);
		if (ret < 0) {
			kimg_err("error while writing compressed cluster at %llu: %s",
				 (unsigned long long)z->off[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int convert_compressed_parallel(struct convert *cv, uint32_t cluster, int nthreads)
{
	struct convert_par z = { .cv = cv, .cluster = cluster };
	pthread_t tids[16];
	uint64_t off = 0, pnum;
	int i, t, ret = 0, st;

	z.in = block_alloc_aligned((size_t)CONVERT_PAR_BATCH * cluster);
	z.out = malloc((size_t)CONVERT_PAR_BATCH * 2 * cluster);
	if (!z.in || !z.out) {
		ret = -ENOMEM;
		goto out;
	}
	while (off < cv->total && !ret) {
		/* gather a batch: read on this thread, the page cache makes it cheap */
		for (z.n = 0; z.n < CONVERT_PAR_BATCH && off < cv->total; z.n++, off += cluster) {
			size_t len = cv->total - off < cluster ? cv->total - off : cluster;
			uint8_t *p = z.in + (size_t)z.n * cluster;

			i = convert_src_index(cv, off);
			z.off[z.n] = off;
			z.len[z.n] = len;
			z.skip[z.n] = false;
			st = block_status(cv->src[i], off - cv->src_base[i], len, &pnum, NULL);
			if (st >= 0 && (st & BLOCK_STATUS_ZERO) && pnum >= len) {
				z.skip[z.n] = true;
				continue;
			}
			ret = convert_read_sources(cv, off, p, len);
			if (ret < 0) {
				kimg_err("error while reading at byte %llu: %s",
					 (unsigned long long)off, strerror(-ret));
				goto out;
			}
			memset(p + len, 0, cluster - len);
			z.skip[z.n] = block_buf_is_zero(p, len);
		}
		z.next = 0;
		for (t = 0; t < nthreads - 1; t++)
			if (pthread_create(&tids[t], NULL, convert_par_worker, &z))
				break;
		convert_par_worker(&z);
		while (t > 0)
			pthread_join(tids[--t], NULL);
		ret = convert_par_write_batch(&z);
		cv->done_bytes = off < cv->total ? off : cv->total;
		convert_progress(cv);
	}
out:
	free(z.in);
	free(z.out);
	return ret;
}

static void convert_usage(void)
{
	fprintf(stderr, "usage: keel-img convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] "
		"[-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] "
		"[-o options] [-S sparse_size] [-m num] [-W] filename [filename2 [...]] "
		"output_filename\n");
}

int kimg_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "target-is-zero", no_argument, NULL, 'Z' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *ofmt = "raw", *backing = NULL, *backing_fmt = NULL, *out;
	/* as qemu-img: the target is not flushed unless asked (-t writeback/none) */
	enum block_cache cache = BLOCK_CACHE_UNSAFE, src_cache = BLOCK_CACHE_WRITEBACK;
	enum block_aio aio = BLOCK_AIO_URING;
	bool compress = false, quiet = false, no_create = false, target_zero = false;
	bool aio_set = false;
	struct block_opts opts;
	struct block_info info;
	struct convert *cv;
	uint64_t sparse = 4096, nslots = 8;
	int c, i, ret, rc = 1;

	block_opts_init(&opts);
	cv = calloc(1, sizeof(*cv));
	if (!cv)
		return 1;
	while ((c = getopt_long(argc, argv, "cpqnf:t:T:O:B:F:o:S:m:Wi:Uh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			compress = true;
			break;
		case 'p':
			cv->progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'n':
			no_create = true;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 't':
			if (kimg_parse_cache(optarg, &cache) < 0)
				goto out_free;
			break;
		case 'T':
			if (kimg_parse_cache(optarg, &src_cache) < 0)
				goto out_free;
			break;
		case 'O':
			ofmt = optarg;
			break;
		case 'B':
			backing = optarg;
			break;
		case 'F':
			backing_fmt = optarg;
			break;
		case 'o':
			if (block_opts_parse(&opts, optarg) < 0) {
				kimg_err("Invalid options: %s", optarg);
				goto out_free;
			}
			break;
		case 'S':
			if (block_parse_size(optarg, &sparse) < 0 || sparse % 512) {
				kimg_err("Invalid buffer size for sparse output specified");
				goto out_free;
			}
			break;
		case 'm':
			if (block_parse_size(optarg, &nslots) < 0 || !nslots ||
			    nslots > CONVERT_SLOTS_MAX) {
				kimg_err("Invalid number of parallel requests (1..%d)", CONVERT_SLOTS_MAX);
				goto out_free;
			}
			break;
		case 'i':
			if (kimg_parse_aio(optarg, &aio) < 0)
				goto out_free;
			aio_set = true;
			break;
		case 'Z':
			target_zero = true;
			break;
		case 'W':
		case 'U':
			break;
		default:
			convert_usage();
			goto out_free;
		}
	}
	if (quiet)
		cv->progress = false;
	/* Buffered writes through io_uring go to io-wq, which serializes writes to one
	 * file: with several requests in flight the thread pool copies faster. */
	if (!aio_set && cache != BLOCK_CACHE_NONE)
		aio = BLOCK_AIO_THREADS;
	if (argc - optind < 2) {
		kimg_err("Expecting image file name(s) and an output file name");
		convert_usage();
		goto out_free;
	}
	if (backing && no_create) {
		kimg_err("-B cannot be used with -n");
		goto out_free;
	}
	out = argv[argc - 1];
	cv->nsrc = argc - optind - 1;
	cv->src = calloc(cv->nsrc, sizeof(*cv->src));
	cv->src_base = calloc(cv->nsrc, sizeof(*cv->src_base));
	if (!cv->src || !cv->src_base)
		goto out_free;
	ret = aio_ctx_new(&cv->ctx, aio, 256);
	if (ret < 0) {
		kimg_err("cannot set up I/O: %s", strerror(-ret));
		goto out_free;
	}
	for (i = 0; i < cv->nsrc; i++) {
		if (kimg_open(&cv->src[i], argv[optind + i], fmt, false, src_cache, aio, false,
			      cv->ctx) < 0)
			goto out_close;
		cv->src_base[i] = cv->total;
		cv->total += cv->src[i]->size;
	}
	if (!no_create) {
		if (backing)
			block_opts_set(&opts, "backing_file", backing);
		if (backing_fmt)
			block_opts_set(&opts, "backing_fmt", backing_fmt);
		ret = block_create(ofmt, out, cv->total, &opts);
		if (ret < 0) {
			kimg_err("%s: error while creating the image: %s", out, strerror(-ret));
			goto out_close;
		}
	}
	if (kimg_open(&cv->out, out, no_create ? NULL : ofmt, true, cache, aio, false,
		      cv->ctx) < 0)
		goto out_close;
	if (no_create && cv->out->size < cv->total) {
		kimg_err("output file is smaller than the input (%llu < %llu bytes)",
			 (unsigned long long)cv->out->size, (unsigned long long)cv->total);
		goto out_close;
	}
	cv->fresh = !no_create || target_zero;
	cv->sparse = sparse;
	cv->chunk = CONVERT_CHUNK;
	if (block_get_info(cv->out, &info) == 0 && info.cluster_size > cv->chunk)
		cv->chunk = info.cluster_size;
	if (cv->progress)
		kimg_progress(0, false);
	if (compress) {
		if (!info.cluster_size) {
			kimg_err("Compression not supported for this file format");
			goto out_close;
		}
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		if (block_can_compress_parallel(cv->out) && ncpu > 1)
			ret = convert_compressed_parallel(cv, info.cluster_size,
						     ncpu > 16 ? 16 : (int)ncpu);
		else
			ret = convert_compressed(cv, info.cluster_size);
	} else {
		cv->nslots = (int)nslots;
		for (i = 0; i < cv->nslots; i++) {
			cv->slots[i].cv = cv;
			cv->slots[i].buf = block_alloc_aligned(cv->chunk);
			if (!cv->slots[i].buf)
				goto out_close;
			if (backing) {
				cv->slots[i].cmp = block_alloc_aligned(cv->chunk);
				if (!cv->slots[i].cmp)
					goto out_close;
			}
		}
		if (backing && !cv->sparse)
			cv->sparse = 4096;
		ret = convert_run(cv);
	}
	if (!ret)
		ret = block_flush(cv->out);
	if (ret < 0) {
		kimg_err("error while writing %s: %s", out, strerror(-ret));
		goto out_close;
	}
	if (cv->progress)
		kimg_progress(100, true);
	rc = 0;
out_close:
	for (i = 0; i < cv->nslots; i++) {
		free(cv->slots[i].buf);
		free(cv->slots[i].cmp);
	}
	if (cv->out)
		block_close(cv->out);
	for (i = 0; i < cv->nsrc; i++)
		if (cv->src[i])
			block_close(cv->src[i]);
	aio_ctx_free(cv->ctx);
out_free:
	free(cv->src);
	free(cv->src_base);
	free(cv);
	block_opts_free(&opts);
	return rc;
}
