/*
 * The virtio device interface (VIRTIO 1.2 ch. 2): checking a device's
 * description and binding it to a transport (device.h).
 */
#include <errno.h>

#include "devices/virtio/device.h"

bool virtio_dev_valid(const struct virtio_dev *vdev, unsigned int max_config)
{
	return vdev && vdev->name && vdev->ops && vdev->ops->start && vdev->ops->stop &&
	       vdev->nr_queues >= 1 && vdev->nr_queues <= VIRTIO_MAX_QUEUES &&
	       vdev->queue_size >= 1 && vdev->queue_size <= VIRTQ_MAX_SIZE &&
	       vdev->queue_size <= UINT16_MAX &&
	       !(vdev->queue_size & (vdev->queue_size - 1)) &&
	       vdev->config_size <= max_config;
}

int virtio_dev_bind(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
		    void *transport)
{
	if (vdev->trans_ops)
		return -EBUSY;
	vdev->trans_ops = ops;
	vdev->transport = transport;
	return 0;
}

void virtio_dev_unbind(struct virtio_dev *vdev)
{
	vdev->trans_ops = NULL;
	vdev->transport = NULL;
}

uint64_t virtio_dev_offered(const struct virtio_dev *vdev)
{
	return (vdev->features | VIRTIO_TRANSPORT_FEATURES) & ~vdev->withhold_features;
}

void virtio_dev_detach(struct virtio_dev *vdev)
{
	if (vdev->trans_ops && vdev->trans_ops->free)
		vdev->trans_ops->free(vdev->transport);
	virtio_dev_unbind(vdev);
}
