/*
 * Binding a virtio device to the transport of its bus (transport.h): the
 * -pci and -device types differ only in the bus kind they plug into.
 */
#include <errno.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/transport.h"
#include "lib/errmsg.h"

int virtio_transport_plug(struct device *dev, const struct device_ctx *ctx,
			  struct virtio_dev *vdev, char *err, size_t errlen)
{
	struct virtio_pci_info info = { .pcie = ctx->bus && ctx->bus->pcie };
	int ret;

	if (ctx->bus && ctx->bus->kind == DEV_BUS_VIRTIO_MMIO) {
		if (!virtio_mmio_bus_plug(ctx->bus->impl, ctx->ms, vdev, &ret, err, errlen))
			return ret;
		return 0;
	}
	if (!ctx->bus || ctx->bus->kind != DEV_BUS_PCI)
		return errmsg_set(err, errlen, -EINVAL, "%s: not on a PCI or virtio-mmio bus",
				  dev->name);
	if (!virtio_pci_new(ctx->ms, vdev, &info))
		return errmsg_set(err, errlen, -ENOMEM, "%s: cannot make its PCI function",
				  dev->name);
	dev->pci = virtio_pci_function(vdev);
	return 0;
}
