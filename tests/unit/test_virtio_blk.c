/*
 * Unit tests for user/devices/virtio/blk.c (VIRTIO 1.2 ch. 5.2): requests laid
 * out in fake guest RAM by a small split-ring driver, served through the real
 * block layer on raw and qcow2 temp files; hostile layouts, readonly, GET_ID,
 * discard / write-zeroes, werror, and the data plane on an I/O thread's loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_machine.h"
#include "fake_transport.h"
#include "block/block.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtqueue.h"
#include "devices/virtio/virtqueue_ring.h"
#include "lib/log.h"
#include "lib/loop.h"

#define RAM_SIZE	(4u << 20)
#define QSIZE		16
#define DESC_GPA	0x10000u
#define AVAIL_GPA	0x20000u
#define USED_GPA	0x30000u
#define Q_STRIDE	0x40000u	/* queue i's rings at + i * stride */
#define BUF_GPA		0x100000u
#define DISK_SIZE	(4u << 20)
#define SECTORS		(DISK_SIZE / 512)

struct ctx {
	struct fake_machine fm;
	struct virtq vq[2];
	struct virtio_blk *blk;
	struct fake_transport t[2];	/* t[i]: the transport of the i-th device */
	struct block_dev *bd;
	char path[256];
	unsigned int nr_queues;
	/* test driver state per queue */
	uint16_t avail_idx[2];
	uint16_t next_desc[2];
	uint16_t last_used[2];
	uint64_t buf_next;
	int notifies[2];
	pthread_t notify_thread;
};

/* A piece of a chain: gpa/len, device-writable or not. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static void *gpa(struct ctx *c, uint64_t a)
{
	return c->fm.ram + a;
}

static uint64_t buf_alloc(struct ctx *c, uint32_t len)
{
	uint64_t a = c->buf_next;

	c->buf_next += (len + 15) & ~15u;
	assert_true(c->buf_next < RAM_SIZE);
	return a;
}

static void on_notify(void *opaque, unsigned int idx)
{
	struct ctx *c = opaque;

	__atomic_add_fetch(&c->notifies[idx], 1, __ATOMIC_SEQ_CST);
	c->notify_thread = pthread_self();
}

/*
 * Bind blk to c->t[slot] and start it as a transport would at DRIVER_OK:
 * vqs[0..n), kicks on kick_fds (NULL: none), notifies counted by on_notify.
 */
static int core_start(struct ctx *c, unsigned int slot, struct virtio_blk *blk,
		      uint64_t features, struct virtq *const *vqs, const int *kick_fds,
		      unsigned int n)
{
	struct fake_transport *t = &c->t[slot];
	unsigned int i;

	if (fake_transport_bind(t, virtio_blk_vdev(blk)))
		return -EBUSY;
	t->on_notify = on_notify;
	t->opaque = c;
	for (i = 0; i < n && kick_fds; i++)
		t->kick_fd[i] = kick_fds[i];
	return fake_transport_start(t, features, vqs, n);
}

/* Driver reset, as the transport calls it. */
static void core_stop(struct virtio_blk *blk)
{
	struct virtio_dev *vdev = virtio_blk_vdev(blk);

	vdev->ops->stop(vdev);
}

static void tmp_path(struct ctx *c, const char *tag)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(c->path, sizeof(c->path), "%s/keel-test-vblk-%d-%s", dir, (int)getpid(), tag);
}

static void open_disk(struct ctx *c, const char *fmt, bool ro, enum block_aio aio)
{
	struct block_open_opts o = { .format = fmt, .read_only = ro, .aio = aio };

	tmp_path(c, fmt);
	unlink(c->path);
	assert_int_equal(block_create(fmt, c->path, DISK_SIZE, NULL), 0);
	assert_int_equal(block_open(&c->bd, c->path, &o), 0);
}

