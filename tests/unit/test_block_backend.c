/*
 * Unit tests for user/block/backend.c: statistics as query-blockstats names
 * them, werror=report and werror=stop (park, resume, drop), rerror, plugged
 * batches and batch_done, and two backends sharing one loop's engine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/backend.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "vmm/qmp/block.h"

#define DISK_SIZE	(4u << 20)
#define NR_REQS		8

struct ctx {
	char path[256];
	struct block_dev *bd;
	struct blk_backend *be;
	unsigned int batches;
	unsigned int errors;
	int last_err;
	bool last_write;
};

struct treq {
	struct blk_backend_req r;
	struct iovec iov;
	int ret;
	bool done;
	uint8_t buf[4096];
};

static void treq_done(struct blk_backend_req *r, int ret)
{
	struct treq *t = r->opaque;

	t->ret = ret;
	t->done = true;
}

static void on_batch(void *opaque)
{
	struct ctx *c = opaque;

	c->batches++;
}

static void on_io_error(void *opaque, bool write, int err)
{
	struct ctx *c = opaque;

	c->errors++;
	c->last_err = err;
	c->last_write = write;
}

static const struct blk_backend_ops test_ops = {
	.batch_done = on_batch,
	.io_error = on_io_error,
};

static void open_disk(struct ctx *c, const char *tag, enum block_aio aio)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct block_open_opts o = { .format = "raw", .aio = aio };

	snprintf(c->path, sizeof(c->path), "%s/keel-test-be-%d-%s", dir, (int)getpid(), tag);
	unlink(c->path);
	assert_int_equal(block_create("raw", c->path, DISK_SIZE, NULL), 0);
	assert_int_equal(block_open(&c->bd, c->path, &o), 0);
}

static void make_be(struct ctx *c, enum blk_error_action werror, enum blk_error_action rerror,
		    struct loop *loop)
{
	struct blk_backend_conf bc = {
		.name = "vdt", .bd = c->bd, .discard = true, .werror = werror,
		.rerror = rerror, .loop = loop, .ops = &test_ops, .opaque = c,
		.iothread = loop != NULL,
	};

	c->be = blk_backend_new(&bc);
	assert_non_null(c->be);
}

static void treq_init(struct treq *t, enum block_op op, uint64_t offset, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->iov.iov_base = t->buf;
	t->iov.iov_len = len;
	t->r.op = op;
	t->r.offset = offset;
	t->r.done = treq_done;
	t->r.opaque = t;
	if (op == BLOCK_OP_READ || op == BLOCK_OP_WRITE) {
		t->r.iov = &t->iov;
		t->r.iovcnt = 1;
	} else {
		t->r.len = len;
	}
	t->ret = 1;
}

/* Submit one request and wait for it; returns its result, or 1 if it is still held. */
static int run1(struct ctx *c, struct treq *t)
{
	blk_backend_lock(c->be);
	blk_backend_submit(c->be, &t->r);
	blk_backend_drain(c->be);
	blk_backend_unlock(c->be);
	return t->done ? t->ret : 1;
}

/* Make writes fail with EBADF: the image's fd becomes a read-only one. */
static void sabotage(struct ctx *c, bool broken)
{
	int fd = open(c->path, broken ? O_RDONLY : O_RDWR);

	assert_true(fd >= 0);
	assert_true(dup2(fd, c->bd->file->fd) >= 0);
	close(fd);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	log_threshold = LOG_ERR;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	blk_backend_free(c->be);
	block_close(c->bd);
	if (c->path[0])
		unlink(c->path);
	free(c);
	return 0;
}

