// SPDX-License-Identifier: GPL-2.0
/*
 * kselftest-style TAP test for /dev/vhost-blk (kmod/vhost-blk): plays the
 * guest with split rings (VIRTIO 1.2 2.7) in a memfd and checks every
 * virtio-blk request type (5.2), multiqueue, EVENT_IDX, the dirty log and
 * hostile rings.
 *   vhost_blk_test [-d] [-c N] [BACKEND]
 *   (-d: open BACKEND with O_DIRECT; -c N: only N open/close cycles, see run_cycles)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/vhost.h>
#include "linux/vhost_blk.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MEM_SIZE	(16u << 20)
#define REGION1		(8u << 20)	/* gpa where the second region starts */
#define RING_GPA(q)	(0x10000u + (q) * 0x4000u)
#define INDIRECT_GPA	0x100000u
#define DATA_GPA	0x400000u
#define DIRTY_GPA	0x300000u
#define NUM		256
#define NQ		4
#define TMP_DISK_SIZE	(64u << 20)
#define SERIAL		"keel-vhost-blk-0001"

static const uint64_t base_features = (1ULL << VIRTIO_F_VERSION_1) |
				      (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

struct gvq {
	unsigned int idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick, call, err;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t next_desc;
	uint64_t status_gpa[NUM];
};

struct gdev {
	int fd;
	uint64_t features;
	struct gvq vq[NQ];
};

static uint8_t *mem;		/* the whole guest RAM, gpa 0 at mem[0] */
static uint8_t *mem_hi;		/* a second mapping of gpa REGION1.. */
static uint64_t data_next = DATA_GPA;
static int backend_fd = -1, verify_fd = -1;
static uint64_t disk_size;
static const char *backend_path;
static bool backend_direct;
static uint64_t log_words[MEM_SIZE / 4096 / 64];
#define log_bitmap ((uint8_t *)log_words)
static int test_no, fails;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		fails++;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void *g2h(uint64_t gpa)
{
	return mem + gpa;
}

/* Data buffers: a bump allocator, 4 KiB aligned, wrapping. */
static uint64_t galloc(uint32_t len)
{
	uint64_t gpa;

	len = (len + 4095) & ~4095u;
	if (data_next + len > MEM_SIZE)
		data_next = DATA_GPA;
	gpa = data_next;
	data_next += len;
	return gpa;
}

static int vq_setup(struct gdev *d, unsigned int i, uint32_t addr_flags)
{
	struct gvq *q = &d->vq[i];
	struct vhost_vring_state st = { .index = i, .num = NUM };
	struct vhost_vring_addr a = { .index = i, .flags = addr_flags };
	struct vhost_vring_file f = { .index = i };
	uint64_t g = RING_GPA(i);

	memset(g2h(g), 0, 0x4000);
	q->idx = i;
	q->desc = g2h(g);
	q->avail = g2h(g + 0x1000);
	q->used = g2h(g + 0x2000);
	q->avail_idx = q->last_used = q->next_desc = 0;
	a.desc_user_addr = (uintptr_t)q->desc;
	a.avail_user_addr = (uintptr_t)q->avail;
	a.used_user_addr = (uintptr_t)q->used;
	a.log_guest_addr = g + 0x2000;
	if (ioctl(d->fd, VHOST_SET_VRING_NUM, &st) ||
	    ioctl(d->fd, VHOST_SET_VRING_ADDR, &a))
		return -errno;
	st.num = 0;
	if (ioctl(d->fd, VHOST_SET_VRING_BASE, &st))
		return -errno;
	if (q->kick < 0 || !q->kick) {
		q->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	f.fd = q->call;
	if (ioctl(d->fd, VHOST_SET_VRING_CALL, &f))
		return -errno;
	f.fd = q->err;
	if (ioctl(d->fd, VHOST_SET_VRING_ERR, &f))
		return -errno;
	f.fd = q->kick;
	if (ioctl(d->fd, VHOST_SET_VRING_KICK, &f))
		return -errno;
	return 0;
}

static int dev_set_backend(struct gdev *d, int fd, uint32_t flags)
{
	struct vhost_blk_backend be = { .fd = fd, .flags = flags };

	memcpy(be.serial, SERIAL, strlen(SERIAL));
	return ioctl(d->fd, VHOST_BLK_SET_BACKEND, &be) ? -errno : 0;
}

/* Owner, features, memory table, rings: everything a VMM does at start. */
static int dev_setup(struct gdev *d, uint64_t features, uint32_t addr_flags)
{
	uint64_t buf[(sizeof(struct vhost_memory) +
		      2 * sizeof(struct vhost_memory_region)) / 8] = { 0 };
	struct vhost_memory *mt = (struct vhost_memory *)buf;
	uint64_t logbase = (uintptr_t)log_bitmap;
	unsigned int i;
	int r;

	if (ioctl(d->fd, VHOST_SET_OWNER))
		return -errno;
	mt->nregions = 2;
	mt->regions[0] = (struct vhost_memory_region){ 0, REGION1, (uintptr_t)mem, 0 };
	mt->regions[1] = (struct vhost_memory_region){ REGION1, MEM_SIZE - REGION1,
						       (uintptr_t)mem_hi, 0 };
	if (ioctl(d->fd, VHOST_SET_MEM_TABLE, mt))
		return -errno;
	if (ioctl(d->fd, VHOST_SET_LOG_BASE, &logbase))
		return -errno;
	if (ioctl(d->fd, VHOST_SET_FEATURES, &features))
		return -errno;
	d->features = features;
	for (i = 0; i < NQ; i++) {
		r = vq_setup(d, i, addr_flags);
		if (r)
			return r;
	}
	return dev_set_backend(d, backend_fd, 0);
}

static int dev_open(struct gdev *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = open("/dev/vhost-blk", O_RDWR | O_CLOEXEC);
	return d->fd < 0 ? -errno : 0;
}

static void dev_close(struct gdev *d)
{
	unsigned int i;

	close(d->fd);
	for (i = 0; i < NQ; i++) {
		if (d->vq[i].kick > 0) {
			close(d->vq[i].kick);
			close(d->vq[i].call);
			close(d->vq[i].err);
		}
	}
	memset(d, 0, sizeof(*d));
}

static uint16_t desc_get(struct gvq *q)
{
	return q->next_desc++ % NUM;
}

static void desc_fill(struct vring_desc *t, uint16_t i, uint64_t gpa, uint32_t len,
		      uint16_t flags, uint16_t next)
{
	t[i].addr = gpa;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

static void vq_publish(struct gvq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % NUM] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

static void vq_kick(struct gvq *q)
{
	uint64_t one = 1;

	if (write(q->kick, &one, sizeof(one)) != sizeof(one))
		diag("kick write failed: %s", strerror(errno));
}

/*
 * Queue one virtio-blk request: header, the data split in @nsplit
 * descriptors, status. In an indirect table when @indirect.
 */
static uint16_t blk_req(struct gvq *q, uint32_t type, uint64_t sector,
			uint64_t data, uint32_t len, unsigned int nsplit, bool indirect)
{
	struct vring_desc *t = q->desc;
	uint16_t ids[40], head;
	uint64_t hdr_gpa = galloc(32);
	struct virtio_blk_outhdr *hdr = g2h(hdr_gpa);
	uint16_t dflag = (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID) ?
			 VRING_DESC_F_WRITE : 0;
	unsigned int n = 0, k, i;
	uint32_t piece, off = 0;

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*(uint8_t *)g2h(hdr_gpa + 16) = 0xff;
	if (indirect)
		t = g2h(INDIRECT_GPA + q->idx * 0x8000 + (q->next_desc % 64) * 0x200);
	ids[n++] = indirect ? 0 : desc_get(q);
	desc_fill(t, ids[0], hdr_gpa, 16, 0, 0);
	if (len) {
		for (k = 0; k < nsplit; k++) {
			/* whole sectors per piece: O_DIRECT backends need them */
			piece = k == nsplit - 1 ? len - off : (len / nsplit) & ~511u;
			ids[n] = indirect ? n : desc_get(q);
			desc_fill(t, ids[n++], data + off, piece, dflag, 0);
			off += piece;
		}
	}
	ids[n] = indirect ? n : desc_get(q);
	desc_fill(t, ids[n++], hdr_gpa + 16, 1, VRING_DESC_F_WRITE, 0);
	for (i = 0; i + 1 < n; i++) {
		t[ids[i]].flags |= VRING_DESC_F_NEXT;
		t[ids[i]].next = ids[i + 1];
	}
	if (indirect) {
		head = desc_get(q);
		desc_fill(q->desc, head,
			  (uint64_t)((uint8_t *)t - mem), n * sizeof(*t),
			  VRING_DESC_F_INDIRECT, 0);
		q->next_desc++;		/* a fresh table for the next request */
	} else {
		head = ids[0];
	}
	q->status_gpa[head] = hdr_gpa + 16;
	vq_publish(q, head);
	return head;
}

/* Wait until @n more used entries; returns how many arrived. */
static int vq_wait(struct gvq *q, unsigned int n, int ms)
{
	struct pollfd p = { .fd = q->call, .events = POLLIN };
	uint64_t v;
	int waited = 0;

	for (;;) {
		uint16_t u = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);

		if ((uint16_t)(u - q->last_used) >= n)
			return n;
		if (waited >= ms)
			return (uint16_t)(u - q->last_used);
		poll(&p, 1, 10);
		if (read(q->call, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -1;
		waited += 10;
	}
}

/* Take the next used entry: its head's status byte, or -1. */
static int vq_take(struct gvq *q, uint32_t *len)
{
	struct vring_used_elem *e = &q->used->ring[q->last_used % NUM];

	q->last_used++;
	if (e->id >= NUM)
		return -1;
	if (len)
		*len = e->len;
	return *(uint8_t *)g2h(q->status_gpa[e->id]);
}

/* One request, synchronously: returns the status byte or -1. */
static int blk_do(struct gvq *q, uint32_t type, uint64_t sector, uint64_t data,
		  uint32_t len, unsigned int nsplit, bool indirect, uint32_t *used_len)
{
	blk_req(q, type, sector, data, len, nsplit, indirect);
	vq_kick(q);
	if (vq_wait(q, 1, 5000) != 1)
		return -1;
	return vq_take(q, used_len);
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 16;
	}
}

static bool backend_matches(const uint8_t *p, size_t len, uint64_t off)
{
	uint8_t *b = malloc(len);
	bool ok;

	ok = b && pread(verify_fd, b, len, off) == (ssize_t)len &&
	     !memcmp(b, p, len);
	free(b);
	return ok;
}

static bool log_bit(uint64_t gpa)
{
	uint64_t pfn = gpa / 4096;

	return log_bitmap[pfn / 8] & (1u << (pfn % 8));
}

static struct vhost_blk_stats stats_get(struct gdev *d)
{
	struct vhost_blk_stats st;

	memset(&st, 0, sizeof(st));
	if (ioctl(d->fd, VHOST_BLK_GET_STATS, &st))
		diag("VHOST_BLK_GET_STATS: %s", strerror(errno));
	return st;
}

static void test_features(void)
{
	uint64_t f = 0, want = (1ULL << VHOST_F_LOG_ALL) | (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_BLK_F_FLUSH) |
		     (1ULL << VIRTIO_BLK_F_DISCARD) |
		     (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | (1ULL << VIRTIO_BLK_F_MQ);
	struct gdev d;
	uint64_t bad = 1ULL << 63;
	int r1, r2;

	if (dev_open(&d)) {
		tap(false, "open /dev/vhost-blk: %s", strerror(errno));
		return;
	}
	r1 = ioctl(d.fd, VHOST_GET_FEATURES, &f);
	tap(!r1 && (f & want) == want, "GET_FEATURES offers 0x%llx (got 0x%llx)",
	    (unsigned long long)want, (unsigned long long)f);
	r1 = ioctl(d.fd, VHOST_SET_MEM_TABLE, &bad);
	r2 = ioctl(d.fd, VHOST_SET_OWNER);
	tap(r1 && errno != ENOTTY && !r2 && ioctl(d.fd, VHOST_SET_OWNER) && errno == EBUSY &&
	    ioctl(d.fd, VHOST_SET_FEATURES, &bad) && errno == EOPNOTSUPP,
	    "ioctls before SET_OWNER refused, second SET_OWNER EBUSY, unknown feature refused");
	dev_close(&d);
}

/* One worker kthread per virtqueue, named after the owner's pid. */
static void test_workers(void)
{
	char want[32], comm[64], path[300];
	struct dirent *e;
	unsigned int n = 0;
	DIR *dir = opendir("/proc");
	FILE *f;

	snprintf(want, sizeof(want), "vhost-blk-%d.", getpid());
	want[15] = 0;	/* TASK_COMM_LEN */
	while (dir && (e = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, want, strlen(want)))
			n++;
		fclose(f);
	}
	if (dir)
		closedir(dir);
	tap(n == VHOST_BLK_MAX_QUEUES, "%u worker threads named %s* (want %u)", n, want,
	    VHOST_BLK_MAX_QUEUES);
}

static void test_rw(struct gdev *d, bool indirect)
{
	const char *how = indirect ? "indirect" : "direct";
	struct gvq *q = &d->vq[0];
	uint32_t len = 64 * 1024, used = 0;
	/* the buffer straddles the border of the two memory regions */
	uint64_t data = REGION1 - 24 * 1024;
	uint8_t *want = malloc(len);
	int st;

	fill_pattern(want, len, indirect ? 7 : 3);
	memcpy(g2h(data), want, len);
	st = blk_do(q, VIRTIO_BLK_T_OUT, 2048, data, len, 5, indirect, NULL);
	tap(st == VIRTIO_BLK_S_OK && backend_matches(want, len, 2048 * 512),
	    "OUT (%s, 5 descriptors, across regions) reaches the backend (status %d)",
	    how, st);
	memset(g2h(data), 0, len);
	st = blk_do(q, VIRTIO_BLK_T_IN, 2048, data, len, 7, indirect, &used);
	tap(st == VIRTIO_BLK_S_OK && !memcmp(g2h(data), want, len) && used == len + 1,
	    "IN (%s, 7 descriptors) reads it back, used len %u", how, used);
	free(want);
}

static void test_requests(struct gdev *d)
{
	struct gvq *q = &d->vq[0];
	uint64_t data = galloc(8192);
	struct virtio_blk_discard_write_zeroes *dz;
	uint64_t seg = galloc(64);
	uint8_t *zero = calloc(1, 8192), *want = malloc(8192);
	uint32_t used = 0;
	int st;

	st = blk_do(q, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_OK, "FLUSH ok (status %d)", st);

	memset(g2h(data), 0, 64);
	st = blk_do(q, VIRTIO_BLK_T_GET_ID, 0, data, VIRTIO_BLK_ID_BYTES, 1, false, &used);
	tap(st == VIRTIO_BLK_S_OK && !memcmp(g2h(data), SERIAL, strlen(SERIAL)) &&
	    used == VIRTIO_BLK_ID_BYTES + 1,
	    "GET_ID returns the serial '%.20s' (status %d, used %u)",
	    (char *)g2h(data), st, used);

	/* write a pattern, zero part of it, check zeros and the rest */
	fill_pattern(g2h(data), 8192, 11);
	st = blk_do(q, VIRTIO_BLK_T_OUT, 4096, data, 8192, 2, false, NULL);
	dz = g2h(seg);
	dz->sector = 4096 + 4;
	dz->num_sectors = 8;
	dz->flags = 0;
	st = st ?: blk_do(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, sizeof(*dz), 1, false, NULL);
	memset(g2h(data), 0xaa, 8192);
	st = st ?: blk_do(q, VIRTIO_BLK_T_IN, 4096, data, 8192, 1, false, NULL);
	fill_pattern(want, 8192, 11);
	memset(want + 2048, 0, 4096);
	tap(st == VIRTIO_BLK_S_OK && !memcmp(g2h(data), want, 8192) &&
	    backend_matches(want, 8192, 4096 * 512ULL),
	    "WRITE_ZEROES zeroes exactly sectors 4100..4107 (status %d)", st);

	dz->sector = 4096;
	dz->num_sectors = 16;
	dz->flags = 0;
	st = blk_do(q, VIRTIO_BLK_T_DISCARD, 0, seg, sizeof(*dz), 1, false, NULL);
	tap(st == VIRTIO_BLK_S_OK, "DISCARD of 16 sectors ok (status %d)", st);
	dz->flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	st = blk_do(q, VIRTIO_BLK_T_DISCARD, 0, seg, sizeof(*dz), 1, false, NULL);
	tap(st == VIRTIO_BLK_S_UNSUPP, "DISCARD with the UNMAP flag is UNSUPP (status %d)", st);
	dz->sector = disk_size / 512 - 4;
	dz->flags = 0;
	st = blk_do(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, sizeof(*dz), 1, false, NULL);
	tap(st == VIRTIO_BLK_S_IOERR, "WRITE_ZEROES past the end is IOERR (status %d)", st);

	st = blk_do(q, VIRTIO_BLK_T_IN, disk_size / 512 - 1, data, 1024, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_IOERR, "IN past the end is IOERR (status %d)", st);
	st = blk_do(q, VIRTIO_BLK_T_IN, UINT64_MAX / 256, data, 512, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_IOERR, "IN at a sector that overflows is IOERR (status %d)", st);
	st = blk_do(q, VIRTIO_BLK_T_OUT, 0, data, 100, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_IOERR, "OUT of 100 bytes (not whole sectors) is IOERR (status %d)",
	    st);
	st = blk_do(q, 0x42, 0, data, 512, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_UNSUPP, "unknown request type is UNSUPP (status %d)", st);
	free(zero);
	free(want);
}

static void test_multiqueue(struct gdev *d)
{
	struct vhost_blk_stats before = stats_get(d), after;
	unsigned int i, k, per = 16, bad = 0;
	uint64_t data[NQ][16];
	uint32_t len = 16384;
	unsigned long long queued;

	for (i = 0; i < NQ; i++) {
		for (k = 0; k < per; k++) {
			data[i][k] = galloc(len);
			fill_pattern(g2h(data[i][k]), len, i * 100 + k);
			blk_req(&d->vq[i], VIRTIO_BLK_T_OUT, 8192 + (i * per + k) * 32,
				data[i][k], len, 1, false);
		}
	}
	for (i = 0; i < NQ; i++)
		vq_kick(&d->vq[i]);
	for (i = 0; i < NQ; i++) {
		if (vq_wait(&d->vq[i], per, 10000) != (int)per) {
			bad++;
			continue;
		}
		for (k = 0; k < per; k++)
			bad += vq_take(&d->vq[i], NULL) != VIRTIO_BLK_S_OK;
	}
	for (i = 0; i < NQ; i++)
		for (k = 0; k < per; k++)
			bad += !backend_matches(g2h(data[i][k]), len,
						(8192 + (i * per + k) * 32) * 512ULL);
	tap(!bad, "%u queues x %u OUT requests at once, all on disk (%u bad)", NQ, per, bad);
	after = stats_get(d);
	bad = after.nvqs != VHOST_BLK_MAX_QUEUES;
	for (i = 0; i < NQ; i++) {
		if (after.q[i].write_bytes - before.q[i].write_bytes != (uint64_t)per * len ||
		    after.q[i].requests - before.q[i].requests != per ||
		    after.q[i].inflight)
			bad++;
	}
	tap(!bad, "statistics count %u requests and %u bytes on each queue (queue 1: %llu requests, %llu written)",
	    per, per * len,
	    (unsigned long long)(after.q[1].requests - before.q[1].requests),
	    (unsigned long long)(after.q[1].write_bytes - before.q[1].write_bytes));
	queued = 0;
	for (i = 0; i < NQ; i++)
		queued += after.q[i].queued - before.q[i].queued;
	if (backend_direct)
		tap(queued > 0, "O_DIRECT backend: %llu of %u requests completed asynchronously",
		    queued, NQ * per);
	else
		tap(true, "buffered backend: %llu of %u requests completed asynchronously",
		    queued, NQ * per);
}

static void test_event_idx(void)
{
	struct gdev d;
	struct gvq *q;
	uint64_t data, v;
	uint16_t *used_event, *avail_event;
	int st, n;

	if (dev_open(&d) ||
	    dev_setup(&d, base_features | (1ULL << VIRTIO_RING_F_EVENT_IDX), 0)) {
		tap(false, "EVENT_IDX setup: %s", strerror(errno));
		dev_close(&d);
		return;
	}
	q = &d.vq[0];
	used_event = &q->avail->ring[NUM];
	avail_event = (uint16_t *)&q->used->ring[NUM];
	data = galloc(4096);
	st = blk_do(q, VIRTIO_BLK_T_IN, 0, data, 4096, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_OK && *avail_event == q->avail_idx,
	    "EVENT_IDX: device writes avail_event %u (avail idx %u)", *avail_event,
	    q->avail_idx);
	/* ask for an interrupt only 100 entries later: none must come */
	*used_event = q->last_used + 100;
	while (read(q->call, &v, sizeof(v)) > 0)
		;
	blk_req(q, VIRTIO_BLK_T_IN, 0, data, 4096, 1, false);
	vq_kick(q);
	n = 0;
	for (st = 0; st < 100 && __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) ==
	     q->last_used; st++)
		usleep(10000);
	usleep(100000);
	n = read(q->call, &v, sizeof(v)) > 0;
	tap(q->used->idx == (uint16_t)(q->last_used + 1) && !n,
	    "EVENT_IDX: completion without interrupt when used_event is ahead");
	vq_take(q, NULL);
	*used_event = q->last_used;
	blk_req(q, VIRTIO_BLK_T_IN, 0, data, 4096, 1, false);
	vq_kick(q);
	usleep(200000);
	n = read(q->call, &v, sizeof(v)) > 0;
	tap(q->used->idx == (uint16_t)(q->last_used + 1) && n,
	    "EVENT_IDX: interrupt when used_event is reached");
	vq_take(q, NULL);
	dev_close(&d);
}

static void test_dirty_log(void)
{
	struct gdev d;
	struct gvq *q;
	uint64_t data = DIRTY_GPA, ring = RING_GPA(0), v = 0;
	int st, logfd;

	memset(log_words, 0, sizeof(log_words));
	if (dev_open(&d) ||
	    dev_setup(&d, base_features | (1ULL << VHOST_F_LOG_ALL),
		      1u << VHOST_VRING_F_LOG)) {
		tap(false, "dirty log setup: %s", strerror(errno));
		dev_close(&d);
		return;
	}
	q = &d.vq[0];
	logfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ioctl(d.fd, VHOST_SET_LOG_FD, &logfd))
		diag("VHOST_SET_LOG_FD: %s", strerror(errno));
	fill_pattern(g2h(data + 0x3000), 4096, 5);
	/* IN writes pages data..data+2 (12 KiB); OUT only reads data+3 */
	st = blk_do(q, VIRTIO_BLK_T_IN, 0, data, 3 * 4096, 2, false, NULL);
	st = st ?: blk_do(q, VIRTIO_BLK_T_OUT, 100, data + 0x3000, 4096, 1, false, NULL);
	tap(st == VIRTIO_BLK_S_OK && log_bit(data) && log_bit(data + 0x1000) &&
	    log_bit(data + 0x2000) && !log_bit(data + 0x3000) && !log_bit(data + 0x4000),
	    "dirty log: bits set for the 3 pages IN wrote, not for the page OUT read");
	tap(log_bit(ring + 0x2000) && read(logfd, &v, sizeof(v)) == sizeof(v) && v,
	    "dirty log: bit set for the used ring page, log eventfd signalled");
	close(logfd);
	dev_close(&d);
}

/* A hostile ring: the queue must stop (error eventfd), nothing completes. */
struct hostile {
	const char *name;
	void (*build)(struct gvq *q);
};

static uint64_t hostile_buf;

static void h_loop(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 1);
	desc_fill(q->desc, 1, hostile_buf + 16, 1, VRING_DESC_F_NEXT, 0);
	vq_publish(q, 0);
}