static void start_dev(struct ctx *c, struct virtio_blk_conf *conf, unsigned int nr_queues)
{
	struct virtq *vqs[2];
	unsigned int i;

	conf->bd = c->bd;
	if (!conf->name)
		conf->name = "virtio-blk-test";
	conf->num_queues = nr_queues;
	c->nr_queues = nr_queues;
	c->blk = virtio_blk_create(&c->fm.ms, conf);
	assert_non_null(c->blk);
	for (i = 0; i < nr_queues; i++) {
		struct virtq_config cfg = {
			.size = QSIZE, .indirect = true,
			.desc_gpa = DESC_GPA + i * Q_STRIDE,
			.driver_gpa = AVAIL_GPA + i * Q_STRIDE,
			.device_gpa = USED_GPA + i * Q_STRIDE,
		};
		char name[16];

		snprintf(name, sizeof(name), "blk/%u", i);
		assert_int_equal(virtq_start(&c->vq[i], &c->fm.ms, name, &cfg), 0);
		vqs[i] = &c->vq[i];
	}
	assert_int_equal(core_start(c, 0, c->blk, virtio_blk_features(c->blk), vqs, NULL,
				    nr_queues), 0);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	log_threshold = LOG_ERR;
	fake_machine_init(&c->fm, RAM_SIZE);
	c->buf_next = BUF_GPA;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	if (c->blk) {
		core_stop(c->blk);
		virtio_blk_free(c->blk);
	}
	for (i = 0; i < 2; i++)
		virtq_stop(&c->vq[i]);
	if (c->bd)
		block_close(c->bd);
	if (c->path[0])
		unlink(c->path);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

/* ---- split ring driver ---- */

static void put16(struct ctx *c, uint64_t a, uint16_t v)
{
	v = htole16(v);
	memcpy(gpa(c, a), &v, 2);
}

static uint16_t get16(struct ctx *c, uint64_t a)
{
	uint16_t v;

	memcpy(&v, gpa(c, a), 2);
	return le16toh(v);
}

static uint32_t get32(struct ctx *c, uint64_t a)
{
	uint32_t v;

	memcpy(&v, gpa(c, a), 4);
	return le32toh(v);
}

/* Lay out a chain on queue q and make it available; returns its head. */
static uint16_t add_chain(struct ctx *c, unsigned int q, const struct seg *segs, unsigned int n)
{
	uint64_t dt = DESC_GPA + q * Q_STRIDE, av = AVAIL_GPA + q * Q_STRIDE;
	uint16_t head = c->next_desc[q] % QSIZE;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t idx = (head + i) % QSIZE, next = (head + i + 1) % QSIZE;
		struct virtq_split_desc d = {
			.addr = htole64(segs[i].gpa), .len = htole32(segs[i].len),
			.flags = htole16((segs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = htole16(next),
		};

		memcpy(gpa(c, dt + 16ull * idx), &d, sizeof(d));
	}
	c->next_desc[q] += n;
	put16(c, av + 4 + 2 * (c->avail_idx[q] % QSIZE), head);
	c->avail_idx[q]++;
	put16(c, av + 2, c->avail_idx[q]);
	return head;
}

static uint64_t put_hdr(struct ctx *c, uint32_t type, uint64_t sector)
{
	uint64_t a = buf_alloc(c, 16);
	uint32_t t = htole32(type), z = 0;
	uint64_t s = htole64(sector);

	memcpy(gpa(c, a), &t, 4);
	memcpy(gpa(c, a + 4), &z, 4);
	memcpy(gpa(c, a + 8), &s, 8);
	return a;
}

static uint64_t put_status(struct ctx *c)
{
	uint64_t a = buf_alloc(c, 1);

	*(uint8_t *)gpa(c, a) = 0xee;	/* the device must overwrite it */
	return a;
}

/* The used ring's next entry on queue q, or false if nothing new. */
static bool take_used(struct ctx *c, unsigned int q, uint32_t *id, uint32_t *len)
{
	uint64_t used = USED_GPA + q * Q_STRIDE;
	uint64_t e;

	if (get16(c, used + 2) == c->last_used[q])
		return false;
	e = used + 4 + 8ull * (c->last_used[q] % QSIZE);
	*id = get32(c, e);
	*len = get32(c, e + 4);
	c->last_used[q]++;
	return true;
}

static void run(struct ctx *c, unsigned int q)
{
	virtio_blk_kick(c->blk, q);
	virtio_blk_wait(c->blk);
}

/* One simple request: header, data (dir by type), status; returns the status byte. */
static uint8_t do_rw(struct ctx *c, uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	struct seg s[3];
	unsigned int n = 0;
	uint64_t st = put_status(c);
	uint32_t id, ulen;
	uint16_t head;

	s[n++] = (struct seg){ put_hdr(c, type, sector), 16, false };
	if (len)
		s[n++] = (struct seg){ data, len, type == VIRTIO_BLK_T_IN ||
					type == VIRTIO_BLK_T_GET_ID };
	s[n++] = (struct seg){ st, 1, true };
	head = add_chain(c, 0, s, n);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &ulen));
	assert_int_equal(id, head);
	return *(uint8_t *)gpa(c, st);
}

static void fill(struct ctx *c, uint64_t a, uint32_t len, unsigned int seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		((uint8_t *)gpa(c, a))[i] = (uint8_t)(i * 7 + seed);
}

/* ---- tests ---- */