static void test_stats(void **state)
{
	struct ctx *c = *state;
	struct blk_stats st;
	struct treq t;

	open_disk(c, "stats", BLOCK_AIO_URING);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, NULL);
	treq_init(&t, BLOCK_OP_WRITE, 0, 4096);
	memset(t.buf, 0x5a, sizeof(t.buf));
	assert_int_equal(run1(c, &t), 0);
	treq_init(&t, BLOCK_OP_WRITE, 8192, 512);
	assert_int_equal(run1(c, &t), 0);
	treq_init(&t, BLOCK_OP_READ, 0, 4096);
	assert_int_equal(run1(c, &t), 0);
	assert_int_equal(t.buf[4095], 0x5a);
	treq_init(&t, BLOCK_OP_FLUSH, 0, 0);
	assert_int_equal(run1(c, &t), 0);
	treq_init(&t, BLOCK_OP_DISCARD, 65536, 65536);
	assert_int_equal(run1(c, &t), 0);
	treq_init(&t, BLOCK_OP_WRITE_ZEROES, 131072, 4096);
	assert_int_equal(run1(c, &t), 0);
	/* beyond the end: the block layer refuses it, a failed read */
	treq_init(&t, BLOCK_OP_READ, DISK_SIZE, 512);
	assert_int_equal(run1(c, &t), -ERANGE);
	blk_backend_account_invalid(c->be, BLOCK_OP_WRITE);
	blk_backend_account_invalid(c->be, BLOCK_OP_DISCARD);

	blk_backend_stats(c->be, &st);
	assert_int_equal(st.wr_operations, 3);		/* write-zeroes counts as a write */
	assert_int_equal(st.wr_bytes, 4096 + 512 + 4096);
	assert_int_equal(st.rd_operations, 1);
	assert_int_equal(st.rd_bytes, 4096);
	assert_int_equal(st.flush_operations, 1);
	assert_int_equal(st.unmap_operations, 1);
	assert_int_equal(st.unmap_bytes, 65536);
	assert_int_equal(st.failed_rd_operations, 1);
	assert_int_equal(st.failed_wr_operations, 0);
	assert_int_equal(st.invalid_wr_operations, 1);
	assert_int_equal(st.invalid_unmap_operations, 1);
	assert_true(st.wr_total_time_ns > 0);
	assert_true(st.rd_total_time_ns > 0);
	assert_true(st.flush_total_time_ns > 0);
	assert_int_equal(c->errors, 0);
}

static void test_werror_report(void **state)
{
	struct ctx *c = *state;
	struct blk_stats st;
	struct treq t;

	open_disk(c, "report", BLOCK_AIO_THREADS);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, NULL);
	sabotage(c, true);
	treq_init(&t, BLOCK_OP_WRITE, 0, 4096);
	assert_int_equal(run1(c, &t), -EBADF);
	treq_init(&t, BLOCK_OP_READ, 0, 4096);
	assert_int_equal(run1(c, &t), 0);
	blk_backend_stats(c->be, &st);
	assert_int_equal(st.failed_wr_operations, 1);
	assert_int_equal(st.wr_operations, 0);
	assert_int_equal(st.wr_bytes, 0);
	assert_int_equal(c->errors, 0);
	assert_int_equal(blk_backend_parked(c->be), 0);
}

static void test_werror_stop(void **state)
{
	struct ctx *c = *state;
	struct treq w[2], r;
	struct blk_stats st;
	uint8_t back[4096];
	int fd, i;

	open_disk(c, "stop", BLOCK_AIO_URING);
	make_be(c, BLK_ERROR_STOP, BLK_ERROR_REPORT, NULL);
	sabotage(c, true);
	blk_backend_lock(c->be);
	for (i = 0; i < 2; i++) {
		treq_init(&w[i], BLOCK_OP_WRITE, (uint64_t)i * 4096, 4096);
		memset(w[i].buf, 0x30 + i, 4096);
		blk_backend_submit(c->be, &w[i].r);
	}
	blk_backend_drain(c->be);
	blk_backend_unlock(c->be);
	/* held: no answer, the device heard of each, both counted as failed */
	assert_false(w[0].done);
	assert_false(w[1].done);
	assert_int_equal(c->errors, 2);
	assert_int_equal(c->last_err, -EBADF);
	assert_true(c->last_write);
	assert_int_equal(blk_backend_parked(c->be), 2);
	/* rerror=report: reads still answer */
	treq_init(&r, BLOCK_OP_READ, 65536, 512);
	assert_int_equal(run1(c, &r), 0);
	/* fixed; resume submits both again, in order, on this (main-loop) thread */
	sabotage(c, false);
	blk_backend_resume(c->be);
	blk_backend_lock(c->be);
	blk_backend_drain(c->be);
	blk_backend_unlock(c->be);
	assert_true(w[0].done && w[1].done);
	assert_int_equal(w[0].ret, 0);
	assert_int_equal(w[1].ret, 0);
	assert_int_equal(blk_backend_parked(c->be), 0);
	blk_backend_stats(c->be, &st);
	assert_int_equal(st.failed_wr_operations, 2);
	assert_int_equal(st.wr_operations, 2);
	fd = open(c->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 4096), (ssize_t)sizeof(back));
	close(fd);
	assert_memory_equal(back, w[1].buf, sizeof(back));
	/* a resume with nothing held does nothing */
	blk_backend_resume(c->be);
}