static void h_outside(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 1);
	desc_fill(q->desc, 1, MEM_SIZE + 4096, 512, VRING_DESC_F_WRITE |
		  VRING_DESC_F_NEXT, 2);
	desc_fill(q->desc, 2, hostile_buf + 16, 1, VRING_DESC_F_WRITE, 0);
	vq_publish(q, 0);
}

static void h_wrap(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 1);
	desc_fill(q->desc, 1, UINT64_MAX - 100, 0xffffffff, VRING_DESC_F_WRITE, 0);
	vq_publish(q, 0);
}

static void h_head(struct gvq *q)
{
	vq_publish(q, NUM + 3);
}

static void h_next(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 4000);
	vq_publish(q, 0);
}

static void h_avail_jump(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, 0, 0);
	q->avail_idx += NUM + 5;
	vq_publish(q, 0);
}

static void h_order(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf + 16, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc_fill(q->desc, 1, hostile_buf, 16, 0, 0);
	vq_publish(q, 0);
}

static void h_no_status(struct gvq *q)
{
	desc_fill(q->desc, 0, hostile_buf, 16, 0, 0);
	vq_publish(q, 0);
}

static struct vring_desc *h_table(void)
{
	return g2h(INDIRECT_GPA + 0x80000);
}

static void h_ind_nested(struct gvq *q)
{
	struct vring_desc *t = h_table();

	desc_fill(t, 0, INDIRECT_GPA + 0x80000, 32, VRING_DESC_F_INDIRECT, 0);
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, 32, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_ind_len(struct gvq *q)
{
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, 24, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_ind_huge(struct gvq *q)
{
	desc_fill(q->desc, 0, INDIRECT_GPA, 16 * 65536, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_ind_outside(struct gvq *q)
{
	desc_fill(q->desc, 0, MEM_SIZE - 16, 64, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_ind_next(struct gvq *q)
{
	desc_fill(h_table(), 0, hostile_buf, 16, 0, 0);
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, 16,
		  VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	desc_fill(q->desc, 1, hostile_buf + 16, 1, VRING_DESC_F_WRITE, 0);
	vq_publish(q, 0);
}

static void h_ind_loop(struct gvq *q)
{
	struct vring_desc *t = h_table();

	desc_fill(t, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 1);
	desc_fill(t, 1, hostile_buf + 16, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, 32, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_ind_index(struct gvq *q)
{
	struct vring_desc *t = h_table();

	desc_fill(t, 0, hostile_buf, 16, VRING_DESC_F_NEXT, 9);
	desc_fill(t, 1, hostile_buf + 16, 1, VRING_DESC_F_WRITE, 0);
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, 32, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static void h_long(struct gvq *q)
{
	struct vring_desc *t = h_table();
	unsigned int i, n = 1200;

	/* a chain longer than the module accepts, inside one indirect table */
	for (i = 0; i < n; i++)
		desc_fill(t, i, hostile_buf + 16, 1, VRING_DESC_F_WRITE |
			  (i + 1 < n ? VRING_DESC_F_NEXT : 0), i + 1);
	desc_fill(q->desc, 0, INDIRECT_GPA + 0x80000, n * 16, VRING_DESC_F_INDIRECT, 0);
	vq_publish(q, 0);
}

static const struct hostile hostiles[] = {
	{ "descriptor chain loop", h_loop },
	{ "descriptor outside guest memory", h_outside },
	{ "descriptor address+length wraps", h_wrap },
	{ "head index beyond the ring", h_head },
	{ "next index beyond the ring", h_next },
	{ "available index jumps ahead by more than the ring", h_avail_jump },
	{ "readable descriptor after a writable one", h_order },
	{ "request without a status byte", h_no_status },
	{ "nested indirect table", h_ind_nested },
	{ "indirect table length not a multiple of 16", h_ind_len },
	{ "indirect table of 65536 entries", h_ind_huge },
	{ "indirect table outside guest memory", h_ind_outside },
	{ "indirect descriptor with NEXT", h_ind_next },
	{ "loop inside an indirect table", h_ind_loop },
	{ "indirect next index beyond the table", h_ind_index },
	{ "indirect chain of 1200 descriptors", h_long },
};

static void test_hostile(const struct hostile *h)
{
	struct pollfd p;
	struct gdev d;
	struct gvq *q;
	struct vhost_blk_stats st;
	uint64_t data, v;
	bool err_seen, stopped;
	uint16_t used_idx;
	int s;

	if (dev_open(&d) || dev_setup(&d, base_features, 0)) {
		tap(false, "hostile %s: setup failed: %s", h->name, strerror(errno));
		dev_close(&d);
		return;
	}
	q = &d.vq[0];
	hostile_buf = galloc(4096);
	memset(g2h(hostile_buf), 0, 32);
	*(uint8_t *)g2h(hostile_buf + 16) = 0xff;
	h->build(q);
	vq_kick(q);
	p = (struct pollfd){ .fd = q->err, .events = POLLIN };
	err_seen = poll(&p, 1, 3000) == 1 && read(q->err, &v, sizeof(v)) == sizeof(v);
	st = stats_get(&d);
	used_idx = q->used->idx;
	stopped = st.q[0].broken == 1 && used_idx == 0 &&
		  *(uint8_t *)g2h(hostile_buf + 16) == 0xff;
	/* the device is usable again after the VMM resets it */
	ioctl(d.fd, VHOST_RESET_OWNER);
	data = galloc(4096);
	s = dev_setup(&d, base_features, 0);
	s = s ?: blk_do(&d.vq[0], VIRTIO_BLK_T_IN, 0, data, 4096, 1, false, NULL);
	tap(err_seen && stopped && s == VIRTIO_BLK_S_OK,
	    "hostile: %s: queue stopped (error eventfd %s, broken %u, used idx %u), works after reset (status %d)",
	    h->name, err_seen ? "signalled" : "silent",
	    st.q[0].broken, used_idx, s);
	dev_close(&d);
}

/* Closing in every state must free everything; rmmod later proves it. */
static bool close_states(void)
{
	struct gdev d;
	unsigned int i, k;
	int ok = 1;

	ok &= !dev_open(&d);
	dev_close(&d);
	ok &= !dev_open(&d) && !ioctl(d.fd, VHOST_SET_OWNER);
	dev_close(&d);
	ok &= !dev_open(&d) && !dev_setup(&d, base_features, 0);
	dev_close(&d);
	/* close with requests in flight on every queue */
	ok &= !dev_open(&d) && !dev_setup(&d, base_features, 0);
	for (i = 0; i < NQ; i++) {
		for (k = 0; k < 32; k++)
			blk_req(&d.vq[i], k % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
				k * 256, galloc(65536), 65536, 4, k % 3 == 0);
		vq_kick(&d.vq[i]);
	}
	dev_close(&d);
	/* detach the backend while requests run, then close */
	ok &= !dev_open(&d) && !dev_setup(&d, base_features, 0);
	for (k = 0; k < 32; k++)
		blk_req(&d.vq[1], VIRTIO_BLK_T_IN, k * 256, galloc(65536), 65536, 2, false);
	vq_kick(&d.vq[1]);
	ok &= !dev_set_backend(&d, -1, 0);
	ok &= !stats_get(&d).q[1].inflight;
	dev_close(&d);
	/* close with a stopped queue */
	ok &= !dev_open(&d) && !dev_setup(&d, base_features, 0);
	hostile_buf = galloc(4096);
	h_loop(&d.vq[0]);
	vq_kick(&d.vq[0]);
	dev_close(&d);
	return ok;
}

static void test_close_states(void)
{
	tap(close_states(),
	    "close in every state (fresh, owned, set up, requests in flight, backend detached in flight, queue stopped)");
}

/*
 * -c N: the close-in-every-state cycle N times, for the caller to compare the
 * kernel's unreclaimable slab and vmalloc use before and after.
 */
static int run_cycles(unsigned int n)
{
	unsigned int i, bad = 0;

	printf("1..1\n");
	for (i = 0; i < n; i++)
		bad += !close_states();
	tap(!bad, "%u cycles of open, set up, requests in flight, close (%u failed)", n, bad);
	return bad ? 1 : 0;
}

/* Ioctl arguments a VMM could get wrong: refused with the right errno. */
static void test_bad_ioctls(struct gdev *d)
{
	uint64_t buf[(sizeof(struct vhost_memory) +
		      sizeof(struct vhost_memory_region)) / 8] = { 0 };
	struct vhost_memory *mt = (struct vhost_memory *)buf;
	struct vhost_vring_state st = { .index = 0 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_blk_backend be = { .fd = -1 };
	int pfd[2], bad = 0, r;
	const char *what = "";
	char path[64];
	pid_t pid;

#define EXPECT(call, err) do {						\
		r = (call);						\
		if (!r || errno != (err)) {				\
			bad++;						\
			what = #call;					\
			diag("%s: %d %s", #call, r, strerror(errno));	\
		}							\
	} while (0)
	st.num = 0;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_NUM, &st), EINVAL);
	st.num = 3;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_NUM, &st), EINVAL);
	st.num = 2048;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_NUM, &st), EINVAL);
	st.index = VHOST_BLK_MAX_QUEUES;
	st.num = 64;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_NUM, &st), ENOBUFS);
	a.desc_user_addr = (uintptr_t)d->vq[0].desc + 8;
	a.avail_user_addr = (uintptr_t)d->vq[0].avail;
	a.used_user_addr = (uintptr_t)d->vq[0].used;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_ADDR, &a), EINVAL);
	a.desc_user_addr = 0xffff888000000000ULL;
	EXPECT(ioctl(d->fd, VHOST_SET_VRING_ADDR, &a), EFAULT);
	mt->nregions = 1;
	mt->regions[0] = (struct vhost_memory_region){ 0, 1 << 20, 0xffff888000000000ULL, 0 };
	EXPECT(ioctl(d->fd, VHOST_SET_MEM_TABLE, mt), EINVAL);
	mt->regions[0] = (struct vhost_memory_region){ 0, 0, (uintptr_t)mem, 0 };
	EXPECT(ioctl(d->fd, VHOST_SET_MEM_TABLE, mt), EINVAL);
	mt->regions[0] = (struct vhost_memory_region){ ~0ULL - 4095, 8192, (uintptr_t)mem, 0 };
	EXPECT(ioctl(d->fd, VHOST_SET_MEM_TABLE, mt), EINVAL);
	mt->nregions = 65;
	EXPECT(ioctl(d->fd, VHOST_SET_MEM_TABLE, mt), EINVAL);
	if (pipe(pfd) == 0) {
		be.fd = pfd[0];
		EXPECT(ioctl(d->fd, VHOST_BLK_SET_BACKEND, &be), EINVAL);
		close(pfd[0]);
		close(pfd[1]);
	}
	be.fd = 9999;
	EXPECT(ioctl(d->fd, VHOST_BLK_SET_BACKEND, &be), EBADF);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", verify_fd);
	be.fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (be.fd >= 0) {
		EXPECT(ioctl(d->fd, VHOST_BLK_SET_BACKEND, &be), EINVAL);
		close(be.fd);
	} else {
		bad++;
		what = "cannot reopen the backend O_APPEND";
	}
	be.fd = backend_fd;
	be.reserved[1] = 1;
	EXPECT(ioctl(d->fd, VHOST_BLK_SET_BACKEND, &be), EINVAL);
	/* another process (another mm) may not drive the device */
	pid = fork();
	if (pid == 0) {
		st.index = 0;
		st.num = 64;
		_exit(ioctl(d->fd, VHOST_SET_VRING_NUM, &st) == -1 && errno == EPERM ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &r, 0) != pid || !WIFEXITED(r) || WEXITSTATUS(r)) {
		bad++;
		what = "a child process was not refused with EPERM";
	}
#undef EXPECT
	r = blk_do(&d->vq[0], VIRTIO_BLK_T_IN, 0, galloc(4096), 4096, 1, false, NULL);
	tap(!bad && r == VIRTIO_BLK_S_OK,
	    "bad ioctl arguments refused (%d wrong%s%s), device still works (status %d)",
	    bad, bad ? ", last: " : "", what, r);
}