static void roundtrip(struct ctx *c, const char *fmt, enum block_aio aio)
{
	struct virtio_blk_conf conf = { .discard = true };
	uint64_t w = buf_alloc(c, 8192), r = buf_alloc(c, 8192);
	int fd;

	open_disk(c, fmt, false, aio);
	start_dev(c, &conf, 1);
	fill(c, w, 8192, 3);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, 16, w, 8192), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	memset(gpa(c, r), 0, 8192);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 16, r, 8192), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, r), gpa(c, w), 8192);
	assert_true(c->notifies[0] > 0);
	if (!strcmp(fmt, "raw")) {
		uint8_t back[8192];

		fd = open(c->path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, back, sizeof(back), 16 * 512), (ssize_t)sizeof(back));
		close(fd);
		assert_memory_equal(back, gpa(c, w), 8192);
	}
	/* the last sector is readable, the one after is not */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, SECTORS - 1, r, 512), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, SECTORS, r, 512), VIRTIO_BLK_S_IOERR);
}

static void test_raw_uring(void **state)
{
	roundtrip(*state, "raw", BLOCK_AIO_URING);
}

static void test_raw_threads(void **state)
{
	roundtrip(*state, "raw", BLOCK_AIO_THREADS);
}

static void test_raw_native(void **state)
{
	roundtrip(*state, "raw", BLOCK_AIO_NATIVE);
}

static void test_qcow2_uring(void **state)
{
	roundtrip(*state, "qcow2", BLOCK_AIO_URING);
}

static void test_qcow2_threads(void **state)
{
	roundtrip(*state, "qcow2", BLOCK_AIO_THREADS);
}

static void test_config_and_features(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .discard = true };
	uint8_t cfg[VIRTIO_BLK_CFG_SIZE];
	uint64_t cap, f;
	uint32_t v;
	uint16_t nq;

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 2);
	f = virtio_blk_features(c->blk);
	assert_true(f & (1ull << VIRTIO_BLK_F_FLUSH));
	assert_true(f & (1ull << VIRTIO_BLK_F_MQ));
	assert_true(f & (1ull << VIRTIO_BLK_F_DISCARD));
	assert_true(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & (1ull << VIRTIO_BLK_F_RO));
	assert_false(f & (1ull << VIRTIO_BLK_F_SIZE_MAX));
	virtio_blk_config_read(c->blk, 0, cfg, sizeof(cfg));
	memcpy(&cap, cfg, 8);
	assert_int_equal(le64toh(cap), SECTORS);
	memcpy(&nq, cfg + VIRTIO_BLK_CFG_NUM_QUEUES, 2);
	assert_int_equal(le16toh(nq), 2);
	memcpy(&v, cfg + VIRTIO_BLK_CFG_BLK_SIZE, 4);
	assert_int_equal(le32toh(v), 512);
	memcpy(&v, cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4);
	assert_int_equal(le32toh(v), VIRTIO_BLK_MAX_DISCARD_SEG);
	assert_int_equal(cfg[VIRTIO_BLK_CFG_WZ_MAY_UNMAP], 1);
	/* reads past the layout are zeroes, not a crash */
	virtio_blk_config_read(c->blk, VIRTIO_BLK_CFG_SIZE - 2, &v, 4);
	virtio_blk_config_read(c->blk, 4096, &v, 4);
	assert_int_equal(v, 0);
}

static void test_multiqueue(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { 0 };
	uint64_t w = buf_alloc(c, 512), st = put_status(c);
	struct seg s[3];
	uint32_t id, len;

	open_disk(c, "raw", false, BLOCK_AIO_URING);
	start_dev(c, &conf, 2);
	fill(c, w, 512, 9);
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_OUT, 3), 16, false };
	s[1] = (struct seg){ w, 512, false };
	s[2] = (struct seg){ st, 1, true };
	add_chain(c, 1, s, 3);
	run(c, 1);
	assert_true(take_used(c, 1, &id, &len));
	assert_false(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_OK);
	assert_int_equal(c->notifies[1], 1);
	assert_int_equal(c->notifies[0], 0);
}

static void test_get_id(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .serial = "KEEL-SERIAL-0001" };
	uint64_t id = buf_alloc(c, 20);
	char want[20] = "KEEL-SERIAL-0001";

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);
	memset(gpa(c, id), 0xaa, 20);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_GET_ID, 0, id, 20), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, id), want, 20);
	/* a short buffer gets what fits, and nothing past it */
	id = buf_alloc(c, 32);
	memset(gpa(c, id), 0xaa, 32);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_GET_ID, 0, id, 4), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, id), "KEEL", 4);
	assert_int_equal(((uint8_t *)gpa(c, id))[4], 0xaa);
}

