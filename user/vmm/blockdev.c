/*
 * Block nodes (blockdev.h): --blockdev and blockdev-add keys into an image
 * configuration, the open images by node-name, and the claim a disk device
 * makes (which also decides whether vhost-blk serves it: disk_accel_open).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/aio/aio.h"
#include "block/backend.h"
#include "lib/errmsg.h"
#include "lib/log.h"
#include "vmm/blockdev.h"

#define bd_err(err, errlen, ...) errmsg_set(err, errlen, -EINVAL, __VA_ARGS__)

struct blockdev_keys {
	char driver[16];
	char node[BLOCKDEV_NODE_MAX];
	char file_driver[16];
	char filename[DISK_PATH_MAX];
	bool read_only;
	int discard;
	bool direct;
	bool no_flush;
	int aio;
};

static const char *const blockdev_drivers[] = { "raw", "qcow2", "vhdx", "vpc", "file", NULL };
static const char *const blockdev_discard[] = { "ignore", "unmap", "off", "on", NULL };
static const char *const blockdev_aio[] = { "io_uring", "native", "threads", NULL };

static const struct opt_desc blockdev_props[] = {
	OPT_D_STR(struct blockdev_keys, driver, "driver", NULL, "raw, qcow2, vhdx or vpc"),
	OPT_D_STR(struct blockdev_keys, node, "node-name", NULL, "the node's name (drive=)"),
	OPT_D_STR(struct blockdev_keys, file_driver, "file.driver", "file", "file"),
	OPT_D_STR(struct blockdev_keys, filename, "file.filename", NULL, "the image file"),
	OPT_D_BOOL(struct blockdev_keys, read_only, "read-only", "off", "open read-only"),
	OPT_D_ENUM(struct blockdev_keys, discard, "discard", "ignore", blockdev_discard,
		   "unmap: guest discards free space in the image"),
	OPT_D_BOOL(struct blockdev_keys, direct, "cache.direct", "off", "O_DIRECT"),
	OPT_D_BOOL(struct blockdev_keys, no_flush, "cache.no-flush", "off",
		   "ignore flushes (unsafe)"),
	OPT_D_ENUM(struct blockdev_keys, aio, "aio", "io_uring", blockdev_aio, "I/O engine"),
	{ 0 },
};

static bool blockdev_valid_node(const char *n)
{
	const char *c;

	if (!*n || strlen(n) >= BLOCKDEV_NODE_MAX ||
	    !((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z')))
		return false;
	for (c = n; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

int blockdev_parse(struct opts *o, char *node, size_t nodelen, struct disk_conf *conf,
		   char *err, size_t errlen)
{
	struct blockdev_keys k;
	const char *fn;
	int ret;

	/* "filename=" is the short spelling of file.filename on a file driver. */
	fn = opts_peek(o, "filename");
	if (fn) {
		if (opts_peek(o, "file.filename"))
			return bd_err(err, errlen, "--blockdev: give filename or file.filename");
		ret = opts_set(o, "file.filename", fn);
		if (ret)
			return ret;
		opts_del(o, "filename");
	}
	ret = opts_apply(o, blockdev_props, &k, "blockdev", err, errlen);
	if (ret)
		return ret;
	ret = opts_check_used(o, "blockdev", err, errlen);
	if (ret)
		return ret;
	if (!k.driver[0])
		return bd_err(err, errlen, "blockdev: Parameter 'driver' is missing");
	if (!k.node[0])
		return bd_err(err, errlen, "blockdev: Parameter 'node-name' is missing");
	if (!blockdev_valid_node(k.node))
		return bd_err(err, errlen, "blockdev: node-name '%s' is not a name (a letter, "
			      "then letters, digits, '-', '_', '.')", k.node);
	if (strcmp(k.file_driver, "file"))
		return bd_err(err, errlen, "blockdev: file.driver '%s' is not supported (file)",
			      k.file_driver);
	if (!k.filename[0])
		return bd_err(err, errlen, "blockdev: Parameter 'file.filename' is missing");
	memset(conf, 0, sizeof(*conf));
	snprintf(conf->path, sizeof(conf->path), "%s", k.filename);
	ret = opt_parse_enum(k.driver, blockdev_drivers);
	if (ret < 0)
		return bd_err(err, errlen, "blockdev: driver '%s' is not raw, qcow2, vhdx or vpc",
			      k.driver);
	/* driver=file is a raw image on a file, as in QEMU. */
	conf->format = !strcmp(k.driver, "file") ? "raw" : blockdev_drivers[ret];
	conf->read_only = k.read_only;
	conf->discard = k.discard == 1 || k.discard == 3;
	conf->cache = k.no_flush ? BLOCK_CACHE_UNSAFE :
		      k.direct ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK;
	ret = aio_engine_parse(blockdev_aio[k.aio], &conf->aio);
	if (ret < 0)
		return bd_err(err, errlen, "blockdev: aio '%s' is not supported", blockdev_aio[k.aio]);
	if ((!strcmp(conf->format, "vhdx") || !strcmp(conf->format, "vpc")) && !conf->read_only)
		return bd_err(err, errlen, "blockdev: %s images are read-only in keel; add "
			      "read-only=on", conf->format);
	conf->num_queues = 1;
	snprintf(node, nodelen, "%s", k.node);
	return 0;
}

int blockdev_check(const char *str, char *err, size_t errlen)
{
	char node[BLOCKDEV_NODE_MAX];
	struct disk_conf *conf = malloc(sizeof(*conf));
	struct opts o;
	int ret;

	if (!conf)
		return -ENOMEM;
	ret = opts_parse(&o, str, NULL, false, err, errlen);
	if (!ret)
		ret = blockdev_parse(&o, node, sizeof(node), conf, err, errlen);
	opts_free(&o);
	free(conf);
	return ret;
}

