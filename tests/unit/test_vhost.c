/*
 * Unit tests for user/devices/virtio/vhost.c (the vhost attach path,
 * Documentation/vhost-blk.md "Using it from a VMM"): the ioctl sequence against a
 * recording fake device, rollback on failure, stop, dirty log, error eventfds; and
 * the virtio-pci pieces vhost needs (call fd, withheld packed ring). The masked
 * MSI-X vector case (vhost writes the eventfd while masked) is test_msix.c's
 * test_vector_fd_while_masked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/vhost_blk.h>

#include "block/block.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/vhost.h"
#include "fake_machine.h"
#include "lib/loop.h"
#include "vmm/disk.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/vhost.h"

#define RAM_SIZE	(1u << 20)
#define MAX_CALLS	64

struct call {
	unsigned long req;
	unsigned int index;
	uint64_t u64;		/* features, log base, state num, fd */
	int fd;
	struct vhost_vring_addr addr;
	uint32_t nregions;
	struct vhost_memory_region region0;
	struct vhost_blk_backend be;
};

static struct call calls[MAX_CALLS];
static unsigned int nr_calls;
static unsigned long fail_req;		/* this request returns fail_err */
static int fail_err;
static uint64_t dev_features;
static struct fake_machine fm;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c = &calls[nr_calls < MAX_CALLS ? nr_calls++ : MAX_CALLS - 1];

	memset(c, 0, sizeof(*c));
	c->req = req;
	if (req == VHOST_GET_FEATURES) {
		*(uint64_t *)arg = dev_features;
	} else if (req == VHOST_SET_FEATURES || req == VHOST_SET_LOG_BASE) {
		c->u64 = *(uint64_t *)arg;
	} else if (req == VHOST_SET_VRING_NUM || req == VHOST_SET_VRING_BASE) {
		c->index = ((struct vhost_vring_state *)arg)->index;
		c->u64 = ((struct vhost_vring_state *)arg)->num;
	} else if (req == VHOST_GET_VRING_BASE) {
		c->index = ((struct vhost_vring_state *)arg)->index;
		((struct vhost_vring_state *)arg)->num = 40 + c->index;
	} else if (req == VHOST_SET_VRING_ADDR) {
		c->addr = *(struct vhost_vring_addr *)arg;
		c->index = c->addr.index;
	} else if (req == VHOST_SET_VRING_CALL || req == VHOST_SET_VRING_KICK ||
		   req == VHOST_SET_VRING_ERR) {
		c->index = ((struct vhost_vring_file *)arg)->index;
		c->fd = ((struct vhost_vring_file *)arg)->fd;
	} else if (req == VHOST_BLK_SET_BACKEND) {
		c->be = *(struct vhost_blk_backend *)arg;
		c->fd = c->be.fd;
	} else if (req == VHOST_BLK_GET_STATS) {
		struct vhost_blk_stats *st = arg;

		st->nvqs = VHOST_BLK_MAX_QUEUES;
		st->q[0].requests = 5;
	} else if (req == VHOST_SET_MEM_TABLE) {
		struct vhost_memory *m = arg;

		c->nregions = m->nregions;
		if (m->nregions)
			c->region0 = m->regions[0];
	}
	if (fail_req && req == fail_req)
		return fail_err;
	return 0;
}

static int fake_ram_regions(void *opaque, struct machine_ram_region *out, unsigned int max)
{
	struct fake_machine *f = opaque;

	if (max >= 1) {
		out[0].gpa = 0;
		out[0].size = f->ram_size;
		out[0].hva = f->ram;
	}
	return 1;
}

static int setup(void **state)
{
	fake_machine_init(&fm, RAM_SIZE);
	fm.ms.ram_regions = fake_ram_regions;
	nr_calls = 0;
	fail_req = 0;
	dev_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) |
		       (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VHOST_F_LOG_ALL) | (1ull << 9);
	return 0;
}

static int teardown(void **state)
{
	fake_machine_fini(&fm);
	return 0;
}

/* A started split ring of 128 entries at GPA base, next avail index avail. */
static void ring(struct virtq *vq, uint64_t base, uint16_t avail)
{
	memset(vq, 0, sizeof(*vq));
	vq->cfg.size = 128;
	vq->cfg.desc_gpa = base;
	vq->cfg.driver_gpa = base + 0x800;
	vq->cfg.device_gpa = base + 0x1000;
	vq->desc = fm.ram + base;
	vq->driver = fm.ram + base + 0x800;
	vq->device = fm.ram + base + 0x1000;
	vq->started = true;
	vq->last_avail_idx = avail;
}