/* The device's requests as query-blockstats counts them (its block backend). */
static void test_stats(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { 0 };
	uint64_t w = buf_alloc(c, 8192);
	struct blk_stats st;

	open_disk(c, "raw", false, BLOCK_AIO_URING);
	start_dev(c, &conf, 1);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, 0, w, 8192), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, w, 4096), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	/* refused by the device before the backend: invalid, not failed */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, SECTORS, w, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, w, 100), VIRTIO_BLK_S_IOERR);
	blk_backend_stats(virtio_blk_backend(c->blk), &st);
	assert_int_equal(st.wr_operations, 1);
	assert_int_equal(st.wr_bytes, 8192);
	assert_int_equal(st.rd_operations, 1);
	assert_int_equal(st.rd_bytes, 4096);
	assert_int_equal(st.flush_operations, 1);
	assert_int_equal(st.invalid_wr_operations, 1);
	assert_int_equal(st.invalid_rd_operations, 1);
	assert_int_equal(st.failed_wr_operations + st.failed_rd_operations, 0);
}

static void test_readonly(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .read_only = true };
	uint64_t w = buf_alloc(c, 512), seg = buf_alloc(c, 16);

	open_disk(c, "raw", true, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);
	assert_true(virtio_blk_features(c->blk) & (1ull << VIRTIO_BLK_F_RO));
	assert_false(virtio_blk_features(c->blk) & (1ull << VIRTIO_BLK_F_DISCARD));
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, 0, w, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, w, 512), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	memset(gpa(c, seg), 0, 16);
	/* discard was not offered: refused as unsupported */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 16), VIRTIO_BLK_S_UNSUPP);
}

/* Hostile layouts: every one gets an answer and none crashes. */
static void test_hostile_layouts(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { 0 };
	uint64_t d = buf_alloc(c, 4096), st, hdr;
	struct seg s[4];
	uint32_t id, len;
	uint16_t head;

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);

	/* data length not a multiple of 512 */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, d, 100), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, 0, d, 513), VIRTIO_BLK_S_IOERR);
	/* past the end, and a sector number that would overflow */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, SECTORS - 1, d, 1024), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, UINT64_MAX, d, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, d, 512),
			 VIRTIO_BLK_S_IOERR);
	/* unknown and unsupported types */
	assert_int_equal(do_rw(c, 99, 0, 0, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_GET_LIFETIME, 0, d, 8), VIRTIO_BLK_S_UNSUPP);

	/* header shorter than 16 bytes */
	st = put_status(c);
	hdr = put_hdr(c, VIRTIO_BLK_T_IN, 0);
	s[0] = (struct seg){ hdr, 8, false };
	s[1] = (struct seg){ st, 1, true };
	add_chain(c, 0, s, 2);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_IOERR);

	/* no writable byte at all: returned unanswered, len 0 */
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_IN, 0), 16, false };
	s[1] = (struct seg){ d, 512, false };
	head = add_chain(c, 0, s, 2);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);

	/* only writable descriptors: no readable header */
	st = put_status(c);
	s[0] = (struct seg){ d, 512, true };
	s[1] = (struct seg){ st, 1, true };
	add_chain(c, 0, s, 2);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_IOERR);

	/* a zero-length writable descriptor after the status byte is skipped */
	st = put_status(c);
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_FLUSH, 0), 16, false };
	s[1] = (struct seg){ st, 1, true };
	s[2] = (struct seg){ d, 0, true };
	add_chain(c, 0, s, 3);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_OK);

	/* a descriptor pointing outside guest RAM breaks the queue, not keel */
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_IN, 0), 16, false };
	s[1] = (struct seg){ RAM_SIZE - 256, 4096, true };
	s[2] = (struct seg){ put_status(c), 1, true };
	add_chain(c, 0, s, 3);
	run(c, 0);
	assert_false(take_used(c, 0, &id, &len));
	assert_true(virtq_is_broken(&c->vq[0]));
}

