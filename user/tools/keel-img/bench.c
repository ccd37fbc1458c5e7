/* keel-img bench: queue-depth I/O benchmark on one image, qemu-img bench's workload
 * (count, depth, size, step, offset, flush interval) plus -r for random offsets. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

struct bench;

struct bench_slot {
	struct block_req req;
	struct iovec iov;
	struct bench *b;
};

struct bench {
	struct block_dev *bd;
	struct aio_ctx *ctx;
	bool write, random, drain;
	uint64_t count, issued, completed;
	uint64_t size, step, offset, image_size;
	uint64_t flush_interval, since_flush;
	bool flushing;
	uint64_t rng;
	int inflight;
	int err;
	struct bench_slot *slots;
	struct bench_slot **idle;
	int nidle;
	struct block_req flush_req;
};

static uint64_t bench_rand(struct bench *b)
{
	/* xorshift64: reproducible offsets, identical from run to run */
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

static uint64_t bench_next_offset(struct bench *b)
{
	uint64_t off;

	if (b->random)
		return bench_rand(b) % (b->image_size / b->size) * b->size;
	off = b->offset;
	b->offset += b->step;
	if (b->offset + b->size > b->image_size)
		b->offset = 0;
	return off;
}

static void bench_done(struct block_req *req, int ret)
{
	struct bench_slot *s = req->opaque;
	struct bench *b = s->b;

	if (ret < 0 && !b->err) {
		kimg_err("%s failed: %s", b->write ? "write" : "read", strerror(-ret));
		b->err = ret;
	}
	b->inflight--;
	b->completed++;
	b->idle[b->nidle++] = s;
}

static void bench_flush_done(struct block_req *req, int ret)
{
	struct bench *b = req->opaque;

	if (ret < 0 && !b->err) {
		kimg_err("flush failed: %s", strerror(-ret));
		b->err = ret;
	}
	b->flushing = false;
	b->inflight--;
}

static void bench_issue(struct bench *b)
{
	struct bench_slot *s;

	aio_ctx_plug(b->ctx);
	while (b->nidle && b->issued < b->count && !b->err && !b->flushing) {
		if (b->flush_interval && b->since_flush >= b->flush_interval) {
			if (b->drain && b->inflight)
				break;
			b->since_flush = 0;
			b->flushing = b->drain;
			memset(&b->flush_req, 0, offsetof(struct block_req, bd));
			b->flush_req.op = BLOCK_OP_FLUSH;
			b->flush_req.done = bench_flush_done;
			b->flush_req.opaque = b;
			b->inflight++;
			block_submit(b->bd, &b->flush_req);
			continue;
		}
		s = b->idle[--b->nidle];
		memset(&s->req, 0, offsetof(struct block_req, bd));
		s->req.op = b->write ? BLOCK_OP_WRITE : BLOCK_OP_READ;
		s->req.offset = bench_next_offset(b);
		s->req.iov = &s->iov;
		s->req.iovcnt = 1;
		s->req.done = bench_done;
		s->req.opaque = s;
		b->issued++;
		b->since_flush++;
		b->inflight++;
		block_submit(b->bd, &s->req);
	}
	aio_ctx_unplug(b->ctx);
}

