/*
 * Unit tests for user/devices/virtio/pci.c (VIRTIO 1.2 ch. 4.1): capabilities,
 * the driver init sequence of ch. 3.1.1 through BAR accesses, feature
 * negotiation, reset, hostile register values, kicks, MSI-X and INTx.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "devices/virtio/pci.h"
#include "fake_machine.h"

#define RAM_SIZE	(1 << 20)
#define BAR4_ADDR	0xc0000000ull
#define GSI		19	/* an INTx GSI (16..19) as the host bridge's _PRT gives */
#define DEVFN		PCI_DEVFN(3, 0)
#define DEV_FEATURE	(1ull << 5)
#define NR_QUEUES	2
#define QSIZE		256

/* Common config offsets (ch. 4.1.4.3). */
#define DFSELECT	0x00
#define DF		0x04
#define GFSELECT	0x08
#define GF		0x0c
#define MSIX_CONFIG	0x10
#define NUM_QUEUES	0x12
#define STATUS		0x14
#define GENERATION	0x15
#define Q_SELECT	0x16
#define Q_SIZE		0x18
#define Q_VECTOR	0x1a
#define Q_ENABLE	0x1c
#define Q_NOTIFY_OFF	0x1e
#define Q_DESC		0x20
#define Q_DRIVER	0x28
#define Q_DEVICE	0x30
#define ISR		0x1000
#define DEVCFG		0x2000
#define NOTIFY		0x3000

#define S_ACK		VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRIVER	VIRTIO_STATUS_DRIVER
#define S_FEAT_OK	VIRTIO_STATUS_FEATURES_OK
#define S_DRIVER_OK	VIRTIO_STATUS_DRIVER_OK

/* Ring areas in fake RAM (split layout, queue 0). */
#define DESC_GPA	0x10000
#define AVAIL_GPA	0x20000
#define USED_GPA	0x30000

static struct fake_machine fm;
static struct pci_bus bus;
static struct virtio_pci *vp;
static struct virtio_dev tdev;
static struct pci_device *pdev;

static int starts, stops, start_ret;
static uint64_t started_features;
static uint8_t devcfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

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
	unsigned int i;

	/* The queues handed over are the ones the transport reports. */
	for (i = 0; i < NR_QUEUES; i++)
		assert_ptr_equal(vqs[i], virtio_dev_queue(vdev, i));
	starts++;
	started_features = features;
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
	struct virtio_pci_info info = { .class_code = 0xff0000 };

	tdev = (struct virtio_dev){
		.name = "virtio-test0",
		.type = VIRTIO_ID_RNG,
		.features = DEV_FEATURE,
		.nr_queues = NR_QUEUES,
		.queue_size = QSIZE,
		.config_size = sizeof(devcfg),
		.ops = &dev_ops,
	};

	fake_machine_init(&fm, RAM_SIZE);
	pci_bus_init(&bus);
	starts = stops = start_ret = 0;
	started_features = 0;
	vp = virtio_pci_new(&fm.ms, &tdev, &info);
	assert_non_null(vp);
	pdev = virtio_pci_device(vp);
	/* What the host bridge does at registration. */
	pdev->ms = &fm.ms;
	pdev->gsi = GSI;
	pdev->devfn = DEVFN;
	assert_int_equal(pci_bus_register(&bus, pdev, DEVFN), 0);
	return 0;
}

static int teardown(void **state)
{
	virtio_pci_free(vp);
	assert_null(tdev.trans_ops);
	fake_machine_fini(&fm);
	return 0;
}

