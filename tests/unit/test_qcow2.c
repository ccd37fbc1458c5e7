/* Unit tests for user/block/qcow2/: refcount widths, create/read/write round trips,
 * copy-on-write, zero clusters, compression, snapshots, refcount growth, lazy
 * refcount repair, check/repair, and hostile headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"

static int tmp_fd(void)
{
	int fd = memfd_create("qcow2-test", 0);

	assert_true(fd >= 0);
	return fd;
}

static int make_image(uint64_t size, unsigned cs, unsigned rb, int comp, bool lazy)
{
	struct qcow2_create_opts o = { .size = size, .cluster_size = cs, .refcount_bits = rb,
				       .version = 3, .compression = comp,
				       .lazy_refcounts = lazy };
	int fd = tmp_fd();

	assert_int_equal(qcow2_create_file(fd, &o), 0);
	return fd;
}

static struct qcow2 *open_rw(int fd)
{
	struct qcow2 *q = NULL;

	assert_int_equal(qcow2_open_fd(&q, fd, "test", QCOW2_OPEN_RW | QCOW2_OPEN_NO_SYNC), 0);
	return q;
}

static void wr(struct qcow2 *q, uint64_t off, size_t len, int pat)
{
	uint8_t *b = malloc(len);
	struct iovec v = { b, len };

	memset(b, pat, len);
	assert_int_equal(qcow2_writev(q, off, &v, 1, len), 0);
	free(b);
}

static void expect(struct qcow2 *q, uint64_t off, size_t len, int pat)
{
	uint8_t *b = malloc(len);
	struct iovec v = { b, len };

	assert_int_equal(qcow2_readv(q, off, &v, 1, len), 0);
	for (size_t i = 0; i < len; i++)
		if (b[i] != pat)
			fail_msg("byte %llu is 0x%02x, want 0x%02x", (unsigned long long)(off + i),
				 b[i], pat);
	free(b);
}

static void expect_clean(struct qcow2 *q)
{
	struct qcow2_check_result r;

	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
}

static void test_refblock_widths(void **state)
{
	struct qcow2 q = { 0 };
	uint8_t blk[512];

	for (unsigned order = 0; order <= 6; order++) {
		unsigned bits = 1u << order;
		uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
		uint64_t n = 512 * 8 / bits;

		q.refcount_bits = bits;
		memset(blk, 0, sizeof(blk));
		for (uint64_t i = 0; i < n; i++)
			qcow2_refblock_set(&q, blk, i, (i * 7 + 3) & max);
		for (uint64_t i = 0; i < n; i++)
			assert_int_equal(qcow2_refblock_get(&q, blk, i), (i * 7 + 3) & max);
		qcow2_refblock_set(&q, blk, 1, max);
		assert_int_equal(qcow2_refblock_get(&q, blk, 0), 3 & max);
		assert_int_equal(qcow2_refblock_get(&q, blk, 1), max);
		assert_int_equal(qcow2_refblock_get(&q, blk, 2), 17 & max);
	}
	/* Sub-byte widths are packed from the least significant bit (qcow2 spec). */
	q.refcount_bits = 1;
	memset(blk, 0, sizeof(blk));
	qcow2_refblock_set(&q, blk, 0, 1);
	qcow2_refblock_set(&q, blk, 9, 1);
	assert_int_equal(blk[0], 0x01);
	assert_int_equal(blk[1], 0x02);
}

static void test_roundtrip_cluster_sizes(void **state)
{
	static const unsigned sizes[] = { 512, 4096, 65536, 2u << 20 };

	for (unsigned i = 0; i < 4; i++) {
		int fd = make_image(16 << 20, sizes[i], 16, 0, false);
		struct qcow2 *q = open_rw(fd);

		wr(q, 0, 1000, 0x11);			/* partial head cluster */
		wr(q, 700, 5000, 0x22);			/* crossing clusters */
		wr(q, (16 << 20) - 4096, 4096, 0x33);	/* end of the disk */
		wr(q, 3 << 20, 3 << 20, 0x44);		/* many clusters at once */
		expect(q, 0, 700, 0x11);
		expect(q, 700, 5000, 0x22);
		expect(q, 5700, 300, 0);
		expect(q, (16 << 20) - 4096, 4096, 0x33);
		expect(q, 3 << 20, 3 << 20, 0x44);
		expect_clean(q);
		assert_int_equal(qcow2_close_image(q), 0);
		q = open_rw(fd);
		expect(q, 700, 5000, 0x22);
		expect_clean(q);
		assert_int_equal(qcow2_close_image(q), 0);
		close(fd);
	}
}