/* A full ring of requests in flight at once, then GET_VRING_BASE. */
static void test_full_ring(struct gdev *d)
{
	struct gvq *q = &d->vq[2];
	struct vhost_vring_state st = { .index = 2 };
	unsigned int i, n = NUM / 3, bad = 0;
	uint64_t data[NUM / 3];
	uint32_t len = 8192;

	for (i = 0; i < n; i++) {
		data[i] = galloc(len);
		fill_pattern(g2h(data[i]), len, 1000 + i);
		blk_req(q, VIRTIO_BLK_T_OUT, 16384 + i * 16, data[i], len, 1, false);
	}
	vq_kick(q);
	if (vq_wait(q, n, 20000) != (int)n)
		bad = n;
	for (i = 0; i < n && !bad; i++)
		bad += vq_take(q, NULL) != VIRTIO_BLK_S_OK;
	for (i = 0; i < n; i++) {
		memset(g2h(data[i]), 0, len);
		blk_req(q, VIRTIO_BLK_T_IN, 16384 + i * 16, data[i], len, 1, false);
	}
	vq_kick(q);
	if (vq_wait(q, n, 20000) != (int)n)
		bad += n;
	for (i = 0; i < n && bad < n; i++) {
		bad += vq_take(q, NULL) != VIRTIO_BLK_S_OK;
		fill_pattern(g2h(DATA_GPA - 8192), len, 1000 + i);
		bad += memcmp(g2h(data[i]), g2h(DATA_GPA - 8192), len) != 0;
	}
	tap(!bad, "%u OUT then %u IN requests in flight together on one queue (%u bad)",
	    n, n, bad);
	if (ioctl(d->fd, VHOST_GET_VRING_BASE, &st))
		st.num = ~0u;
	tap(st.num == q->avail_idx, "GET_VRING_BASE returns %u, avail idx %u",
	    st.num, q->avail_idx);
}

