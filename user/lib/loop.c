/* Event loop: epoll over file descriptors, timers as timerfds, cross-thread calls via an eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/loop.h"

struct loop_watch {
	int fd;
	loop_fd_fn fn;
	void *opaque;
	struct loop_watch *next;
};

struct loop_call_item {
	loop_timer_fn fn;
	void *opaque;
	struct loop_call_item *next;
};

struct loop {
	int epfd;
	int wakefd;
	pthread_mutex_t lock;
	struct loop_watch *watches;
	struct loop_call_item *calls;
	bool stopping;
	int code;
};

struct loop_timer {
	struct loop *loop;
	int fd;
	loop_timer_fn fn;
	void *opaque;
};

static void loop_wake(struct loop *loop)
{
	uint64_t one = 1;

	if (write(loop->wakefd, &one, sizeof(one)) < 0)
		return;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wakefd < 0)
		goto fail;
	ev.data.ptr = NULL;	/* NULL marks the wake eventfd */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
		goto fail;
	return loop;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop);
	return NULL;
}

void loop_free(struct loop *loop)
{
	struct loop_watch *w, *wn;
	struct loop_call_item *c, *cn;

	if (!loop)
		return;
	for (w = loop->watches; w; w = wn) {
		wn = w->next;
		free(w);
	}
	for (c = loop->calls; c; c = cn) {
		cn = c->next;
		free(c);
	}
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *opaque)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	ev.data.ptr = w;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		pthread_mutex_unlock(&loop->lock);
		free(w);
		return err;
	}
	w->next = loop->watches;
	loop->watches = w;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct loop_watch *loop_find(struct loop *loop, int fd, struct loop_watch ***link)
{
	struct loop_watch **p;

	for (p = &loop->watches; *p; p = &(*p)->next) {
		if ((*p)->fd == fd) {
			if (link)
				*link = p;
			return *p;
		}
	}
	return NULL;
}

int loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct loop_watch *w;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	w = loop_find(loop, fd, NULL);
	ev.data.ptr = w;
	if (!w)
		ret = -ENOENT;
	else if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		ret = -errno;
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

/*
 * The watch is unlinked but, since a batch of epoll events may still point
 * at it, it is only freed when that batch is done: mark it dead with fd -1
 * and free dead watches at the end of each loop iteration.
 */
int loop_del_fd(struct loop *loop, int fd)
{
	struct loop_watch **link, *w;

	pthread_mutex_lock(&loop->lock);
	w = loop_find(loop, fd, &link);
	if (!w) {
		pthread_mutex_unlock(&loop->lock);
		return -ENOENT;
	}
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->fd = -1;
	w->fn = NULL;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static void loop_reap(struct loop *loop)
{
	struct loop_watch **p = &loop->watches;

	pthread_mutex_lock(&loop->lock);
	while (*p) {
		if ((*p)->fd < 0) {
			struct loop_watch *dead = *p;

			*p = dead->next;
			free(dead);
		} else {
			p = &(*p)->next;
		}
	}
	pthread_mutex_unlock(&loop->lock);
}

static void loop_timer_fire(void *opaque, uint32_t events)
{
	struct loop_timer *t = opaque;
	uint64_t n;

	if (read(t->fd, &n, sizeof(n)) != sizeof(n))
		return;
	t->fn(t->opaque);
}

struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_fn fn, void *opaque)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->fn = fn;
	t->opaque = opaque;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0 || loop_add_fd(loop, t->fd, EPOLLIN, loop_timer_fire, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

int loop_timer_arm(struct loop_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { delay_ns / 1000000000, delay_ns % 1000000000 },
		.it_interval = { period_ns / 1000000000, period_ns % 1000000000 },
	};

	if (!delay_ns)
		its.it_value.tv_nsec = 1;	/* zero would disarm */
	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its = { 0 };

	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}

int loop_call(struct loop *loop, loop_timer_fn fn, void *opaque)
{
	struct loop_call_item *c = malloc(sizeof(*c)), **p;

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->opaque = opaque;
	c->next = NULL;
	pthread_mutex_lock(&loop->lock);
	for (p = &loop->calls; *p; p = &(*p)->next)
		;
	*p = c;
	pthread_mutex_unlock(&loop->lock);
	loop_wake(loop);
	return 0;
}

/* loop_call_wait's call: fn, then wake the thread that waits. */
struct loop_wait {
	loop_timer_fn fn;
	void *opaque;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void loop_wait_fn(void *opaque)
{
	struct loop_wait *w = opaque;

	if (w->fn)
		w->fn(w->opaque);
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int loop_call_wait(struct loop *loop, loop_timer_fn fn, void *opaque)
{
	struct loop_wait w = { .fn = fn, .opaque = opaque, .done = false };
	int ret;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	ret = loop_call(loop, loop_wait_fn, &w);
	if (!ret) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return ret;
}

void loop_stop(struct loop *loop, int code)
{
	pthread_mutex_lock(&loop->lock);
	if (!loop->stopping) {
		loop->stopping = true;
		loop->code = code;
	}
	pthread_mutex_unlock(&loop->lock);
	loop_wake(loop);
}

static void loop_run_calls(struct loop *loop)
{
	struct loop_call_item *c, *next;
	uint64_t n;

	if (read(loop->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&loop->lock);
	c = loop->calls;
	loop->calls = NULL;
	pthread_mutex_unlock(&loop->lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(c->opaque);
		free(c);
	}
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[32];

	for (;;) {
		bool stop;
		int i, n;

		pthread_mutex_lock(&loop->lock);
		stop = loop->stopping;
		/* Consumed: the loop may be run again (tests pump it in steps). */
		loop->stopping = false;
		pthread_mutex_unlock(&loop->lock);
		if (stop)
			return loop->code;
		n = epoll_wait(loop->epfd, evs, 32, -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n; i++) {
			struct loop_watch *w = evs[i].data.ptr;

			if (!w)
				loop_run_calls(loop);
			else if (w->fn)
				w->fn(w->opaque, evs[i].events);
		}
		loop_reap(loop);
	}
}
