/* keel-img compare: are two images' contents the same? Exit 0 same, 1 differ, 2 error;
 * extra length of the larger image must read as zeroes unless -s (strict). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

#define COMPARE_CHUNK (1u << 20)

/* First differing byte, rounded down to a sector as qemu-img reports it. */
static uint64_t compare_mismatch(const uint8_t *a, const uint8_t *b, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			break;
	return (off + i) & ~(uint64_t)(BLOCK_SECTOR_SIZE - 1);
}

static int compare_zero_tail(struct block_dev *bd, uint64_t from, uint8_t *buf, bool progress,
			 uint64_t total, const char *name)
{
	uint64_t off = from, pnum;
	size_t len, i;
	int st, ret;

	while (off < bd->size) {
		len = bd->size - off < COMPARE_CHUNK ? bd->size - off : COMPARE_CHUNK;
		st = block_status(bd, off, len, &pnum, NULL);
		if (st >= 0 && (st & BLOCK_STATUS_ZERO)) {
			off += pnum;
			continue;
		}
		ret = block_pread(bd, off, buf, len);
		if (ret < 0) {
			kimg_err("error while reading %s at %llu: %s", name,
				 (unsigned long long)off, strerror(-ret));
			return 2;
		}
		if (!block_buf_is_zero(buf, len)) {
			for (i = 0; i < len && !buf[i]; i++)
				;
			printf("Content mismatch at offset %llu!\n",
			       (unsigned long long)((off + i) & ~(uint64_t)511));
			return 1;
		}
		off += len;
		if (progress)
			kimg_progress(off * 100.0 / total, false);
	}
	return 0;
}

int kimg_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt1 = NULL, *fmt2 = NULL;
	struct block_dev *a = NULL, *b = NULL;
	bool strict = false, quiet = false, progress = false;
	uint8_t *ba = NULL, *bb = NULL;
	struct aio_ctx *ctx = NULL;
	uint64_t off, common, total, pa, pb;
	int c, ret, rc = 2, sa, sb;
	size_t len;

	while ((c = getopt_long(argc, argv, "f:F:T:pqsUh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt1 = optarg;
			break;
		case 'F':
			fmt2 = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			strict = true;
			break;
		case 'T':
		case 'U':
			break;
		default:
			fprintf(stderr, "usage: keel-img compare [-f fmt] [-F fmt] [-p] [-q] [-s] "
				"filename1 filename2\n");
			return 2;
		}
	}
	if (quiet)
		progress = false;
	if (optind + 2 != argc) {
		kimg_err("Expecting two image file names");
		return 2;
	}
	if (!fmt2)
		fmt2 = fmt1;
	if (aio_ctx_new(&ctx, BLOCK_AIO_URING, 64) < 0)
		return 2;
	if (kimg_open(&a, argv[optind], fmt1, false, BLOCK_CACHE_WRITEBACK, BLOCK_AIO_URING,
		      false, ctx) < 0)
		goto out;
	if (kimg_open(&b, argv[optind + 1], fmt2, false, BLOCK_CACHE_WRITEBACK, BLOCK_AIO_URING,
		      false, ctx) < 0)
		goto out;
	ba = block_alloc_aligned(COMPARE_CHUNK);
	bb = block_alloc_aligned(COMPARE_CHUNK);
	if (!ba || !bb)
		goto out;
	if (strict && a->size != b->size) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		rc = 1;
		goto out;
	}
	common = a->size < b->size ? a->size : b->size;
	total = a->size > b->size ? a->size : b->size;
	for (off = 0; off < common; off += len) {
		len = common - off < COMPARE_CHUNK ? common - off : COMPARE_CHUNK;
		sa = block_status(a, off, len, &pa, NULL);
		sb = block_status(b, off, len, &pb, NULL);
		if (sa >= 0 && sb >= 0 && (sa & BLOCK_STATUS_ZERO) && (sb & BLOCK_STATUS_ZERO)) {
			len = pa < pb ? pa : pb;
			continue;
		}
		ret = block_pread(a, off, ba, len);
		if (!ret)
			ret = block_pread(b, off, bb, len);
		if (ret < 0) {
			kimg_err("error while reading at offset %llu: %s",
				 (unsigned long long)off, strerror(-ret));
			goto out;
		}
		if (memcmp(ba, bb, len)) {
			if (!quiet)
				printf("Content mismatch at offset %llu!\n",
				       (unsigned long long)compare_mismatch(ba, bb, len, off));
			rc = 1;
			goto out;
		}
		if (progress)
			kimg_progress((off + len) * 100.0 / total, false);
	}
	if (a->size != b->size) {
		struct block_dev *big = a->size > b->size ? a : b;

		if (!quiet)
			printf("Warning: Image size mismatch!\n");
		rc = compare_zero_tail(big, common, ba, progress, total, big->filename);
		if (rc)
			goto out;
	}
	if (progress)
		kimg_progress(100, true);
	if (!quiet)
		printf("Images are identical.\n");
	rc = 0;
out:
	free(ba);
	free(bb);
	if (a)
		block_close(a);
	if (b)
		block_close(b);
	aio_ctx_free(ctx);
	return rc;
}
