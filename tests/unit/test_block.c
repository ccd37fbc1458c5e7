/* Unit tests for user/block/block.c and user/block/aio/: options, iovec helpers, the
 * request pool, every I/O engine (batches, short reads at EOF, errors), request checks,
 * sync wrappers, backing chain refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "block/aio/aio.h"
#include "block/block.h"
#include "lib/loop.h"

static char *tmp_path(const char *name)
{
	char *p;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	assert_true(asprintf(&p, "%s/keel-test-block-%d-%s", dir, (int)getpid(), name) > 0);
	return p;
}

static void write_file(const char *path, size_t len, int seed)
{
	unsigned char *buf = malloc(len);
	size_t i;
	int fd;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + seed + (i >> 12));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

static unsigned char expect_byte(size_t i, int seed)
{
	return (unsigned char)(i * 7 + seed + (i >> 12));
}

/* ---- options ---- */

static void test_opts_parse(void **state)
{
	struct block_opts o;
	uint64_t v = 0;
	bool b = false;

	block_opts_init(&o);
	assert_int_equal(block_opts_parse(&o, "cluster_size=64k,lazy_refcounts=on"), 0);
	assert_int_equal(block_opts_parse(&o, "backing_file=a,,b.img,refcount_bits=16"), 0);
	assert_int_equal(block_opts_parse(&o, "cluster_size=2M"), 0);	/* later wins */
	assert_int_equal(o.n, 4);
	assert_int_equal(block_opts_get_size(&o, "cluster_size", &v), 1);
	assert_int_equal(v, 2 << 20);
	assert_int_equal(block_opts_get_bool(&o, "lazy_refcounts", &b), 1);
	assert_true(b);
	assert_string_equal(block_opts_get(&o, "backing_file"), "a,b.img");
	assert_string_equal(block_opts_unused(&o), "refcount_bits");
	assert_int_equal(block_opts_get_size(&o, "nothere", &v), 0);
	assert_int_equal(block_opts_get_size(&o, "refcount_bits", &v), 1);
	assert_null(block_opts_unused(&o));
	block_opts_set(&o, "bad", "12Q");
	assert_int_equal(block_opts_get_size(&o, "bad", &v), -EINVAL);
	block_opts_set(&o, "flag", "maybe");
	assert_int_equal(block_opts_get_bool(&o, "flag", &b), -EINVAL);
	block_opts_free(&o);
}

static void test_opts_limits(void **state)
{
	struct block_opts o;
	char buf[32];
	int i, ret = 0;

	block_opts_init(&o);
	for (i = 0; i < BLOCK_OPTS_MAX + 2 && !ret; i++) {
		snprintf(buf, sizeof(buf), "k%d=%d", i, i);
		ret = block_opts_parse(&o, buf);
	}
	assert_int_equal(ret, -E2BIG);
	assert_int_equal(o.n, BLOCK_OPTS_MAX);
	block_opts_free(&o);
	block_opts_init(&o);
	assert_int_equal(block_opts_parse(&o, "=x"), -EINVAL);
	assert_int_equal(block_opts_parse(&o, ",,,"), 0);
	assert_int_equal(block_opts_parse(&o, "bare"), 0);
	assert_string_equal(block_opts_get(&o, "bare"), "on");
	block_opts_free(&o);
}