static const struct call *find(unsigned long req, unsigned int index, unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < nr_calls; i++)
		if (calls[i].req == req && calls[i].index == index && nth-- == 0)
			return &calls[i];
	return NULL;
}

static int pos(unsigned long req, unsigned int index)
{
	const struct call *c = find(req, index, 0);

	return c ? (int)(c - calls) : -1;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_start_sequence(void **state)
{
	struct vhost_dev d;
	struct virtq q0, q1;
	struct vhost_vring vr[3];
	int kick0 = eventfd(0, 0), kick1 = eventfd(0, 0), call0 = eventfd(0, 0);
	const struct call *c;
	int errfd;

	ring(&q0, 0x10000, 0);
	ring(&q1, 0x20000, 9);
	vr[0] = (struct vhost_vring){ .vq = &q0, .kick_fd = kick0, .call_fd = call0 };
	vr[1] = (struct vhost_vring){ .vq = NULL, .kick_fd = -1, .call_fd = -1 };
	vr[2] = (struct vhost_vring){ .vq = &q1, .kick_fd = kick1, .call_fd = -1 };
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(calls[0].req, VHOST_GET_FEATURES);
	assert_true(d.features == dev_features);
	nr_calls = 0;

	/* The guest accepted a bit the backend lacks (bit 12): not passed on. */
	assert_int_equal(vhost_start(&d, &fm.ms, (1ull << VIRTIO_F_VERSION_1) | (1ull << 9) |
				     (1ull << 12), vr, 3), 0);
	assert_int_equal(calls[0].req, VHOST_SET_OWNER);
	assert_int_equal(calls[1].req, VHOST_SET_FEATURES);
	assert_true(calls[1].u64 == ((1ull << VIRTIO_F_VERSION_1) | (1ull << 9)));
	assert_int_equal(calls[2].req, VHOST_SET_MEM_TABLE);
	assert_int_equal(calls[2].nregions, 1);
	assert_true(calls[2].region0.userspace_addr == (uintptr_t)fm.ram);
	assert_true(calls[2].region0.memory_size == RAM_SIZE);

	/* Ring 0: NUM, BASE, ADDR, CALL (the caller's), ERR, KICK, in that order. */
	c = find(VHOST_SET_VRING_NUM, 0, 0);
	assert_non_null(c);
	assert_int_equal(c->u64, 128);
	assert_int_equal(find(VHOST_SET_VRING_BASE, 0, 0)->u64, 0);
	c = find(VHOST_SET_VRING_ADDR, 0, 0);
	assert_true(c->addr.desc_user_addr == (uintptr_t)(fm.ram + 0x10000));
	assert_true(c->addr.avail_user_addr == (uintptr_t)(fm.ram + 0x10800));
	assert_true(c->addr.used_user_addr == (uintptr_t)(fm.ram + 0x11000));
	assert_true(c->addr.log_guest_addr == 0x11000);
	assert_int_equal(c->addr.flags, 0);
	assert_int_equal(find(VHOST_SET_VRING_CALL, 0, 0)->fd, call0);
	assert_int_equal(find(VHOST_SET_VRING_KICK, 0, 0)->fd, kick0);
	errfd = find(VHOST_SET_VRING_ERR, 0, 0)->fd;
	assert_true(errfd >= 0 && fd_open(errfd));
	assert_true(pos(VHOST_SET_VRING_NUM, 0) < pos(VHOST_SET_VRING_ADDR, 0));
	assert_true(pos(VHOST_SET_VRING_ADDR, 0) < pos(VHOST_SET_VRING_KICK, 0));
	assert_true(pos(VHOST_SET_VRING_ERR, 0) < pos(VHOST_SET_VRING_KICK, 0));

	/* Ring 1 was left disabled by the driver: never mentioned. */
	assert_null(find(VHOST_SET_VRING_NUM, 1, 0));
	/* Ring 2 resumes at avail index 9, and gets an own call eventfd. */
	assert_int_equal(find(VHOST_SET_VRING_BASE, 2, 0)->u64, 9);
	assert_true(find(VHOST_SET_VRING_CALL, 2, 0)->fd >= 0);
	assert_int_equal(find(VHOST_SET_VRING_CALL, 2, 0)->fd, d.call_fd[2]);

	/* Stop: kick detached before GET_VRING_BASE, then RESET_OWNER; fds closed. */
	nr_calls = 0;
	vhost_stop(&d);
	assert_int_equal(find(VHOST_SET_VRING_KICK, 0, 0)->fd, -1);
	assert_true(pos(VHOST_SET_VRING_KICK, 0) < pos(VHOST_GET_VRING_BASE, 0));
	assert_non_null(find(VHOST_GET_VRING_BASE, 2, 0));
	assert_null(find(VHOST_GET_VRING_BASE, 1, 0));
	assert_int_equal(d.last_avail[0], 40);
	assert_int_equal(d.last_avail[2], 42);
	assert_int_equal(calls[nr_calls - 1].req, VHOST_RESET_OWNER);
	assert_false(fd_open(errfd));
	assert_int_equal(d.call_fd[2], -1);
	assert_false(d.running);
	close(kick0);
	close(kick1);
	close(call0);
}

static void test_packed_ring_refused(void **state)
{
	struct vhost_dev d;
	struct virtq q;
	struct vhost_vring vr = { .vq = &q, .kick_fd = 3, .call_fd = -1 };

	ring(&q, 0x10000, 0);
	q.cfg.packed = true;
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, &vr, 1),
			 -EOPNOTSUPP);
	assert_false(d.running);
	assert_false(d.owned);
	assert_int_equal(calls[nr_calls - 1].req, VHOST_RESET_OWNER);
}