/* The driver may frame a request any way it likes (ch. 5.2.6.1). */
static void test_odd_framing(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { 0 };
	uint64_t blob = buf_alloc(c, 16 + 1024), rd = buf_alloc(c, 1024 + 1), hdr;
	struct seg s[4];
	uint32_t id, len;
	uint8_t *r;

	open_disk(c, "raw", false, BLOCK_AIO_URING);
	start_dev(c, &conf, 1);
	/* write: header and data in one descriptor, status alone */
	hdr = put_hdr(c, VIRTIO_BLK_T_OUT, 40);
	memcpy(gpa(c, blob), gpa(c, hdr), 16);
	fill(c, blob + 16, 1024, 5);
	s[0] = (struct seg){ blob, 4, false };		/* header split 4 + 12+data */
	s[1] = (struct seg){ blob + 4, 12 + 1024, false };
	s[2] = (struct seg){ put_status(c), 1, true };
	add_chain(c, 0, s, 3);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, s[2].gpa), VIRTIO_BLK_S_OK);
	/* read: data and status in one descriptor */
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_IN, 40), 16, false };
	s[1] = (struct seg){ rd, 1024 + 1, true };
	memset(gpa(c, rd), 0, 1025);
	add_chain(c, 0, s, 2);
	run(c, 0);
	assert_true(take_used(c, 0, &id, &len));
	r = gpa(c, rd);
	assert_int_equal(r[1024], VIRTIO_BLK_S_OK);
	assert_memory_equal(r, gpa(c, blob + 16), 1024);
	assert_int_equal(len, 1025);
}

static void put_seg(struct ctx *c, uint64_t a, uint64_t sector, uint32_t nr, uint32_t flags)
{
	uint64_t s = htole64(sector);
	uint32_t n = htole32(nr), f = htole32(flags);

	memcpy(gpa(c, a), &s, 8);
	memcpy(gpa(c, a + 8), &n, 4);
	memcpy(gpa(c, a + 12), &f, 4);
}

static int64_t allocated(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int64_t)st.st_blocks * 512;
}

static void discard_case(struct ctx *c, const char *fmt, bool unmap)
{
	struct virtio_blk_conf conf = { .discard = unmap };
	uint64_t w = buf_alloc(c, 1 << 20), seg = buf_alloc(c, 16 * 40), r = buf_alloc(c, 4096);
	uint8_t zero[4096] = { 0 };
	int64_t before, after;
	unsigned int i;

	open_disk(c, fmt, false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);
	fill(c, w, 1 << 20, 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, i * 2048, w, 1 << 20),
				 VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	before = allocated(c->path);
	/* two segments: 2 MiB from sector 0, and 1 MiB from sector 6144 */
	put_seg(c, seg, 0, 4096, 0);
	put_seg(c, seg + 16, 6144, 2048, 0);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 32), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
	after = allocated(c->path);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 4096, r, 4096), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, r), gpa(c, w), 4096);	/* untouched range */
	if (unmap) {
		assert_true(after <= before - (2 << 20));
		assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 8, r, 4096), VIRTIO_BLK_S_OK);
		assert_memory_equal(gpa(c, r), zero, 4096);
	} else {
		assert_true(after >= before);
		assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, r, 4096), VIRTIO_BLK_S_OK);
		assert_memory_equal(gpa(c, r), gpa(c, w), 4096);
	}

	/* write zeroes, with and without UNMAP: reads give zeroes either way */
	put_seg(c, seg, 4608, 8, VIRTIO_BLK_WZ_F_UNMAP);
	put_seg(c, seg + 16, 4616, 8, 0);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 32), VIRTIO_BLK_S_OK);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 4608, r, 4096), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, r), zero, 4096);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 4624, r, 512), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, r), gpa(c, w + 528 * 512), 512);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 4600, r, 512), VIRTIO_BLK_S_OK);
	assert_memory_equal(gpa(c, r), gpa(c, w + 504 * 512), 512);

	/* hostile segments */
	put_seg(c, seg, 0, 8, VIRTIO_BLK_WZ_F_UNMAP);	/* unmap flag on a discard */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 16), VIRTIO_BLK_S_UNSUPP);
	put_seg(c, seg, 0, 8, 0x80);			/* unknown flag */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16), VIRTIO_BLK_S_UNSUPP);
	put_seg(c, seg, SECTORS - 4, 8, 0);		/* past the end */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 16), VIRTIO_BLK_S_IOERR);
	put_seg(c, seg, UINT64_MAX - 2, 8, 0);		/* wraps */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16), VIRTIO_BLK_S_IOERR);
	put_seg(c, seg, 0, VIRTIO_BLK_MAX_DISCARD_SECTORS + 1, 0);	/* too large */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 16), VIRTIO_BLK_S_IOERR);
	for (i = 0; i < 40; i++)
		put_seg(c, seg + 16 * i, i * 8, 8, 0);	/* more segments than offered */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 16 * 40), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 24), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_DISCARD, 0, seg, 0), VIRTIO_BLK_S_IOERR);
}

static void test_discard_raw(void **state)
{
	discard_case(*state, "raw", true);
}

static void test_discard_qcow2(void **state)
{
	discard_case(*state, "qcow2", true);
}

