/*
 * The transport a virtio device type binds to, chosen by the bus it plugs
 * into: virtio-pci on a PCI bus, a virtio-mmio slot on microvm's
 * virtio-mmio bus. The device types (blk_pci.c, rng_pci.c, serial_pci.c)
 * share their realize between the -pci and the -device spelling through it.
 */
#ifndef KEEL_DEVICES_VIRTIO_TRANSPORT_H
#define KEEL_DEVICES_VIRTIO_TRANSPORT_H

#include <stddef.h>

#include "devices/device.h"
#include "devices/virtio/device.h"

/*
 * Bind vdev to the transport of ctx->bus: on a PCI bus a virtio-pci function
 * (set in dev->pci for the core to place; PCIe when the bus is), on a
 * virtio-mmio bus the first free slot. 0 or -errno with err.
 */
int virtio_transport_plug(struct device *dev, const struct device_ctx *ctx,
			  struct virtio_dev *vdev, char *err, size_t errlen);

#endif