/* A refusal half-way leaves nothing attached: no eventfd left open, owner reset. */
static void test_failure_rolls_back(void **state)
{
	struct vhost_dev d;
	struct virtq q;
	struct vhost_vring vr = { .vq = &q, .kick_fd = 3, .call_fd = -1 };
	int callfd;

	ring(&q, 0x10000, 0);
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	fail_req = VHOST_SET_VRING_KICK;
	fail_err = -EBADF;
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, &vr, 1), -EBADF);
	callfd = find(VHOST_SET_VRING_CALL, 0, 0)->fd;
	assert_false(fd_open(callfd));
	assert_int_equal(d.err_fd[0], -1);
	assert_false(d.owned);
	assert_false(d.running);

	/* The memory table refused: nothing about rings is sent. */
	nr_calls = 0;
	fail_req = VHOST_SET_MEM_TABLE;
	fail_err = -EFAULT;
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, &vr, 1), -EFAULT);
	assert_null(find(VHOST_SET_VRING_NUM, 0, 0));
	assert_int_equal(calls[nr_calls - 1].req, VHOST_RESET_OWNER);

	/* Too many rings for the attach path. */
	assert_int_equal(vhost_start(&d, &fm.ms, 0, &vr, VHOST_MAX_VRINGS + 1), -EINVAL);
}

static void test_no_ram_regions(void **state)
{
	struct vhost_dev d;
	struct virtq q;
	struct vhost_vring vr = { .vq = &q, .kick_fd = 3, .call_fd = -1 };

	ring(&q, 0x10000, 0);
	fm.ms.ram_regions = NULL;
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, &vr, 1),
			 -EOPNOTSUPP);
	assert_false(d.owned);
}

static void test_dirty_log(void **state)
{
	static uint8_t bitmap[64];
	struct vhost_dev d;
	struct virtq q;
	struct vhost_vring vr = { .vq = &q, .kick_fd = 3, .call_fd = -1 };
	const struct call *c;

	ring(&q, 0x10000, 0);
	dev_features &= ~(1ull << VHOST_F_LOG_ALL);
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(vhost_set_log(&d, bitmap, true), -EOPNOTSUPP);

	dev_features |= 1ull << VHOST_F_LOG_ALL;
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, NULL, NULL, NULL, NULL), 0);
	/* Asking for LOG_ALL as a guest feature does nothing: only vhost_set_log does. */
	assert_int_equal(vhost_start(&d, &fm.ms, (1ull << VIRTIO_F_VERSION_1) |
				     (1ull << VHOST_F_LOG_ALL), &vr, 1), 0);
	assert_true(find(VHOST_SET_FEATURES, 0, 0)->u64 == (1ull << VIRTIO_F_VERSION_1));

	nr_calls = 0;
	assert_int_equal(vhost_set_log(&d, bitmap, true), 0);
	assert_int_equal(calls[0].req, VHOST_SET_LOG_BASE);
	assert_true(calls[0].u64 == (uintptr_t)bitmap);
	assert_int_equal(calls[1].req, VHOST_SET_FEATURES);
	assert_true(calls[1].u64 == ((1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_F_LOG_ALL)));
	c = find(VHOST_SET_VRING_ADDR, 0, 0);
	assert_non_null(c);
	assert_int_equal(c->addr.flags, 1u << VHOST_VRING_F_LOG);
	assert_true(c->addr.log_guest_addr == 0x11000);

	nr_calls = 0;
	assert_int_equal(vhost_set_log(&d, bitmap, false), 0);
	assert_true(find(VHOST_SET_FEATURES, 0, 0)->u64 == (1ull << VIRTIO_F_VERSION_1));
	assert_int_equal(find(VHOST_SET_VRING_ADDR, 0, 0)->addr.flags, 0);

	/* Set before a start: the start itself logs. */
	vhost_stop(&d);
	assert_int_equal(vhost_set_log(&d, bitmap, true), 0);
	nr_calls = 0;
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, &vr, 1), 0);
	assert_true(find(VHOST_SET_FEATURES, 0, 0)->u64 ==
		    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_F_LOG_ALL)));
	assert_true(find(VHOST_SET_LOG_BASE, 0, 0)->u64 == (uintptr_t)bitmap);
	assert_int_equal(find(VHOST_SET_VRING_ADDR, 0, 0)->addr.flags, 1u << VHOST_VRING_F_LOG);
	vhost_stop(&d);
}

