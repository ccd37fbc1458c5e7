/*
 * virtio-blk-pci and virtio-blk-device: the registry entries of virtio-blk
 * (blk.h) on virtio-pci and on microvm's virtio-mmio slots, with the same
 * properties and code (the transport comes from the bus, transport.h).
 * drive= names a block node (--blockdev, --disk, QMP blockdev-add) that the
 * machine opened; the device claims it for itself, and the machine says who
 * serves it (keel's data plane or vhost-blk, accel=).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/transport.h"
#include "lib/errmsg.h"

struct blk_pci_conf {
	char drive[DEVICE_ID_MAX];
	char iothread[DEVICE_ID_MAX];
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	unsigned int num_queues;
	int werror;			/* enum virtio_blk_werror */
	int accel;			/* enum machine_block_accel */
};

static const char *const blk_pci_werror[] = { "report", "stop", NULL };
static const char *const blk_pci_accel[] = { "auto", "vhost", "none", NULL };

static const struct opt_desc blk_pci_props[] = {
	OPT_D_STR(struct blk_pci_conf, drive, "drive", NULL,
		  "the block node to serve (node-name of --blockdev)"),
	OPT_D_STR(struct blk_pci_conf, iothread, "iothread", NULL,
		  "serve the queues on this --iothread (default: the main loop)"),
	OPT_D_STR(struct blk_pci_conf, serial, "serial", NULL,
		  "the disk's serial number (up to 20 printable characters)"),
	OPT_D_UINT(struct blk_pci_conf, num_queues, "num-queues", "1", 1,
		   VIRTIO_BLK_MAX_QUEUES, "request queues (one MSI-X vector each on PCI)"),
	OPT_D_ENUM(struct blk_pci_conf, werror, "werror", "report", blk_pci_werror,
		   "a failed write: report it to the guest, or stop the machine"),
	OPT_D_ENUM(struct blk_pci_conf, accel, "accel", "auto", blk_pci_accel,
		   "who serves the queues: vhost-blk in the kernel when it can (auto)"),
	{ 0 },
};

struct blk_pci {
	struct machine_block node;
	struct virtio_blk *blk;
};

/* The machine's view of a disk: held requests (query-block), resume (cont). */
static unsigned int blk_pci_parked(void *owner)
{
	struct blk_pci *b = owner;

	return b->blk ? virtio_blk_parked(b->blk) : 0;
}

static void blk_pci_resume(void *owner)
{
	struct blk_pci *b = owner;

	if (b->blk)
		virtio_blk_resume(b->blk);
}

static int blk_pci_vhost_stats(void *owner, struct vhost_blk_stats *st)
{
	struct blk_pci *b = owner;

	return b->blk ? virtio_blk_vhost_stats(b->blk, st) : -ENODEV;
}

static const struct machine_block_ops blk_pci_block_ops = {
	.parked = blk_pci_parked,
	.resume = blk_pci_resume,
	.vhost_stats = blk_pci_vhost_stats,
};

static int blk_pci_check(const struct device *dev, char *err, size_t errlen)
{
	const struct blk_pci_conf *c = dev->conf;
	unsigned int i;

	if (!c->drive[0])
		return errmsg_set(err, errlen, -EINVAL, "%s: Property 'drive' is missing "
				  "(a --blockdev node-name)", dev->type->name);
	for (i = 0; c->serial[i]; i++)
		if (c->serial[i] < 0x20 || c->serial[i] > 0x7e)
			return errmsg_set(err, errlen, -EINVAL, "%s: serial must be printable "
					  "ASCII", dev->type->name);
	return 0;
}

