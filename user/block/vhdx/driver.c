/* VHDX block driver: binds the read-only VHDX parser (MS-VHDX v1.0) to block.h, opens
 * the parent of a differencing file from its parent locator (2.6.2.6). */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "block/block.h"
#include "block/vhdx/vhdx.h"
#include "lib/log.h"

extern const struct block_driver block_driver_vhdx;

static int vhdx_drv_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
	struct block_dev *bd = opaque;

	return block_file_pread(bd->file, buf, len, off);
}

static int vhdx_drv_parent(void *opaque, void *buf, size_t len, uint64_t off)
{
	struct block_dev *bd = opaque;

	return block_read_backing(bd->backing, off, buf, len);
}

static int vhdx_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return len >= 8 && !memcmp(buf, "vhdxfile", 8) ? 100 : 0;
}

/* The parent must be the file the child was made from: its DataWriteGuid is the
 * child's parent_linkage (or parent_linkage2). */
static bool vhdx_parent_matches(struct vhdx_image *v, struct block_dev *parent)
{
	struct vhdx_image *pv;
	char guid[39];

	if (parent->drv != &block_driver_vhdx)
		return false;
	pv = parent->opaque;
	vhdx_guid_format(pv->hdr.data_write_guid, guid);
	return !strcasecmp(guid, v->parent_linkage) ||
	       (v->parent_linkage2[0] && !strcasecmp(guid, v->parent_linkage2));
}

static int vhdx_open_parent(struct block_dev *bd, struct vhdx_image *v)
{
	const char *paths[] = { v->parent_relative, v->parent_absolute, v->parent_volume };
	int ret = -ENOENT;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!paths[i][0])
			continue;
		ret = block_open_backing(bd, paths[i], "vhdx");
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		if (!bd->backing)
			return 0;	/* no_backing */
		if (vhdx_parent_matches(v, bd->backing))
			return 0;
		log_err("%s: VHDX parent %s is not the one this file was made from (linkage %s)",
			bd->filename, paths[i], v->parent_linkage);
		block_close(bd->backing);
		bd->backing = NULL;
		return -EINVAL;
	}
	log_err("%s: VHDX parent not found (relative_path \"%s\", absolute_win32_path \"%s\")",
		bd->filename, v->parent_relative, v->parent_absolute);
	return ret;
}

static int vhdx_open(struct block_dev *bd, const struct block_open_opts *opts)
{
	struct vhdx_image *v;
	int64_t size = block_file_size(bd->file);
	int ret;

	if (size < 0)
		return (int)size;
	if (!bd->read_only) {
		log_err("%s: VHDX images are read-only in keel", bd->filename);
		return -EROFS;
	}
	ret = vhdx_image_open(&v, bd->filename, vhdx_drv_pread, bd, (uint64_t)size);
	if (ret)
		return ret;
	bd->opaque = v;
	bd->size = v->virtual_size;
	if (v->has_parent) {
		ret = vhdx_open_parent(bd, v);
		if (ret) {
			bd->opaque = NULL;
			vhdx_image_close(v);
			return ret;
		}
	}
	return 0;
}

static void vhdx_close(struct block_dev *bd)
{
	vhdx_image_close(bd->opaque);
	bd->opaque = NULL;
}

/* Reads are served synchronously on the owner thread: the format is read-only and
 * not on the data path's fast lane; metadata is in memory, data is one pread each. */
static int vhdx_drv_read(struct block_dev *bd, void *buf, size_t len, uint64_t off)
{
	return vhdx_image_read(bd->opaque, buf, len, off, vhdx_drv_parent, bd);
}

static void vhdx_submit(struct block_dev *bd, struct block_req *req)
{
	block_submit_read_only_sync(bd, req, vhdx_drv_read);
}

static int vhdx_block_status(struct block_dev *bd, uint64_t offset, uint64_t len,
			     uint64_t *pnum, uint64_t *map)
{
	uint64_t fo = 0;
	int kind;

	kind = vhdx_image_map(bd->opaque, offset, len, pnum, &fo);
	switch (kind) {
	case VHDX_MAP_DATA:
		if (map)
			*map = fo;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	case VHDX_MAP_LOGGED:
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	case VHDX_MAP_ZERO:
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
	case VHDX_MAP_PARENT:
		return 0;
	}
	return kind;
}

static int vhdx_info(struct block_dev *bd, struct block_info *info)
{
	struct vhdx_image *v = bd->opaque;
	const char *parent = v->parent_relative[0] ? v->parent_relative :
			     v->parent_absolute[0] ? v->parent_absolute : v->parent_volume;

	info->cluster_size = v->block_size;
	info->dirty = v->log_replayed_seq != 0;
	if (v->has_parent) {
		snprintf(info->backing_file, sizeof(info->backing_file), "%s", parent);
		snprintf(info->backing_fmt, sizeof(info->backing_fmt), "vhdx");
	}
	block_info_add_int(info, "block size", v->block_size);
	block_info_add_int(info, "logical sector size", v->logical_sector_size);
	block_info_add_int(info, "physical sector size", v->physical_sector_size);
	block_info_add_bool(info, "leave blocks allocated", v->leave_blocks_allocated);
	block_info_add_bool(info, "differencing", v->has_parent);
	block_info_add_bool(info, "log replayed", v->log_replayed_seq != 0);
	return 0;
}

static int vhdx_check(struct block_dev *bd, struct block_check_result *res, unsigned int fix)
{
	struct vhdx_image *v = bd->opaque;

	/* open has checked every BAT entry against the file; count what is there */
	for (uint64_t b = 0; b < v->payload_blocks; b++) {
		unsigned int st = v->bat[b + b / v->chunk_ratio] & 7;
		uint64_t end = (v->bat[b + b / v->chunk_ratio] >> 20) * VHDX_MIB + v->block_size;

		res->total_clusters++;
		if (st == VHDX_PAYLOAD_FULLY_PRESENT || st == VHDX_PAYLOAD_PARTIALLY_PRESENT) {
			res->allocated_clusters++;
			if (end > res->image_end_offset)
				res->image_end_offset = end;
		}
	}
	return fix ? -EROFS : 0;
}

const struct block_driver block_driver_vhdx = {
	.name = "vhdx",
	.read_only = true,
	.probe = vhdx_probe,
	.open = vhdx_open,
	.close = vhdx_close,
	.submit = vhdx_submit,
	.info = vhdx_info,
	.check = vhdx_check,
	.block_status = vhdx_block_status,
};