/* The memory table may change while queues are running. */
static void test_mem_update(struct gdev *d)
{
	uint64_t buf[(sizeof(struct vhost_memory) +
		      2 * sizeof(struct vhost_memory_region)) / 8] = { 0 };
	struct vhost_memory *mt = (struct vhost_memory *)buf;
	uint64_t data = REGION1 - 4096;
	int r, st;

	/* one region now, through the first mapping only */
	mt->nregions = 1;
	mt->regions[0] = (struct vhost_memory_region){ 0, MEM_SIZE, (uintptr_t)mem, 0 };
	r = ioctl(d->fd, VHOST_SET_MEM_TABLE, mt);
	fill_pattern(g2h(data), 8192, 77);
	st = blk_do(&d->vq[1], VIRTIO_BLK_T_OUT, 300, data, 8192, 1, false, NULL);
	tap(!r && st == VIRTIO_BLK_S_OK && backend_matches(g2h(data), 8192, 300 * 512ULL),
	    "SET_MEM_TABLE while running: requests use the new table (status %d)", st);
}

/* Rings in memory the VMM unmaps: a fault, the queue stops, no oops. */
static void test_unmapped_ring(struct gdev *d)
{
	struct vhost_vring_addr a = { .index = 3 };
	struct gvq *q = &d->vq[3];
	struct pollfd p = { .fd = q->err, .events = POLLIN };
	uint8_t *r = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t v;
	int st, got;

	a.desc_user_addr = (uintptr_t)r;
	a.avail_user_addr = (uintptr_t)r + 0x1000;
	a.used_user_addr = (uintptr_t)r + 0x2000;
	st = ioctl(d->fd, VHOST_SET_VRING_ADDR, &a);
	munmap(r, 0x4000);
	vq_kick(q);
	got = poll(&p, 1, 3000) == 1 && read(q->err, &v, sizeof(v)) == sizeof(v);
	tap(!st && got && stats_get(d).q[3].broken,
	    "rings unmapped by the VMM: queue 3 stops on the fault");
}