/* The kernel's error and call eventfds reach the device on the loop. */
static unsigned int errors_seen, calls_seen, last_idx;
static struct loop *test_loop;

static void on_error(void *opaque, unsigned int idx)
{
	errors_seen++;
	last_idx = idx;
	loop_stop(test_loop, 0);
}

static void on_call(void *opaque, unsigned int idx)
{
	calls_seen++;
	last_idx = idx;
	loop_stop(test_loop, 0);
}

static void on_timeout(void *opaque)
{
	loop_stop(test_loop, 1);
}

static void test_error_and_call_eventfds(void **state)
{
	struct vhost_dev d;
	struct virtq q0, q1;
	struct vhost_vring vr[2] = {
		{ .vq = &q0, .kick_fd = 3, .call_fd = -1 },
		{ .vq = &q1, .kick_fd = 4, .call_fd = -1 },
	};
	struct loop_timer *t;
	uint64_t one = 1;

	test_loop = loop_new();
	assert_non_null(test_loop);
	t = loop_timer_new(test_loop, on_timeout, NULL);
	assert_non_null(t);
	ring(&q0, 0x10000, 0);
	ring(&q1, 0x20000, 0);
	errors_seen = calls_seen = 0;
	assert_int_equal(vhost_init(&d, "blk-test", 99, fake_ioctl, test_loop, on_error,
				    on_call, NULL), 0);
	assert_int_equal(vhost_start(&d, &fm.ms, 1ull << VIRTIO_F_VERSION_1, vr, 2), 0);

	assert_int_equal(write(find(VHOST_SET_VRING_ERR, 1, 0)->fd, &one, 8), 8);
	assert_int_equal(loop_timer_arm(t, 2000000000ull, 0), 0);
	assert_int_equal(loop_run(test_loop), 0);
	assert_int_equal(errors_seen, 1);
	assert_int_equal(last_idx, 1);

	assert_int_equal(write(find(VHOST_SET_VRING_CALL, 0, 0)->fd, &one, 8), 8);
	assert_int_equal(loop_run(test_loop), 0);
	assert_int_equal(calls_seen, 1);
	assert_int_equal(last_idx, 0);

	vhost_stop(&d);
	loop_timer_free(t);
	loop_free(test_loop);
}

/* virtio-pci: withheld transport features are not offered; call fd follows MSI-X. */
static int noop_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	return 0;
}

static void noop_stop(struct virtio_dev *vdev)
{
}

static const struct virtio_dev_ops noop_ops = { .start = noop_start, .stop = noop_stop };

static uint32_t feature_word(struct virtio_pci *vp, unsigned int sel)
{
	struct pci_device *pd = virtio_pci_device(vp);
	uint32_t v = 0;

	/* common configuration at BAR 4 offset 0: device_feature_select, device_feature */
	pd->bar_ops[4]->write(pd->opaque, 0, &sel, 4);
	pd->bar_ops[4]->read(pd->opaque, 4, &v, 4);
	return v;
}

