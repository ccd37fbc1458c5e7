/* Unit tests for user/lib/chardev.c: null, file, unix (one client, backpressure), stdio, pty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/chardev.h"
#include "lib/loop.h"

struct receiver {
	pthread_mutex_t lock;
	uint8_t buf[4096];
	size_t len;
	size_t budget;		/* bytes it may still take */
	int calls;
};

static size_t receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct receiver *r = opaque;
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = len < r->budget ? len : r->budget;
	if (n > sizeof(r->buf) - r->len)
		n = sizeof(r->buf) - r->len;
	memcpy(r->buf + r->len, buf, n);
	r->len += n;
	r->budget -= n;
	r->calls++;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static size_t received(struct receiver *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->len;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void receiver_init(struct receiver *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->budget = SIZE_MAX;
}

static bool wait_received(struct receiver *r, size_t n)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (received(r) >= n)
			return true;
		usleep(1000);
	}
	return false;
}

struct looper {
	struct loop *loop;
	pthread_t thread;
};

static void *loop_main(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static void looper_init(struct looper *l)
{
	l->loop = loop_new();
	assert_non_null(l->loop);
}

/* chardev_set_input() belongs to the loop's thread: call it before this. */
static void looper_start(struct looper *l)
{
	assert_int_equal(pthread_create(&l->thread, NULL, loop_main, l->loop), 0);
}

static void looper_stop(struct looper *l)
{
	loop_stop(l->loop, 0);
	pthread_join(l->thread, NULL);
}

static void test_null_and_bad_specs(void **state)
{
	struct loop *loop = loop_new();
	struct chardev *cd;
	char longpath[200];

	cd = chardev_open("null", loop);
	assert_non_null(cd);
	assert_int_equal(chardev_write(cd, "abc", 3), 3);
	chardev_close(cd);
	assert_null(chardev_open("bogus", loop));
	assert_null(chardev_open("file:", loop));
	assert_null(chardev_open("unix:", loop));
	assert_null(chardev_open(NULL, loop));
	assert_null(chardev_open("file:/nonexistent-dir/x", loop));
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/tmp/", 10);
	longpath[sizeof(longpath) - 1] = 0;
	assert_null(chardev_open(longpath, loop));
	loop_free(loop);
}

static void test_file_truncates(void **state)
{
	struct loop *loop = loop_new();
	char path[64], spec[80], buf[32];
	struct chardev *cd;
	int fd;

	snprintf(path, sizeof(path), "/tmp/keel-test-chardev-%d", getpid());
	snprintf(spec, sizeof(spec), "file:%s", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, "old contents", 12), 12);
	close(fd);
	cd = chardev_open(spec, loop);
	assert_non_null(cd);
	assert_int_equal(chardev_write(cd, "new", 3), 3);
	chardev_close(cd);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "new", 3);
	close(fd);
	unlink(path);
	loop_free(loop);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ssize_t read_timeout(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return read(fd, buf, len);
}

/* Output reaches the client once the loop has accepted it. */
static void wait_accepted(struct chardev *cd, int fd)
{
	char buf[64];
	int i;

	for (i = 0; i < 200; i++) {
		assert_int_equal(chardev_write(cd, "p", 1), 1);
		if (read_timeout(fd, buf, sizeof(buf), 10) > 0)
			return;
	}
	fail_msg("client never accepted");
}

static void test_unix_socket(void **state)
{
	struct looper l;
	struct receiver r;
	struct chardev *cd;
	char path[64], spec[80], buf[256];
	uint8_t data[100];
	int fd, fd2, i;

	receiver_init(&r);
	looper_init(&l);
	snprintf(path, sizeof(path), "/tmp/keel-test-chardev-%d.sock", getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, l.loop);
	assert_non_null(cd);
	chardev_set_input(cd, receive, &r);
	looper_start(&l);
	/* No client: output is dropped, not an error and not blocking. */
	assert_int_equal(chardev_write(cd, "lost", 4), 4);

	fd = unix_connect(path);
	wait_accepted(cd, fd);
	assert_int_equal(chardev_write(cd, "hello", 5), 5);
	assert_int_equal(read_timeout(fd, buf, sizeof(buf), 1000), 5);
	assert_memory_equal(buf, "hello", 5);

	/* A second client is turned away; the first keeps the port. */
	fd2 = unix_connect(path);
	assert_int_equal(read_timeout(fd2, buf, sizeof(buf), 2000), 0);
	close(fd2);

	/* Input with backpressure: the receiver takes 10, then nothing. */
	pthread_mutex_lock(&r.lock);
	r.budget = 10;
	pthread_mutex_unlock(&r.lock);
	for (i = 0; i < 100; i++)
		data[i] = i;
	assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
	assert_true(wait_received(&r, 10));
	usleep(50000);
	assert_int_equal(received(&r), 10);
	/* Room again: the held-back bytes come, in order, none lost. */
	pthread_mutex_lock(&r.lock);
	r.budget = SIZE_MAX;
	pthread_mutex_unlock(&r.lock);
	chardev_input_resume(cd);
	assert_true(wait_received(&r, 100));
	assert_memory_equal(r.buf, data, 100);

	/* The client sends and leaves while input is paused: nothing is lost. */
	pthread_mutex_lock(&r.lock);
	r.budget = 0;
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(write(fd, "x", 1), 1);
	usleep(50000);
	assert_int_equal(received(&r), 100);
	assert_int_equal(write(fd, "tail", 4), 4);
	close(fd);
	usleep(20000);
	pthread_mutex_lock(&r.lock);
	r.budget = SIZE_MAX;
	pthread_mutex_unlock(&r.lock);
	chardev_input_resume(cd);
	assert_true(wait_received(&r, 105));
	assert_memory_equal(r.buf + 100, "xtail", 5);

	/* The client is gone: writes are dropped; a new client is accepted. */
	usleep(20000);
	for (i = 0; i < 100; i++)
		assert_int_equal(chardev_write(cd, "x", 1), 1);
	fd = unix_connect(path);
	wait_accepted(cd, fd);
	close(fd);

	looper_stop(&l);
	chardev_close(cd);
	assert_int_equal(access(path, F_OK), -1);	/* socket removed */
	loop_free(l.loop);
}

