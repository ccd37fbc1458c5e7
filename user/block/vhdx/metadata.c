/* VHDX metadata region (MS-VHDX 2.6): table, file parameters, virtual disk size,
 * sector sizes, page 83 data and the parent locator of differencing files (2.6.2.6). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/utf16.h"
#include "block/vhdx/vhdx.h"
#include "lib/log.h"

#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }

enum vhdx_meta_item {
	VHDX_META_FILE_PARAMS,
	VHDX_META_DISK_SIZE,
	VHDX_META_PAGE83,
	VHDX_META_LOGICAL_SECTOR,
	VHDX_META_PHYSICAL_SECTOR,
	VHDX_META_PARENT_LOCATOR,
	VHDX_META__COUNT
};

static const struct {
	uint8_t guid[16];
	uint32_t min_len;
	const char *name;
} vhdx_meta_items[VHDX_META__COUNT] = {
	[VHDX_META_FILE_PARAMS] = { VHDX_GUID(0xCAA16737, 0xFA36, 0x4D43, 0xB3, 0xB6,
				    0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B), 8, "file parameters" },
	[VHDX_META_DISK_SIZE] = { VHDX_GUID(0x2FA54224, 0xCD1B, 0x4876, 0xB2, 0x11,
				  0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8), 8, "virtual disk size" },
	[VHDX_META_PAGE83] = { VHDX_GUID(0xBECA12AB, 0xB2E6, 0x4523, 0x93, 0xEF,
			       0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46), 16, "page 83 data" },
	[VHDX_META_LOGICAL_SECTOR] = { VHDX_GUID(0x8141BF1D, 0xA96F, 0x4709, 0xBA, 0x47,
				       0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F), 4,
				       "logical sector size" },
	[VHDX_META_PHYSICAL_SECTOR] = { VHDX_GUID(0xCDA348C7, 0x445D, 0x4471, 0x9C, 0xC9,
					0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56), 4,
					"physical sector size" },
	[VHDX_META_PARENT_LOCATOR] = { VHDX_GUID(0xA8D35F2D, 0xB30B, 0x454D, 0xAB, 0xF7,
				       0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C), 20,
				       "parent locator" },
};

static const uint8_t vhdx_parent_locator_type[16] =
	VHDX_GUID(0xB04AEFB7, 0xD19E, 0x4A81, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13);

#define VHDX_LOCATOR_MAX_KEYS	256

static void vhdx_path_unwin(char *p)
{
	for (; *p; p++)
		if (*p == '\\')
			*p = '/';
}

static int vhdx_meta_parent_locator(struct vhdx_image *v, const uint8_t *item, uint32_t len)
{
	uint16_t count = vhdx_le16(item + 18);
	static const struct {
		const char *key;
		size_t off;
		size_t size;
	} keys[] = {
		{ "parent_linkage", offsetof(struct vhdx_image, parent_linkage), 64 },
		{ "parent_linkage2", offsetof(struct vhdx_image, parent_linkage2), 64 },
		{ "relative_path", offsetof(struct vhdx_image, parent_relative), 1024 },
		{ "absolute_win32_path", offsetof(struct vhdx_image, parent_absolute), 1024 },
		{ "volume_path", offsetof(struct vhdx_image, parent_volume), 1024 },
	};
	bool seen[5] = { false };

	if (memcmp(item, vhdx_parent_locator_type, 16)) {
		log_err("%s: VHDX parent locator of an unknown type", v->name);
		return -ENOTSUP;
	}
	if (count > VHDX_LOCATOR_MAX_KEYS || 20 + 12ull * count > len) {
		log_err("%s: VHDX parent locator has %u entries, more than fit", v->name, count);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = item + 20 + 12 * i;
		uint32_t ko = vhdx_le32(e), vo = vhdx_le32(e + 4);
		uint16_t kl = vhdx_le16(e + 8), vl = vhdx_le16(e + 10);
		char key[64];
		int ret;

		if (ko > len || kl > len - ko || vo > len || vl > len - vo || !kl || !vl) {
			log_err("%s: VHDX parent locator entry %u lies outside the item",
				v->name, i);
			return -EINVAL;
		}
		ret = utf16_to_utf8(item + ko, kl, false, key, sizeof(key));
		if (ret == -ENAMETOOLONG)
			continue;	/* not a key we know */
		if (ret < 0) {
			log_err("%s: VHDX parent locator key %u is not valid UTF-16", v->name, i);
			return -EINVAL;
		}
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			char *dst = (char *)v + keys[k].off;

			if (strcmp(key, keys[k].key))
				continue;
			if (seen[k]) {
				log_err("%s: VHDX parent locator repeats key %s", v->name, key);
				return -EINVAL;
			}
			seen[k] = true;
			ret = utf16_to_utf8(item + vo, vl, false, dst, keys[k].size);
			if (ret < 0) {
				log_err("%s: VHDX parent locator value of %s is invalid", v->name,
					key);
				return -EINVAL;
			}
			vhdx_path_unwin(dst);
		}
	}
	if (!v->parent_linkage[0]) {
		log_err("%s: VHDX parent locator has no parent_linkage", v->name);
		return -EINVAL;
	}
	if (!v->parent_relative[0] && !v->parent_absolute[0] && !v->parent_volume[0]) {
		log_err("%s: VHDX parent locator names no parent path", v->name);
		return -EINVAL;
	}
	return 0;
}