static void test_pci_withhold_and_call_fd(void **state)
{
	struct virtio_pci_info info = { .class_code = 0x010000 };
	struct virtio_dev vdev = {
		.name = "vhost-pci-test", .type = VIRTIO_ID_BLOCK,
		.features = 1ull << 9, .nr_queues = 2, .queue_size = 128, .config_size = 8,
		.ops = &noop_ops,
		.withhold_features = 1ull << VIRTIO_F_RING_PACKED,
	};
	struct virtio_pci *vp;
	uint64_t f;

	vp = virtio_pci_new(&fm.ms, &vdev, &info);
	assert_non_null(vp);
	f = feature_word(vp, 0) | (uint64_t)feature_word(vp, 1) << 32;
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << 9));
	assert_false(f & (1ull << VIRTIO_F_RING_PACKED));
	/* MSI-X off: no call fd, the caller falls back to an eventfd of its own. */
	assert_int_equal(virtio_pci_call_fd(vp, 0), -1);
	assert_int_equal(virtio_pci_call_fd(vp, 7), -1);
	virtio_pci_free(vp);

	vdev.withhold_features = 0;
	vp = virtio_pci_new(&fm.ms, &vdev, &info);
	assert_non_null(vp);
	assert_true(feature_word(vp, 1) & (1u << (VIRTIO_F_RING_PACKED - 32)));
	virtio_pci_free(vp);
}

/* virtio-blk with accel=vhost, driven through its PCI BAR as a driver would. */
#define CF_DFSELECT	0x00
#define CF_DF		0x04
#define CF_GFSELECT	0x08
#define CF_GF		0x0c
#define CF_STATUS	0x14
#define CF_Q_SELECT	0x16
#define CF_Q_SIZE	0x18
#define CF_Q_ENABLE	0x1c
#define CF_Q_DESC	0x20
#define CF_Q_DRIVER	0x28
#define CF_Q_DEVICE	0x30

static struct pci_device *blk_pdev;

static uint64_t blk_rd(uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	blk_pdev->bar_ops[4]->read(blk_pdev->opaque, off, &v, size);
	return v;
}

static void blk_wr(uint64_t off, unsigned int size, uint64_t v)
{
	blk_pdev->bar_ops[4]->write(blk_pdev->opaque, off, &v, size);
}

static void test_blk_over_vhost(void **state)
{
	char path[] = "/tmp/test_vhost_blk.XXXXXX", err[256], spec[128];
	struct disk_conf dc;
	struct block_dev *bd;
	struct virtio_blk_conf conf = {
		.name = "virtio-blk0", .num_queues = 1, .serial = "vh-serial",
		.vhost = true, .vhost_fd = 99, .vhost_backend_fd = 77,
		.vhost_ioctl = fake_ioctl,
	};
	struct vhost_blk_stats st;
	struct virtio_blk *blk;
	const struct call *c;
	uint64_t f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "path=%s,format=raw,aio=threads", path);
	assert_int_equal(disk_parse(spec, &dc, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&dc, &bd), 0);
	conf.bd = bd;
	dev_features &= ~(1ull << VIRTIO_F_EVENT_IDX);	/* a module without EVENT_IDX */
	blk = virtio_blk_create(&fm.ms, &conf);
	if (blk)
		assert_non_null(virtio_pci_new(&fm.ms, virtio_blk_vdev(blk), NULL));
	assert_non_null(blk);
	blk_pdev = virtio_pci_function(virtio_blk_vdev(blk));

	/* No packed ring, no EVENT_IDX the module lacks; the rest as usual. */
	blk_wr(CF_DFSELECT, 4, 0);
	f = blk_rd(CF_DF, 4);
	blk_wr(CF_DFSELECT, 4, 1);
	f |= blk_rd(CF_DF, 4) << 32;
	assert_false(f & (1ull << VIRTIO_F_RING_PACKED));
	assert_false(f & (1ull << VIRTIO_F_EVENT_IDX));
	assert_true(f & (1ull << VIRTIO_F_INDIRECT_DESC));
	assert_true(f & (1ull << VIRTIO_BLK_F_FLUSH));

	blk_wr(CF_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	blk_wr(CF_GFSELECT, 4, 0);
	blk_wr(CF_GF, 4, (1u << VIRTIO_BLK_F_FLUSH) | (1u << VIRTIO_BLK_F_BLK_SIZE));
	blk_wr(CF_GFSELECT, 4, 1);
	blk_wr(CF_GF, 4, 1);	/* VERSION_1 */
	blk_wr(CF_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK);
	blk_wr(CF_Q_SELECT, 2, 0);
	blk_wr(CF_Q_SIZE, 2, 64);
	blk_wr(CF_Q_DESC, 8, 0x10000);
	blk_wr(CF_Q_DRIVER, 8, 0x20000);
	blk_wr(CF_Q_DEVICE, 8, 0x30000);
	blk_wr(CF_Q_ENABLE, 2, 1);
	nr_calls = 0;
	blk_wr(CF_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_false(blk_rd(CF_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);

	/* The rings went to the kernel, then the backend last. */
	c = find(VHOST_SET_FEATURES, 0, 0);
	assert_non_null(c);
	/* BLK_SIZE is configuration only: the module does not list it. */
	assert_true(c->u64 == ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH)));
	assert_int_equal(find(VHOST_SET_VRING_NUM, 0, 0)->u64, 64);
	assert_true(find(VHOST_SET_VRING_ADDR, 0, 0)->addr.desc_user_addr ==
		    (uintptr_t)(fm.ram + 0x10000));
	/* The queue's kick eventfd; no MSI-X yet, so keel's own call eventfd. */
	assert_true(find(VHOST_SET_VRING_KICK, 0, 0)->fd >= 0);
	assert_true(find(VHOST_SET_VRING_CALL, 0, 0)->fd >= 0);
	c = &calls[nr_calls - 1];
	assert_int_equal(c->req, VHOST_BLK_SET_BACKEND);
	assert_int_equal(c->be.fd, 77);
	assert_int_equal(c->be.flags, 0);
	assert_string_equal((const char *)c->be.serial, "vh-serial");

	assert_int_equal(virtio_blk_vhost_stats(blk, &st), 0);
	assert_int_equal(st.q[0].requests, 5);

	/* Driver reset: backend detached first (waits for requests), then the rings. */
	nr_calls = 0;
	blk_wr(CF_STATUS, 1, 0);
	assert_int_equal(calls[0].req, VHOST_BLK_SET_BACKEND);
	assert_int_equal(calls[0].be.fd, -1);
	assert_non_null(find(VHOST_GET_VRING_BASE, 0, 0));
	assert_int_equal(calls[nr_calls - 1].req, VHOST_RESET_OWNER);

	virtio_blk_free(blk);
	block_close(bd);
	unlink(path);
}