static uint64_t bar_rd(unsigned int bar, uint64_t off, unsigned int size)
{
	uint8_t buf[8] = { 0 };
	uint64_t v = 0;
	unsigned int i;

	pdev->bar_ops[bar]->read(pdev->opaque, off, buf, size);
	for (i = 0; i < size; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

static void bar_wr(unsigned int bar, uint64_t off, unsigned int size, uint64_t v)
{
	uint8_t buf[8];
	unsigned int i;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	pdev->bar_ops[bar]->write(pdev->opaque, off, buf, size);
}

#define rd(off, size)		bar_rd(4, off, size)
#define wr(off, size, v)	bar_wr(4, off, size, v)

static uint32_t cfg_rd(unsigned int off, unsigned int size)
{
	return pci_bus_cfg_read(&bus, DEVFN, off, size);
}

static void cfg_wr(unsigned int off, unsigned int size, uint32_t v)
{
	pci_bus_cfg_write(&bus, DEVFN, off, size, v);
}

/* Offset of the vendor capability of cfg_type type, walking the list as a driver does. */
static unsigned int find_vcap(uint8_t type)
{
	unsigned int off = cfg_rd(PCI_CAPABILITY_LIST, 1), n;

	for (n = 0; off && n < 48; n++) {
		if (cfg_rd(off, 1) == 0x09 && cfg_rd(off + 3, 1) == type)
			return off;
		off = cfg_rd(off + 1, 1);
	}
	return 0;
}

static uint64_t device_features(void)
{
	uint64_t f;

	wr(DFSELECT, 4, 0);
	f = rd(DF, 4);
	wr(DFSELECT, 4, 1);
	return f | rd(DF, 4) << 32;
}

static void driver_features(uint64_t f)
{
	wr(GFSELECT, 4, 0);
	wr(GF, 4, (uint32_t)f);
	wr(GFSELECT, 4, 1);
	wr(GF, 4, (uint32_t)(f >> 32));
}

/* ch. 3.1.1 steps 1-6; returns the status read back after FEATURES_OK. */
static uint8_t negotiate(uint64_t f)
{
	wr(STATUS, 1, 0);
	assert_int_equal(rd(STATUS, 1), 0);
	wr(STATUS, 1, S_ACK);
	wr(STATUS, 1, S_ACK | S_DRIVER);
	driver_features(f);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK);
	return (uint8_t)rd(STATUS, 1);
}

static void setup_queue(unsigned int idx, uint16_t size, uint64_t desc, uint64_t drv,
			uint64_t dev, uint16_t vector)
{
	wr(Q_SELECT, 2, idx);
	assert_int_equal(rd(Q_SIZE, 2), QSIZE);
	wr(Q_SIZE, 2, size);
	/* Linux writes the 64-bit fields as two 32-bit halves. */
	wr(Q_DESC, 4, (uint32_t)desc);
	wr(Q_DESC + 4, 4, desc >> 32);
	wr(Q_DRIVER, 4, (uint32_t)drv);
	wr(Q_DRIVER + 4, 4, drv >> 32);
	wr(Q_DEVICE, 8, dev);
	wr(Q_VECTOR, 2, vector);
	assert_int_equal(rd(Q_VECTOR, 2), vector);
	wr(Q_ENABLE, 2, 1);
}

static const uint64_t all_features = DEV_FEATURE | (1ull << VIRTIO_F_VERSION_1) |
				     (1ull << VIRTIO_F_EVENT_IDX) |
				     (1ull << VIRTIO_F_INDIRECT_DESC);

static void full_init(void)
{
	assert_int_equal(negotiate(all_features), S_ACK | S_DRIVER | S_FEAT_OK);
	setup_queue(0, 16, DESC_GPA, AVAIL_GPA, USED_GPA, 0);
	setup_queue(1, QSIZE, 0x40000, 0x41000, 0x42000, 1);
	wr(MSIX_CONFIG, 2, 2);
	assert_int_equal(rd(MSIX_CONFIG, 2), 2);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
}

static void test_ids_and_capabilities(void **state)
{
	unsigned int cap, msix;

	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(PCI_CLASS_PROG, 1) | cfg_rd(PCI_CLASS_PROG + 1, 2) << 8,
			 0xff0000);
	assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* BAR 1: 32-bit memory, 4 KiB; BAR 4: 64-bit prefetchable, 16 KiB. */
	cfg_wr(PCI_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(cfg_rd(PCI_BAR0 + 4, 4), 0xfffff000);
	cfg_wr(PCI_BAR0 + 16, 4, 0xffffffff);
	assert_int_equal(cfg_rd(PCI_BAR0 + 16, 4), 0xffffc000 | PCI_BAR_MEM64 | PCI_BAR_PREFETCH);

	cap = find_vcap(1);
	assert_true(cap);
	assert_int_equal(cfg_rd(cap + 2, 1), 16);
	assert_int_equal(cfg_rd(cap + 4, 1), 4);
	assert_int_equal(cfg_rd(cap + 8, 4), 0);
	assert_true(cfg_rd(cap + 12, 4) >= 0x38);
	cap = find_vcap(2);
	assert_true(cap);
	assert_int_equal(cfg_rd(cap + 2, 1), 20);
	assert_int_equal(cfg_rd(cap + 8, 4), NOTIFY);
	assert_int_equal(cfg_rd(cap + 12, 4), 4 * NR_QUEUES);
	assert_int_equal(cfg_rd(cap + 16, 4), 4);
	cap = find_vcap(3);
	assert_int_equal(cfg_rd(cap + 8, 4), ISR);
	cap = find_vcap(4);
	assert_int_equal(cfg_rd(cap + 8, 4), DEVCFG);
	assert_int_equal(cfg_rd(cap + 12, 4), sizeof(devcfg));
	cap = find_vcap(5);
	assert_true(cap);
	assert_int_equal(cfg_rd(cap + 2, 1), 20);

	msix = pci_config_find_cap(&pdev->cfg, PCI_CAP_ID_MSIX);
	assert_true(msix);
	/* One vector per queue and one for configuration changes. */
	assert_int_equal(cfg_rd(msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, NR_QUEUES);
	assert_int_equal(cfg_rd(msix + PCI_MSIX_TABLE, 4) & 7, 1);

	/* Read-only structure: the guest cannot rewrite a capability's type. */
	cap = find_vcap(1);
	cfg_wr(cap + 3, 1, 4);
	assert_int_equal(cfg_rd(cap + 3, 1), 1);
}

static void test_init_sequence(void **state)
{
	uint64_t f = device_features();
	struct virtq *vq;

	assert_int_equal(f, DEV_FEATURE | (1ull << VIRTIO_F_VERSION_1) |
			 (1ull << VIRTIO_F_RING_PACKED) | (1ull << VIRTIO_F_EVENT_IDX) |
			 (1ull << VIRTIO_F_INDIRECT_DESC));
	wr(DFSELECT, 4, 2);
	assert_int_equal(rd(DF, 4), 0);
	assert_int_equal(rd(NUM_QUEUES, 2), NR_QUEUES);
	full_init();
	assert_int_equal(rd(STATUS, 1), S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	assert_int_equal(started_features, all_features);
	wr(GFSELECT, 4, 1);
	assert_int_equal(rd(GF, 4), 1);

	vq = virtio_pci_queue(vp, 0);
	assert_non_null(vq);
	assert_int_equal(vq->cfg.size, 16);
	assert_int_equal(vq->cfg.desc_gpa, DESC_GPA);
	assert_int_equal(vq->cfg.driver_gpa, AVAIL_GPA);
	assert_int_equal(vq->cfg.device_gpa, USED_GPA);
	assert_true(vq->cfg.event_idx);
	assert_true(vq->cfg.indirect);
	assert_false(vq->cfg.packed);
	assert_non_null(virtio_pci_queue(vp, 1));
	assert_null(virtio_pci_queue(vp, 2));
	assert_true(virtio_pci_kick_fd(vp, 0) >= 0);
	assert_int_equal(virtio_pci_kick_fd(vp, NR_QUEUES), -1);

	/* Read back what the driver wrote, both halves and whole. */
	wr(Q_SELECT, 2, 1);
	assert_int_equal(rd(Q_DESC, 8), 0x40000);
	assert_int_equal(rd(Q_DRIVER, 4), 0x41000);
	assert_int_equal(rd(Q_DRIVER + 4, 4), 0);
	assert_int_equal(rd(Q_ENABLE, 2), 1);
	assert_int_equal(rd(Q_NOTIFY_OFF, 2), 1);

	/* Device configuration: bytes of the device, widths 1..8. */
	assert_int_equal(rd(DEVCFG, 1), 1);
	assert_int_equal(rd(DEVCFG + 2, 2), 0x0403);
	assert_int_equal(rd(DEVCFG + 4, 4), 0x08070605);
	wr(DEVCFG + 1, 1, 0x22);
	assert_int_equal(devcfg[1], 0x22);
	/* Past the end of the device configuration: nothing. */
	assert_int_equal(rd(DEVCFG + 6, 4), 0);
	assert_int_equal(rd(DEVCFG + 8, 1), 0);
}

static void test_packed_ring_any_size(void **state)
{
	assert_int_equal(negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED)),
			 S_ACK | S_DRIVER | S_FEAT_OK);
	wr(Q_SELECT, 2, 0);
	wr(Q_SIZE, 2, 100);
	assert_int_equal(rd(Q_SIZE, 2), 100);
	wr(Q_DESC, 8, DESC_GPA);
	wr(Q_DRIVER, 8, AVAIL_GPA);
	wr(Q_DEVICE, 8, USED_GPA);
	wr(Q_ENABLE, 2, 1);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	assert_true(virtio_pci_queue(vp, 0)->cfg.packed);
	assert_int_equal(virtio_pci_queue(vp, 0)->cfg.size, 100);
	/* The driver left queue 1 disabled. */
	assert_null(virtio_pci_queue(vp, 1));
}

static void test_feature_refusals(void **state)
{
	/* A feature we did not offer. */
	assert_int_equal(negotiate((1ull << VIRTIO_F_VERSION_1) | (1ull << 7)),
			 S_ACK | S_DRIVER);
	/* DRIVER_OK anyway: refused, the device needs a reset and never starts. */
	wr(STATUS, 1, S_ACK | S_DRIVER | S_DRIVER_OK);
	assert_int_equal(starts, 0);
	assert_true(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_false(rd(STATUS, 1) & S_DRIVER_OK);

	/* No VERSION_1: a legacy driver is not served. */
	assert_int_equal(negotiate(DEV_FEATURE), S_ACK | S_DRIVER);
	/* Bits in feature word 2 (nothing offered there). */
	wr(STATUS, 1, 0);
	wr(STATUS, 1, S_ACK | S_DRIVER);
	driver_features(1ull << VIRTIO_F_VERSION_1);
	wr(GFSELECT, 4, 2);
	wr(GF, 4, 1);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK);
	assert_int_equal(rd(STATUS, 1), S_ACK | S_DRIVER);

	/* The minimum accepted; features cannot change after FEATURES_OK. */
	assert_int_equal(negotiate(1ull << VIRTIO_F_VERSION_1), S_ACK | S_DRIVER | S_FEAT_OK);
	driver_features(all_features);
	wr(GFSELECT, 4, 0);
	assert_int_equal(rd(GF, 4), 0);
	assert_int_equal(starts, 0);
}

static void test_reset_while_running(void **state)
{
	full_init();
	assert_int_equal(starts, 1);
	wr(STATUS, 1, 0);
	assert_int_equal(stops, 1);
	assert_int_equal(rd(STATUS, 1), 0);
	assert_null(virtio_pci_queue(vp, 0));
	assert_int_equal(rd(MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	wr(Q_SELECT, 2, 0);
	assert_int_equal(rd(Q_SIZE, 2), QSIZE);
	assert_int_equal(rd(Q_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(rd(Q_ENABLE, 2), 0);
	assert_int_equal(rd(Q_DESC, 8), 0);
	wr(GFSELECT, 4, 1);
	assert_int_equal(rd(GF, 4), 0);
	/* A second reset does not stop a device that is not running. */
	wr(STATUS, 1, 0);
	assert_int_equal(stops, 1);
	/* And it comes back. */
	full_init();
	assert_int_equal(starts, 2);
	assert_non_null(virtio_pci_queue(vp, 0));
	/* Freeing a running device stops it first (teardown frees). */
}

static void test_start_failures(void **state)
{
	/* The device refuses: NEEDS_RESET, no stop without a start. */
	start_ret = -EIO;
	full_init();
	assert_int_equal(starts, 1);
	assert_true(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_null(virtio_pci_queue(vp, 0));
	wr(STATUS, 1, 0);
	assert_int_equal(stops, 0);
	assert_false(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);

	/* A ring outside guest RAM: the queue cannot start, the device is not asked. */
	start_ret = 0;
	assert_int_equal(negotiate(all_features), S_ACK | S_DRIVER | S_FEAT_OK);
	setup_queue(0, 16, RAM_SIZE - 16, AVAIL_GPA, USED_GPA, 0);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	assert_true(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* NEEDS_RESET holds until the reset, whatever the driver writes. */
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_true(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(starts, 1);
}

static void test_hostile_registers(void **state)
{
	assert_int_equal(negotiate(all_features), S_ACK | S_DRIVER | S_FEAT_OK);

	/* Wrong widths: read 0, write nothing. */
	wr(DFSELECT, 4, 1);
	assert_int_equal(rd(DFSELECT, 2), 0);
	assert_int_equal(rd(DFSELECT, 1), 0);
	wr(DFSELECT, 1, 0);
	assert_int_equal(rd(DFSELECT, 4), 1);
	assert_int_equal(rd(STATUS, 2), 0);
	wr(STATUS, 4, 0);		/* a reset in the wrong width: ignored */
	assert_int_equal(rd(STATUS, 1), S_ACK | S_DRIVER | S_FEAT_OK);
	wr(Q_SELECT + 1, 1, 1);		/* the middle of a field */
	assert_int_equal(rd(Q_SELECT, 2), 0);
	rd(0, 3);
	wr(0, 3, 0);
	rd(Q_DESC + 2, 4);

	/* Read-only fields stay. */
	wr(NUM_QUEUES, 2, 50);
	assert_int_equal(rd(NUM_QUEUES, 2), NR_QUEUES);
	wr(DF, 4, 0);
	wr(DFSELECT, 4, 0);
	assert_int_equal(rd(DF, 4), (uint32_t)DEV_FEATURE | (1u << 28) | (1u << 29));

	/* Queue sizes: powers of two up to the maximum only. */
	wr(Q_SELECT, 2, 0);
	wr(Q_SIZE, 2, 100);
	assert_int_equal(rd(Q_SIZE, 2), QSIZE);
	wr(Q_SIZE, 2, 0);
	assert_int_equal(rd(Q_SIZE, 2), QSIZE);
	wr(Q_SIZE, 2, 2 * QSIZE);
	assert_int_equal(rd(Q_SIZE, 2), QSIZE);
	wr(Q_SIZE, 2, 1);
	assert_int_equal(rd(Q_SIZE, 2), 1);

	/* Out-of-range queue_select: reads 0 (vector NO_VECTOR), writes vanish. */
	wr(Q_SELECT, 2, 0xffff);
	assert_int_equal(rd(Q_SELECT, 2), 0xffff);
	assert_int_equal(rd(Q_SIZE, 2), 0);
	assert_int_equal(rd(Q_ENABLE, 2), 0);
	assert_int_equal(rd(Q_DESC, 8), 0);
	assert_int_equal(rd(Q_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	wr(Q_ENABLE, 2, 1);
	wr(Q_DESC, 8, 0x1234);

	/* A vector the device does not have reads back as NO_VECTOR. */
	wr(Q_SELECT, 2, 0);
	wr(Q_VECTOR, 2, NR_QUEUES + 1);
	assert_int_equal(rd(Q_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	wr(MSIX_CONFIG, 2, 0x8000);
	assert_int_equal(rd(MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);

	/* queue_enable takes 1 only. */
	wr(Q_ENABLE, 2, 2);
	assert_int_equal(rd(Q_ENABLE, 2), 0);

	/* Ring addresses frozen once enabled, and after DRIVER_OK. */
	wr(Q_SIZE, 2, 16);
	wr(Q_DESC, 8, DESC_GPA);
	wr(Q_DRIVER, 8, AVAIL_GPA);
	wr(Q_DEVICE, 8, USED_GPA);
	wr(Q_ENABLE, 2, 1);
	wr(Q_DESC, 8, 0x5000);
	wr(Q_SIZE, 2, 32);
	assert_int_equal(rd(Q_DESC, 8), DESC_GPA);
	assert_int_equal(rd(Q_SIZE, 2), 16);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
	wr(Q_SELECT, 2, 1);
	wr(Q_DESC, 8, 0x5000);
	wr(Q_ENABLE, 2, 1);
	assert_int_equal(rd(Q_DESC, 8), 0);
	assert_int_equal(rd(Q_ENABLE, 2), 0);
	assert_null(virtio_pci_queue(vp, 1));

	/* Clearing status bits without a reset: ignored, still running. */
	wr(STATUS, 1, S_ACK | S_DRIVER);
	assert_int_equal(rd(STATUS, 1), S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(stops, 0);

	/* Holes, the ISR in other widths, notify reads, past the BAR. */
	assert_int_equal(rd(0x38, 4), 0);
	assert_int_equal(rd(0x800, 8), 0);
	wr(0x800, 4, 0xffffffff);
	assert_int_equal(rd(ISR, 4), 0);
	assert_int_equal(rd(NOTIFY, 2), 0);
	wr(NOTIFY + 4 * NR_QUEUES, 2, NR_QUEUES);
	assert_int_equal(rd(0x3ff8, 8), 0);
	wr(0x3ffc, 4, 1);
	assert_int_equal(rd(STATUS, 1), S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);
}

static bool fd_signalled(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v) && v;
}

static void test_kick_eventfd(void **state)
{
	int k0 = virtio_pci_kick_fd(vp, 0), k1 = virtio_pci_kick_fd(vp, 1);
	uint16_t idx = 1;

	/* BAR 4 decodes: one ioeventfd per queue at its notify address. */
	pdev->bar_mapped(pdev, 4, BAR4_ADDR);
	assert_int_equal(fake_ioeventfd_count(&fm), NR_QUEUES);
	assert_int_equal(fake_ioeventfd_find(&fm, BAR4_ADDR + NOTIFY, 2, false), k0);
	assert_int_equal(fake_ioeventfd_find(&fm, BAR4_ADDR + NOTIFY + 4, 2, false), k1);
	assert_int_equal(fake_mmio_write(&fm, BAR4_ADDR + NOTIFY + 4, &idx, 2), 0);
	assert_true(fd_signalled(k1));
	assert_false(fd_signalled(k0));

	/* A notify that reaches the BAR handler anyway kicks the same eventfd. */
	wr(NOTIFY, 2, 0);
	assert_true(fd_signalled(k0));
	/* Any value or width at queue 1's register kicks queue 1 only. */
	wr(NOTIFY + 4, 4, 7);
	assert_true(fd_signalled(k1));
	assert_false(fd_signalled(k0));

	/* The BAR moves: registrations follow. */
	pdev->bar_mapped(pdev, 4, BAR4_ADDR + 0x100000);
	assert_int_equal(fake_ioeventfd_count(&fm), NR_QUEUES);
	assert_int_equal(fake_ioeventfd_find(&fm, BAR4_ADDR + NOTIFY, 2, false), -1);
	assert_int_equal(fake_ioeventfd_find(&fm, BAR4_ADDR + 0x100000 + NOTIFY, 2, false), k0);
	/* Decoding off: none. */
	pdev->bar_mapped(pdev, 4, 0);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	/* Other BARs are not ours to register. */
	pdev->bar_mapped(pdev, 1, BAR4_ADDR);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);

	/* No ioeventfd at all: kicks still arrive through the handler. */
	fm.ioeventfd_ret = -ENOSYS;
	pdev->bar_mapped(pdev, 4, BAR4_ADDR);
	assert_int_equal(fake_ioeventfd_count(&fm), 0);
	wr(NOTIFY + 4, 2, 1);
	assert_true(fd_signalled(k1));
	fm.ioeventfd_ret = 0;
	pdev->bar_mapped(pdev, 4, BAR4_ADDR);
	assert_int_equal(fake_ioeventfd_count(&fm), NR_QUEUES);

	/* A reset drops kicks that were never served. */
	wr(NOTIFY, 2, 0);
	wr(STATUS, 1, 0);
	assert_false(fd_signalled(k0));
}

/* One readable-writable chain on the split ring of queue 0, then push it back. */
static void ring_complete_one(void)
{
	struct virtq *vq = virtio_pci_queue(vp, 0);
	static struct virtq_elem elem;
	uint8_t *desc = fm.ram + DESC_GPA;
	uint16_t *avail = (uint16_t *)(fm.ram + AVAIL_GPA);
	uint16_t *used = (uint16_t *)(fm.ram + USED_GPA);
	uint64_t addr = 0x50000;
	uint32_t len = 64;
	uint16_t flags = VIRTQ_DESC_F_WRITE;

	assert_non_null(vq);
	memcpy(desc, &addr, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &flags, 2);
	avail[2 + avail[1] % 16] = 0;
	avail[1]++;
	assert_int_equal(virtq_pop(vq, &elem), 1);
	assert_int_equal(virtq_push(vq, &elem, 64), 0);
	assert_int_equal(used[1], avail[1]);
}

static void msix_program(unsigned int vec, uint64_t addr, uint32_t data)
{
	bar_wr(1, vec * 16, 4, (uint32_t)addr);
	bar_wr(1, vec * 16 + 4, 4, addr >> 32);
	bar_wr(1, vec * 16 + 8, 4, data);
	bar_wr(1, vec * 16 + 12, 4, 0);		/* unmask */
}

static void test_msix_vectors(void **state)
{
	unsigned int cap = pci_config_find_cap(&pdev->cfg, PCI_CAP_ID_MSIX);

	/* Without EVENT_IDX, so every push interrupts unless the driver says no. */
	assert_int_equal(negotiate(1ull << VIRTIO_F_VERSION_1), S_ACK | S_DRIVER | S_FEAT_OK);
	setup_queue(0, 16, DESC_GPA, AVAIL_GPA, USED_GPA, 1);
	wr(MSIX_CONFIG, 2, 2);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);
	assert_int_equal(starts, 1);

	cfg_wr(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	msix_program(0, 0xfee00000, 0x40);
	msix_program(1, 0xfee01000, 0x41);
	msix_program(2, 0xfee02000, 0x42);

	/* Queue 0 completes: its vector (1), not the others; no ISR, no INTx. */
	ring_complete_one();
	virtio_pci_notify(vp, 0);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.nr_msi, 1);
	assert_int_equal(fm.msi[0].addr, 0xfee01000);
	assert_int_equal(fm.msi[0].data, 0x41);
	assert_int_equal(fm.irq_level[GSI], 0);

	/* The driver asks for no interrupts: none. */
	((uint16_t *)(fm.ram + AVAIL_GPA))[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	ring_complete_one();
	virtio_pci_notify(vp, 0);
	assert_int_equal(fake_irqfd_deliver(&fm), 0);
	((uint16_t *)(fm.ram + AVAIL_GPA))[0] = 0;

	/* Configuration change: vector 2, generation moves on. */
	fake_msi_clear(&fm);
	assert_int_equal(rd(GENERATION, 1), 0);
	virtio_pci_config_changed(vp);
	assert_int_equal(rd(GENERATION, 1), 1);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.msi[0].data, 0x42);

	/* Queue vector moved to 0 is frozen? No: vectors stay writable (Linux rewrites them). */
	wr(Q_SELECT, 2, 0);
	wr(Q_VECTOR, 2, 0);
	fake_msi_clear(&fm);
	ring_complete_one();
	virtio_pci_notify(vp, 0);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.msi[0].data, 0x40);

	/* NO_VECTOR with MSI-X on: no interrupt at all (ch. 4.1.5.1.2). */
	wr(Q_VECTOR, 2, VIRTIO_MSI_NO_VECTOR);
	fake_msi_clear(&fm);
	ring_complete_one();
	virtio_pci_notify(vp, 0);
	assert_int_equal(fake_irqfd_deliver(&fm), 0);
	assert_int_equal(fm.irq_level[GSI], 0);
	assert_int_equal(rd(ISR, 1), 0);

	/* Out-of-range queue numbers are ignored. */
	virtio_pci_notify(vp, NR_QUEUES);
	virtio_pci_notify(vp, 1);	/* never enabled */
	assert_int_equal(fake_irqfd_deliver(&fm), 0);
}

static void test_intx_and_isr(void **state)
{
	assert_int_equal(negotiate(1ull << VIRTIO_F_VERSION_1), S_ACK | S_DRIVER | S_FEAT_OK);
	setup_queue(0, 16, DESC_GPA, AVAIL_GPA, USED_GPA, VIRTIO_MSI_NO_VECTOR);
	wr(STATUS, 1, S_ACK | S_DRIVER | S_FEAT_OK | S_DRIVER_OK);

	/* MSI-X off: ISR bit 0 and the INTx line; reading ISR clears both. */
	ring_complete_one();
	virtio_pci_notify(vp, 0);
	assert_int_equal(fm.irq_level[GSI], 1);
	assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(fm.nr_msi, 0);
	assert_int_equal(rd(ISR, 1), 1);
	assert_int_equal(fm.irq_level[GSI], 0);
	assert_int_equal(rd(ISR, 1), 0);

	/* Configuration change: ISR bit 1. */
	virtio_pci_config_changed(vp);
	assert_int_equal(fm.irq_level[GSI], 1);
	assert_int_equal(rd(ISR, 1), 2);
	assert_int_equal(fm.irq_level[GSI], 0);

	/* Broken device: NEEDS_RESET and a configuration interrupt, once. */
	virtio_pci_set_broken(vp, "test");
	assert_true(rd(STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(ISR, 1), 2);
	virtio_pci_set_broken(vp, "test again");
	assert_int_equal(rd(ISR, 1), 0);

	/* A reset lowers a pending line. */
	virtio_pci_config_changed(vp);
	assert_int_equal(fm.irq_level[GSI], 1);
	wr(STATUS, 1, 0);
	assert_int_equal(fm.irq_level[GSI], 0);
	assert_int_equal(stops, 1);
}

static bool changer_done;

static void *config_changer(void *arg)
{
	int i;

	for (i = 0; i < 20000; i++)
		virtio_pci_config_changed(vp);
	__atomic_store_n(&changer_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A device thread raising interrupts while a vCPU reads ISR: line and ISR agree. */
static void test_intx_isr_race(void **state)
{
	pthread_t t;
	int reads = 0, seen = 0;

	__atomic_store_n(&changer_done, false, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&t, NULL, config_changer, NULL), 0);
	/*
	 * Read while the changer runs, then once more: the last raise is either
	 * seen by that read or was cleared (and counted) by an earlier one.
	 */
	while (reads < 20000 || !__atomic_load_n(&changer_done, __ATOMIC_ACQUIRE)) {
		seen += rd(ISR, 1) != 0;
		reads++;
	}
	pthread_join(t, NULL);
	/* Whatever interleaving: the line is high exactly when ISR has a bit. */
	if (fm.irq_level[GSI]) {
		assert_int_equal(rd(ISR, 1), 2);
		seen++;
	} else {
		assert_int_equal(rd(ISR, 1), 0);
	}
	assert_int_equal(fm.irq_level[GSI], 0);
	assert_true(seen > 0);
}

/* The PCI configuration access capability (ch. 4.1.4.9) as firmware uses it. */
static uint32_t window_rd(unsigned int cap, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_wr(cap + 4, 1, bar);
	cfg_wr(cap + 8, 4, off);
	cfg_wr(cap + 12, 4, len);
	return cfg_rd(cap + 16, 4);
}

static void window_wr(unsigned int cap, uint8_t bar, uint32_t off, uint32_t len, uint32_t v)
{
	cfg_wr(cap + 4, 1, bar);
	cfg_wr(cap + 8, 4, off);
	cfg_wr(cap + 12, 4, len);
	cfg_wr(cap + 16, 4, v);
}

static void test_pci_cfg_window(void **state)
{
	unsigned int cap = find_vcap(5);

	assert_true(cap);
	assert_int_equal(window_rd(cap, 4, NUM_QUEUES, 2) & 0xffff, NR_QUEUES);
	window_wr(cap, 4, STATUS, 1, S_ACK);
	assert_int_equal(rd(STATUS, 1), S_ACK);
	assert_int_equal(window_rd(cap, 4, STATUS, 1) & 0xff, S_ACK);
	window_wr(cap, 4, DFSELECT, 4, 1);
	/* VERSION_1 and RING_PACKED are bits 32 and 34. */
	assert_int_equal(window_rd(cap, 4, DF, 4), 5);
	assert_int_equal(window_rd(cap, 4, DEVCFG + 4, 4), 0x08070605);

	/* MSI-X table through the window (BAR 1): the vector starts masked. */
	window_wr(cap, 1, 0, 4, 0xfee00000);
	assert_int_equal(bar_rd(1, 0, 4), 0xfee00000);
	assert_int_equal(window_rd(cap, 1, 12, 4) & 1, 1);

	/* ISR through the window clears it, as a BAR read does. */
	virtio_pci_config_changed(vp);
	assert_int_equal(window_rd(cap, 4, ISR, 1) & 0xff, 2);
	assert_int_equal(fm.irq_level[GSI], 0);

	/* Bad windows: wrong length, misaligned, past the BAR, another BAR. */
	window_wr(cap, 4, STATUS, 3, 0);
	window_wr(cap, 4, DFSELECT + 2, 4, 0);
	window_wr(cap, 4, 0x4000, 4, 0);
	window_wr(cap, 4, 0x3ffe, 4, 0);
	window_wr(cap, 0, STATUS, 1, 0);
	window_wr(cap, 4, 0xffffffff, 1, 0);
	window_rd(cap, 2, 0, 4);
	assert_int_equal(rd(STATUS, 1), S_ACK);
	wr(DFSELECT, 4, 0);
	/* The window sits where the capability says. */
	assert_int_equal(cfg_rd(cap + 3, 1), 5);
}

/* The PCI Express hook: called once with the function, a failure fails creation. */
static int pcie_calls, pcie_ret;
static struct pci_device *pcie_pdev;

static int pcie_caps(struct pci_device *p, void *opaque)
{
	pcie_calls++;
	pcie_pdev = p;
	assert_ptr_equal(opaque, &pcie_calls);
	return pcie_ret;
}

static void test_pcie_hook_and_class(void **state)
{
	struct virtio_pci_info info = {
		.pcie = true, .pcie_caps = pcie_caps, .pcie_opaque = &pcie_calls,
	};
	struct virtio_dev d = tdev;
	struct virtio_pci *p;

	d.trans_ops = NULL;
	d.transport = NULL;
	d.type = VIRTIO_ID_BLOCK;
	pcie_calls = pcie_ret = 0;
	p = virtio_pci_new(&fm.ms, &d, &info);
	assert_non_null(p);
	assert_int_equal(pcie_calls, 1);
	assert_ptr_equal(pcie_pdev, virtio_pci_device(p));
	assert_ptr_equal(virtio_pci_function(&d), virtio_pci_device(p));
	/* No class given: the one for the device type (mass storage). */
	assert_int_equal(pci_config_get(&virtio_pci_device(p)->cfg, PCI_REVISION_ID, 4) >> 8,
			 0x010000);
	/* Bound already: a second transport is refused, before any hook runs. */
	assert_null(virtio_pci_new(&fm.ms, &d, &info));
	assert_int_equal(pcie_calls, 1);
	virtio_pci_free(p);
	assert_null(d.trans_ops);
	assert_null(virtio_pci_function(&d));

	pcie_ret = -ENOSPC;
	assert_null(virtio_pci_new(&fm.ms, &d, &info));
	assert_int_equal(pcie_calls, 2);
	assert_null(d.trans_ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_and_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_ring_any_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_and_isr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_isr_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcie_hook_and_class, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
