/*
 * Fuzz target for the virtio-pci transport (user/devices/virtio/pci.c, VIRTIO
 * 1.2 ch. 4.1): a byte stream replayed as BAR 1 / BAR 4 and config space reads
 * and writes, BAR moves, guest RAM writes (ring contents) and device-side
 * completions. IDs stay, start/stop stay paired, nothing crashes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/pci.h"
#include "fake_machine.h"
#include "lib/log.h"

#define RAM_SIZE	0x20000
#define REC_LEN		12
#define NR_QUEUES	3

static const unsigned int fuzz_sizes[] = { 1, 2, 4, 8, 3, 1, 2, 4 };

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
static void fz_serve(struct virtio_pci *vp, unsigned int idx)
{
	static struct virtq_elem elem;
	struct virtq *vq = virtio_pci_queue(vp, idx);
	int n;

	if (!vq)
		return;
	for (n = 0; n < 8 && virtq_pop(vq, &elem) == 1; n++)
		virtq_push(vq, &elem, elem.in_len);
	virtio_pci_notify(vp, idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_dev dev = {
		.vdev = {
			.name = "virtio-fuzz0",
			.type = VIRTIO_ID_BLOCK,
			.features = 1ull << 6,
			.nr_queues = NR_QUEUES,
			.queue_size = 64,
			.config_size = sizeof(dev.cfg),
			.ops = &fz_ops,
		},
	};
	struct fake_machine fm;
	struct pci_bus bus;
	struct pci_device *pdev;
	struct virtio_pci *vp;
	size_t i;

	log_threshold = LOG_ERR;
	fake_machine_init(&fm, RAM_SIZE);
	pci_bus_init(&bus);
	vp = virtio_pci_new(&fm.ms, &dev.vdev, NULL);
	if (!vp)
		abort();
	pdev = virtio_pci_device(vp);
	pdev->ms = &fm.ms;
	pdev->gsi = 16;
	pci_bus_register(&bus, pdev, PCI_DEVFN(2, 0));

	for (i = 0; i + REC_LEN <= size; i += REC_LEN) {
		const uint8_t *r = data + i;
		unsigned int sz = fuzz_sizes[(r[0] >> 4) & 7];
		uint16_t off = (uint16_t)(r[1] | r[2] << 8);
		uint8_t buf[8];

		memcpy(buf, r + 4, sizeof(buf));
		switch (r[0] & 0xf) {
		case 0:	/* BAR 4, mostly the common config */
			pdev->bar_ops[4]->read(pdev->opaque, r[3] & 1 ? off & 0x3fff : off & 0x3f,
					       buf, sz);
			break;
		case 1:
		case 2:
			pdev->bar_ops[4]->write(pdev->opaque, r[3] & 1 ? off & 0x3fff : off & 0x3f,
						buf, sz);
			break;
		case 3:	/* BAR 1: MSI-X table and PBA */
			if (r[3] & 1)
				pdev->bar_ops[1]->write(pdev->opaque, off & 0xfff, buf, sz);
			else
				pdev->bar_ops[1]->read(pdev->opaque, off & 0xfff, buf, sz);
			break;
		case 4:	/* config space, mostly the capabilities */
			pci_bus_cfg_read(&bus, PCI_DEVFN(2, 0), r[3] & 1 ? off & 0xfff : off & 0xff,
					 sz > 4 ? 4 : sz);
			break;
		case 5:
			pci_bus_cfg_write(&bus, PCI_DEVFN(2, 0),
					  r[3] & 1 ? off & 0xfff : off & 0xff, sz > 4 ? 4 : sz,
					  (uint32_t)(buf[0] | buf[1] << 8 | buf[2] << 16 |
						     (uint32_t)buf[3] << 24));
			break;
		case 6:	/* guest RAM: ring contents */
			memcpy(fm.ram + (((size_t)off << 1) % (RAM_SIZE - 8)), buf, 8);
			break;
		case 7:
			fz_serve(vp, r[3] % (NR_QUEUES + 1));
			break;
		case 8:
			virtio_pci_config_changed(vp);
			break;
		case 9:	/* BAR 4 moves, or stops decoding */
			pdev->bar_mapped(pdev, r[3] & 7,
					 r[3] & 8 ? 0 : 0xc0000000ull + ((uint64_t)off << 14));
			break;
		case 10:
			fake_irqfd_deliver(&fm);
			fake_msi_clear(&fm);
			break;
		case 11:
			fm.ioeventfd_ret = r[3] & 1 ? -ENOSYS : 0;
			break;
		default:
			pdev->bar_ops[4]->read(pdev->opaque, 0x1000, buf, 1);
			break;
		}
		if (pci_bus_cfg_read(&bus, PCI_DEVFN(2, 0), 0, 4) != 0x10421af4)
			abort();
	}
	virtio_pci_free(vp);
	if (dev.running)
		abort();	/* free must stop a running device */
	fake_machine_fini(&fm);
	return 0;
}
