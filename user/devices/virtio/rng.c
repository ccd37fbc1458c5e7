/*
 * virtio-rng (VIRTIO 1.2 ch. 5.4): fills the driver's writable buffers from
 * getrandom(2) or a file such as /dev/hwrng, on the main loop, within an
 * optional max-bytes-per-period budget (requests wait on a timer, never spin).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/device.h"
#include "devices/virtio/rng.h"
#include "lib/log.h"
#include "lib/loop.h"

#define RNG_QUEUE_SIZE		64
/* Bytes per request: a guest offering a huge buffer must not stall the main loop. */
#define RNG_MAX_REQUEST		65536
/* Requests served per wake-up before yielding the main loop to others. */
#define RNG_BATCH		64
#define RNG_RETRY_NS		100000000ull	/* source had nothing: try again in 100 ms */
#define RNG_ERROR_RETRY_NS	1000000000ull	/* source failed: try again in 1 s */

struct virtio_rng {
	char name[32];
	const struct machine_services *ms;
	struct virtio_dev vdev;
	char source[VIRTIO_RNG_SOURCE_MAX];
	int fd;				/* -1: getrandom(2) */
	struct loop_timer *timer;

	pthread_mutex_t lock;		/* everything below */
	bool running;
	struct virtq *vq;
	int kick_fd;			/* watched on the main loop while running */
	struct virtio_rng_budget budget;
	struct virtq_elem *elem;	/* a popped request waiting for budget or bytes */
	bool have_elem;
	bool read_err_logged;
	uint64_t bytes;
};

/* ---- --rng option ---- */

/* One sentence into err, -EINVAL. */
/* ---- rate limit ---- */

uint64_t virtio_rng_budget_take(struct virtio_rng_budget *b, uint64_t now, uint64_t want,
				uint64_t *wait_ns)
{
	uint64_t grant;

	*wait_ns = 0;
	if (!b->max)
		return want;
	if (!b->started || now < b->window_start || now - b->window_start >= b->period_ns) {
		b->started = true;
		b->window_start = now;
		b->used = 0;
	}
	if (b->used >= b->max) {
		*wait_ns = b->window_start + b->period_ns - now;
		return 0;
	}
	grant = want < b->max - b->used ? want : b->max - b->used;
	b->used += grant;
	return grant;
}

static uint64_t rng_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- serving requests ---- */

/*
 * Fill up to len bytes of the request's writable buffers from the source.
 * Returns the bytes written (> 0), -EAGAIN when the source has nothing now,
 * or another -errno.
 */
static ssize_t rng_fill(struct virtio_rng *rng, struct virtq_elem *elem, size_t len)
{
	struct iovec *iov = virtq_elem_in(elem);
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < elem->in_num && done < len; i++) {
		size_t off = 0;

		while (off < iov[i].iov_len && done < len) {
			size_t chunk = iov[i].iov_len - off;
			ssize_t n;

			if (chunk > len - done)
				chunk = len - done;
			if (rng->fd < 0)
				n = getrandom((char *)iov[i].iov_base + off, chunk, GRND_NONBLOCK);
			else
				n = read(rng->fd, (char *)iov[i].iov_base + off, chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				int e = n < 0 ? -errno : -ENODATA;

				if (done)
					return (ssize_t)done;
				return e == -EWOULDBLOCK ? -EAGAIN : e;
			}
			off += (size_t)n;
			done += (size_t)n;
		}
	}
	return (ssize_t)done;
}

static void rng_arm(struct virtio_rng *rng, uint64_t ns)
{
	/* A zero delay would disarm a timerfd. */
	if (loop_timer_arm(rng->timer, ns ? ns : 1, 0))
		log_err("%s: cannot arm the rate-limit timer", rng->name);
}

static void rng_self_kick(struct virtio_rng *rng)
{
	uint64_t one = 1;

	if (write(rng->kick_fd, &one, sizeof(one)) != sizeof(one))
		log_err("%s: cannot reschedule its queue", rng->name);
}

/*
 * Serve one request; caller holds rng->lock and rng->have_elem. 1: done and
 * pushed, 0: must wait (timer armed), -errno: the queue broke.
 */