/* The same device on virtio-mmio: no call fd there, so vhost's own one interrupts. */
#define MMIO_BASE	0xd0000000ull
#define MMIO_GSI	5

static uint32_t mmio_rd(uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, MMIO_BASE + off, &v, 4), 0);
	return v;
}

static void mmio_wr(uint64_t off, uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, MMIO_BASE + off, &v, 4), 0);
}

static void stop_main_loop(void *opaque)
{
	loop_stop(fm.ms.loop, 0);
}

static void test_blk_over_vhost_mmio(void **state)
{
	char path[] = "/tmp/test_vhost_mmio.XXXXXX", err[256], spec[128];
	struct disk_conf dc;
	struct block_dev *bd;
	struct virtio_blk_conf conf = {
		.name = "virtio-blk1", .num_queues = 1, .serial = "mm-serial",
		.vhost = true, .vhost_fd = 98, .vhost_backend_fd = 76,
		.vhost_ioctl = fake_ioctl,
	};
	struct virtio_blk *blk;
	struct virtio_mmio *vm;
	struct loop_timer *t;
	uint64_t one = 1, f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "path=%s,format=raw,aio=threads", path);
	assert_int_equal(disk_parse(spec, &dc, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&dc, &bd), 0);
	conf.bd = bd;
	blk = virtio_blk_create(&fm.ms, &conf);
	assert_non_null(blk);
	vm = virtio_mmio_new(&fm.ms, virtio_blk_vdev(blk), MMIO_BASE, MMIO_GSI);
	assert_non_null(vm);
	assert_int_equal(mmio_rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	/* capacity in 512-byte sectors, from the device configuration at 0x100 */
	assert_int_equal(mmio_rd(VIRTIO_MMIO_CONFIG), 2048);

	mmio_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)mmio_rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	assert_false(f & (1ull << VIRTIO_F_RING_PACKED));
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_BLK_F_FLUSH);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK);
	mmio_wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(VIRTIO_MMIO_QUEUE_NUM, 64);
	mmio_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10000);
	mmio_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x20000);
	mmio_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x30000);
	mmio_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	nr_calls = 0;
	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_false(mmio_rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* The kick is the transport's eventfd; the call fd is vhost's own. */
	assert_int_equal(find(VHOST_SET_VRING_NUM, 0, 0)->u64, 64);
	assert_int_equal(find(VHOST_SET_VRING_KICK, 0, 0)->fd, virtio_mmio_kick_fd(vm, 0));
	assert_true(find(VHOST_SET_VRING_CALL, 0, 0)->fd >= 0);
	assert_int_equal(calls[nr_calls - 1].req, VHOST_BLK_SET_BACKEND);
	assert_int_equal(calls[nr_calls - 1].be.fd, 76);

	/* The kernel signals completions: InterruptStatus bit 0, the line goes up. */
	assert_int_equal(fm.irq_level[MMIO_GSI], 0);
	assert_int_equal(write(find(VHOST_SET_VRING_CALL, 0, 0)->fd, &one, 8), 8);
	t = loop_timer_new(fm.ms.loop, stop_main_loop, NULL);
	assert_non_null(t);
	assert_int_equal(loop_timer_arm(t, 20000000ull, 0), 0);
	loop_run(fm.ms.loop);
	loop_timer_free(t);
	assert_int_equal(mmio_rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[MMIO_GSI], 1);
	mmio_wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[MMIO_GSI], 0);

	/* Driver reset: backend detached first, then the rings. */
	nr_calls = 0;
	mmio_wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(calls[0].req, VHOST_BLK_SET_BACKEND);
	assert_int_equal(calls[0].be.fd, -1);
	assert_int_equal(calls[nr_calls - 1].req, VHOST_RESET_OWNER);

	/* The device frees its transport. */
	virtio_blk_free(blk);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	block_close(bd);
	unlink(path);
}

