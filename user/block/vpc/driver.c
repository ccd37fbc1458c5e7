/* VPC (VHD) block driver: binds the read-only VHD parser to block.h and opens the
 * parent of a differencing disk from its parent locators (VHD spec, "Parent Locator"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "block/block.h"
#include "block/vpc/vpc.h"
#include "lib/log.h"

extern const struct block_driver block_driver_vpc;

static int vpc_drv_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
	struct block_dev *bd = opaque;

	return block_file_pread(bd->file, buf, len, off);
}

static int vpc_drv_parent(void *opaque, void *buf, size_t len, uint64_t off)
{
	struct block_dev *bd = opaque;

	return block_read_backing(bd->backing, off, buf, len);
}

/* Only dynamic and differencing disks have a header at offset 0; a fixed disk is
 * never guessed (its first sector is guest data): open it with format=vpc. */
static int vpc_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return len >= 8 && !memcmp(buf, "conectix", 8) ? 100 : 0;
}

static int vpc_open_parent(struct block_dev *bd, struct vpc_image *p)
{
	int ret = -ENOENT;

	for (int i = 0; i <= p->nparent_paths; i++) {
		const char *path = i < p->nparent_paths ? p->parent_paths[i] : p->parent_name;
		struct vpc_image *pp;

		if (!path[0])
			continue;
		/* never probed: a locator naming a raw host file must not expose it */
		ret = block_open_backing(bd, path, "vpc");
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		if (!bd->backing)
			return 0;
		pp = bd->backing->opaque;
		if (!memcmp(pp->unique_id, p->parent_id, 16))
			return 0;
		log_err("%s: VHD parent %s has another unique id than the one recorded",
			bd->filename, path);
		block_close(bd->backing);
		bd->backing = NULL;
		return -EINVAL;
	}
	log_err("%s: VHD parent \"%s\" not found through any parent locator", bd->filename,
		p->parent_name);
	return ret;
}

static int vpc_open(struct block_dev *bd, const struct block_open_opts *opts)
{
	struct vpc_image *p;
	int64_t size = block_file_size(bd->file);
	int ret;

	if (size < 0)
		return (int)size;
	if (!bd->read_only) {
		log_err("%s: VPC images are read-only in keel", bd->filename);
		return -EROFS;
	}
	ret = vpc_image_open(&p, bd->filename, vpc_drv_pread, bd, (uint64_t)size);
	if (ret)
		return ret;
	bd->opaque = p;
	bd->size = p->virtual_size;
	if (p->disk_type == VPC_TYPE_DIFF) {
		ret = vpc_open_parent(bd, p);
		if (ret) {
			bd->opaque = NULL;
			vpc_image_close(p);
			return ret;
		}
	}
	return 0;
}

static void vpc_close(struct block_dev *bd)
{
	vpc_image_close(bd->opaque);
	bd->opaque = NULL;
}

/* Synchronous on the owner thread, like vhdx: read-only, not a data-plane format. */
static int vpc_drv_read(struct block_dev *bd, void *buf, size_t len, uint64_t off)
{
	return vpc_image_read(bd->opaque, buf, len, off, vpc_drv_parent, bd);
}

static void vpc_submit(struct block_dev *bd, struct block_req *req)
{
	block_submit_read_only_sync(bd, req, vpc_drv_read);
}

static int vpc_block_status(struct block_dev *bd, uint64_t offset, uint64_t len,
			    uint64_t *pnum, uint64_t *map)
{
	uint64_t fo = 0;
	int kind;

	kind = vpc_image_map(bd->opaque, offset, len, pnum, &fo);
	switch (kind) {
	case VPC_MAP_DATA:
		if (map)
			*map = fo;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	case VPC_MAP_ZERO:
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
	case VPC_MAP_PARENT:
		return 0;
	}
	return kind;
}

static int vpc_info(struct block_dev *bd, struct block_info *info)
{
	struct vpc_image *p = bd->opaque;
	static const char *const types[] = { [VPC_TYPE_FIXED] = "fixed",
		[VPC_TYPE_DYNAMIC] = "dynamic", [VPC_TYPE_DIFF] = "differencing" };

	info->cluster_size = p->disk_type == VPC_TYPE_FIXED ? 0 : p->block_size;
	if (p->disk_type == VPC_TYPE_DIFF) {
		snprintf(info->backing_file, sizeof(info->backing_file), "%s",
			 p->nparent_paths ? p->parent_paths[0] : p->parent_name);
		snprintf(info->backing_fmt, sizeof(info->backing_fmt), "vpc");
	}
	block_info_add_str(info, "subformat", types[p->disk_type]);
	block_info_add_str(info, "creator", p->creator_app);
	block_info_add_bool(info, "size from geometry", p->size_from_chs);
	block_info_add_int(info, "cylinders", p->cylinders);
	block_info_add_int(info, "heads", p->heads);
	block_info_add_int(info, "sectors per track", p->sectors_per_track);
	return 0;
}

const struct block_driver block_driver_vpc = {
	.name = "vpc",
	.read_only = true,
	.probe = vpc_probe,
	.open = vpc_open,
	.close = vpc_close,
	.submit = vpc_submit,
	.info = vpc_info,
	.block_status = vpc_block_status,
};