static int rng_serve_one(struct virtio_rng *rng)
{
	struct virtq_elem *elem = rng->elem;
	uint64_t want = elem->in_len < RNG_MAX_REQUEST ? elem->in_len : RNG_MAX_REQUEST;
	uint64_t grant = want, wait;
	ssize_t n = 0;
	int ret;

	if (want) {
		grant = virtio_rng_budget_take(&rng->budget, rng_now(), want, &wait);
		if (!grant) {
			rng_arm(rng, wait);
			return 0;
		}
		n = rng_fill(rng, elem, grant);
		if (n < 0) {
			/* Give the budget back: nothing reached the guest. */
			rng->budget.used -= rng->budget.used >= grant ? grant : rng->budget.used;
			if (n != -EAGAIN && !rng->read_err_logged) {
				rng->read_err_logged = true;
				log_err("%s: cannot read entropy from %s: %s; the guest waits",
					rng->name, rng->fd < 0 ? "getrandom" : rng->source,
					n == -ENODATA ? "end of file" : strerror((int)-n));
			}
			rng_arm(rng, n == -EAGAIN ? RNG_RETRY_NS : RNG_ERROR_RETRY_NS);
			return 0;
		}
		if ((uint64_t)n < grant)
			rng->budget.used -= grant - (uint64_t)n;
	}
	ret = virtq_push(rng->vq, elem, (uint32_t)n);
	rng->have_elem = false;
	if (ret)
		return ret;
	rng->bytes += (uint64_t)n;
	return 1;
}

static void rng_serve(struct virtio_rng *rng)
{
	unsigned int served = 0;
	bool pushed = false;
	int ret;

	pthread_mutex_lock(&rng->lock);
	if (!rng->running || !rng->vq)
		goto out;
	while (served < RNG_BATCH) {
		if (!rng->have_elem) {
			ret = virtq_pop(rng->vq, rng->elem);
			if (!ret)
				break;
			if (ret < 0) {
				virtio_dev_set_broken(&rng->vdev, "its request queue is broken");
				break;
			}
			rng->have_elem = true;
		}
		ret = rng_serve_one(rng);
		if (ret < 0) {
			virtio_dev_set_broken(&rng->vdev, "cannot complete a request");
			break;
		}
		if (!ret)
			break;
		pushed = true;
		served++;
	}
	if (served == RNG_BATCH)
		rng_self_kick(rng);
	if (pushed)
		virtio_dev_notify(&rng->vdev, 0);
out:
	pthread_mutex_unlock(&rng->lock);
}

static void rng_kicked(void *opaque, uint32_t events)
{
	struct virtio_rng *rng = opaque;
	uint64_t v;

	while (read(rng->kick_fd, &v, sizeof(v)) == sizeof(v))
		;
	rng_serve(rng);
}

static void rng_timer_fired(void *opaque)
{
	rng_serve(opaque);
}

/* ---- transport callbacks ---- */

static int rng_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	struct virtio_rng *rng = container_of(vdev, struct virtio_rng, vdev);
	int ret = 0;

	pthread_mutex_lock(&rng->lock);
	rng->vq = vqs[0];
	rng->kick_fd = virtio_dev_kick_fd(vdev, 0);
	rng->have_elem = false;
	rng->read_err_logged = false;
	rng->budget.started = false;
	if (rng->vq) {
		ret = loop_add_fd(rng->ms->loop, rng->kick_fd, EPOLLIN, rng_kicked, rng);
		if (ret)
			log_err("%s: cannot watch its queue: %s", rng->name, strerror(-ret));
		else
			rng_self_kick(rng);	/* requests queued before DRIVER_OK */
	}
	rng->running = !ret;
	pthread_mutex_unlock(&rng->lock);
	return ret;
}

static void rng_stop(struct virtio_dev *vdev)
{
	struct virtio_rng *rng = container_of(vdev, struct virtio_rng, vdev);

	pthread_mutex_lock(&rng->lock);
	if (rng->running && rng->vq)
		loop_del_fd(rng->ms->loop, rng->kick_fd);
	loop_timer_disarm(rng->timer);
	rng->running = false;
	rng->vq = NULL;
	rng->have_elem = false;
	pthread_mutex_unlock(&rng->lock);
}