/* query-vhost: the reply keel-vhost prints. */
static unsigned int fake_vhost_disks(void *opaque, struct qmp_vhost_disk *out, unsigned int max)
{
	unsigned int *n = opaque;

	if (*n == 0)
		return 0;
	snprintf(out[0].device, sizeof(out[0].device), "virtio-blk3");
	snprintf(out[0].backend, sizeof(out[0].backend), "/dev/vhost-blk");
	out[0].nr_queues = 2;
	out[0].q[0].requests = 8192;
	out[0].q[0].read_bytes = 1ull << 33;	/* past 32 bits */
	out[0].q[1].errors = 3;
	out[0].q[1].broken = true;
	return 1;
}

static void test_qmp_query_vhost(void **state)
{
	static const struct qmp_machine_ops ops = { .vhost_disks = fake_vhost_disks };
	static const struct qmp_machine_ops no_ops;
	unsigned int n = 1;
	struct qmp_machine m = { .ops = &ops, .opaque = &n };
	struct qmp_error err = { 0 };
	json_t *ret = NULL, *d, *q;

	assert_int_equal(qmp_cmd_query_vhost(&m, NULL, &ret, &err), 0);
	assert_int_equal(json_array_size(ret), 1);
	d = json_array_get(ret, 0);
	assert_string_equal(json_string_value(json_object_get(d, "device")), "virtio-blk3");
	assert_string_equal(json_string_value(json_object_get(d, "backend")), "/dev/vhost-blk");
	assert_int_equal(json_array_size(json_object_get(d, "queues")), 2);
	q = json_array_get(json_object_get(d, "queues"), 0);
	assert_int_equal(json_integer_value(json_object_get(q, "queue")), 0);
	assert_int_equal(json_integer_value(json_object_get(q, "requests")), 8192);
	assert_true(json_integer_value(json_object_get(q, "read-bytes")) == (1ll << 33));
	assert_true(json_is_false(json_object_get(q, "broken")));
	q = json_array_get(json_object_get(d, "queues"), 1);
	assert_int_equal(json_integer_value(json_object_get(q, "errors")), 3);
	assert_true(json_is_true(json_object_get(q, "broken")));
	json_decref(ret);

	n = 0;
	assert_int_equal(qmp_cmd_query_vhost(&m, NULL, &ret, &err), 0);
	assert_int_equal(json_array_size(ret), 0);
	json_decref(ret);
	m.ops = &no_ops;
	assert_int_equal(qmp_cmd_query_vhost(&m, NULL, &ret, &err), 0);
	assert_int_equal(json_array_size(ret), 0);
	json_decref(ret);
}

