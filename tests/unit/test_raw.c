/* Unit tests for user/block/raw.c: create with preallocation, hole punching discard,
 * write-zeroes, SEEK_DATA/SEEK_HOLE status, resize, O_DIRECT bounce of unaligned I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"

static char *raw_tmp(const char *name)
{
	char *p;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	assert_true(asprintf(&p, "%s/keel-test-raw-%d-%s", dir, (int)getpid(), name) > 0);
	return p;
}

static int64_t raw_allocated(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_blocks * 512;
}

static struct block_dev *raw_open_rw(const char *path, enum block_aio aio)
{
	struct block_open_opts o = { .format = "raw", .aio = aio };
	struct block_dev *bd;

	assert_int_equal(block_open(&bd, path, &o), 0);
	return bd;
}

static void test_create_prealloc(void **state)
{
	char *path = raw_tmp("create");
	struct block_opts o;
	struct stat st;

	block_opts_init(&o);
	assert_int_equal(block_create("raw", path, 4 << 20, &o), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	assert_true(raw_allocated(path) < (1 << 20));
	block_opts_free(&o);

	block_opts_init(&o);
	block_opts_set(&o, "preallocation", "full");
	assert_int_equal(block_create("raw", path, 4 << 20, &o), 0);
	assert_true(raw_allocated(path) >= (4 << 20));
	block_opts_free(&o);

	block_opts_init(&o);
	block_opts_set(&o, "preallocation", "falloc");
	assert_int_equal(block_create("raw", path, 2 << 20, &o), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 << 20);
	block_opts_free(&o);

	block_opts_init(&o);
	block_opts_set(&o, "preallocation", "metadata-ish");
	assert_int_equal(block_create("raw", path, 1 << 20, &o), -EINVAL);
	block_opts_free(&o);

	block_opts_init(&o);
	block_opts_set(&o, "cluster_size", "64k");	/* not a raw option */
	assert_int_equal(block_create("raw", path, 1 << 20, &o), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);	/* removed again */
	block_opts_free(&o);
	free(path);
}

static void test_status_discard_zeroes(void **state)
{
	char *path = raw_tmp("status");
	static unsigned char buf[1 << 20];
	struct block_dev *bd;
	uint64_t pnum, map;
	int64_t before;
	int st;

	assert_int_equal(block_create("raw", path, 8 << 20, NULL), 0);
	bd = raw_open_rw(path, BLOCK_AIO_URING);
	memset(buf, 0xc3, sizeof(buf));
	assert_int_equal(block_pwrite(bd, 1 << 20, buf, sizeof(buf)), 0);
	assert_int_equal(block_flush(bd), 0);

	st = block_status(bd, 0, 8 << 20, &pnum, &map);
	assert_true(st & BLOCK_STATUS_ZERO);
	assert_false(st & BLOCK_STATUS_DATA);
	assert_int_equal(pnum, 1 << 20);
	assert_int_equal(map, 0);
	st = block_status(bd, 1 << 20, 8 << 20, &pnum, NULL);
	assert_true(st & BLOCK_STATUS_DATA);
	assert_int_equal(pnum, 1 << 20);
	st = block_status(bd, 2 << 20, 100, &pnum, NULL);
	assert_true(st & BLOCK_STATUS_ZERO);
	assert_int_equal(pnum, 100);
	assert_int_equal(block_status(bd, 8 << 20, 1, &pnum, NULL), -ERANGE);

	/* discard punches a hole: space goes back, data reads as zeroes */
	before = raw_allocated(path);
	assert_int_equal(block_discard(bd, 1 << 20, 512 << 10), 0);
	assert_true(raw_allocated(path) <= before - (512 << 10));
	assert_int_equal(block_pread(bd, 1 << 20, buf, 512 << 10), 0);
	assert_true(block_buf_is_zero(buf, 512 << 10));
	st = block_status(bd, 1 << 20, 1 << 20, &pnum, NULL);
	assert_true(st & BLOCK_STATUS_ZERO);
	assert_int_equal(pnum, 512 << 10);

	/* write-zeroes keeps the blocks (ZERO_RANGE); with MAY_UNMAP it frees them */
	assert_int_equal(block_pread(bd, (3 << 19), buf, 4096), 0);
	assert_int_equal(buf[0], 0xc3);
	assert_int_equal(block_write_zeroes(bd, (3 << 19) + 1, 4095, 0), 0);
	assert_int_equal(block_pread(bd, (3 << 19), buf, 8192), 0);
	assert_int_equal(buf[0], 0xc3);
	assert_true(block_buf_is_zero(buf + 1, 4095));
	assert_int_equal(buf[4096], 0xc3);
	before = raw_allocated(path);
	assert_int_equal(block_write_zeroes(bd, 3 << 19, 256 << 10, BLOCK_REQ_MAY_UNMAP), 0);
	assert_true(raw_allocated(path) < before);
	assert_int_equal(block_pread(bd, 3 << 19, buf, 256 << 10), 0);
	assert_true(block_buf_is_zero(buf, 256 << 10));
	block_close(bd);
	unlink(path);
	free(path);
}