static void test_discard_ignore(void **state)
{
	discard_case(*state, "raw", false);
}

/* Make the image file refuse writes (EBADF) under the device, or accept them again. */
static void sabotage(struct ctx *c, bool broken)
{
	int fd = open(c->path, broken ? O_RDONLY : O_RDWR);

	assert_true(fd >= 0);
	assert_true(dup2(fd, c->bd->file->fd) >= 0);
	close(fd);
}

static void test_werror_report(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .werror = VIRTIO_BLK_WERROR_REPORT };
	uint64_t w = buf_alloc(c, 4096);

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);
	sabotage(c, true);
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_OUT, 0, w, 4096), VIRTIO_BLK_S_IOERR);
	assert_int_equal(c->fm.requests[MACHINE_PAUSE], 0);
	/* reads still work */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 0, w, 4096), VIRTIO_BLK_S_OK);
}

struct err_rec {
	int calls;
	int err;
	char name[32];
};

static void on_error(void *opaque, const char *name, bool write, int err)
{
	struct err_rec *r = opaque;

	r->calls++;
	r->err = err;
	snprintf(r->name, sizeof(r->name), "%s", name);
}

static void test_werror_stop(void **state)
{
	struct ctx *c = *state;
	struct err_rec rec = { 0 };
	struct virtio_blk_conf conf = { .werror = VIRTIO_BLK_WERROR_STOP, .name = "vdx",
					.on_error = on_error, .on_error_opaque = &rec };
	uint64_t w = buf_alloc(c, 4096), r = buf_alloc(c, 4096), st = put_status(c);
	struct seg s[3];
	uint32_t id, len;
	uint16_t head;
	int fd;
	uint8_t back[4096];

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	start_dev(c, &conf, 1);
	fill(c, w, 4096, 77);
	sabotage(c, true);
	s[0] = (struct seg){ put_hdr(c, VIRTIO_BLK_T_OUT, 8), 16, false };
	s[1] = (struct seg){ w, 4096, false };
	s[2] = (struct seg){ st, 1, true };
	head = add_chain(c, 0, s, 3);
	run(c, 0);
	/* kept: no answer to the guest, the machine asked to pause, an event */
	assert_false(take_used(c, 0, &id, &len));
	assert_int_equal(*(uint8_t *)gpa(c, st), 0xee);
	assert_int_equal(c->fm.requests[MACHINE_PAUSE], 1);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.err, -EBADF);
	assert_string_equal(rec.name, "vdx");
	assert_int_equal(virtio_blk_parked(c->blk), 1);
	/* reads are answered meanwhile */
	assert_int_equal(do_rw(c, VIRTIO_BLK_T_IN, 100, r, 512), VIRTIO_BLK_S_OK);
	/* the host problem is fixed; cont re-submits */
	sabotage(c, false);
	virtio_blk_resume(c->blk);
	virtio_blk_wait(c->blk);
	assert_true(take_used(c, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_OK);
	assert_int_equal(virtio_blk_parked(c->blk), 0);
	fd = open(c->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, 4096, 8 * 512), 4096);
	close(fd);
	assert_memory_equal(back, gpa(c, w), 4096);
}

/* A reset while a request is parked drops it; nothing touches the queue after stop. */
static void test_stop_drops_parked(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .werror = VIRTIO_BLK_WERROR_STOP };
	uint64_t w = buf_alloc(c, 4096);
	uint32_t id, len;
	unsigned int i;

	open_disk(c, "raw", false, BLOCK_AIO_URING);
	start_dev(c, &conf, 1);
	sabotage(c, true);
	for (i = 0; i < 3; i++) {
		struct seg s[3] = {
			{ put_hdr(c, VIRTIO_BLK_T_OUT, i * 8), 16, false },
			{ w, 4096, false },
			{ put_status(c), 1, true },
		};

		add_chain(c, 0, s, 3);
	}
	virtio_blk_kick(c->blk, 0);
	core_stop(c->blk);
	assert_int_equal(virtio_blk_parked(c->blk), 0);
	virtio_blk_resume(c->blk);
	assert_false(take_used(c, 0, &id, &len));
}

/* ---- the data plane on an I/O thread ---- */