/* --disk accel=: parsing, and who serves the disk (disk_accel_open). */
static void test_disk_accel_parse(void **state)
{
	struct disk_conf c;
	char err[256];

	assert_int_equal(disk_parse("path=a.img", &c, err, sizeof(err)), 0);
	assert_int_equal(c.accel, DISK_ACCEL_AUTO);
	assert_int_equal(disk_parse("path=a.img,accel=vhost", &c, err, sizeof(err)), 0);
	assert_int_equal(c.accel, DISK_ACCEL_VHOST);
	assert_int_equal(disk_parse("path=a.img,accel=none", &c, err, sizeof(err)), 0);
	assert_int_equal(c.accel, DISK_ACCEL_NONE);
	assert_int_equal(disk_parse("path=a.img,accel=auto", &c, err, sizeof(err)), 0);
	assert_int_equal(c.accel, DISK_ACCEL_AUTO);
	assert_int_equal(disk_parse("path=a.img,accel=kernel", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "accel 'kernel' is not auto, vhost or none"));
	assert_int_equal(disk_parse("path=a.img,accel=vhost,accel=none", &c, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(disk_parse("path=a.img,accel=", &c, err, sizeof(err)), -EINVAL);
}

static void accel_case(const char *opts, const char *dev, int want_ret, bool want_vhost)
{
	char path[] = "/tmp/test_vhost.XXXXXX", spec[256], err[256];
	struct disk_conf c;
	struct block_dev *bd;
	int fd, vfd, bfd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "path=%s,%s", path, opts);
	assert_int_equal(disk_parse(spec, &c, err, sizeof(err)), 0);
	c.aio = BLOCK_AIO_THREADS;
	assert_int_equal(disk_open(&c, &bd), 0);
	assert_int_equal(disk_accel_open(&c, bd, "virtio-blk0", dev, &vfd, &bfd), want_ret);
	assert_int_equal(vfd >= 0, want_vhost);
	assert_int_equal(bfd >= 0, want_vhost);
	if (vfd >= 0)
		close(vfd);
	if (bfd >= 0)
		close(bfd);
	block_close(bd);
	unlink(path);
}

static void test_disk_accel_choice(void **state)
{
	char dev[] = "/tmp/test_vhost_dev.XXXXXX";
	int fd = mkstemp(dev);

	/* A regular file stands in for /dev/vhost-blk: only open() is tried here. */
	assert_true(fd >= 0);
	close(fd);
	accel_case("format=raw", dev, 0, true);
	accel_case("format=raw,accel=vhost", dev, 0, true);
	accel_case("format=raw,accel=none", dev, 0, false);
	accel_case("format=raw,readonly=on", dev, 0, true);
	/* Reasons auto falls back and vhost refuses. */
	accel_case("format=raw", "/nonexistent/vhost-blk", 0, false);
	accel_case("format=raw,accel=vhost", "/nonexistent/vhost-blk", -ENOENT, false);
	accel_case("format=raw,num-queues=9", dev, 0, false);
	accel_case("format=raw,num-queues=9,accel=vhost", dev, -EINVAL, false);
	accel_case("format=raw,num-queues=8,accel=vhost", dev, 0, true);
	accel_case("format=raw,werror=stop", dev, 0, false);
	accel_case("format=raw,werror=stop,accel=vhost", dev, -EINVAL, false);
	unlink(dev);
}

static void test_disk_accel_not_raw(void **state)
{
	char path[] = "/tmp/test_vhost_q.XXXXXX", spec[256], err[256];
	struct disk_conf c;
	struct block_dev *bd;
	int fd, vfd, bfd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(block_create("qcow2", path, 1 << 20, NULL), 0);
	snprintf(spec, sizeof(spec), "path=%s,format=qcow2,accel=vhost", path);
	assert_int_equal(disk_parse(spec, &c, err, sizeof(err)), 0);
	c.aio = BLOCK_AIO_THREADS;
	assert_int_equal(disk_open(&c, &bd), 0);
	assert_int_equal(disk_accel_open(&c, bd, "virtio-blk0", path, &vfd, &bfd), -EINVAL);
	assert_int_equal(vfd, -1);
	c.accel = DISK_ACCEL_AUTO;
	assert_int_equal(disk_accel_open(&c, bd, "virtio-blk0", path, &vfd, &bfd), 0);
	assert_int_equal(vfd, -1);
	assert_int_equal(bfd, -1);
	block_close(bd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_ring_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ram_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_and_call_eventfds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_withhold_and_call_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_over_vhost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_over_vhost_mmio, setup, teardown),
		cmocka_unit_test(test_qmp_query_vhost),
		cmocka_unit_test(test_disk_accel_parse),
		cmocka_unit_test(test_disk_accel_choice),
		cmocka_unit_test(test_disk_accel_not_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
