/*
 * Unit tests for user/devices/virtio/mmio.c (VIRTIO 1.2 ch. 4.2): the register
 * block, feature negotiation, queue setup, kicks served by virtio-rng over
 * split and packed rings, InterruptStatus / InterruptACK on the GSI line,
 * hostile accesses, and the kernel command line helper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtqueue_ring.h"
#include "fake_machine.h"
#include "lib/log.h"
#include "lib/loop.h"

#define RAM_SIZE	(1 << 20)
#define BASE		0xd0000000ull
#define GSI		5
#define NR_QUEUES	2
#define QSIZE		16
#define DEV_FEATURE	(1ull << 3)

#define DESC_GPA	0x10000
#define AVAIL_GPA	0x11000
#define USED_GPA	0x12000
#define BUF_GPA		0x20000

#define S_ACK		VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRIVER	VIRTIO_STATUS_DRIVER
#define S_FEAT_OK	VIRTIO_STATUS_FEATURES_OK
#define S_DRIVER_OK	VIRTIO_STATUS_DRIVER_OK

static struct fake_machine fm;
static struct virtio_mmio *vm;

/* ---- a test device ---- */

static struct virtio_dev tdev;
static int starts, stops, start_ret;
static uint64_t started_features;
static struct virtq *started_vqs[NR_QUEUES];
static uint8_t devcfg[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void dev_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    unsigned int size)
{
	assert_true(off + size <= sizeof(devcfg));
	memcpy(data, devcfg + off, size);
}

static void dev_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
			     unsigned int size)
{
	assert_true(off + size <= sizeof(devcfg));
	memcpy(devcfg + off, data, size);
}

static int dev_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	starts++;
	started_features = features;
	memcpy(started_vqs, vqs, sizeof(started_vqs));
	return start_ret;
}

static void dev_stop(struct virtio_dev *vdev)
{
	stops++;
}

static const struct virtio_dev_ops dev_ops = {
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.start = dev_start,
	.stop = dev_stop,
};

static int setup(void **state)
{
	log_threshold = LOG_ERR;
	fake_machine_init(&fm, RAM_SIZE);
	tdev = (struct virtio_dev){
		.name = "virtio-mmio-test0",
		.type = VIRTIO_ID_BLOCK,
		.features = DEV_FEATURE,
		.nr_queues = NR_QUEUES,
		.queue_size = QSIZE,
		.config_size = sizeof(devcfg),
		.ops = &dev_ops,
	};
	starts = stops = start_ret = 0;
	started_features = 0;
	vm = virtio_mmio_new(&fm.ms, &tdev, BASE, GSI);
	assert_non_null(vm);
	return 0;
}

static int teardown(void **state)
{
	virtio_mmio_free(vm);
	assert_null(tdev.trans_ops);
	assert_int_equal(starts, stops);
	fake_machine_fini(&fm);
	return 0;
}

/* ---- the driver's accesses ---- */

static uint64_t rd(uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, BASE + off, &v, size), 0);
	return v;
}

static uint32_t rd32(uint64_t off)
{
	return (uint32_t)rd(off, 4);
}

static void wr(uint64_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(fake_mmio_write(&fm, BASE + off, &v, size), 0);
}

static void wr32(uint64_t off, uint32_t v)
{
	wr(off, 4, v);
}

static uint64_t device_features(void)
{
	uint64_t f;

	wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd32(VIRTIO_MMIO_DEVICE_FEATURES);
	wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd32(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void driver_features(uint64_t f)
{
	wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Ch. 3.1.1 steps 1..6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
static void negotiate(uint64_t f)
{
	wr32(VIRTIO_MMIO_STATUS, 0);
	wr32(VIRTIO_MMIO_STATUS, S_ACK);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	driver_features(f);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK);
}

static void setup_queue(unsigned int idx, uint32_t size, uint64_t desc, uint64_t driver,
			uint64_t device)
{
	wr32(VIRTIO_MMIO_QUEUE_SEL, idx);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(VIRTIO_MMIO_QUEUE_NUM, size);
	wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr32(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)driver);
	wr32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
	wr32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)device);
	wr32(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 1);
}

