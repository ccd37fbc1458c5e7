/* Unit tests for user/lib/loop.c: fd watches, timers, cross-thread calls (and waiting for them), stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/loop.h"

struct counter {
	struct loop *loop;
	int hits;
	int stop_after;
	int fd;
};

static void count_fd(void *opaque, uint32_t events)
{
	struct counter *c = opaque;
	char buf[16];

	assert_true(events & EPOLLIN);
	assert_true(read(c->fd, buf, sizeof(buf)) > 0);
	if (++c->hits == c->stop_after)
		loop_stop(c->loop, 7);
}

static void test_fd_watch(void **state)
{
	struct loop *loop = loop_new();
	struct counter c = { .loop = loop, .stop_after = 1 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	c.fd = p[0];
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, count_fd, &c), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, count_fd, &c) < 0, 1);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(loop), 7);
	assert_int_equal(c.hits, 1);
	assert_int_equal(loop_del_fd(loop, p[0]), 0);
	assert_int_equal(loop_del_fd(loop, p[0]), -2 /* -ENOENT */);
	close(p[0]);
	close(p[1]);
	loop_free(loop);
}

static void tick(void *opaque)
{
	struct counter *c = opaque;

	if (++c->hits == c->stop_after)
		loop_stop(c->loop, 3);
}

static void test_periodic_timer(void **state)
{
	struct loop *loop = loop_new();
	struct counter c = { .loop = loop, .stop_after = 3 };
	struct loop_timer *t = loop_timer_new(loop, tick, &c);

	assert_non_null(t);
	assert_int_equal(loop_timer_arm(t, 1000000, 1000000), 0);
	assert_int_equal(loop_run(loop), 3);
	assert_int_equal(c.hits, 3);
	loop_timer_free(t);
	loop_free(loop);
}

static void *caller(void *opaque)
{
	struct counter *c = opaque;

	loop_call(c->loop, tick, c);
	return NULL;
}

static void test_cross_thread_call(void **state)
{
	struct loop *loop = loop_new();
	struct counter c = { .loop = loop, .stop_after = 1 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, caller, &c), 0);
	assert_int_equal(loop_run(loop), 3);
	pthread_join(th, NULL);
	assert_int_equal(c.hits, 1);
	loop_free(loop);
}

static void *loop_thread(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static void bump(void *opaque)
{
	(*(int *)opaque)++;
}

/* loop_call_wait returns only after fn ran on the loop's thread; NULL fn is a barrier. */
static void test_call_wait(void **state)
{
	struct loop *loop = loop_new();
	pthread_t th;
	int n = 0, i;

	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(loop_call_wait(loop, bump, &n), 0);
		assert_int_equal(n, i + 1);
	}
	assert_int_equal(loop_call_wait(loop, NULL, NULL), 0);
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	assert_int_equal(n, 100);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_watch),
		cmocka_unit_test(test_periodic_timer),
		cmocka_unit_test(test_cross_thread_call),
		cmocka_unit_test(test_call_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
