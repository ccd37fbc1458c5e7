/* VHDX headers (MS-VHDX 2.2.2: two copies, CRC-32C, the higher sequence number wins)
 * and region tables (2.2.3: BAT and metadata regions, required unknown regions). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/vhdx/vhdx.h"
#include "lib/crc32c.h"
#include "lib/log.h"

/* GUIDs in on-disk byte order (Data1..3 little endian). */
#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }

static const uint8_t vhdx_bat_guid[16] =
	VHDX_GUID(0x2DC27766, 0xF623, 0x4200, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08);
static const uint8_t vhdx_meta_guid[16] =
	VHDX_GUID(0x8B7CA206, 0x4790, 0x4B9A, 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E);

static bool vhdx_crc_ok(uint8_t *buf, size_t len)
{
	uint32_t stored = vhdx_le32(buf + 4);
	uint32_t crc;

	memset(buf + 4, 0, 4);
	crc = crc32c(0, buf, len);
	buf[4] = stored;
	buf[5] = stored >> 8;
	buf[6] = stored >> 16;
	buf[7] = stored >> 24;
	return crc == stored;
}

/* 0 and *h filled when header copy idx (1, 2) is usable; -EINVAL with a reason. */
static int vhdx_header_parse(struct vhdx_image *v, int idx, struct vhdx_header *h,
			     const char **why)
{
	uint8_t buf[VHDX_HEADER_SIZE];
	uint64_t off = idx == 1 ? VHDX_HEADER1_OFFSET : VHDX_HEADER2_OFFSET;
	int ret;

	ret = v->pread(v->opaque, buf, sizeof(buf), off);
	if (ret < 0)
		return ret;
	*why = NULL;
	if (memcmp(buf, "head", 4))
		*why = "bad signature";
	else if (!vhdx_crc_ok(buf, sizeof(buf)))
		*why = "bad checksum";
	else if (vhdx_le16(buf + 66) != 1)
		*why = "unsupported version";
	if (*why)
		return -EINVAL;
	h->seq = vhdx_le64(buf + 8);
	memcpy(h->file_write_guid, buf + 16, 16);
	memcpy(h->data_write_guid, buf + 32, 16);
	memcpy(h->log_guid, buf + 48, 16);
	h->log_length = vhdx_le32(buf + 68);
	h->log_offset = vhdx_le64(buf + 72);
	return 0;
}

int vhdx_header_load(struct vhdx_image *v)
{
	struct vhdx_header h1, h2;
	const char *why1 = NULL, *why2 = NULL;
	int r1, r2;
	static const uint8_t zero[16];

	r1 = vhdx_header_parse(v, 1, &h1, &why1);
	r2 = vhdx_header_parse(v, 2, &h2, &why2);
	if ((r1 && !why1) || (r2 && !why2))
		return r1 ? r1 : r2;
	if (r1 && r2) {
		log_err("%s: both VHDX headers are invalid (1: %s, 2: %s)", v->name, why1, why2);
		return -EINVAL;
	}
	if (!r1 && (r2 || h1.seq >= h2.seq)) {
		v->hdr = h1;
		v->hdr_index = 1;
	} else {
		v->hdr = h2;
		v->hdr_index = 2;
	}
	if (memcmp(v->hdr.log_guid, zero, 16)) {
		if (v->hdr.log_length == 0 || v->hdr.log_length % VHDX_MIB ||
		    v->hdr.log_offset < VHDX_MIB || v->hdr.log_offset % VHDX_MIB ||
		    v->hdr.log_offset > v->file_size ||
		    v->hdr.log_length > v->file_size - v->hdr.log_offset) {
			log_err("%s: log of %u bytes at %llu is misaligned or beyond end of file",
				v->name, v->hdr.log_length,
				(unsigned long long)v->hdr.log_offset);
			return -EINVAL;
		}
	}
	return 0;
}

static bool vhdx_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int vhdx_region_parse(struct vhdx_image *v, uint8_t *buf, const char **why)
{
	uint32_t count;
	bool have_bat = false, have_meta = false;
	static const uint8_t zero[16];

	*why = NULL;
	if (memcmp(buf, "regi", 4)) {
		*why = "bad signature";
		return -EINVAL;
	}
	if (!vhdx_crc_ok(buf, VHDX_REGION_TABLE_SIZE)) {
		*why = "bad checksum";
		return -EINVAL;
	}
	count = vhdx_le32(buf + 8);
	if (count > VHDX_REGION_MAX_ENTRIES) {
		*why = "too many entries";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = buf + 16 + 32 * i;
		uint64_t off = vhdx_le64(e + 16);
		uint32_t len = vhdx_le32(e + 24);
		bool required = vhdx_le32(e + 28) & 1;

		for (uint32_t j = 0; j < i; j++) {
			if (!memcmp(e, buf + 16 + 32 * j, 16)) {
				*why = "duplicate region";
				return -EINVAL;
			}
		}
		if (off < VHDX_MIB || off % VHDX_MIB || len == 0 || len % VHDX_MIB ||
		    off > v->file_end || len > v->file_end - off) {
			*why = "region misaligned or beyond end of file";
			return -EINVAL;
		}
		if (memcmp(v->hdr.log_guid, zero, 16) &&
		    vhdx_ranges_overlap(off, len, v->hdr.log_offset, v->hdr.log_length)) {
			*why = "region overlaps the log";
			return -EINVAL;
		}
		if (!memcmp(e, vhdx_bat_guid, 16)) {
			have_bat = true;
			v->bat_offset = off;
			v->bat_length = len;
		} else if (!memcmp(e, vhdx_meta_guid, 16)) {
			have_meta = true;
			v->meta_offset = off;
			v->meta_length = len;
		} else if (required) {
			*why = "unknown required region";
			return -EINVAL;
		}
	}
	if (!have_bat || !have_meta) {
		*why = "BAT or metadata region missing";
		return -EINVAL;
	}
	if (vhdx_ranges_overlap(v->bat_offset, v->bat_length, v->meta_offset, v->meta_length)) {
		*why = "BAT and metadata regions overlap";
		return -EINVAL;
	}
	return 0;
}

/* The first region table is authoritative; the second is its copy (2.2.3). */
int vhdx_region_load(struct vhdx_image *v)
{
	uint8_t *buf;
	const char *why1, *why2;
	int ret;

	buf = malloc(VHDX_REGION_TABLE_SIZE);
	if (!buf)
		return -ENOMEM;
	ret = vhdx_file_read(v, buf, VHDX_REGION_TABLE_SIZE, VHDX_REGION1_OFFSET);
	if (ret < 0)
		goto out;
	ret = vhdx_region_parse(v, buf, &why1);
	if (ret && why1) {
		ret = vhdx_file_read(v, buf, VHDX_REGION_TABLE_SIZE, VHDX_REGION2_OFFSET);
		if (ret < 0)
			goto out;
		ret = vhdx_region_parse(v, buf, &why2);
		if (ret && why2)
			log_err("%s: both VHDX region tables are invalid (1: %s, 2: %s)",
				v->name, why1, why2);
		else if (!ret)
			log_warn("%s: first VHDX region table invalid (%s), using the copy",
				 v->name, why1);
	}
out:
	free(buf);
	return ret;
}