static void test_refcount_growth(void **state)
{
	/* 512-byte clusters with 64-bit refcounts: 64 clusters per refcount block and
	 * 64 blocks per table cluster, so 8 MiB of data grows both several times. */
	int fd = make_image(32 << 20, 512, 64, 0, false);
	struct qcow2 *q = open_rw(fd);

	for (int i = 0; i < 16; i++)
		wr(q, (uint64_t)i << 20, 512 << 10, i + 1);
	assert_true(q->h.refcount_table_clusters > 1);
	for (int i = 0; i < 16; i++)
		expect(q, (uint64_t)i << 20, 512 << 10, i + 1);
	expect_clean(q);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static void test_refcount_1bit(void **state)
{
	int fd = make_image(4 << 20, 4096, 1, 0, false);
	struct qcow2 *q = open_rw(fd);

	wr(q, 0, 1 << 20, 0x5a);
	expect_clean(q);
	/* A snapshot needs a refcount of 2, which one bit cannot hold. */
	assert_true(qcow2_snapshot_create(q, "s") < 0);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static void test_zero_and_discard(void **state)
{
	int fd = make_image(8 << 20, 65536, 16, 0, false);
	struct qcow2 *q = open_rw(fd);

	wr(q, 0, 1 << 20, 0x77);
	assert_int_equal(qcow2_discard(q, 1000, 200000, true), 0);
	expect(q, 0, 1000, 0x77);
	expect(q, 1000, 200000, 0);
	expect(q, 201000, 1000, 0x77);
	assert_int_equal(qcow2_discard(q, 512 << 10, 512 << 10, false), 0);
	expect(q, 512 << 10, 512 << 10, 0);
	expect_clean(q);
	/* discarded clusters are free again: rewriting does not grow the file */
	uint64_t end = q->file_size;

	wr(q, 512 << 10, 512 << 10, 0x12);
	assert_true(q->file_size <= end);
	expect_clean(q);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static int test_backing_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	memset(buf, 0xbb, len);
	return 0;
}

static const struct qcow2_backing_ops test_backing = { .read = test_backing_read };

static void test_backing_cow(void **state)
{
	int fd = make_image(4 << 20, 4096, 16, 0, false);
	struct qcow2 *q = open_rw(fd);

	qcow2_attach_backing(q, &test_backing, NULL, 2 << 20);
	expect(q, 0, 2 << 20, 0xbb);
	expect(q, 2 << 20, 2 << 20, 0);		/* past the backing file */
	wr(q, 100, 10, 0x01);			/* partial write copies the rest */
	expect(q, 0, 100, 0xbb);
	expect(q, 100, 10, 0x01);
	expect(q, 110, 4096 - 110, 0xbb);
	assert_int_equal(qcow2_discard(q, 8192, 4096, true), 0);
	expect(q, 8192, 4096, 0);			/* zero cluster hides the backing */
	expect(q, 12288, 4096, 0xbb);
	expect_clean(q);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static void test_version2_zeroes(void **state)
{
	struct qcow2_create_opts o = { .size = 4 << 20, .cluster_size = 4096, .refcount_bits = 16,
				       .version = 2 };
	int fd = tmp_fd();
	struct qcow2 *q;

	assert_int_equal(qcow2_create_file(fd, &o), 0);
	q = open_rw(fd);
	assert_int_equal(q->h.version, 2);
	qcow2_attach_backing(q, &test_backing, NULL, 4 << 20);
	/* No zero flag in version 2: zeroes over a backing file are written out. */
	assert_int_equal(qcow2_discard(q, 4096, 3 * 4096, true), 0);
	expect(q, 0, 4096, 0xbb);
	expect(q, 4096, 3 * 4096, 0);
	expect(q, 4 * 4096, 4096, 0xbb);
	/* and discard keeps the data visible rather than exposing the backing file */
	wr(q, 8 * 4096, 4096, 0x12);
	assert_int_equal(qcow2_discard(q, 8 * 4096, 4096, false), 0);
	expect(q, 8 * 4096, 4096, 0x12);
	expect_clean(q);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static void compressed_case(int comp)
{
	int fd = make_image(1 << 20, 65536, 16, comp, false);
	struct qcow2 *q = open_rw(fd);
	uint8_t *buf = malloc(65536);
	struct qcow2_check_result r;

	for (int c = 0; c < 16; c++) {
		for (int i = 0; i < 65536; i++)
			buf[i] = (uint8_t)(i / 300 + c);
		assert_int_equal(qcow2_write_compressed(q, (uint64_t)c * 65536, buf), 0);
	}
	assert_true(q->file_size < 16 * 65536 / 2);
	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_int_equal(r.compressed_clusters, 16);
	assert_int_equal(r.corruptions + r.leaks, 0);
	uint8_t *got = malloc(65536);
	struct iovec v = { got, 65536 };

	for (int c = 0; c < 16; c++) {
		for (int i = 0; i < 65536; i++)
			buf[i] = (uint8_t)(i / 300 + c);
		assert_int_equal(qcow2_readv(q, (uint64_t)c * 65536, &v, 1, 65536), 0);
		assert_memory_equal(got, buf, 65536);
	}
	/* overwrite part of a compressed cluster: copy-on-write decompresses */
	wr(q, 65536 + 100, 50, 0xee);
	assert_int_equal(qcow2_readv(q, 65536, &v, 1, 65536), 0);
	assert_int_equal(got[99], (uint8_t)(99 / 300 + 1));
	assert_int_equal(got[100], 0xee);
	assert_int_equal(got[150], (uint8_t)(150 / 300 + 1));
	expect_clean(q);
	/* a corrupted compressed stream is an error, not a crash */
	uint64_t e, off, len;
	uint8_t junk[64];

	memset(junk, 0xff, sizeof(junk));
	uint8_t *l2;
	uint64_t l2off;

	assert_int_equal(qcow2_l2_load(q, 0, false, &l2, &l2off), 0);
	memcpy(&e, l2 + 8 * 5, 8);
	qcow2_compressed_desc(q, be64toh(e), &off, &len);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)off), (ssize_t)sizeof(junk));
	q->dbuf_entry = 0;
	assert_true(qcow2_readv(q, 5 * 65536, &v, 1, 65536) < 0);
	free(buf);
	free(got);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static void test_compressed_zlib(void **state)
{
	compressed_case(QCOW2_COMP_ZLIB);
}

static void test_compressed_zstd(void **state)
{
	compressed_case(QCOW2_COMP_ZSTD);
}

static void test_snapshots(void **state)
{
	int fd = make_image(8 << 20, 4096, 16, 0, false);
	struct qcow2 *q = open_rw(fd);

	wr(q, 0, 1 << 20, 0x01);
	assert_int_equal(qcow2_snapshot_create(q, "one"), 0);
	assert_int_equal(qcow2_snapshot_create(q, "one"), -EEXIST);
	expect_clean(q);
	wr(q, 4096 + 10, 100, 0x02);
	expect(q, 4096 + 10, 100, 0x02);
	expect_clean(q);
	assert_int_equal(qcow2_snapshot_create(q, "two"), 0);
	wr(q, 2 << 20, 4096, 0x03);
	assert_int_equal(qcow2_close_image(q), 0);

	q = open_rw(fd);
	assert_int_equal(q->n_snaps, 2);
	assert_string_equal(q->snaps[0].name, "one");
	assert_string_equal(q->snaps[1].id, "2");
	assert_int_equal(qcow2_snapshot_apply(q, "one"), 0);
	expect(q, 0, 1 << 20, 0x01);
	expect(q, 2 << 20, 4096, 0);
	expect_clean(q);
	assert_int_equal(qcow2_snapshot_apply(q, "2"), 0);
	expect(q, 4096 + 10, 100, 0x02);
	expect(q, 2 << 20, 4096, 0);
	assert_int_equal(qcow2_snapshot_delete(q, "one"), 0);
	assert_int_equal(qcow2_snapshot_delete(q, "one"), -ENOENT);
	expect_clean(q);
	assert_int_equal(qcow2_snapshot_delete(q, "two"), 0);
	expect_clean(q);
	expect(q, 4096 + 10, 100, 0x02);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

static int copy_fd(int fd)
{
	int out = tmp_fd();
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)end);

	assert_int_equal(pread(fd, b, (size_t)end, 0), end);
	assert_int_equal(pwrite(out, b, (size_t)end, 0), end);
	free(b);
	return out;
}

static void test_lazy_repair(void **state)
{
	int fd = make_image(8 << 20, 4096, 16, 0, true);
	struct qcow2 *q = open_rw(fd);
	struct qcow2 *r;
	int crashed;

	wr(q, 0, 1 << 20, 0x31);
	assert_true(q->dirty_marked);
	/* A crash after the L2 tables reached the disk but not the refcounts. */
	assert_int_equal(qcow2_cache_flush(&q->l2_cache), 0);
	crashed = copy_fd(fd);
	assert_int_equal(qcow2_close_image(q), 0);

	r = NULL;
	assert_int_equal(qcow2_open_fd(&r, crashed, "crashed", QCOW2_OPEN_NO_SYNC), 0);
	assert_true(r->h.incompatible_features & QCOW2_INCOMPAT_DIRTY);
	expect(r, 0, 1 << 20, 0x31);		/* readable as is */
	assert_int_equal(qcow2_close_image(r), 0);
	r = open_rw(crashed);			/* repaired on open */
	assert_false(r->h.incompatible_features & QCOW2_INCOMPAT_DIRTY);
	expect(r, 0, 1 << 20, 0x31);
	expect_clean(r);
	assert_int_equal(qcow2_close_image(r), 0);
	close(crashed);
	close(fd);
}

static void test_check_repair(void **state)
{
	int fd = make_image(4 << 20, 4096, 16, 0, false);
	struct qcow2 *q = open_rw(fd);
	struct qcow2_check_result r;
	uint64_t host, len;
	int kind;

	wr(q, 0, 64 << 10, 0x44);
	len = 4096;
	assert_int_equal(qcow2_block_status(q, 0, &len, &kind, &host), 0);
	assert_int_equal(kind, QCOW2_DATA);
	/* a leak: refcount 2 for a cluster referenced once */
	assert_int_equal(qcow2_refcount_set_raw(q, host >> 12, 2), 0);
	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_int_equal(r.leaks, 1);
	assert_int_equal(qcow2_check(q, QCOW2_FIX_LEAKS, &r), 0);
	assert_int_equal(r.leaks_fixed, 1);
	expect_clean(q);
	/* an error: refcount 0 for a used cluster */
	assert_int_equal(qcow2_refcount_set_raw(q, host >> 12, 0), 0);
	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_true(r.corruptions >= 1);
	assert_int_equal(qcow2_check(q, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &r), 0);
	assert_true(r.corruptions_fixed >= 1);
	expect_clean(q);
	expect(q, 0, 64 << 10, 0x44);
	assert_int_equal(qcow2_resize(q, 64 << 20), 0);
	wr(q, 60 << 20, 4096, 0x45);
	expect(q, 60 << 20, 4096, 0x45);
	expect_clean(q);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

/* ---- hostile headers ---- */

static int hostile_open(void (*mutate)(uint8_t *h))
{
	int fd = make_image(1 << 20, 65536, 16, 0, false);
	uint8_t h[4096];
	struct qcow2 *q = NULL;
	int ret;

	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	mutate(h);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	ret = qcow2_open_fd(&q, fd, "hostile", 0);
	if (ret == 0)
		qcow2_close_image(q);
	close(fd);
	return ret;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static void m_magic(uint8_t *h) { h[0] = 'X'; }
static void m_version(uint8_t *h) { put32(h + 4, 4); }
static void m_cbits_small(uint8_t *h) { put32(h + 20, 8); }
static void m_cbits_big(uint8_t *h) { put32(h + 20, 31); }
static void m_crypt(uint8_t *h) { put32(h + 32, 1); }
static void m_l1_small(uint8_t *h) { put64(h + 24, 1ULL << 40); }
static void m_l1_huge(uint8_t *h) { put32(h + 36, 0xffffffffu); put64(h + 24, 1ULL << 50); }
static void m_l1_unaligned(uint8_t *h) { put64(h + 40, 65536 * 3 + 8); }
static void m_l1_past_end(uint8_t *h) { put64(h + 40, 1ULL << 40); }
static void m_rt_zero(uint8_t *h) { put64(h + 48, 0); }
static void m_rt_clusters(uint8_t *h) { put32(h + 56, 1u << 30); }
static void m_snaps(uint8_t *h) { put32(h + 60, 1u << 20); put64(h + 64, 65536); }
static void m_snap_off(uint8_t *h) { put32(h + 60, 1); put64(h + 64, 1ULL << 45); }
static void m_incompat(uint8_t *h) { put64(h + 72, 1ULL << 33); }
static void m_datafile(uint8_t *h) { put64(h + 72, 1ULL << 2); }
static void m_order(uint8_t *h) { put32(h + 96, 7); }
static void m_hlen_small(uint8_t *h) { put32(h + 100, 50); }
static void m_hlen_big(uint8_t *h) { put32(h + 100, 1u << 20); }
static void m_comp_type(uint8_t *h) { h[104] = 7; put64(h + 72, 1ULL << 3); }
static void m_comp_nobit(uint8_t *h) { h[104] = 1; }
static void m_ext_len(uint8_t *h) { put32(h + 112, 0x11111111); put32(h + 116, 0x7fffffff); }
static void m_backing(uint8_t *h) { put64(h + 8, 65530); put32(h + 16, 200); }
static void m_backing_long(uint8_t *h) { put64(h + 8, 200); put32(h + 16, 5000); }

static void test_hostile_headers(void **state)
{
	void (*const cases[])(uint8_t *) = {
		m_magic, m_version, m_cbits_small, m_cbits_big, m_crypt, m_l1_small, m_l1_huge,
		m_l1_unaligned, m_l1_past_end, m_rt_zero, m_rt_clusters, m_snaps, m_snap_off,
		m_incompat, m_datafile, m_order, m_hlen_small, m_hlen_big, m_comp_type,
		m_comp_nobit, m_ext_len, m_backing, m_backing_long,
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = hostile_open(cases[i]);

		if (ret >= 0)
			fail_msg("hostile case %u was accepted", i);
	}
}

static void test_hostile_tables(void **state)
{
	int fd = make_image(4 << 20, 4096, 16, 0, false);
	struct qcow2 *q = open_rw(fd);
	uint8_t *b = malloc(4 << 20);
	struct iovec v = { b, 4 << 20 };
	uint64_t l1off, l2off, bad;
	struct qcow2_check_result r;

	wr(q, 0, 8192, 0x10);
	l1off = q->h.l1_table_offset;
	l2off = q->l1[0] & QCOW2_L1E_OFFSET_MASK;
	assert_int_equal(qcow2_close_image(q), 0);
	/* L2 entry pointing at an unaligned offset, another one far past the end */
	bad = htobe64(QCOW2_OFLAG_COPIED | 0x1200);
	assert_int_equal(pwrite(fd, &bad, 8, (off_t)l2off), 8);
	bad = htobe64(QCOW2_OFLAG_COPIED | (1ULL << 50));
	assert_int_equal(pwrite(fd, &bad, 8, (off_t)l2off + 8), 8);
	assert_int_equal(qcow2_open_fd(&q, fd, "t", 0), 0);
	assert_true(qcow2_readv(q, 0, &v, 1, 4096) < 0);
	assert_int_equal(qcow2_readv(q, 4096, &v, 1, 4096), 0);	/* zeroes past EOF */
	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_true(r.corruptions >= 2);
	assert_int_equal(qcow2_close_image(q), 0);
	/* L1 entry pointing past the end of the file */
	bad = htobe64(QCOW2_OFLAG_COPIED | (1ULL << 45));
	assert_int_equal(pwrite(fd, &bad, 8, (off_t)l1off), 8);
	assert_int_equal(qcow2_open_fd(&q, fd, "t", 0), 0);
	assert_true(qcow2_readv(q, 0, &v, 1, 4 << 20) < 0);
	assert_int_equal(qcow2_close_image(q), 0);
	free(b);
	close(fd);
}

static void test_duplicate_l2(void **state)
{
	/* Two L1 entries naming one L2 table: refused by snapshots, counted by check. */
	int fd = make_image(2ULL << 30, 65536, 64, 0, false);
	struct qcow2 *q = open_rw(fd);
	struct qcow2_check_result r;
	uint64_t be;

	wr(q, 0, 4096, 0x21);
	assert_int_equal(qcow2_close_image(q), 0);
	q = open_rw(fd);
	be = htobe64(q->l1[0]);
	assert_int_equal(pwrite(fd, &be, 8, (off_t)q->h.l1_table_offset + 8), 8);
	assert_int_equal(qcow2_close_image(q), 0);
	assert_int_equal(qcow2_open_fd(&q, fd, "dup", QCOW2_OPEN_RW | QCOW2_OPEN_NO_SYNC), 0);
	assert_int_equal(qcow2_check(q, 0, &r), 0);
	assert_true(r.corruptions >= 1);
	assert_int_equal(qcow2_snapshot_create(q, "s"), -EIO);
	assert_int_equal(qcow2_close_image(q), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refblock_widths),
		cmocka_unit_test(test_roundtrip_cluster_sizes),
		cmocka_unit_test(test_refcount_growth),
		cmocka_unit_test(test_refcount_1bit),
		cmocka_unit_test(test_zero_and_discard),
		cmocka_unit_test(test_backing_cow),
		cmocka_unit_test(test_version2_zeroes),
		cmocka_unit_test(test_compressed_zlib),
		cmocka_unit_test(test_compressed_zstd),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_lazy_repair),
		cmocka_unit_test(test_check_repair),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_hostile_tables),
		cmocka_unit_test(test_duplicate_l2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