static int vhdx_meta_item_parse(struct vhdx_image *v, int id, const uint8_t *p, uint32_t len)
{
	switch (id) {
	case VHDX_META_FILE_PARAMS: {
		uint32_t flags = vhdx_le32(p + 4);

		v->block_size = vhdx_le32(p);
		v->leave_blocks_allocated = flags & 1;
		v->has_parent = flags & 2;
		if (v->block_size < VHDX_MIB || v->block_size > 256 * VHDX_MIB ||
		    (v->block_size & (v->block_size - 1))) {
			log_err("%s: VHDX block size %u is not a power of two in 1..256 MiB",
				v->name, v->block_size);
			return -EINVAL;
		}
		return 0;
	}
	case VHDX_META_DISK_SIZE:
		v->virtual_size = vhdx_le64(p);
		return 0;
	case VHDX_META_PAGE83:
		memcpy(v->page83, p, 16);
		v->have_page83 = true;
		return 0;
	case VHDX_META_LOGICAL_SECTOR:
	case VHDX_META_PHYSICAL_SECTOR: {
		uint32_t ss = vhdx_le32(p);

		if (ss != 512 && ss != 4096) {
			log_err("%s: VHDX %s %u is neither 512 nor 4096", v->name,
				vhdx_meta_items[id].name, ss);
			return -EINVAL;
		}
		if (id == VHDX_META_LOGICAL_SECTOR)
			v->logical_sector_size = ss;
		else
			v->physical_sector_size = ss;
		return 0;
	}
	case VHDX_META_PARENT_LOCATOR:
		return vhdx_meta_parent_locator(v, p, len);
	}
	return 0;
}