static void *loop_thread(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static void test_iothread(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .iothread = "io0" };
	struct virtq *vqs[1] = { &c->vq[0] };
	struct virtq_config cfg = {
		.size = QSIZE, .desc_gpa = DESC_GPA, .driver_gpa = AVAIL_GPA,
		.device_gpa = USED_GPA,
	};
	uint64_t w = buf_alloc(c, 4096), st[5];
	struct loop *loop = loop_new();
	pthread_t th;
	uint32_t id, len;
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), done = 0, i, tries;

	assert_non_null(loop);
	assert_true(efd >= 0);
	c->fm.iothread_loop = loop;
	c->fm.iothread_id = "io0";
	open_disk(c, "raw", false, BLOCK_AIO_URING);
	conf.bd = c->bd;
	conf.num_queues = 1;
	conf.name = "vdio";
	/* an unknown I/O thread is refused */
	conf.iothread = "nope";
	assert_null(virtio_blk_create(&c->fm.ms, &conf));
	conf.iothread = "io0";
	c->blk = virtio_blk_create(&c->fm.ms, &conf);
	assert_non_null(c->blk);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	assert_int_equal(virtq_start(&c->vq[0], &c->fm.ms, "blk/0", &cfg), 0);
	assert_int_equal(core_start(c, 0, c->blk, virtio_blk_features(c->blk), vqs, &efd, 1),
			 0);
	fill(c, w, 4096, 11);
	for (i = 0; i < 5; i++) {
		struct seg s[3] = {
			{ put_hdr(c, i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, i * 8), 16, false },
			{ w, 4096, i % 2 != 0 },
			{ st[i] = put_status(c), 1, true },
		};

		add_chain(c, 0, s, 3);
	}
	/* the guest's kick: the I/O thread does the rest */
	assert_int_equal(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
	for (tries = 0; tries < 2000 && done < 5; tries++) {
		while (take_used(c, 0, &id, &len))
			done++;
		if (done < 5)
			usleep(1000);
	}
	assert_int_equal(done, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(*(uint8_t *)gpa(c, st[i]), VIRTIO_BLK_S_OK);
	assert_true(__atomic_load_n(&c->notifies[0], __ATOMIC_SEQ_CST) >= 1);
	assert_true(pthread_equal(c->notify_thread, th));
	/* stop from another thread quiesces; free waits for the loop */
	core_stop(c->blk);
	virtio_blk_free(c->blk);
	c->blk = NULL;
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	loop_free(loop);
	close(efd);
}


/* Two disks on one I/O thread: each its own image and engine, one loop. */
static void test_iothread_shared(void **state)
{
	struct ctx *c = *state;
	struct virtq_config cfg = { .size = QSIZE };
	struct virtio_blk_conf conf = { .iothread = "io0", .num_queues = 1 };
	struct virtio_blk *blk[2];
	struct block_dev *bd[2];
	struct loop *loop = loop_new();
	char paths[2][300];
	uint64_t w = buf_alloc(c, 4096), st[2], one = 1;
	int efd[2], i, tries, done = 0;
	pthread_t th;
	uint32_t id, len;

	c->fm.iothread_loop = loop;
	for (i = 0; i < 2; i++) {
		struct block_open_opts o = { .format = i ? "qcow2" : "raw",
					     .aio = i ? BLOCK_AIO_THREADS : BLOCK_AIO_URING };
		struct virtq *vqs[1] = { &c->vq[i] };

		tmp_path(c, i ? "shared1" : "shared0");
		snprintf(paths[i], sizeof(paths[i]), "%s", c->path);
		assert_int_equal(block_create(o.format, paths[i], DISK_SIZE, NULL), 0);
		assert_int_equal(block_open(&bd[i], paths[i], &o), 0);
		conf.bd = bd[i];
		conf.name = i ? "vdb" : "vda";
		blk[i] = virtio_blk_create(&c->fm.ms, &conf);
		assert_non_null(blk[i]);
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		cfg.desc_gpa = DESC_GPA + i * Q_STRIDE;
		cfg.driver_gpa = AVAIL_GPA + i * Q_STRIDE;
		cfg.device_gpa = USED_GPA + i * Q_STRIDE;
		assert_int_equal(virtq_start(&c->vq[i], &c->fm.ms, "blk/s", &cfg), 0);
		assert_int_equal(core_start(c, i, blk[i], virtio_blk_features(blk[i]), vqs,
					    &efd[i], 1), 0);
	}
	c->path[0] = '\0';
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	fill(c, w, 4096, 21);
	for (i = 0; i < 2; i++) {
		struct seg s[3] = {
			{ put_hdr(c, VIRTIO_BLK_T_OUT, 64), 16, false },
			{ w, 4096, false },
			{ st[i] = put_status(c), 1, true },
		};

		add_chain(c, i, s, 3);
		assert_int_equal(write(efd[i], &one, sizeof(one)), (ssize_t)sizeof(one));
	}
	for (tries = 0; tries < 2000 && done < 2; tries++) {
		for (i = 0; i < 2; i++)
			while (take_used(c, i, &id, &len))
				done++;
		if (done < 2)
			usleep(1000);
	}
	assert_int_equal(done, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(*(uint8_t *)gpa(c, st[i]), VIRTIO_BLK_S_OK);
		virtio_blk_free(blk[i]);
	}
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	loop_free(loop);
	for (i = 0; i < 2; i++) {
		uint8_t back[4096];

		assert_int_equal(block_pread(bd[i], 64 * 512, back, sizeof(back)), 0);
		assert_memory_equal(back, gpa(c, w), 4096);
		block_close(bd[i]);
		unlink(paths[i]);
		close(efd[i]);
	}
}

/* The same device on virtio-mmio: a driver's init, kick and interrupt through registers. */
#define MMIO_BASE	0xd0000000ull
#define MMIO_GSI	5

static uint32_t mmio_rd(struct ctx *c, uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&c->fm, MMIO_BASE + off, &v, 4), 0);
	return v;
}

