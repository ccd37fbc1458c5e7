/* libFuzzer target for the qcow2 driver (header, extensions, L1/L2, refcounts,
 * snapshot table, compressed descriptors): input -> memfd -> open -> read -> check,
 * then a writable session (repair on open, writes, discard, check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"
#include "sparse_image.h"

static int fuzz_backing_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	memset(buf, 0xee, len);
	return 0;
}

static const struct qcow2_backing_ops fuzz_backing = { .read = fuzz_backing_read };

static void fuzz_read_all(struct qcow2 *q, uint8_t *buf, size_t bufsize)
{
	uint64_t size = q->h.size;
	struct iovec v[2] = { { buf, 3000 }, { buf + 3000, bufsize - 3000 } };

	for (uint64_t off = 0; off < size && off < (4u << 20); off += bufsize) {
		size_t n = size - off < bufsize ? size - off : bufsize;

		if (n > 3000) {
			v[1].iov_len = n - 3000;
			qcow2_readv(q, off, v, 2, n);
		} else {
			qcow2_readv(q, off, v, 1, n);
		}
	}
	/* a few far offsets, one per L1 entry at most 64 */
	for (uint32_t i = 0; i < q->l1_size && i < 64; i++) {
		uint64_t off = ((uint64_t)i << (q->cluster_bits + q->l2_bits)) + 512 * i;

		if (off + 4096 <= size)
			qcow2_readv(q, off, v, 1, 3000);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	struct qcow2_check_result res;
	struct qcow2 *q;
	uint64_t fsize;
	int fd;

	log_threshold = LOG_ERR;
	(void)sparse_image_pread;	/* the driver reads the memfd itself */
	fd = sparse_image_make(data, size, &fsize);
	if (qcow2_open_fd(&q, fd, "fuzz.qcow2", 0) == 0) {
		if (q->backing_file)
			qcow2_attach_backing(q, &fuzz_backing, NULL, q->h.size / 2);
		fuzz_read_all(q, buf, sizeof(buf));
		qcow2_check(q, 0, &res);
		qcow2_close_image(q);
	} else {
		close(fd);
		return 0;
	}
	/* Writable: lazy-refcount repair on open, allocation, COW, discard. */
	if (qcow2_open_fd(&q, fd, "fuzz.qcow2", QCOW2_OPEN_RW | QCOW2_OPEN_NO_SYNC) == 0) {
		struct iovec v = { buf, 4096 };

		memset(buf, 0x5a, sizeof(buf));
		if (q->h.size >= 8192) {
			qcow2_writev(q, 1000, &v, 1, 4096);
			qcow2_writev(q, q->h.size / 2 & ~511ULL, &v, 1, 4096);
			qcow2_discard(q, 0, q->h.size < (1u << 20) ? q->h.size : (1u << 20), false);
			qcow2_discard(q, q->h.size / 4, 8192, true);
			qcow2_readv(q, 1000, &v, 1, 4096);
		}
		qcow2_check(q, QCOW2_FIX_LEAKS, &res);
		qcow2_close_image(q);
	}
	close(fd);
	return 0;
}