struct blockdev *blockdevs_find(const struct blockdevs *bs, const char *node)
{
	struct blockdev *b;

	for (b = bs->head; b; b = b->next)
		if (!strcmp(b->node, node))
			return b;
	return NULL;
}

int blockdevs_add(struct blockdevs *bs, const char *node, const struct disk_conf *conf,
		  char *err, size_t errlen)
{
	struct blockdev *b, **tail;
	int ret;

	if (blockdevs_find(bs, node))
		return errmsg_set(err, errlen, -EEXIST, "Duplicate nodes with node-name='%s'",
				  node);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	snprintf(b->node, sizeof(b->node), "%s", node);
	b->conf = *conf;
	b->vhost_fd = b->vhost_backend_fd = -1;
	ret = disk_open(&b->conf, &b->bd);
	if (ret) {
		free(b);
		/* disk_open logged the file and why; err repeats it for QMP. */
		return errmsg_set(err, errlen, ret, "Could not open '%s': %s", conf->path,
				  strerror(-ret));
	}
	for (tail = &bs->head; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	return 0;
}

static void blockdev_close_one(struct blockdev *b)
{
	block_close(b->bd);
	free(b);
}

int blockdevs_del(struct blockdevs *bs, const char *node, char *err, size_t errlen)
{
	struct blockdev **p;

	for (p = &bs->head; *p; p = &(*p)->next) {
		struct blockdev *b = *p;

		if (strcmp(b->node, node))
			continue;
		if (b->claimed)
			return errmsg_set(err, errlen, -EBUSY, "Node '%s' is busy: %s uses it",
					  node, b->device);
		*p = b->next;
		blockdev_close_one(b);
		return 0;
	}
	return errmsg_set(err, errlen, -ENOENT, "Failed to find node with node-name='%s'",
			  node);
}

static void blockdev_release_one(struct blockdev *b);

static const enum disk_accel blockdev_accel_of[] = {
	[MACHINE_BLOCK_ACCEL_AUTO] = DISK_ACCEL_AUTO,
	[MACHINE_BLOCK_ACCEL_VHOST] = DISK_ACCEL_VHOST,
	[MACHINE_BLOCK_ACCEL_NONE] = DISK_ACCEL_NONE,
};

int blockdevs_claim(struct blockdevs *bs, const struct machine_block_req *req,
		    struct loop *loop, bool iothread, struct machine_block *out, char *err,
		    size_t errlen)
{
	struct blk_backend_conf bc = {
		.name = req->device, .loop = loop, .iothread = iothread,
		.werror = req->werror_stop ? BLK_ERROR_STOP : BLK_ERROR_REPORT,
		.rerror = BLK_ERROR_REPORT,
	};
	struct blockdev *b = blockdevs_find(bs, req->node);
	struct disk_conf conf;
	int ret;

	if (!b)
		return errmsg_set(err, errlen, -ENOENT, "%s: drive '%s' is not a block node "
				  "(--blockdev node-name=, --disk)", req->device, req->node);
	if (b->claimed)
		return errmsg_set(err, errlen, -EBUSY, "%s: drive '%s' is already in use by %s",
				  req->device, req->node, b->device);
	if ((unsigned int)req->accel >= sizeof(blockdev_accel_of) / sizeof(blockdev_accel_of[0]))
		return -EINVAL;
	conf = b->conf;
	conf.accel = blockdev_accel_of[req->accel];
	conf.num_queues = req->num_queues;
	conf.werror = req->werror_stop ? VIRTIO_BLK_WERROR_STOP : VIRTIO_BLK_WERROR_REPORT;
	ret = disk_accel_open(&conf, b->bd, req->device, NULL, &b->vhost_fd,
			      &b->vhost_backend_fd);
	if (ret) {
		if (errlen)
			err[0] = '\0';	/* disk_accel_open logged why */
		return ret;
	}
	bc.bd = b->bd;
	bc.read_only = b->conf.read_only;
	bc.discard = b->conf.discard;
	b->be = blk_backend_new(&bc);
	if (!b->be) {
		blockdev_release_one(b);
		return errmsg_set(err, errlen, -ENOMEM, "%s: cannot serve drive '%s'",
				  req->device, req->node);
	}
	b->claimed = true;
	snprintf(b->device, sizeof(b->device), "%s", req->device);
	b->num_queues = req->num_queues;
	b->ops = req->ops;
	b->owner = req->owner;
	*out = (struct machine_block){
		.bd = b->bd, .be = b->be, .read_only = b->conf.read_only,
		.discard = b->conf.discard,
		.vhost_fd = b->vhost_fd, .vhost_backend_fd = b->vhost_backend_fd,
	};
	return 0;
}

static void blockdev_release_one(struct blockdev *b)
{
	blk_backend_free(b->be);
	b->be = NULL;
	if (b->vhost_fd >= 0)
		close(b->vhost_fd);
	if (b->vhost_backend_fd >= 0)
		close(b->vhost_backend_fd);
	b->vhost_fd = b->vhost_backend_fd = -1;
	b->claimed = false;
	b->device[0] = '\0';
	b->ops = NULL;
	b->owner = NULL;
}

void blockdevs_release(struct blockdevs *bs, const char *node)
{
	struct blockdev *b = blockdevs_find(bs, node);

	if (b)
		blockdev_release_one(b);
}

void blockdevs_close(struct blockdevs *bs)
{
	struct blockdev *b, *next;

	for (b = bs->head; b; b = next) {
		next = b->next;
		blockdev_release_one(b);
		blockdev_close_one(b);
	}
	bs->head = NULL;
}