static void mmio_wr(struct ctx *c, uint64_t off, uint32_t v)
{
	assert_int_equal(fake_mmio_write(&c->fm, MMIO_BASE + off, &v, 4), 0);
}

static void test_over_mmio(void **state)
{
	struct ctx *c = *state;
	struct virtio_blk_conf conf = { .name = "vdmmio", .num_queues = 1 };
	uint64_t w = buf_alloc(c, 4096), st, cap;
	uint8_t back[4096];
	uint32_t id, len;
	pthread_t th;
	int tries, done = 0;

	open_disk(c, "raw", false, BLOCK_AIO_THREADS);
	conf.bd = c->bd;
	c->blk = virtio_blk_create(&c->fm.ms, &conf);
	assert_non_null(c->blk);
	assert_non_null(virtio_mmio_new(&c->fm.ms, virtio_blk_vdev(c->blk), MMIO_BASE, MMIO_GSI));
	assert_int_equal(mmio_rd(c, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	/* capacity (le64) as Linux reads it: two 32-bit halves */
	cap = mmio_rd(c, VIRTIO_MMIO_CONFIG) | (uint64_t)mmio_rd(c, VIRTIO_MMIO_CONFIG + 4) << 32;
	assert_true(cap == SECTORS);
	mmio_wr(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_wr(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(c, VIRTIO_MMIO_DRIVER_FEATURES, (1u << VIRTIO_BLK_F_FLUSH) |
		(1u << VIRTIO_F_INDIRECT_DESC) | (1u << VIRTIO_F_EVENT_IDX));
	mmio_wr(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(c, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	mmio_wr(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(c, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	mmio_wr(c, VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_wr(c, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_false(mmio_rd(c, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* The main loop serves the disk on its own thread, as keel's main thread does. */
	assert_int_equal(pthread_create(&th, NULL, loop_thread, c->fm.ms.loop), 0);
	fill(c, w, 4096, 31);
	{
		struct seg s[3] = {
			{ put_hdr(c, VIRTIO_BLK_T_OUT, 16), 16, false },
			{ w, 4096, false },
			{ st = put_status(c), 1, true },
		};

		add_chain(c, 0, s, 3);
	}
	mmio_wr(c, VIRTIO_MMIO_QUEUE_NOTIFY, 0);	/* the ioeventfd */
	for (tries = 0; tries < 2000 && !done; tries++) {
		done = take_used(c, 0, &id, &len);
		if (!done)
			usleep(1000);
	}
	assert_true(done);
	assert_int_equal(*(uint8_t *)gpa(c, st), VIRTIO_BLK_S_OK);
	for (tries = 0; tries < 2000 && !c->fm.irq_level[MMIO_GSI]; tries++)
		usleep(1000);
	assert_int_equal(mmio_rd(c, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	mmio_wr(c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(c->fm.irq_level[MMIO_GSI], 0);
	/* Driver reset from this (vCPU) thread while the loop runs. */
	mmio_wr(c, VIRTIO_MMIO_STATUS, 0);
	loop_stop(c->fm.ms.loop, 0);
	pthread_join(th, NULL);
	virtio_blk_free(c->blk);	/* frees the transport */
	c->blk = NULL;
	assert_int_equal(fake_ioeventfd_count(&c->fm), 0);
	assert_int_equal(block_pread(c->bd, 16 * 512, back, sizeof(back)), 0);
	assert_memory_equal(back, gpa(c, w), 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_raw_uring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_native, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qcow2_uring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qcow2_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiqueue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_qcow2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_ignore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_werror_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_werror_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drops_parked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iothread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iothread_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_mmio, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