/* A reset drops what was held; with stop disabled a failure is reported at once. */
static void test_stop_drop_and_disable(void **state)
{
	struct ctx *c = *state;
	struct treq t;

	open_disk(c, "drop", BLOCK_AIO_THREADS);
	make_be(c, BLK_ERROR_STOP, BLK_ERROR_STOP, NULL);
	sabotage(c, true);
	treq_init(&t, BLOCK_OP_WRITE, 0, 4096);
	assert_int_equal(run1(c, &t), 1);
	assert_int_equal(blk_backend_parked(c->be), 1);
	blk_backend_lock(c->be);
	blk_backend_drop_parked(c->be);
	blk_backend_set_stop_enabled(c->be, false);
	blk_backend_unlock(c->be);
	assert_int_equal(blk_backend_parked(c->be), 0);
	blk_backend_resume(c->be);
	assert_false(t.done);
	treq_init(&t, BLOCK_OP_WRITE, 0, 4096);
	assert_int_equal(run1(c, &t), -EBADF);
	assert_int_equal(c->errors, 1);
}

/* rerror=stop holds a failed read too (here: a read of a closed fd). */
static void test_rerror_stop(void **state)
{
	struct ctx *c = *state;
	struct treq t;
	int fd, saved;

	open_disk(c, "rerror", BLOCK_AIO_THREADS);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_STOP, NULL);
	/* a write-only fd: reads fail with EBADF */
	saved = dup(c->bd->file->fd);
	fd = open(c->path, O_WRONLY);
	assert_true(fd >= 0 && saved >= 0);
	assert_true(dup2(fd, c->bd->file->fd) >= 0);
	close(fd);
	treq_init(&t, BLOCK_OP_READ, 0, 512);
	assert_int_equal(run1(c, &t), 1);
	assert_int_equal(c->errors, 1);
	assert_false(c->last_write);
	assert_true(dup2(saved, c->bd->file->fd) >= 0);
	close(saved);
	blk_backend_resume(c->be);
	blk_backend_lock(c->be);
	blk_backend_drain(c->be);
	blk_backend_unlock(c->be);
	assert_true(t.done);
	assert_int_equal(t.ret, 0);
}

/* Submissions between plug and unplug: one batch, one batch_done for the round. */
static void test_plug_batch(void **state)
{
	struct ctx *c = *state;
	struct treq *t = calloc(NR_REQS, sizeof(*t));
	struct blk_stats st;
	int i;

	assert_non_null(t);
	open_disk(c, "plug", BLOCK_AIO_URING);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, NULL);
	blk_backend_lock(c->be);
	blk_backend_plug(c->be);
	for (i = 0; i < NR_REQS; i++) {
		treq_init(&t[i], BLOCK_OP_WRITE, (uint64_t)i * 4096, 4096);
		blk_backend_submit(c->be, &t[i].r);
	}
	/* nothing reached the kernel yet, so nothing finished */
	for (i = 0; i < NR_REQS; i++)
		assert_false(t[i].done);
	blk_backend_unplug(c->be);
	blk_backend_drain(c->be);
	blk_backend_unlock(c->be);
	for (i = 0; i < NR_REQS; i++)
		assert_int_equal(t[i].ret, 0);
	assert_true(c->batches >= 1);
	assert_true(c->batches < NR_REQS);
	blk_backend_stats(c->be, &st);
	assert_int_equal(st.wr_operations, NR_REQS);
	free(t);
}