int vhdx_meta_load(struct vhdx_image *v)
{
	uint8_t *table, *item = NULL;
	bool seen[VHDX_META__COUNT] = { false };
	uint16_t count;
	int ret;

	table = malloc(VHDX_METADATA_TABLE_SIZE);
	if (!table)
		return -ENOMEM;
	ret = vhdx_file_read(v, table, VHDX_METADATA_TABLE_SIZE, v->meta_offset);
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	if (memcmp(table, "metadata", 8)) {
		log_err("%s: VHDX metadata table has a bad signature", v->name);
		goto out;
	}
	count = vhdx_le16(table + 10);
	if (count > VHDX_METADATA_MAX_ENTRIES) {
		log_err("%s: VHDX metadata table has %u entries (max %d)", v->name, count,
			VHDX_METADATA_MAX_ENTRIES);
		goto out;
	}
	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *e = table + 32 + 32 * i;
		uint32_t off = vhdx_le32(e + 16), len = vhdx_le32(e + 20);
		uint32_t flags = vhdx_le32(e + 24);
		bool is_user = flags & 1, required = flags & 4;
		int id = -1;

		for (uint16_t j = 0; j < i; j++) {
			const uint8_t *o = table + 32 + 32 * j;

			if (!memcmp(o, e, 16) && (vhdx_le32(o + 24) & 1) == is_user) {
				log_err("%s: VHDX metadata item %u is a duplicate", v->name, i);
				goto out;
			}
		}
		if (len == 0 ? off != 0 :
		    off < VHDX_METADATA_TABLE_SIZE || len > VHDX_METADATA_ITEM_MAX ||
		    off > v->meta_length || len > v->meta_length - off) {
			log_err("%s: VHDX metadata item %u (%u bytes at %u) is outside the region",
				v->name, i, len, off);
			goto out;
		}
		if (!is_user) {
			for (int k = 0; k < VHDX_META__COUNT; k++)
				if (!memcmp(e, vhdx_meta_items[k].guid, 16))
					id = k;
		}
		if (id < 0) {
			if (required) {
				log_err("%s: VHDX metadata item %u is required but unknown to keel",
					v->name, i);
				ret = -ENOTSUP;
				goto out;
			}
			continue;
		}
		if (len < vhdx_meta_items[id].min_len) {
			log_err("%s: VHDX %s item is %u bytes, too short", v->name,
				vhdx_meta_items[id].name, len);
			goto out;
		}
		free(item);
		item = malloc(len);
		if (!item) {
			ret = -ENOMEM;
			goto out;
		}
		ret = vhdx_file_read(v, item, len, v->meta_offset + off);
		if (ret < 0)
			goto out;
		seen[id] = true;
		if (id == VHDX_META_PARENT_LOCATOR) {
			/* parsed below, once has_parent is known */
			ret = 0;
			continue;
		}
		ret = vhdx_meta_item_parse(v, id, item, len);
		if (ret)
			goto out;
		ret = -EINVAL;
	}
	if (!seen[VHDX_META_FILE_PARAMS] || !seen[VHDX_META_DISK_SIZE] ||
	    !seen[VHDX_META_LOGICAL_SECTOR]) {
		log_err("%s: VHDX metadata lacks file parameters, disk size or sector size",
			v->name);
		ret = -EINVAL;
		goto out;
	}
	if (!seen[VHDX_META_PHYSICAL_SECTOR])
		v->physical_sector_size = v->logical_sector_size;
	if (v->virtual_size > VHDX_MAX_VIRTUAL_SIZE ||
	    v->virtual_size % v->logical_sector_size) {
		log_err("%s: VHDX virtual size %llu is above 64 TiB or not a sector multiple",
			v->name, (unsigned long long)v->virtual_size);
		ret = -EINVAL;
		goto out;
	}
	ret = 0;
	if (v->has_parent) {
		/* find the locator again: items are few, this keeps one buffer live */
		ret = -EINVAL;
		for (uint16_t i = 0; i < count; i++) {
			const uint8_t *e = table + 32 + 32 * i;
			uint32_t off = vhdx_le32(e + 16), len = vhdx_le32(e + 20);

			if ((vhdx_le32(e + 24) & 1) ||
			    memcmp(e, vhdx_meta_items[VHDX_META_PARENT_LOCATOR].guid, 16))
				continue;
			free(item);
			item = malloc(len);
			if (!item) {
				ret = -ENOMEM;
				goto out;
			}
			ret = vhdx_file_read(v, item, len, v->meta_offset + off);
			if (ret == 0)
				ret = vhdx_meta_parent_locator(v, item, len);
			goto out;
		}
		log_err("%s: VHDX differencing image without a parent locator", v->name);
	}
out:
	free(item);
	free(table);
	return ret;
}