static void test_readonly(struct gdev *d)
{
	uint64_t data = galloc(4096);
	int st, r;

	r = dev_set_backend(d, backend_fd, VHOST_BLK_BACKEND_F_RO);
	st = blk_do(&d->vq[0], VIRTIO_BLK_T_OUT, 0, data, 4096, 1, false, NULL);
	tap(!r && st == VIRTIO_BLK_S_IOERR, "read-only backend: OUT is IOERR (status %d)", st);
	r = dev_set_backend(d, backend_fd, 0);
	st = blk_do(&d->vq[0], VIRTIO_BLK_T_OUT, 0, data, 4096, 1, false, NULL);
	tap(!r && st == VIRTIO_BLK_S_OK, "writable again after SET_BACKEND (status %d)", st);
}

static int setup_memory(void)
{
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, MEM_SIZE))
		return -1;
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mem_hi = mmap(NULL, MEM_SIZE - REGION1, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		      REGION1);
	close(fd);
	return mem == MAP_FAILED || mem_hi == MAP_FAILED ? -1 : 0;
}

static int setup_backend(void)
{
	char tmpl[] = "/tmp/vhost-blk-test.XXXXXX";
	int flags = O_RDWR | O_CLOEXEC | (backend_direct ? O_DIRECT : 0);
	struct stat s;

	if (backend_path) {
		backend_fd = open(backend_path, flags);
		verify_fd = open(backend_path, O_RDONLY | O_CLOEXEC);
		if (backend_fd < 0 || verify_fd < 0 || fstat(backend_fd, &s))
			return -1;
		if (S_ISBLK(s.st_mode)) {
			if (ioctl(backend_fd, BLKGETSIZE64, &disk_size))
				return -1;
		} else {
			disk_size = s.st_size;
		}
		if (disk_size < (16u << 20)) {
			errno = ENOSPC;
			return -1;
		}
		return 0;
	}
	backend_fd = mkostemp(tmpl, O_CLOEXEC);
	if (backend_fd < 0)
		return -1;
	verify_fd = open(tmpl, O_RDONLY | O_CLOEXEC);
	unlink(tmpl);
	disk_size = TMP_DISK_SIZE;
	return verify_fd < 0 ? -1 : ftruncate(backend_fd, disk_size);
}

