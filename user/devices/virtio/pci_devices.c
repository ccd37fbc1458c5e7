/*
 * virtio-blk, -console and -rng each on a virtio-pci function under the names
 * they had before the device/transport split (virtio_blk_new() and
 * virtio_blk_pci_device(), ...): user/vmm/machine.c still builds with them.
 * Drop this file once the machine calls virtio_pci_new() on the devices itself.
 */
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/rng.h"

struct virtio_rng *virtio_rng_new(const struct machine_services *ms, const char *name,
				  const struct virtio_rng_config *cfg)
{
	struct virtio_rng *rng = virtio_rng_create(ms, name, cfg);

	if (rng && !virtio_pci_new(ms, virtio_rng_vdev(rng), NULL)) {
		virtio_rng_free(rng);
		return NULL;
	}
	return rng;
}

struct pci_device *virtio_rng_pci(struct virtio_rng *rng)
{
	return virtio_pci_function(virtio_rng_vdev(rng));
}

struct virtio_blk *virtio_blk_new(const struct machine_services *ms,
				  const struct virtio_blk_conf *conf)
{
	struct virtio_blk *blk = virtio_blk_create(ms, conf);

	if (blk && !virtio_pci_new(ms, virtio_blk_vdev(blk), NULL)) {
		virtio_blk_free(blk);
		return NULL;
	}
	return blk;
}

struct pci_device *virtio_blk_pci_device(struct virtio_blk *blk)
{
	return virtio_pci_function(virtio_blk_vdev(blk));
}

struct pci_device *virtio_console_attach(struct virtio_console *con,
					 const struct machine_services *ms)
{
	struct virtio_pci *vp;

	virtio_console_detach(con);
	vp = virtio_pci_new(ms, virtio_console_vdev(con), NULL);
	return vp ? virtio_pci_device(vp) : NULL;
}

void virtio_console_detach(struct virtio_console *con)
{
	virtio_dev_detach(virtio_console_vdev(con));
}