/* stdio on pipes (not a tty): input until EOF, output survives EPIPE. */
static void test_stdio_pipes(void **state)
{
	struct looper l;
	struct receiver r;
	struct chardev *cd;
	int in[2], outp[2], saved_in, saved_out;
	char buf[16];
	ssize_t n;

	receiver_init(&r);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(outp), 0);
	saved_in = dup(0);
	saved_out = dup(1);
	dup2(in[0], 0);
	dup2(outp[1], 1);
	looper_init(&l);
	cd = chardev_open("stdio", l.loop);
	assert_non_null(cd);
	assert_null(chardev_open("stdio", l.loop));	/* only one user */
	chardev_set_input(cd, receive, &r);
	looper_start(&l);
	n = write(in[1], "typed", 5);
	close(in[1]);				/* EOF afterwards */
	assert_true(wait_received(&r, 5));
	usleep(20000);
	assert_int_equal(chardev_write(cd, "out", 3), 3);
	n = read(outp[0], buf, sizeof(buf));
	close(outp[0]);
	/* The reader is gone: EPIPE must not kill us. */
	assert_int_equal(chardev_write(cd, "more", 4), 4);
	assert_int_equal(chardev_write(cd, "more", 4), 4);
	looper_stop(&l);
	chardev_close(cd);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
	close(in[0]);
	close(outp[1]);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "out", 3);
	assert_memory_equal(r.buf, "typed", 5);
	assert_int_equal(received(&r), 5);
	loop_free(l.loop);
}

/* The pty's slave name: the /dev/pts link that appeared in our fd table. */
static int find_new_pts(const bool *before)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int found = -1;

	while ((de = readdir(d))) {
		char link[64], target[64];
		int fd = atoi(de->d_name);
		ssize_t n;

		if (de->d_name[0] == '.' || fd >= 1024 || before[fd])
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strncmp(target, "/dev/pts/", 9) && !strstr(target, "ptmx"))
			found = fd;
	}
	closedir(d);
	return found;
}

static void test_pty(void **state)
{
	static bool before[1024];
	struct looper l;
	struct receiver r;
	struct chardev *cd;
	char big[65536], buf[16], link[64], name[64];
	struct dirent *de;
	DIR *d;
	int slave_fd, fd, i;
	ssize_t n;

	d = opendir("/proc/self/fd");
	while ((de = readdir(d)))
		if (atoi(de->d_name) < 1024)
			before[atoi(de->d_name)] = true;
	closedir(d);
	receiver_init(&r);
	looper_init(&l);
	cd = chardev_open("pty", l.loop);
	assert_non_null(cd);
	chardev_set_input(cd, receive, &r);
	looper_start(&l);
	fd = find_new_pts(before);
	assert_true(fd >= 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, name, sizeof(name) - 1);
	assert_true(n > 0);
	name[n] = 0;
	slave_fd = open(name, O_RDWR | O_NOCTTY);
	assert_true(slave_fd >= 0);

	assert_int_equal(chardev_write(cd, "boot", 4), 4);
	assert_int_equal(read_timeout(slave_fd, buf, sizeof(buf), 1000), 4);
	assert_memory_equal(buf, "boot", 4);
	assert_int_equal(write(slave_fd, "key", 3), 3);
	assert_true(wait_received(&r, 3));
	assert_memory_equal(r.buf, "key", 3);
	/* Nobody reads: a megabyte of output drops instead of blocking. */
	memset(big, 'z', sizeof(big));
	for (i = 0; i < 16; i++)
		assert_int_equal(chardev_write(cd, big, sizeof(big)), sizeof(big));
	close(slave_fd);
	looper_stop(&l);
	chardev_close(cd);
	loop_free(l.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_and_bad_specs),
		cmocka_unit_test(test_file_truncates),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_stdio_pipes),
		cmocka_unit_test(test_pty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
