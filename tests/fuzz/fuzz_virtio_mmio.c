/*
 * Fuzz target for the virtio-mmio transport (user/devices/virtio/mmio.c, VIRTIO
 * 1.2 ch. 4.2): a byte stream replayed as register and configuration reads and
 * writes of any width, guest RAM writes (ring contents), device-side
 * completions and interrupts. The identity stays, the interrupt line follows
 * InterruptStatus, start/stop stay paired, nothing crashes.
 *
 * Input: byte 0 chooses the machine (bit 0: no ioeventfd_dm), then records
 * of 12 bytes: kind | size index << 4, offset (le16), flags, 8 data bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/mmio.h"
#include "fake_machine.h"
#include "lib/log.h"

#define RAM_SIZE	0x20000
#define REC_LEN		12
#define NR_QUEUES	3
#define BASE		0xd0000000ull
#define GSI		5

static const unsigned int fuzz_sizes[] = { 1, 2, 4, 8, 3, 4, 4, 4 };

struct fuzz_dev {
	struct virtio_dev vdev;
	int running;
	uint8_t cfg[12];
};

static void fz_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			   unsigned int size)
{
	struct fuzz_dev *d = container_of(vdev, struct fuzz_dev, vdev);

	if (off + size > sizeof(d->cfg))
		abort();
	memcpy(data, d->cfg + off, size);
}

static void fz_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
			    unsigned int size)
{
	struct fuzz_dev *d = container_of(vdev, struct fuzz_dev, vdev);

	if (off + size > sizeof(d->cfg))
		abort();
	memcpy(d->cfg + off, data, size);
}

static int fz_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	struct fuzz_dev *d = container_of(vdev, struct fuzz_dev, vdev);
	unsigned int i;

	if (d->running)
		abort();	/* started twice without a stop */
	if (!(features & (1ull << VIRTIO_F_VERSION_1)))
		abort();	/* FEATURES_OK must have required it */
	for (i = 0; i < NR_QUEUES; i++)
		if (vqs[i] && !vqs[i]->started)
			abort();	/* only started queues are handed over */
	if (d->cfg[0] == 0xee)
		return -EIO;	/* refused: the transport must not call stop */
	d->running = 1;
	return 0;
}

static void fz_stop(struct virtio_dev *vdev)
{
	struct fuzz_dev *d = container_of(vdev, struct fuzz_dev, vdev);

	if (!d->running)
		abort();	/* a stop without a start */
	d->running = 0;
}

static const struct virtio_dev_ops fz_ops = {
	.config_read = fz_config_read,
	.config_write = fz_config_write,
	.start = fz_start,
	.stop = fz_stop,
};

/* The device side: complete whatever the driver made available on queue idx. */
static void fz_serve(struct fuzz_dev *d, unsigned int idx)
{
	static struct virtq_elem elem;
	struct virtq *vq = virtio_dev_queue(&d->vdev, idx);
	int n;

	if (!vq)
		return;
	for (n = 0; n < 8 && virtq_pop(vq, &elem) == 1; n++)
		virtq_push(vq, &elem, elem.in_len);
	virtio_dev_notify(&d->vdev, idx);
}

static uint32_t fz_reg(struct fake_machine *fm, uint64_t off)
{
	uint32_t v = 0;

	if (fake_mmio_read(fm, BASE + off, &v, 4))
		abort();
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_dev dev = {
		.vdev = {
			.name = "virtio-mmio-fuzz0",
			.type = VIRTIO_ID_BLOCK,
			.features = 1ull << 6,
			.nr_queues = NR_QUEUES,
			.queue_size = 64,
			.config_size = sizeof(dev.cfg),
			.ops = &fz_ops,
		},
	};
	struct fake_machine fm;
	struct virtio_mmio *vm;
	size_t i;

	if (!size)
		return 0;
	log_threshold = LOG_ERR;
	fake_machine_init(&fm, RAM_SIZE);
	if (data[0] & 1)
		fm.ms.ioeventfd_dm = NULL;
	vm = virtio_mmio_new(&fm.ms, &dev.vdev, BASE, GSI);
	if (!vm)
		abort();

	for (i = 1; i + REC_LEN <= size; i += REC_LEN) {
		const uint8_t *r = data + i;
		unsigned int sz = fuzz_sizes[(r[0] >> 4) & 7];
		uint16_t off = (uint16_t)(r[1] | r[2] << 8);
		uint8_t buf[8];

		/* Mostly aligned registers; flag bit 0 lets any offset through. */
		uint16_t reg = r[3] & 1 ? off % (VIRTIO_MMIO_SIZE + 8) : off & 0x1fc;

		memcpy(buf, r + 4, sizeof(buf));
		switch (r[0] & 0xf) {
		case 0:
			fake_mmio_read(&fm, BASE + reg, buf, sz);
			break;
		case 1:
		case 2:
		case 3:
			fake_mmio_write(&fm, BASE + reg, buf, sz);
			break;
		case 4: {	/* guest RAM: ring contents */
			size_t at = ((size_t)off << 4 | (r[3] >> 4)) % (RAM_SIZE - 8);

			memcpy(fm.ram + at, buf, 8);
			break;
		}
		case 5:
			fz_serve(&dev, r[3] % (NR_QUEUES + 1));
			break;
		case 6:
			virtio_dev_config_changed(&dev.vdev);
			break;
		case 7:
			virtio_dev_interrupt(&dev.vdev, r[3] % (NR_QUEUES + 1));
			break;
		case 8:
			virtio_dev_set_broken(&dev.vdev, "fuzz");
			break;
		case 9:	/* the kick a driver makes, through the ioeventfd if there is one */
			buf[0] = r[3] % (NR_QUEUES + 1);
			memset(buf + 1, 0, 3);
			fake_mmio_write(&fm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, buf, 4);
			break;
		default:
			fz_reg(&fm, VIRTIO_MMIO_INTERRUPT_STATUS);
			break;
		}
		if (fz_reg(&fm, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
		    fz_reg(&fm, VIRTIO_MMIO_VERSION_REG) != VIRTIO_MMIO_VERSION ||
		    fz_reg(&fm, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
			abort();
		/* Level-triggered: the line is up exactly while an event is pending. */
		if (!!fz_reg(&fm, VIRTIO_MMIO_INTERRUPT_STATUS) != fm.irq_level[GSI])
			abort();
		if (fz_reg(&fm, VIRTIO_MMIO_INTERRUPT_STATUS) & ~3u)
			abort();
	}
	virtio_mmio_free(vm);
	if (dev.running)
		abort();	/* free must stop a running device */
	if (dev.vdev.trans_ops || fake_ioeventfd_count(&fm))
		abort();
	fake_machine_fini(&fm);
	return 0;
}