static const struct virtio_dev_ops rng_ops = {
	.start = rng_start,
	.stop = rng_stop,
};

/* ---- creation ---- */

static int rng_open(struct virtio_rng *rng)
{
	struct stat st;
	char probe;

	if (!rng->source[0] || !strcmp(rng->source, "getrandom")) {
		rng->fd = -1;
		if (getrandom(&probe, 1, GRND_NONBLOCK) < 0 && errno == ENOSYS) {
			log_err("%s: getrandom(2) is not available on this host", rng->name);
			return -ENOSYS;
		}
		return 0;
	}
	rng->fd = open(rng->source, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rng->fd < 0) {
		int e = errno;

		log_err("%s: cannot open entropy source '%s': %s", rng->name, rng->source,
			strerror(e));
		return -e;
	}
	if (fstat(rng->fd, &st) ||
	    !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		log_err("%s: entropy source '%s' is not a device, file or pipe", rng->name,
			rng->source);
		close(rng->fd);
		rng->fd = -1;
		return -EINVAL;
	}
	return 0;
}

int virtio_rng_check_source(const struct virtio_rng_config *cfg)
{
	struct virtio_rng rng = { .fd = -1 };
	int ret;

	snprintf(rng.name, sizeof(rng.name), "virtio-rng");
	snprintf(rng.source, sizeof(rng.source), "%s", cfg->source);
	ret = rng_open(&rng);
	if (rng.fd >= 0)
		close(rng.fd);
	return ret;
}

struct virtio_rng *virtio_rng_create(const struct machine_services *ms, const char *name,
				     const struct virtio_rng_config *cfg)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng) {
		log_err("%s: out of memory", name);
		return NULL;
	}
	snprintf(rng->name, sizeof(rng->name), "%s", name);
	snprintf(rng->source, sizeof(rng->source), "%s", cfg->source);
	rng->ms = ms;
	rng->fd = -1;
	rng->kick_fd = -1;
	pthread_mutex_init(&rng->lock, NULL);
	rng->budget.max = cfg->max_bytes;
	rng->budget.period_ns = (cfg->period_ms ? cfg->period_ms :
				 VIRTIO_RNG_DEFAULT_PERIOD_MS) * 1000000ull;
	rng->vdev = (struct virtio_dev){
		.name = rng->name,
		.type = VIRTIO_ID_RNG,
		.nr_queues = 1,
		.queue_size = RNG_QUEUE_SIZE,
		.ops = &rng_ops,
	};
	if (rng_open(rng))
		goto fail;
	rng->elem = malloc(sizeof(*rng->elem));
	rng->timer = loop_timer_new(ms->loop, rng_timer_fired, rng);
	if (!rng->elem || !rng->timer) {
		log_err("%s: out of memory", rng->name);
		goto fail;
	}
	if (cfg->max_bytes)
		log_info("%s: entropy from %s, at most %llu bytes per %llu ms", rng->name,
			 rng->fd < 0 ? "getrandom" : rng->source,
			 (unsigned long long)cfg->max_bytes,
			 (unsigned long long)(rng->budget.period_ns / 1000000));
	return rng;

fail:
	virtio_rng_free(rng);
	return NULL;
}

struct virtio_dev *virtio_rng_vdev(struct virtio_rng *rng)
{
	return &rng->vdev;
}

void virtio_rng_free(struct virtio_rng *rng)
{
	if (!rng)
		return;
	/* Stops the device first: no request is served after this. */
	virtio_dev_detach(&rng->vdev);
	if (rng->timer)
		loop_timer_free(rng->timer);
	if (rng->fd >= 0)
		close(rng->fd);
	pthread_mutex_destroy(&rng->lock);
	free(rng->elem);
	free(rng);
}

uint64_t virtio_rng_bytes(const struct virtio_rng *rng)
{
	return __atomic_load_n(&rng->bytes, __ATOMIC_RELAXED);
}