static void *loop_thread(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

/* Two disks on one loop: one engine serves both; completions arrive on the loop. */
static void test_shared_engine(void **state)
{
	struct ctx *c = *state, c2 = { 0 };
	struct loop *loop = loop_new();
	struct treq t[2];
	pthread_t th;
	int i, tries;

	assert_non_null(loop);
	open_disk(c, "sh0", BLOCK_AIO_URING);
	open_disk(&c2, "sh1", BLOCK_AIO_URING);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, loop);
	make_be(&c2, BLK_ERROR_REPORT, BLK_ERROR_REPORT, loop);
	/* the image is served by the loop's engine now, not its own context */
	assert_true(c->bd->aio == c2.bd->aio);
	assert_true(c->bd->aio != c->bd->home_aio);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	for (i = 0; i < 2; i++) {
		struct ctx *x = i ? &c2 : c;

		treq_init(&t[i], BLOCK_OP_WRITE, 4096, 4096);
		memset(t[i].buf, 0x41 + i, 4096);
		blk_backend_lock(x->be);
		blk_backend_submit(x->be, &t[i].r);
		blk_backend_unlock(x->be);
	}
	for (tries = 0; tries < 2000 && !(__atomic_load_n(&t[0].done, __ATOMIC_SEQ_CST) &&
					  __atomic_load_n(&t[1].done, __ATOMIC_SEQ_CST)); tries++)
		usleep(1000);
	assert_true(t[0].done && t[1].done);
	assert_int_equal(t[0].ret, 0);
	assert_int_equal(t[1].ret, 0);
	blk_backend_free(c2.be);
	blk_backend_free(c->be);
	c->be = NULL;
	/* each image has its own context again */
	assert_true(c->bd->aio == c->bd->home_aio);
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	loop_free(loop);
	for (i = 0; i < 2; i++) {
		struct ctx *x = i ? &c2 : c;
		uint8_t back[4096];

		assert_int_equal(block_pread(x->bd, 4096, back, sizeof(back)), 0);
		assert_memory_equal(back, t[i].buf, sizeof(back));
	}
	block_close(c2.bd);
	unlink(c2.path);
}

/* An I/O thread holds its loop's engine: a disk that comes and goes reuses it. */
static void test_engine_hold(void **state)
{
	struct ctx *c = *state;
	struct loop *loop = loop_new();
	struct blk_engine *e = blk_engine_hold(loop, BLOCK_AIO_URING);
	struct aio_ctx *first;
	struct treq t;

	assert_non_null(e);
	open_disk(c, "hold", BLOCK_AIO_URING);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, loop);
	first = c->bd->aio;
	blk_backend_free(c->be);
	make_be(c, BLK_ERROR_REPORT, BLK_ERROR_REPORT, loop);
	assert_true(c->bd->aio == first);
	/* nobody runs the loop: drain polls the engine itself */
	treq_init(&t, BLOCK_OP_WRITE, 0, 4096);
	assert_int_equal(run1(c, &t), 0);
	blk_backend_free(c->be);
	c->be = NULL;
	blk_engine_release(e);
	loop_free(loop);
}

/* query-blockstats' stats object: QEMU's names, the backend's values. */
static void test_qmp_shape(void **state)
{
	struct blk_stats st = { .rd_bytes = 1, .wr_bytes = 2, .failed_wr_operations = 3,
				.flush_total_time_ns = 4 };
	json_t *o = qmp_blockstats_json(&st);

	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "rd_bytes")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "wr_bytes")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "failed_wr_operations")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "flush_total_time_ns")), 4);
	assert_non_null(json_object_get(o, "rd_operations"));
	assert_non_null(json_object_get(o, "unmap_operations"));
	assert_non_null(json_object_get(o, "failed_rd_operations"));
	assert_true(json_is_array(json_object_get(o, "timed_stats")));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_werror_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_werror_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drop_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rerror_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_shape, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
