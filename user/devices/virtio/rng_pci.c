/*
 * virtio-rng-pci and virtio-rng-device: the registry entries of virtio-rng
 * (rng.h) on virtio-pci and on microvm's virtio-mmio slots (transport.h);
 * their properties are --rng's (keel-run.md "--rng").
 */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "devices/virtio/transport.h"
#include "devices/virtio/rng.h"

#define RNG_MAX_PERIOD_MS	(3600ull * 1000)

static const struct opt_desc rng_pci_props[] = {
	OPT_D_STR(struct virtio_rng_config, source, "source", "getrandom",
		  "entropy: getrandom, /dev/hwrng or any readable file"),
	OPT_D_UINT(struct virtio_rng_config, max_bytes, "max-bytes", "0", 0, UINT32_MAX,
		   "bytes the guest may take per period (0: no limit)"),
	OPT_D_UINT(struct virtio_rng_config, period_ms, "period", "1000", 1, RNG_MAX_PERIOD_MS,
		   "the rate limit's period in milliseconds"),
	{ 0 },
};

static int rng_pci_create(struct device *dev, const struct machine_services *ms, char *err,
			  size_t errlen)
{
	struct virtio_rng_config *cfg = dev->conf;

	if (!strcmp(cfg->source, "getrandom"))
		cfg->source[0] = '\0';
	/* A source that cannot be opened is a start-up mistake; it says why. */
	return virtio_rng_check_source(cfg);
}

static int rng_pci_realize(struct device *dev, const struct device_ctx *ctx, char *err,
			   size_t errlen)
{
	struct virtio_rng *rng = virtio_rng_create(ctx->ms, dev->name, dev->conf);
	int ret;

	if (!rng)
		return -EIO;
	ret = virtio_transport_plug(dev, ctx, virtio_rng_vdev(rng), err, errlen);
	if (ret) {
		virtio_rng_free(rng);
		return ret;
	}
	dev->priv = rng;
	return 0;
}

static void rng_pci_unrealize(struct device *dev)
{
	virtio_rng_free(dev->priv);
	dev->priv = NULL;
}

static const char *const rng_pci_aliases[] = { "virtio-rng", NULL };

const struct device_type virtio_rng_pci_type = {
	.name = "virtio-rng-pci",
	.aliases = rng_pci_aliases,
	.desc = "virtio entropy source (--rng)",
	.bus = DEV_BUS_PCI,
	.props = rng_pci_props,
	.conf_size = sizeof(struct virtio_rng_config),
	.hotpluggable = true,
	.create = rng_pci_create,
	.realize = rng_pci_realize,
	.unrealize = rng_pci_unrealize,
};

/* microvm has no hotplug (nor has QEMU's): the slots are described at boot. */
const struct device_type virtio_rng_device_type = {
	.name = "virtio-rng-device",
	.desc = "virtio entropy source on a virtio-mmio slot (microvm's --rng)",
	.bus = DEV_BUS_VIRTIO_MMIO,
	.props = rng_pci_props,
	.conf_size = sizeof(struct virtio_rng_config),
	.create = rng_pci_create,
	.realize = rng_pci_realize,
	.unrealize = rng_pci_unrealize,
};