int kimg_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "flush-interval", required_argument, NULL, 'I' },
		{ "no-drain", no_argument, NULL, 'D' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum block_cache cache = BLOCK_CACHE_WRITEBACK;
	enum block_aio aio = BLOCK_AIO_URING;
	const char *fmt = NULL;
	struct bench b = { .count = 75000, .size = 4096, .drain = true, .rng = 0x9e3779b97f4a7c15 };
	uint64_t depth = 64, pattern = 0;
	bool quiet = false, step_set = false;
	uint8_t *bufs = NULL;
	double t0, t1;
	char *end;
	int c, i, rc = 1;

	while ((c = getopt_long(argc, argv, "c:d:f:i:no:qrs:S:t:wUh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			b.count = strtoull(optarg, &end, 0);
			if (*end || !b.count) {
				kimg_err("Invalid request count specified");
				return 1;
			}
			break;
		case 'd':
			depth = strtoull(optarg, &end, 0);
			if (*end || !depth || depth > 4096) {
				kimg_err("Invalid queue depth specified");
				return 1;
			}
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'i':
			if (kimg_parse_aio(optarg, &aio) < 0)
				return 1;
			break;
		case 'n':
			cache = BLOCK_CACHE_NONE;
			break;
		case 'o':
			if (block_parse_size(optarg, &b.offset) < 0) {
				kimg_err("Invalid offset specified");
				return 1;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'r':
			b.random = true;
			break;
		case 's':
			if (block_parse_size(optarg, &b.size) < 0 || !b.size ||
			    b.size > (64u << 20)) {
				kimg_err("Invalid buffer size specified");
				return 1;
			}
			break;
		case 'S':
			if (block_parse_size(optarg, &b.step) < 0) {
				kimg_err("Invalid step size specified");
				return 1;
			}
			step_set = true;
			break;
		case 't':
			if (kimg_parse_cache(optarg, &cache) < 0)
				return 1;
			break;
		case 'w':
			b.write = true;
			break;
		case 'I':
			b.flush_interval = strtoull(optarg, &end, 0);
			if (*end) {
				kimg_err("Invalid flush interval specified");
				return 1;
			}
			break;
		case 'D':
			b.drain = false;
			break;
		case 'P':
			pattern = strtoull(optarg, &end, 0);
			if (*end || pattern > 0xff) {
				kimg_err("Invalid pattern byte specified");
				return 1;
			}
			break;
		case 'U':
			break;
		default:
			fprintf(stderr, "usage: keel-img bench [-c count] [-d depth] [-f fmt] "
				"[--flush-interval=N] [--no-drain] [-i aio] [-n] [-o offset] "
				"[--pattern=N] [-q] [-r] [-s buffer_size] [-S step_size] [-t cache] "
				"[-w] filename\n");
			return 1;
		}
	}
	if (optind != argc - 1) {
		kimg_err("Expecting one image file name");
		return 1;
	}
	if (!step_set)
		b.step = b.size;
	if (aio_ctx_new(&b.ctx, aio, depth + 1) < 0)
		return 1;
	if (kimg_open(&b.bd, argv[optind], fmt, b.write, cache, aio, false, b.ctx) < 0)
		goto out;
	b.image_size = b.bd->size;
	if (b.image_size < b.size || b.offset + b.size > b.image_size) {
		kimg_err("image too small for the requests");
		goto out;
	}
	b.slots = calloc(depth, sizeof(*b.slots));
	b.idle = calloc(depth, sizeof(*b.idle));
	bufs = block_alloc_aligned(depth * b.size);
	if (!b.slots || !b.idle || !bufs)
		goto out;
	memset(bufs, (int)pattern, depth * b.size);
	for (i = 0; i < (int)depth; i++) {
		b.slots[i].b = &b;
		b.slots[i].iov.iov_base = bufs + i * b.size;
		b.slots[i].iov.iov_len = b.size;
		b.idle[b.nidle++] = &b.slots[i];
	}
	if (!quiet)
		printf("Sending %llu %s requests, %llu bytes each, %llu in parallel "
		       "(starting at offset %llu, step size %llu)\n",
		       (unsigned long long)b.count, b.write ? "write" : "read",
		       (unsigned long long)b.size, (unsigned long long)depth,
		       (unsigned long long)b.offset,
		       (unsigned long long)(b.random ? 0 : b.step));
	t0 = kimg_now();
	bench_issue(&b);
	while (b.inflight) {
		if (aio_ctx_wait(b.ctx) < 0)
			break;
		bench_issue(&b);
	}
	if (!b.err && b.write)
		b.err = block_flush(b.bd);
	t1 = kimg_now();
	if (b.err)
		goto out;
	if (!quiet)
		printf("Run completed in %3.3f seconds.\n", t1 - t0);
	rc = 0;
out:
	if (b.bd)
		block_close(b.bd);
	aio_ctx_free(b.ctx);
	free(bufs);
	free(b.slots);
	free(b.idle);
	return rc;
}