static uint8_t status(void)
{
	return (uint8_t)rd32(VIRTIO_MMIO_STATUS);
}

/* ---- registers ---- */

static void test_registers(void **state)
{
	uint8_t b[8];

	assert_int_equal(rd32(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd32(VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd32(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_int_equal(rd32(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd32(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	/* Queues that exist give their maximum, others 0 ("not available"). */
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	wr32(VIRTIO_MMIO_QUEUE_SEL, NR_QUEUES - 1);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), QSIZE);
	wr32(VIRTIO_MMIO_QUEUE_SEL, NR_QUEUES);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	/* No shared memory regions: length -1. */
	assert_int_equal(rd32(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd32(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* Device configuration at 0x100, any natural width. */
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG, 1), 1);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 2, 2), 0x0403);
	assert_int_equal(rd32(VIRTIO_MMIO_CONFIG + 8), 0x0c0b0a09);
	assert_true(rd(VIRTIO_MMIO_CONFIG, 8) == 0x0807060504030201ull);
	wr(VIRTIO_MMIO_CONFIG + 4, 2, 0xbeef);
	assert_int_equal(devcfg[4], 0xef);
	assert_int_equal(devcfg[5], 0xbe);
	/* Past the configuration (12 bytes): 0, nothing written. */
	assert_int_equal(rd32(VIRTIO_MMIO_CONFIG + 12), 0);
	assert_int_equal(rd32(VIRTIO_MMIO_CONFIG + 10), 0);
	wr32(VIRTIO_MMIO_CONFIG + 10, 0xffffffff);
	assert_int_equal(devcfg[10], 11);
	/* Control registers: 32-bit aligned accesses only. */
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(fake_mmio_read(&fm, BASE + VIRTIO_MMIO_VERSION_REG, b, 3), 0);
	assert_int_equal(b[0] | b[1] | b[2], 0);
	/* Write-only registers read 0, holes read 0, read-only ones ignore writes. */
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	assert_int_equal(rd32(0x0c0), 0);
	assert_int_equal(rd32(0x0f8), 0);
	wr32(VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr32(VIRTIO_MMIO_DEVICE_ID, 9);
	wr32(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	assert_int_equal(rd32(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd32(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_int_equal(fm.irq_level[GSI], 0);
	/* The region is exactly 0x200 bytes at the base. */
	assert_int_equal(fake_mmio_read(&fm, BASE + VIRTIO_MMIO_SIZE, b, 4), -1);
	assert_int_equal(fm.nr_regions, 1);
	assert_true(fm.regions[0].base == BASE);
	assert_true(fm.regions[0].len == VIRTIO_MMIO_SIZE);
}

static void test_features(void **state)
{
	uint64_t f = device_features();

	assert_true(f & DEV_FEATURE);
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << VIRTIO_F_RING_PACKED));
	assert_true(f & (1ull << VIRTIO_F_EVENT_IDX));
	assert_true(f & (1ull << VIRTIO_F_INDIRECT_DESC));
	wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd32(VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* A legacy driver (no VERSION_1) is refused at FEATURES_OK. */
	negotiate(DEV_FEATURE);
	assert_int_equal(status(), S_ACK | S_DRIVER);
	/* A feature we did not offer: refused. */
	negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << 7));
	assert_int_equal(status(), S_ACK | S_DRIVER);
	/* Bits in feature word 2: refused. */
	wr32(VIRTIO_MMIO_STATUS, 0);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	driver_features(1ull << VIRTIO_F_VERSION_1);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK);
	assert_int_equal(status(), S_ACK | S_DRIVER);
	/* A good set sticks and is frozen afterwards. */
	negotiate((1ull << VIRTIO_F_VERSION_1) | DEV_FEATURE);
	assert_int_equal(status(), S_ACK | S_DRIVER | S_FEAT_OK);
	driver_features((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED));
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	assert_true(started_features == ((1ull << VIRTIO_F_VERSION_1) | DEV_FEATURE));
	/* DRIVER_OK without FEATURES_OK: NEEDS_RESET, nothing started. */
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(stops, 1);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(status() & S_DRIVER_OK);
	assert_int_equal(starts, 1);
	/* Clearing bits without a reset is ignored; a status above 8 bits too. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	wr32(VIRTIO_MMIO_STATUS, S_ACK);
	assert_int_equal(status(), S_ACK | S_DRIVER | S_FEAT_OK);
	wr32(VIRTIO_MMIO_STATUS, 0x100);
	assert_int_equal(status(), S_ACK | S_DRIVER | S_FEAT_OK);
}

static void test_queue_setup(void **state)
{
	struct virtq *vq;

	negotiate(1ull << VIRTIO_F_VERSION_1);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	/* Sizes: 1..QueueNumMax, a power of two for split rings; others ignored. */
	wr32(VIRTIO_MMIO_QUEUE_NUM, 6);
	wr32(VIRTIO_MMIO_QUEUE_NUM, 0);
	wr32(VIRTIO_MMIO_QUEUE_NUM, QSIZE * 2);
	setup_queue(0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	/* Frozen while ready. */
	wr32(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	/* Values other than 0 and 1 are not ready bits. */
	wr32(VIRTIO_MMIO_QUEUE_READY, 2);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 1);
	/* Ready 0 before DRIVER_OK takes the queue back; it reads back 0. */
	wr32(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
	wr32(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
	vq = virtio_mmio_queue(vm, 0);
	assert_non_null(vq);
	assert_ptr_equal(started_vqs[0], vq);
	assert_null(started_vqs[1]);
	assert_null(virtio_mmio_queue(vm, 1));
	assert_int_equal(vq->cfg.size, 8);
	assert_true(vq->cfg.desc_gpa == DESC_GPA);
	assert_true(vq->cfg.driver_gpa == AVAIL_GPA);
	assert_true(vq->cfg.device_gpa == USED_GPA);
	assert_false(vq->cfg.packed);
	/* After DRIVER_OK no queue becomes ready. */
	wr32(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	/* Reset: ready bits clear, sizes back to the maximum, device stopped. */
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(stops, 1);
	assert_null(virtio_mmio_queue(vm, 0));
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);

	/* Packed rings take any size up to the maximum. */
	negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED));
	setup_queue(0, 6, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_non_null(virtio_mmio_queue(vm, 0));
	assert_true(virtio_mmio_queue(vm, 0)->cfg.packed);
	assert_int_equal(virtio_mmio_queue(vm, 0)->cfg.size, 6);
}

/* ---- interrupts ---- */

static void test_interrupts(void **state)
{
	negotiate(1ull << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);

	/* A used buffer notification: bit 0, line up until acknowledged. */
	virtio_mmio_interrupt(vm, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[GSI], 1);
	assert_int_equal(fm.irq_raises[GSI], 1);
	/* Reading does not acknowledge (unlike PCI's ISR). */
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* A configuration change: bit 1 and a new generation. */
	virtio_mmio_config_changed(vm);
	assert_int_equal(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	/* Acknowledging one event keeps the line up for the other. */
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(fm.irq_level[GSI], 1);
	/* Undefined bits are ignored; the defined one still goes. */
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, 0xfffffff2);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(fm.irq_level[GSI], 0);
	/* Notify follows the ring's suppression (NO_INTERRUPT set here). */
	((uint16_t *)(fm.ram + AVAIL_GPA))[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtio_mmio_notify(vm, 0);
	assert_int_equal(fm.irq_level[GSI], 0);
	((uint16_t *)(fm.ram + AVAIL_GPA))[0] = 0;
	virtio_mmio_notify(vm, 0);
	assert_int_equal(fm.irq_level[GSI], 1);
	/* Queues that are not there do nothing. */
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, 1);
	virtio_mmio_notify(vm, 1);
	virtio_mmio_notify(vm, NR_QUEUES + 5);
	virtio_mmio_interrupt(vm, NR_QUEUES + 5);
	assert_int_equal(fm.irq_level[GSI], 0);
	/* Broken: NEEDS_RESET and a configuration interrupt, once. */
	virtio_mmio_set_broken(vm, "test");
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, 2);
	virtio_mmio_set_broken(vm, "test again");
	assert_int_equal(fm.irq_level[GSI], 0);
	/* Reset clears InterruptStatus and lowers the line. */
	virtio_mmio_config_changed(vm);
	assert_int_equal(fm.irq_level[GSI], 1);
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(fm.irq_level[GSI], 0);
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- kicks ---- */

static void test_kicks(void **state)
{
	int k0 = virtio_mmio_kick_fd(vm, 0), k1 = virtio_mmio_kick_fd(vm, 1);
	uint64_t v;

	assert_true(k0 >= 0 && k1 >= 0 && k0 != k1);
	assert_int_equal(virtio_mmio_kick_fd(vm, NR_QUEUES), -1);
	/* One ioeventfd per queue on QueueNotify, told apart by value. */
	assert_int_equal(fake_ioeventfd_count(&fm), NR_QUEUES);
	assert_int_equal(fake_ioeventfd_match(&fm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false, 0),
			 k0);
	assert_int_equal(fake_ioeventfd_match(&fm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false, 1),
			 k1);
	assert_int_equal(fake_ioeventfd_match(&fm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false, 2),
			 -1);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(read(k1, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(read(k0, &v, sizeof(v)), -1);
	/* A queue that does not exist reaches the handler: ignored. */
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	assert_int_equal(read(k0, &v, sizeof(v)), -1);
	assert_int_equal(read(k1, &v, sizeof(v)), -1);
	/* Reset drains kicks that were never served. */
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(read(k0, &v, sizeof(v)), -1);
	/* Free removes the registrations. */
	virtio_mmio_free(vm);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	/* A machine without ioeventfd_dm: the handler signals the same eventfds. */
	fm.nr_regions = 0;
	fm.ms.ioeventfd_dm = NULL;
	vm = virtio_mmio_new(&fm.ms, &tdev, BASE, GSI);
	assert_non_null(vm);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	k0 = virtio_mmio_kick_fd(vm, 0);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(read(k0, &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(v, 1);
	/* Binding twice is refused. */
	assert_null(virtio_mmio_new(&fm.ms, &tdev, BASE + 0x1000, GSI));
}

/* ---- hostile drivers ---- */

static void test_hostile(void **state)
{
	/* An out-of-range QueueSel: registers read 0, writes go nowhere. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	wr32(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr32(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* Odd widths on control registers do nothing. */
	wr(VIRTIO_MMIO_STATUS, 1, 0);
	wr(VIRTIO_MMIO_STATUS, 2, 0);
	wr(VIRTIO_MMIO_STATUS, 8, 0);
	wr(VIRTIO_MMIO_STATUS + 2, 4, 0);
	assert_int_equal(status(), S_ACK | S_DRIVER | S_FEAT_OK);
	/* Rings outside RAM: NEEDS_RESET at DRIVER_OK, nothing started. */
	setup_queue(0, QSIZE, RAM_SIZE - 16, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(starts, 0);
	assert_null(virtio_mmio_queue(vm, 0));
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* Ring addresses above 4 GiB (both halves) are outside too. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, 0x100000000ull + DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(starts, 0);
	/* The device refuses to start: NEEDS_RESET, and no stop for it. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	start_ret = -EIO;
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(starts, 1);
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(stops, 0);
	starts = 0;
	start_ret = 0;
	/* Taking a live queue back: the device stops and asks for a reset. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr32(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(stops, 1);
	assert_null(virtio_mmio_queue(vm, 0));
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	/* Writes of features after FEATURES_OK are ignored. */
	negotiate(1ull << VIRTIO_F_VERSION_1);
	driver_features(~0ull);
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_true(started_features == (1ull << VIRTIO_F_VERSION_1));
	/* Every offset, every width: no crash, the identity stays. */
	{
		static const unsigned int sizes[] = { 1, 2, 3, 4, 8 };
		uint64_t off, v;
		unsigned int i;

		for (off = 0; off < VIRTIO_MMIO_SIZE; off++)
			for (i = 0; i < 5; i++) {
				if (off == VIRTIO_MMIO_STATUS || off == VIRTIO_MMIO_QUEUE_READY ||
				    off == VIRTIO_MMIO_INTERRUPT_ACK)
					continue;
				v = rd(off, sizes[i]);
				(void)v;
			}
	}
	assert_int_equal(rd32(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
}

/* ---- virtio-rng over mmio ---- */

static struct virtio_rng *rng;
static uint16_t avail_idx;

static void stop_loop(void *opaque)
{
	loop_stop(fm.ms.loop, 0);
}

static void run_for(unsigned int ms)
{
	struct loop_timer *t = loop_timer_new(fm.ms.loop, stop_loop, NULL);

	assert_non_null(t);
	assert_int_equal(loop_timer_arm(t, (uint64_t)ms * 1000000, 0), 0);
	loop_run(fm.ms.loop);
	loop_timer_free(t);
}

static int rng_setup(void **state)
{
	struct virtio_rng_config c;

	log_threshold = LOG_ERR;
	fake_machine_init(&fm, RAM_SIZE);
	avail_idx = 0;
	memset(&c, 0, sizeof(c));	/* getrandom, no limit */
	c.period_ms = VIRTIO_RNG_DEFAULT_PERIOD_MS;
	rng = virtio_rng_create(&fm.ms, "virtio-rng0", &c);
	assert_non_null(rng);
	vm = virtio_mmio_new(&fm.ms, virtio_rng_vdev(rng), BASE, GSI);
	assert_non_null(vm);
	return 0;
}

static int rng_teardown(void **state)
{
	/* The device frees the transport it is bound to. */
	virtio_rng_free(rng);
	rng = NULL;
	vm = NULL;
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	fake_machine_fini(&fm);
	return 0;
}

static void split_offer(uint64_t gpa, uint32_t len)
{
	struct virtq_split_desc d = { .addr = gpa, .len = len, .flags = VIRTQ_DESC_F_WRITE };
	uint16_t *avail = (uint16_t *)(fm.ram + AVAIL_GPA);
	unsigned int slot = avail_idx % QSIZE;

	memcpy(fm.ram + DESC_GPA + 16 * slot, &d, sizeof(d));
	avail[2 + slot] = (uint16_t)slot;
	avail_idx++;
	__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
}

static uint16_t split_used_idx(void)
{
	return ((uint16_t *)(fm.ram + USED_GPA))[1];
}

static void test_rng_split(void **state)
{
	uint32_t len;

	assert_int_equal(rd32(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	wr32(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX));
	setup_queue(0, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
	/* EVENT_IDX: used_event 0 asks for an interrupt after the first buffer. */
	split_offer(BUF_GPA, 32);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);	/* through the ioeventfd */
	run_for(20);
	assert_int_equal(split_used_idx(), 1);
	memcpy(&len, fm.ram + USED_GPA + 4 + 4, 4);
	assert_int_equal(len, 32);
	assert_int_equal(virtio_rng_bytes(rng), 32);
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[GSI], 1);
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[GSI], 0);
	/* used_event still 0: the second buffer is served without an interrupt. */
	split_offer(BUF_GPA + 0x100, 8);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_for(20);
	assert_int_equal(split_used_idx(), 2);
	assert_int_equal(fm.irq_level[GSI], 0);
	/* used_event 2: the third one interrupts. */
	((uint16_t *)(fm.ram + AVAIL_GPA))[2 + QSIZE] = 2;
	split_offer(BUF_GPA + 0x200, 8);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_for(20);
	assert_int_equal(split_used_idx(), 3);
	assert_int_equal(fm.irq_level[GSI], 1);
	/* A buffer outside RAM breaks the queue: NEEDS_RESET, config interrupt. */
	wr32(VIRTIO_MMIO_INTERRUPT_ACK, 3);
	split_offer(RAM_SIZE - 4, 64);
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_for(20);
	assert_int_equal(split_used_idx(), 3);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd32(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	wr32(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fm.irq_level[GSI], 0);
}

static void test_rng_packed(void **state)
{
	struct virtq_packed_desc d = {
		.addr = BUF_GPA, .len = 24, .id = 5,
		.flags = VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_AVAIL,	/* wrap counter 1 */
	};
	struct virtq_packed_desc used;

	negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED) |
		  (1ull << VIRTIO_F_EVENT_IDX));
	assert_int_equal(status(), S_ACK | S_DRIVER | S_FEAT_OK);
	/* Not a power of two: fine for a packed ring. */
	setup_queue(0, 6, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr32(VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
	memcpy(fm.ram + DESC_GPA, &d, sizeof(d));
	/* The kick exits to the handler on a machine without ioeventfd_dm. */
	wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_for(20);
	memcpy(&used, fm.ram + DESC_GPA, sizeof(used));
	assert_int_equal(used.id, 5);
	assert_int_equal(used.len, 24);
	assert_true(used.flags & VIRTQ_DESC_F_USED);
	assert_true(used.flags & VIRTQ_DESC_F_AVAIL);
	assert_int_equal(virtio_rng_bytes(rng), 24);
	/* Driver event suppression flags 0 (enable): interrupted. */
	assert_int_equal(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fm.irq_level[GSI], 1);
}

/* ---- the guest command line ---- */

static void test_cmdline(void **state)
{
	char buf[64];
	int n = virtio_mmio_cmdline(vm, buf, sizeof(buf));

	assert_string_equal(buf, "virtio_mmio.device=512@0xd0000000:5");
	assert_int_equal(n, (int)strlen(buf));
	assert_true(virtio_mmio_base(vm) == BASE);
	assert_int_equal(virtio_mmio_gsi(vm), GSI);
	/* Too short a buffer: truncated, the full length returned. */
	assert_int_equal(virtio_mmio_cmdline(vm, buf, 8), n);
	assert_string_equal(buf, "virtio_");
}

/* A description a transport cannot serve is refused. */
static void test_bad_description(void **state)
{
	struct virtio_dev bad = tdev;

	bad.trans_ops = NULL;
	bad.queue_size = 12;
	assert_null(virtio_mmio_new(&fm.ms, &bad, BASE + 0x1000, GSI));
	bad.queue_size = QSIZE;
	bad.config_size = VIRTIO_MMIO_SIZE;
	assert_null(virtio_mmio_new(&fm.ms, &bad, BASE + 0x1000, GSI));
	bad.config_size = 0;
	bad.nr_queues = 0;
	assert_null(virtio_mmio_new(&fm.ms, &bad, BASE + 0x1000, GSI));
	assert_null(bad.trans_ops);
}

static int rng_setup_no_dm(void **state)
{
	rng_setup(state);
	/* Take the ioeventfds away as a VMM without ioeventfd_dm would have none. */
	virtio_mmio_free(vm);
	fm.nr_regions = 0;
	fm.ms.ioeventfd_dm = NULL;
	vm = virtio_mmio_new(&fm.ms, virtio_rng_vdev(rng), BASE, GSI);
	assert_non_null(vm);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kicks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_description, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_split, rng_setup, rng_teardown),
		cmocka_unit_test_setup_teardown(test_rng_packed, rng_setup_no_dm, rng_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