static void test_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(block_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(block_parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(block_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(block_parse_size("3MiB", &v), 0);
	assert_int_equal(v, 3 << 20);
	assert_int_equal(block_parse_size("10b", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(block_parse_size("1E", &v), 0);
	assert_int_equal(v, 1ULL << 60);
	assert_int_equal(block_parse_size("16E", &v), -ERANGE);
	assert_int_equal(block_parse_size("-1", &v), -EINVAL);
	assert_int_equal(block_parse_size("", &v), -EINVAL);
	assert_int_equal(block_parse_size("1X", &v), -EINVAL);
	assert_int_equal(block_parse_size("1kk", &v), -EINVAL);
	assert_int_equal(block_parse_size("99999999999999999999999", &v), -EINVAL);
}

/* ---- iovec helpers ---- */

static void test_iov_helpers(void **state)
{
	char a[10], b[5], c[20], out[35];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec dst[3];
	char in[35];
	int i, n;

	for (i = 0; i < 35; i++)
		in[i] = (char)i;
	assert_int_equal(block_iov_size(iov, 3), 35);
	assert_int_equal(block_iov_from_buf(iov, 3, 0, in, 35), 35);
	assert_int_equal(a[9], 9);
	assert_int_equal(b[0], 10);
	assert_int_equal(c[19], 34);
	n = block_iov_slice(iov, 3, 8, 10, dst, 3);
	assert_int_equal(n, 3);
	assert_ptr_equal(dst[0].iov_base, a + 8);
	assert_int_equal(dst[0].iov_len, 2);
	assert_int_equal(dst[1].iov_len, 5);
	assert_int_equal(dst[2].iov_len, 3);
	assert_int_equal(block_iov_slice(iov, 3, 8, 10, dst, 2), -E2BIG);
	assert_int_equal(block_iov_slice(iov, 3, 30, 10, dst, 3), -EINVAL);
	block_iov_memset(iov, 3, 12, 0x7f, 5);
	assert_int_equal(b[1], 11);
	assert_int_equal(b[2], 0x7f);
	assert_int_equal(c[1], 0x7f);
	assert_int_equal(c[2], 17);
	assert_int_equal(block_iov_to_buf(iov, 3, 30, out, 35), 5);
	assert_int_equal(out[4], 34);
}

static void test_buf_is_zero(void **state)
{
	char buf[4096] = { 0 };

	assert_true(block_buf_is_zero(buf, 0));
	assert_true(block_buf_is_zero(buf, 7));
	assert_true(block_buf_is_zero(buf, sizeof(buf)));
	buf[4095] = 1;
	assert_false(block_buf_is_zero(buf, sizeof(buf)));
	assert_true(block_buf_is_zero(buf, 4095));
	buf[3] = 1;
	assert_false(block_buf_is_zero(buf, 4));
}

/* ---- request pool ---- */

static void test_req_pool(void **state)
{
	struct block_req_pool pool;
	struct block_req *r[5];
	int i;

	assert_int_equal(block_req_pool_init(&pool, 3), 0);
	for (i = 0; i < 5; i++) {
		r[i] = block_req_get(&pool);
		assert_non_null(r[i]);
	}
	assert_int_equal(pool.overflow, 2);
	for (i = 0; i < 3; i++)
		assert_true(r[i] >= pool.reqs && r[i] < pool.reqs + 3);
	for (i = 0; i < 5; i++)
		block_req_put(&pool, r[i]);	/* overflow ones are freed (ASan checks) */
	for (i = 0; i < 3; i++)
		assert_true(block_req_get(&pool) >= pool.reqs);
	block_req_pool_destroy(&pool);
}

/* ---- engines ---- */

struct eng_result {
	int done;
	int ret[64];
	int order[64];
};

static void eng_done(struct block_req *req, int ret)
{
	struct eng_result *r = req->opaque;
	int idx = (int)req->priv.u64[0];

	r->ret[idx] = ret;
	r->order[r->done++] = idx;
}

static void engine_rw(enum block_aio engine)
{
	char *path = tmp_path("eng");
	struct block_req req[64];
	struct iovec iov[64][2];
	static unsigned char buf[64][2][2048];
	struct eng_result res = { 0 };
	struct aio_ctx *ctx;
	int fd, i, j, k;

	write_file(path, 64 * 4096, 3);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(aio_ctx_new(&ctx, engine, 16), 0);
	assert_int_equal(aio_ctx_engine(ctx), engine);
	assert_true(aio_ctx_fd(ctx) >= 0);

	/* 64 reads of 4 KiB in two iovecs, plugged into one batch, more than depth */
	aio_ctx_plug(ctx);
	for (i = 0; i < 64; i++) {
		memset(&req[i], 0, sizeof(req[i]));
		iov[i][0] = (struct iovec){ buf[i][0], 2048 };
		iov[i][1] = (struct iovec){ buf[i][1], 2048 };
		req[i].op = BLOCK_OP_READ;
		req[i].offset = (uint64_t)(63 - i) * 4096;
		req[i].iov = iov[i];
		req[i].iovcnt = 2;
		req[i].done = eng_done;
		req[i].opaque = &res;
		req[i].priv.u64[0] = i;
		aio_ctx_submit(ctx, fd, &req[i]);
	}
	aio_ctx_unplug(ctx);
	while (res.done < 64)
		assert_true(aio_ctx_wait(ctx) > 0);
	assert_int_equal(aio_ctx_inflight(ctx), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(res.ret[i], 0);
		for (j = 0; j < 2; j++)
			for (k = 0; k < 2048; k += 511)
				assert_int_equal(buf[i][j][k],
						 expect_byte((63 - i) * 4096 + j * 2048 + k, 3));
	}

	/* write + FUA, then flush, then read back across EOF: the tail reads as zeroes */
	memset(&res, 0, sizeof(res));
	memset(buf[0][0], 0xab, 2048);
	memset(&req[0], 0, sizeof(req[0]));
	iov[0][0] = (struct iovec){ buf[0][0], 2048 };
	req[0] = (struct block_req){ .op = BLOCK_OP_WRITE, .offset = 63 * 4096 + 1024,
				     .iov = iov[0], .iovcnt = 1, .flags = BLOCK_REQ_FUA,
				     .done = eng_done, .opaque = &res };
	aio_ctx_submit(ctx, fd, &req[0]);
	req[1] = (struct block_req){ .op = BLOCK_OP_FLUSH, .done = eng_done, .opaque = &res };
	req[1].priv.u64[0] = 1;
	aio_ctx_submit(ctx, fd, &req[1]);
	while (res.done < 2)
		assert_true(aio_ctx_wait(ctx) > 0);
	assert_int_equal(res.ret[0], 0);
	assert_int_equal(res.ret[1], 0);

	memset(&res, 0, sizeof(res));
	memset(buf[1], 0x55, sizeof(buf[1]));
	iov[1][0] = (struct iovec){ buf[1][0], 2048 };
	iov[1][1] = (struct iovec){ buf[1][1], 2048 };
	req[0] = (struct block_req){ .op = BLOCK_OP_READ, .offset = 63 * 4096 + 2048,
				     .iov = iov[1], .iovcnt = 2, .done = eng_done,
				     .opaque = &res };
	aio_ctx_submit(ctx, fd, &req[0]);
	while (res.done < 1)
		assert_true(aio_ctx_wait(ctx) > 0);
	assert_int_equal(res.ret[0], 0);
	assert_int_equal(buf[1][0][0], 0xab);		/* written above */
	assert_int_equal(buf[1][0][1023], 0xab);
	assert_int_equal(buf[1][0][1024], expect_byte(63 * 4096 + 2048 + 1024, 3));
	assert_int_equal(buf[1][1][0], 0);		/* beyond EOF */
	assert_int_equal(buf[1][1][2047], 0);

	/* errors: a bad fd fails the request, an unsupported op is refused */
	memset(&res, 0, sizeof(res));
	req[0] = (struct block_req){ .op = BLOCK_OP_READ, .iov = iov[1], .iovcnt = 1,
				     .done = eng_done, .opaque = &res };
	aio_ctx_submit(ctx, 9999, &req[0]);
	req[1] = (struct block_req){ .op = (enum block_op)77, .done = eng_done,
				     .opaque = &res };
	req[1].priv.u64[0] = 1;
	aio_ctx_submit(ctx, fd, &req[1]);
	/* discard: fallocate in the engine, or refused by engines without it */
	req[2] = (struct block_req){ .op = BLOCK_OP_DISCARD, .offset = 0, .len = 4096,
				     .done = eng_done, .opaque = &res };
	req[2].priv.u64[0] = 2;
	aio_ctx_submit(ctx, fd, &req[2]);
	while (res.done < 3)
		assert_true(aio_ctx_wait(ctx) > 0);
	assert_int_equal(res.ret[0], -EBADF);
	assert_int_equal(res.ret[1], -EOPNOTSUPP);
	assert_int_equal(res.ret[2], aio_ctx_can_fallocate(ctx) ? 0 : -EOPNOTSUPP);
	assert_int_equal(aio_ctx_can_fallocate(ctx), engine != BLOCK_AIO_NATIVE);
	assert_int_equal(aio_ctx_wait(ctx), 0);	/* nothing in flight: returns at once */

	aio_ctx_free(ctx);
	close(fd);
	unlink(path);
	free(path);
}

static void test_engine_uring(void **state)
{
	engine_rw(BLOCK_AIO_URING);
}

static void test_engine_native(void **state)
{
	engine_rw(BLOCK_AIO_NATIVE);
}

static void test_engine_threads(void **state)
{
	engine_rw(BLOCK_AIO_THREADS);
}

/* With io_uring forbidden (as container seccomp profiles do), the default engine falls
 * back to the thread pool instead of failing. Runs in a child: seccomp is one-way. */
static void test_engine_fallback(void **state)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]),
				   .filter = filter };
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct aio_ctx *ctx;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(3);
		if (aio_ctx_new(&ctx, BLOCK_AIO_URING, 8) < 0)
			_exit(1);
		if (aio_ctx_engine(ctx) != BLOCK_AIO_THREADS)
			_exit(2);
		aio_ctx_free(ctx);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_engine_names(void **state)
{
	enum block_aio e;

	assert_int_equal(aio_engine_parse("io_uring", &e), 0);
	assert_int_equal(e, BLOCK_AIO_URING);
	assert_int_equal(aio_engine_parse("native", &e), 0);
	assert_int_equal(e, BLOCK_AIO_NATIVE);
	assert_int_equal(aio_engine_parse("threads", &e), 0);
	assert_int_equal(e, BLOCK_AIO_THREADS);
	assert_int_equal(aio_engine_parse("posix", &e), -EINVAL);
	assert_string_equal(aio_engine_name(BLOCK_AIO_NATIVE), "native");
}

/* ---- the generic layer on a raw image ---- */

struct sub_result {
	int calls;
	int ret;
};

static void sub_done(struct block_req *req, int ret)
{
	struct sub_result *r = req->opaque;

	r->calls++;
	r->ret = ret;
}

static void test_submit_checks(void **state)
{
	char *path = tmp_path("checks");
	struct block_open_opts o = { .format = "raw", .read_only = true };
	struct sub_result r = { 0 };
	char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct block_req req;
	struct block_dev *bd;

	write_file(path, 8192, 1);
	assert_int_equal(block_open(&bd, path, &o), 0);
	assert_int_equal(bd->size, 8192);
	assert_string_equal(bd->drv->name, "raw");

	/* past the end, straddling the end, offset overflow */
	req = (struct block_req){ .op = BLOCK_OP_READ, .offset = 8192 - 256, .iov = &iov,
				  .iovcnt = 1, .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ret, -ERANGE);
	req.offset = UINT64_MAX - 100;
	block_submit(bd, &req);
	assert_int_equal(r.ret, -ERANGE);
	req = (struct block_req){ .op = BLOCK_OP_DISCARD, .offset = 0, .len = UINT64_MAX,
				  .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.ret, -EROFS);
	req = (struct block_req){ .op = BLOCK_OP_WRITE, .offset = 0, .iov = &iov, .iovcnt = 1,
				  .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.ret, -EROFS);
	req = (struct block_req){ .op = (enum block_op)77, .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.ret, -EINVAL);
	req = (struct block_req){ .op = BLOCK_OP_READ, .iov = NULL, .iovcnt = 2,
				  .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.ret, -EINVAL);
	assert_int_equal(r.calls, 6);

	/* a flush on a read-only device and a zero-length read complete inline */
	req = (struct block_req){ .op = BLOCK_OP_FLUSH, .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	assert_int_equal(r.calls, 7);
	assert_int_equal(r.ret, 0);

	/* the good path, through the event fd */
	req = (struct block_req){ .op = BLOCK_OP_READ, .offset = 8192 - 512, .iov = &iov,
				  .iovcnt = 1, .done = sub_done, .opaque = &r };
	block_submit(bd, &req);
	while (r.calls < 8)
		block_poll(bd);
	assert_int_equal(r.ret, 0);
	assert_int_equal((unsigned char)buf[0], expect_byte(8192 - 512, 1));
	assert_true(block_event_fd(bd) >= 0);
	assert_int_equal(block_resize(bd, 4096), -EROFS);
	block_close(bd);
	unlink(path);
	free(path);
}

static void test_sync_wrappers(void **state)
{
	char *path = tmp_path("sync");
	struct block_open_opts o = { .format = "raw", .aio = BLOCK_AIO_THREADS };
	struct block_info info;
	unsigned char buf[3000], back[3000];
	struct block_dev *bd;
	size_t i;

	write_file(path, 1 << 20, 9);
	assert_int_equal(block_open(&bd, path, &o), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i ^ 0x5a);
	assert_int_equal(block_pwrite(bd, 12345, buf, sizeof(buf)), 0);
	assert_int_equal(block_flush(bd), 0);
	assert_int_equal(block_pread(bd, 12345, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	assert_int_equal(block_write_zeroes(bd, 12345, 1000, 0), 0);
	assert_int_equal(block_pread(bd, 12345, back, sizeof(back)), 0);
	assert_true(block_buf_is_zero(back, 1000));
	assert_memory_equal(buf + 1000, back + 1000, 2000);
	assert_int_equal(block_discard(bd, 0, 65536), 0);
	assert_int_equal(block_pread(bd, 0, back, sizeof(back)), 0);
	assert_true(block_buf_is_zero(back, sizeof(back)));
	assert_int_equal(block_read_backing(NULL, 0, back, 100), 0);
	assert_int_equal(block_read_backing(bd, (1 << 20) - 10, back, 100), 0);
	assert_int_equal(back[0], expect_byte((1 << 20) - 10, 9));
	assert_true(block_buf_is_zero(back + 10, 90));
	assert_int_equal(block_get_info(bd, &info), 0);
	assert_string_equal(info.format, "raw");
	assert_int_equal(info.virtual_size, 1 << 20);
	assert_int_equal(block_check(bd, &(struct block_check_result){ 0 }, 0), -ENOTSUP);
	assert_int_equal(block_snapshot_create(bd, "x"), -ENOTSUP);
	assert_int_equal(block_write_compressed(bd, 0, buf, 512), -ENOTSUP);
	assert_int_equal(block_drain(bd), 0);
	block_close(bd);
	unlink(path);
	free(path);
}

static void test_open_errors(void **state)
{
	char *path = tmp_path("errors");
	struct block_open_opts o = { .format = "nosuch", .read_only = true };
	struct block_dev *bd = NULL;

	write_file(path, 4096, 0);
	assert_int_equal(block_open(&bd, path, &o), -EINVAL);
	o.format = NULL;
	assert_int_equal(block_open(&bd, "/nonexistent/keel/x", &o), -ENOENT);
	assert_int_equal(block_open(&bd, "/tmp", &o), -EINVAL);	/* a directory */
	assert_int_equal(block_open(&bd, path, &o), 0);		/* probes as raw */
	assert_string_equal(bd->drv->name, "raw");
	block_close(bd);
	assert_int_equal(block_create("nosuch", path, 1, NULL), -EINVAL);
	unlink(path);
	free(path);
}

static void test_backing_limits(void **state)
{
	char *path = tmp_path("backing");
	struct block_open_opts o = { .format = "raw", .read_only = true };
	struct block_dev *bd;

	write_file(path, 4096, 0);
	assert_int_equal(block_open(&bd, path, &o), 0);
	/* the image itself as its backing file: a loop */
	assert_int_equal(block_open_backing(bd, path, "raw"), -ELOOP);
	assert_null(bd->backing);
	assert_int_equal(block_open_backing(bd, "", "raw"), -EINVAL);
	assert_int_equal(block_open_backing(bd, "/nonexistent/keel", "raw"), -ENOENT);
	/* depth limit */
	bd->backing_depth = BLOCK_MAX_BACKING_DEPTH;
	assert_int_equal(block_open_backing(bd, "/dev/null", "raw"), -ELOOP);
	bd->backing_depth = 0;
	block_close(bd);
	unlink(path);
	free(path);
}

static void test_backing_relative(void **state)
{
	char *top = tmp_path("top"), *base = tmp_path("base"), *third = tmp_path("third");
	struct block_open_opts o = { .format = "raw", .read_only = true,
				     .max_backing_depth = 2 };
	const char *base_name = strrchr(base, '/') + 1;
	const char *top_name = strrchr(top, '/') + 1;
	unsigned char buf[64];
	struct block_dev *bd, *b;

	write_file(top, 4096, 1);
	write_file(base, 1000, 2);
	write_file(third, 512, 3);
	assert_int_equal(block_open(&bd, top, &o), 0);
	/* a relative name is relative to the directory of the image naming it */
	assert_int_equal(block_open_backing(bd, base_name, "raw"), 0);
	b = bd->backing;
	assert_non_null(b);
	assert_ptr_equal(b->parent, bd);
	assert_int_equal(b->backing_depth, 1);
	assert_true(b->read_only);
	assert_ptr_equal(b->aio, bd->aio);	/* same engine context */
	assert_int_equal(b->size, 1000);
	/* reads through it, zeroes past its end */
	assert_int_equal(block_read_backing(b, 990, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], expect_byte(990, 2));
	assert_true(block_buf_is_zero(buf + 10, sizeof(buf) - 10));
	/* the top image as the backing file of its own backing file: a loop */
	assert_int_equal(block_open_backing(b, top_name, "raw"), -ELOOP);
	/* max_backing_depth = 2 is inherited: depth 2 opens, depth 3 does not */
	assert_int_equal(block_open_backing(b, third, "raw"), 0);
	assert_int_equal(b->backing->backing_depth, 2);
	assert_int_equal(block_open_backing(b->backing, base_name, "raw"), -ELOOP);
	block_close(bd);
	unlink(top);
	unlink(base);
	unlink(third);
	free(top);
	free(base);
	free(third);
}

/* The I/O thread pattern: the engine's eventfd in an epoll loop, block_poll() when it
 * fires, new requests submitted from completion callbacks. No wakeup may be lost. */
struct loop_io {
	struct loop *loop;
	struct block_dev *bd;
	struct block_req req[32];
	struct iovec iov[32];
	unsigned char buf[32][4096];
	int issued, completed, errors, total;
};

static void loop_io_issue(struct loop_io *io, int slot);

static void loop_io_done(struct block_req *req, int ret)
{
	struct loop_io *io = req->opaque;
	int slot = (int)(req - io->req);
	uint64_t off = req->offset;

	if (ret < 0 || io->buf[slot][0] != expect_byte(off, 4) ||
	    io->buf[slot][4095] != expect_byte(off + 4095, 4))
		io->errors++;
	if (++io->completed == io->total)
		loop_stop(io->loop, 0);
	else if (io->issued < io->total)
		loop_io_issue(io, slot);
}

static void loop_io_issue(struct loop_io *io, int slot)
{
	struct block_req *r = &io->req[slot];

	memset(r, 0, offsetof(struct block_req, bd));
	io->iov[slot] = (struct iovec){ io->buf[slot], 4096 };
	r->op = BLOCK_OP_READ;
	r->offset = (uint64_t)(io->issued * 37 % 256) * 4096;
	r->iov = &io->iov[slot];
	r->iovcnt = 1;
	r->done = loop_io_done;
	r->opaque = io;
	io->issued++;
	block_submit(io->bd, r);
}

static void loop_io_event(void *opaque, uint32_t events)
{
	struct loop_io *io = opaque;

	block_poll(io->bd);
}

static void loop_io_timeout(void *opaque)
{
	loop_stop(opaque, 1);
}

static void io_thread_pattern(enum block_aio engine)
{
	char *path = tmp_path("loop");
	struct block_open_opts o = { .format = "raw", .read_only = true, .aio = engine };
	struct loop_io *io = calloc(1, sizeof(*io));
	struct loop_timer *t;
	int i;

	assert_non_null(io);
	write_file(path, 256 * 4096, 4);
	io->loop = loop_new();
	assert_non_null(io->loop);
	assert_int_equal(block_open(&io->bd, path, &o), 0);
	assert_int_equal(loop_add_fd(io->loop, block_event_fd(io->bd), EPOLLIN, loop_io_event,
				     io), 0);
	t = loop_timer_new(io->loop, loop_io_timeout, io->loop);
	assert_int_equal(loop_timer_arm(t, 10ULL * 1000000000ULL, 0), 0);
	io->total = 2000;
	for (i = 0; i < 32; i++)
		loop_io_issue(io, i);
	assert_int_equal(loop_run(io->loop), 0);	/* 1 = timed out: a lost wakeup */
	assert_int_equal(io->completed, io->total);
	assert_int_equal(io->errors, 0);
	loop_timer_free(t);
	loop_del_fd(io->loop, block_event_fd(io->bd));
	block_close(io->bd);
	loop_free(io->loop);
	unlink(path);
	free(path);
	free(io);
}

static void test_io_thread_uring(void **state)
{
	io_thread_pattern(BLOCK_AIO_URING);
}

static void test_io_thread_native(void **state)
{
	io_thread_pattern(BLOCK_AIO_NATIVE);
}

static void test_io_thread_threads(void **state)
{
	io_thread_pattern(BLOCK_AIO_THREADS);
}

static void count_done(struct block_req *req, int ret)
{
	int *n = req->opaque;

	(*n)++;
}

/* Two devices on one engine context: each counts its own requests; draining one does
 * not wait for the other; the caller gets its request back as it submitted it. */
static void test_inflight_drain(void **state)
{
	char *a = tmp_path("drain-a"), *b = tmp_path("drain-b");
	struct block_open_opts o = { .format = "raw", .read_only = true };
	static unsigned char buf[8][4096];
	struct iovec iov[8];
	struct block_req req[8];
	struct block_dev *da, *db;
	struct aio_ctx *ctx;
	int done = 0, i;

	write_file(a, 65536, 5);
	write_file(b, 65536, 6);
	assert_int_equal(aio_ctx_new(&ctx, BLOCK_AIO_THREADS, 16), 0);
	o.ctx = ctx;
	assert_int_equal(block_open(&da, a, &o), 0);
	assert_int_equal(block_open(&db, b, &o), 0);
	for (i = 0; i < 8; i++) {
		iov[i] = (struct iovec){ buf[i], 4096 };
		req[i] = (struct block_req){ .op = BLOCK_OP_READ, .offset = i * 4096,
					     .iov = &iov[i], .iovcnt = 1, .done = count_done,
					     .opaque = &done };
		block_submit(i < 4 ? da : db, &req[i]);
	}
	assert_int_equal(da->inflight + db->inflight + done, 8);
	/* submitting a request that is in flight is refused, not looped on */
	if (db->inflight) {
		int before = done;

		block_submit(da, &req[7]);
		assert_int_equal(done, before);	/* not the caller's done: still in flight */
	}
	assert_int_equal(block_drain(da), 0);
	assert_int_equal(da->inflight, 0);
	assert_int_equal(block_drain(db), 0);
	assert_int_equal(db->inflight, 0);
	assert_int_equal(done, 8);
	for (i = 0; i < 8; i++) {
		assert_ptr_equal(req[i].done, count_done);
		assert_ptr_equal(req[i].opaque, &done);
		assert_int_equal(buf[i][0], expect_byte(i * 4096, i < 4 ? 5 : 6));
	}
	/* the request can be reused as is */
	block_submit(da, &req[0]);
	assert_int_equal(block_drain(da), 0);
	assert_int_equal(done, 9);
	block_close(da);
	block_close(db);
	aio_ctx_free(ctx);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

static void test_probe(void **state)
{
	uint8_t buf[BLOCK_PROBE_SIZE] = { 0 };
	const struct block_driver *d;
	int i;

	d = block_probe(buf, sizeof(buf), "x.img");
	assert_non_null(d);
	assert_string_equal(d->name, "raw");
	for (i = 0; block_drivers[i]; i++) {
		assert_non_null(block_drivers[i]->name);
		assert_non_null(block_drivers[i]->open);
		assert_non_null(block_drivers[i]->submit);
		assert_ptr_equal(block_driver_find(block_drivers[i]->name), block_drivers[i]);
	}
	assert_null(block_driver_find("nosuch"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_parse),
		cmocka_unit_test(test_opts_limits),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_iov_helpers),
		cmocka_unit_test(test_buf_is_zero),
		cmocka_unit_test(test_req_pool),
		cmocka_unit_test(test_engine_uring),
		cmocka_unit_test(test_engine_native),
		cmocka_unit_test(test_engine_threads),
		cmocka_unit_test(test_engine_fallback),
		cmocka_unit_test(test_engine_names),
		cmocka_unit_test(test_submit_checks),
		cmocka_unit_test(test_sync_wrappers),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_backing_limits),
		cmocka_unit_test(test_backing_relative),
		cmocka_unit_test(test_io_thread_uring),
		cmocka_unit_test(test_io_thread_native),
		cmocka_unit_test(test_io_thread_threads),
		cmocka_unit_test(test_inflight_drain),
		cmocka_unit_test(test_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