static int blk_pci_create(struct device *dev, const struct machine_services *ms, char *err,
			  size_t errlen)
{
	const struct blk_pci_conf *c = dev->conf;
	struct machine_block_req req = {
		.node = c->drive, .device = dev->name, .accel = c->accel,
		.num_queues = c->num_queues, .werror_stop = c->werror == VIRTIO_BLK_WERROR_STOP,
		.ops = &blk_pci_block_ops,
		.iothread = c->iothread[0] ? c->iothread : NULL,
	};
	struct blk_pci *b;
	int ret;

	if (c->iothread[0] && !machine_iothread(ms, c->iothread))
		return errmsg_set(err, errlen, -EINVAL, "%s: there is no --iothread id=%s",
				  dev->type->name, c->iothread);
	if (!ms->block_claim)
		return errmsg_set(err, errlen, -ENODEV, "%s: this machine has no block nodes",
				  dev->type->name);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	req.owner = b;
	ret = ms->block_claim(ms->opaque, &req, &b->node, err, errlen);
	if (ret) {
		free(b);
		return ret;
	}
	dev->priv = b;
	return 0;
}

/* On the disk's thread: werror=stop parked a request; the machine tells QMP. */
static void blk_pci_error(void *opaque, const char *name, bool write, int err)
{
	struct device *dev = opaque;
	const struct blk_pci_conf *c = dev->conf;
	const struct machine_services *ms = dev->devs->ms;

	if (ms->block_io_error)
		ms->block_io_error(ms->opaque, c->drive, name, write, err);
}

static int blk_pci_realize(struct device *dev, const struct device_ctx *ctx, char *err,
			   size_t errlen)
{
	const struct blk_pci_conf *c = dev->conf;
	struct blk_pci *b = dev->priv;
	struct virtio_blk_conf conf = {
		.name = dev->name,
		.be = b->node.be,
		.bd = b->node.bd,
		.read_only = b->node.read_only,
		.discard = b->node.discard,
		.serial = c->serial[0] ? c->serial : NULL,
		.num_queues = c->num_queues,
		.iothread = c->iothread[0] ? c->iothread : NULL,
		.werror = c->werror,
		.on_error = blk_pci_error,
		.on_error_opaque = dev,
		.vhost = b->node.vhost_fd >= 0,
		.vhost_fd = b->node.vhost_fd,
		.vhost_backend_fd = b->node.vhost_backend_fd,
	};
	int ret;

	b->blk = virtio_blk_create(ctx->ms, &conf);
	if (!b->blk)
		return -ENOMEM;
	ret = virtio_transport_plug(dev, ctx, virtio_blk_vdev(b->blk), err, errlen);
	if (ret) {
		virtio_blk_free(b->blk);
		b->blk = NULL;
	}
	return ret;
}

static void blk_pci_unrealize(struct device *dev)
{
	struct blk_pci *b = dev->priv;

	virtio_blk_free(b->blk);
	b->blk = NULL;
}

static void blk_pci_destroy(struct device *dev)
{
	const struct blk_pci_conf *c = dev->conf;
	const struct machine_services *ms = dev->devs->ms;
	struct blk_pci *b = dev->priv;

	if (!b)
		return;
	ms->block_release(ms->opaque, c->drive);
	free(b);
}

static const char *const blk_pci_aliases[] = { "virtio-blk", NULL };

const struct device_type virtio_blk_pci_type = {
	.name = "virtio-blk-pci",
	.aliases = blk_pci_aliases,
	.desc = "virtio disk (--disk), served on an I/O thread or by vhost-blk",
	.bus = DEV_BUS_PCI,
	.props = blk_pci_props,
	.conf_size = sizeof(struct blk_pci_conf),
	.hotpluggable = true,
	.check = blk_pci_check,
	.create = blk_pci_create,
	.realize = blk_pci_realize,
	.unrealize = blk_pci_unrealize,
	.destroy = blk_pci_destroy,
};

/* microvm has no hotplug (nor has QEMU's): the slots are described at boot. */
const struct device_type virtio_blk_device_type = {
	.name = "virtio-blk-device",
	.desc = "virtio disk on a virtio-mmio slot (microvm's --disk)",
	.bus = DEV_BUS_VIRTIO_MMIO,
	.props = blk_pci_props,
	.conf_size = sizeof(struct blk_pci_conf),
	.check = blk_pci_check,
	.create = blk_pci_create,
	.realize = blk_pci_realize,
	.unrealize = blk_pci_unrealize,
	.destroy = blk_pci_destroy,
};