int main(int argc, char **argv)
{
	unsigned int i, cycles = 0;
	struct gdev d;
	int opt;

	while ((opt = getopt(argc, argv, "dc:")) != -1) {
		if (opt == 'd')
			backend_direct = true;
		if (opt == 'c')
			cycles = strtoul(optarg, NULL, 0);
	}
	if (optind < argc)
		backend_path = argv[optind];
	printf("TAP version 13\n");
	if (access("/dev/vhost-blk", F_OK)) {
		printf("1..0 # SKIP /dev/vhost-blk missing (insmod vhost-blk.ko)\n");
		return 4;
	}
	if (setup_memory() || setup_backend()) {
		printf("1..0 # SKIP cannot set up guest memory or backend: %s\n",
		       strerror(errno));
		return 4;
	}
	if (cycles)
		return run_cycles(cycles);
	printf("1..%zu\n", 34 + ARRAY_SIZE(hostiles));
	diag("backend %s%s", backend_path ?: "tmp file", backend_direct ? " (O_DIRECT)" : "");

	test_features();
	if (dev_open(&d) || dev_setup(&d, base_features, 0)) {
		tap(false, "device setup: %s", strerror(errno));
		return 1;
	}
	tap(true, "device set up: %u queues of %u, 2 memory regions", NQ, NUM);
	test_workers();
	test_rw(&d, false);
	test_rw(&d, true);
	test_requests(&d);
	test_readonly(&d);
	test_multiqueue(&d);
	test_bad_ioctls(&d);
	test_full_ring(&d);
	test_mem_update(&d);
	test_unmapped_ring(&d);
	dev_close(&d);
	test_event_idx();
	test_dirty_log();
	for (i = 0; i < ARRAY_SIZE(hostiles); i++)
		test_hostile(&hostiles[i]);
	test_close_states();
	diag("%d of %d failed", fails, test_no);
	return fails ? 1 : 0;
}