static void test_resize(void **state)
{
	char *path = raw_tmp("resize");
	struct block_dev *bd;
	struct stat st;
	char b = 0x11;

	assert_int_equal(block_create("raw", path, 1 << 20, NULL), 0);
	bd = raw_open_rw(path, BLOCK_AIO_NATIVE);
	assert_int_equal(block_resize(bd, 3 << 20), 0);
	assert_int_equal(bd->size, 3 << 20);
	assert_int_equal(block_pwrite(bd, (3 << 20) - 1, &b, 1), 0);
	assert_int_equal(block_pwrite(bd, 3 << 20, &b, 1), -ERANGE);
	assert_int_equal(block_resize(bd, 512), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 512);
	block_close(bd);
	unlink(path);
	free(path);
}

/* O_DIRECT needs a filesystem that has it (tmpfs does not): try the current dir. */
static void test_direct_bounce(void **state)
{
	struct block_open_opts o = { .format = "raw", .cache = BLOCK_CACHE_NONE,
				     .aio = BLOCK_AIO_NATIVE };
	char path[] = "build/keel-test-raw-direct.XXXXXX";
	unsigned char *al, un[1000 + 1];
	struct block_dev *bd;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(block_create("raw", path, 1 << 20, NULL), 0);
	if (block_open(&bd, path, &o) < 0) {
		unlink(path);
		skip();
	}
	assert_true(bd->file->direct);
	/* unaligned buffer, offset and length: served through a bounce buffer */
	memset(un, 0x6e, sizeof(un));
	assert_int_equal(block_pwrite(bd, 777, un + 1, 1000), 0);
	memset(un, 0, sizeof(un));
	assert_int_equal(block_pread(bd, 776, un, 1001), 0);
	assert_int_equal(un[0], 0);
	assert_int_equal(un[1], 0x6e);
	assert_int_equal(un[1000], 0x6e);
	/* aligned goes straight to the engine */
	al = block_alloc_aligned(8192);
	assert_non_null(al);
	memset(al, 0x21, 8192);
	assert_int_equal(block_pwrite(bd, 8192, al, 8192), 0);
	memset(al, 0, 8192);
	assert_int_equal(block_pread(bd, 8192, al, 8192), 0);
	assert_int_equal(al[8191], 0x21);
	assert_int_equal(block_flush(bd), 0);
	free(al);
	block_close(bd);
	unlink(path);
}

/* tmpfs has hole punching but no FALLOC_FL_ZERO_RANGE: write-zeroes must fall back to
 * writing zeroes, or fail with -ENOTSUP under BLOCK_REQ_NO_FALLBACK; on every engine. */
static void zeroes_fallback(enum block_aio engine)
{
	char path[] = "/dev/shm/keel-test-raw-zeroes.XXXXXX";
	unsigned char buf[8192];
	struct block_dev *bd;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		skip();
	close(fd);
	assert_int_equal(block_create("raw", path, 1 << 20, NULL), 0);
	bd = raw_open_rw(path, engine);
	memset(buf, 0x99, sizeof(buf));
	assert_int_equal(block_pwrite(bd, 4096, buf, sizeof(buf)), 0);
	assert_int_equal(block_write_zeroes(bd, 5000, 3000, BLOCK_REQ_NO_FALLBACK), -ENOTSUP);
	assert_int_equal(block_write_zeroes(bd, 5000, 3000, 0), 0);
	assert_int_equal(block_pread(bd, 4096, buf, sizeof(buf)), 0);
	assert_int_equal(buf[903], 0x99);
	assert_true(block_buf_is_zero(buf + 904, 3000));
	assert_int_equal(buf[3904], 0x99);
	/* punching works on tmpfs */
	assert_int_equal(block_discard(bd, 4096, 8192), 0);
	assert_int_equal(block_pread(bd, 4096, buf, sizeof(buf)), 0);
	assert_true(block_buf_is_zero(buf, sizeof(buf)));
	block_close(bd);
	unlink(path);
}

static void test_zeroes_fallback_uring(void **state)
{
	zeroes_fallback(BLOCK_AIO_URING);
}

static void test_zeroes_fallback_native(void **state)
{
	zeroes_fallback(BLOCK_AIO_NATIVE);
}

static void test_zeroes_fallback_threads(void **state)
{
	zeroes_fallback(BLOCK_AIO_THREADS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_prealloc),
		cmocka_unit_test(test_status_discard_zeroes),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_direct_bounce),
		cmocka_unit_test(test_zeroes_fallback_uring),
		cmocka_unit_test(test_zeroes_fallback_native),
		cmocka_unit_test(test_zeroes_fallback_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
