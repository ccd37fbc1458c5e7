/* VPC / VHD images, read-only (VHD spec 1.0: "Hard Disk Footer Format", "Dynamic Disk
 * Header Format", "Block Allocation Table and Data Blocks", parent locators). The
 * virtual size follows qemu-img (CHS geometry unless the creator uses current size). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/utf16.h"
#include "block/vpc/vpc.h"
#include "lib/log.h"

static uint32_t vpc_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t vpc_be64(const uint8_t *p)
{
	return (uint64_t)vpc_be32(p) << 32 | vpc_be32(p + 4);
}

uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t checksum_at)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < checksum_at || i >= checksum_at + 4)
			sum += buf[i];
	return ~sum;
}

static bool vpc_footer_valid(const uint8_t *f)
{
	return !memcmp(f, "conectix", 8) &&
	       vpc_checksum(f, VPC_FOOTER_SIZE, 64) == vpc_be32(f + 64);
}

/* The footer is at the end; dynamic disks keep a copy at offset 0, used when the end
 * one is torn. The end copy wins: sector 0 of a fixed disk is guest data, and a guest
 * must not be able to turn its disk into another kind of image. */
static int vpc_footer_load(struct vpc_image *p, uint8_t *f)
{
	bool bad_sum;
	int ret;

	if (p->file_size < VPC_FOOTER_SIZE) {
		log_err("%s: file of %llu bytes is too small for VHD", p->name,
			(unsigned long long)p->file_size);
		return -EINVAL;
	}
	ret = p->pread(p->opaque, f, VPC_FOOTER_SIZE, p->file_size - VPC_FOOTER_SIZE);
	if (ret < 0)
		return ret;
	if (vpc_footer_valid(f))
		return 0;
	bad_sum = !memcmp(f, "conectix", 8);
	ret = p->pread(p->opaque, f, VPC_FOOTER_SIZE, 0);
	if (ret < 0)
		return ret;
	if (vpc_footer_valid(f) && vpc_be32(f + 60) != VPC_TYPE_FIXED) {
		log_warn("%s: VHD footer at the end is damaged, using the copy at the start",
			 p->name);
		return 0;
	}
	if (bad_sum || !memcmp(f, "conectix", 8))
		log_err("%s: VHD footer checksum is wrong", p->name);
	else
		log_err("%s: no VHD footer (\"conectix\") at the start or end", p->name);
	return -EINVAL;
}

static int vpc_footer_parse(struct vpc_image *p, const uint8_t *f)
{
	uint64_t chs, sectors;
	bool use_chs;

	p->disk_type = vpc_be32(f + 60);
	p->current_size = vpc_be64(f + 48);
	p->cylinders = (uint16_t)(f[56] << 8 | f[57]);
	p->heads = f[58];
	p->sectors_per_track = f[59];
	memcpy(p->creator_app, f + 28, 4);
	p->creator_app[4] = '\0';
	memcpy(p->unique_id, f + 68, 16);
	if (p->disk_type != VPC_TYPE_FIXED && p->disk_type != VPC_TYPE_DYNAMIC &&
	    p->disk_type != VPC_TYPE_DIFF) {
		log_err("%s: VHD disk type %u is not fixed, dynamic or differencing", p->name,
			p->disk_type);
		return -ENOTSUP;
	}
	/* Virtual PC and qemu (creator "vpc ", "qemu") size the disk by its geometry;
	 * Hyper-V, disk2vhd, XenServer and qemu with force_size by current_size. */
	chs = (uint64_t)p->cylinders * p->heads * p->sectors_per_track;
	use_chs = memcmp(f + 28, "win ", 4) && memcmp(f + 28, "qem2", 4) &&
		  memcmp(f + 28, "d2v ", 4) && memcmp(f + 28, "CTXS", 4) &&
		  memcmp(f + 28, "tap\0", 4);
	if (!use_chs || chs == VPC_MAX_GEOMETRY) {
		sectors = p->current_size / VPC_SECTOR;
		p->size_from_chs = false;
	} else {
		sectors = chs;
		p->size_from_chs = true;
	}
	if (sectors > VPC_MAX_SECTORS) {
		log_err("%s: VHD of %llu sectors is larger than 2040 GiB", p->name,
			(unsigned long long)sectors);
		return -EFBIG;
	}
	p->virtual_size = sectors * VPC_SECTOR;
	if (p->disk_type == VPC_TYPE_FIXED &&
	    p->virtual_size > p->file_size - VPC_FOOTER_SIZE) {
		log_err("%s: fixed VHD of %llu bytes but only %llu bytes of data in the file",
			p->name, (unsigned long long)p->virtual_size,
			(unsigned long long)(p->file_size - VPC_FOOTER_SIZE));
		return -EINVAL;
	}
	return 0;
}

static void vpc_path_unwin(char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			*s = '/';
}

/* Parent locator entries (VHD spec "Parent Locator Entry"): keep the paths we can use,
 * relative ones first. */
static int vpc_locators_parse(struct vpc_image *p, const uint8_t *h)
{
	static const struct {
		char code[5];
		bool utf16;
	} order[] = { { "W2ru", true }, { "MacX", false }, { "W2ku", true } };

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (int i = 0; i < VPC_PARENT_LOCATORS; i++) {
			const uint8_t *e = h + 576 + 24 * i;
			uint32_t len = vpc_be32(e + 8);
			uint64_t off = vpc_be64(e + 16);
			uint8_t raw[1024];
			char *dst = p->parent_paths[p->nparent_paths];
			int ret;

			if (memcmp(e, order[o].code, 4) || len == 0)
				continue;
			if (len > sizeof(raw) || off > p->file_size || len > p->file_size - off) {
				log_err("%s: VHD parent locator %d (%u bytes at %llu) is too long or past the end",
					p->name, i, len, (unsigned long long)off);
				return -EINVAL;
			}
			ret = p->pread(p->opaque, raw, len, off);
			if (ret < 0)
				return ret;
			if (order[o].utf16) {
				ret = utf16_to_utf8(raw, len, false, dst, 1024);
				if (ret < 0) {
					log_err("%s: VHD parent locator %d is not valid UTF-16",
						p->name, i);
					return -EINVAL;
				}
			} else {
				size_t n = strnlen((const char *)raw, len);

				if (n >= 7 && !memcmp(raw, "file://", 7)) {
					memmove(raw, raw + 7, n - 7);
					n -= 7;
				}
				memcpy(dst, raw, n);
				dst[n] = '\0';
				if (strlen(dst) != n || n == 0)
					continue;
			}
			if (!dst[0])
				continue;
			vpc_path_unwin(dst);
			p->nparent_paths++;
		}
	}
	return 0;
}

static int vpc_dynamic_load(struct vpc_image *p, uint64_t hdr_off)
{
	uint8_t h[VPC_DYN_HEADER_SIZE];
	uint64_t bat_bytes;
	int ret;

	if (hdr_off > p->file_size || VPC_DYN_HEADER_SIZE > p->file_size - hdr_off) {
		log_err("%s: VHD dynamic header offset %llu is beyond end of file", p->name,
			(unsigned long long)hdr_off);
		return -EINVAL;
	}
	ret = p->pread(p->opaque, h, sizeof(h), hdr_off);
	if (ret < 0)
		return ret;
	if (memcmp(h, "cxsparse", 8)) {
		log_err("%s: no VHD dynamic header (\"cxsparse\") at %llu", p->name,
			(unsigned long long)hdr_off);
		return -EINVAL;
	}
	if (vpc_checksum(h, sizeof(h), 36) != vpc_be32(h + 36)) {
		log_err("%s: VHD dynamic header checksum is wrong", p->name);
		return -EINVAL;
	}
	p->bat_offset = vpc_be64(h + 16);
	p->max_table_entries = vpc_be32(h + 28);
	p->block_size = vpc_be32(h + 32);
	memcpy(p->parent_id, h + 40, 16);
	if (p->block_size < VPC_SECTOR || p->block_size > VPC_MAX_BLOCK_SIZE ||
	    (p->block_size & (p->block_size - 1))) {
		log_err("%s: VHD block size %u is not a power of two in 512 B..256 MiB",
			p->name, p->block_size);
		return -EINVAL;
	}
	p->bitmap_size = (p->block_size / VPC_SECTOR / 8 + VPC_SECTOR - 1) /
			 VPC_SECTOR * VPC_SECTOR;
	if ((uint64_t)p->max_table_entries * p->block_size < p->virtual_size) {
		log_err("%s: VHD BAT of %u entries of %u bytes cannot cover %llu bytes",
			p->name, p->max_table_entries, p->block_size,
			(unsigned long long)p->virtual_size);
		return -EINVAL;
	}
	/* entries past the end of the disk are never used: do not load them */
	if (p->max_table_entries > (p->virtual_size + p->block_size - 1) / p->block_size)
		p->max_table_entries = (p->virtual_size + p->block_size - 1) / p->block_size;
	bat_bytes = (uint64_t)p->max_table_entries * 4;
	if (bat_bytes > VPC_BAT_MAX_BYTES) {
		log_err("%s: VHD BAT of %llu bytes is larger than keel loads (%u)", p->name,
			(unsigned long long)bat_bytes, VPC_BAT_MAX_BYTES);
		return -EFBIG;
	}
	if (p->bat_offset > p->file_size || bat_bytes > p->file_size - p->bat_offset) {
		log_err("%s: VHD BAT (%llu bytes at %llu) is beyond end of file", p->name,
			(unsigned long long)bat_bytes, (unsigned long long)p->bat_offset);
		return -EINVAL;
	}
	p->bat = malloc(bat_bytes ? bat_bytes : 4);
	if (!p->bat)
		return -ENOMEM;
	ret = p->pread(p->opaque, p->bat, bat_bytes, p->bat_offset);
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < p->max_table_entries; i++) {
		uint32_t s = vpc_be32((const uint8_t *)&p->bat[i]);
		uint64_t start = (uint64_t)i * p->block_size, need;

		p->bat[i] = s;
		if (s == VPC_BAT_UNUSED || start >= p->virtual_size)
			continue;
		need = p->virtual_size - start < p->block_size ? p->virtual_size - start :
								 p->block_size;
		need += p->bitmap_size;
		if ((uint64_t)s * VPC_SECTOR > p->file_size ||
		    need > p->file_size - (uint64_t)s * VPC_SECTOR) {
			log_err("%s: VHD block %u at sector %u is beyond end of file", p->name,
				i, s);
			return -EINVAL;
		}
	}
	if (p->disk_type != VPC_TYPE_DIFF)
		return 0;
	ret = utf16_to_utf8(h + 64, 512, true, p->parent_name, sizeof(p->parent_name));
	if (ret < 0) {
		log_err("%s: VHD parent name is not valid UTF-16", p->name);
		return -EINVAL;
	}
	ret = vpc_locators_parse(p, h);
	if (ret)
		return ret;
	if (p->nparent_paths == 0 && !p->parent_name[0]) {
		log_err("%s: differencing VHD names no parent", p->name);
		return -EINVAL;
	}
	return 0;
}

int vpc_image_open(struct vpc_image **out, const char *name, vpc_pread_fn pread,
		   void *opaque, uint64_t file_size)
{
	uint8_t f[VPC_FOOTER_SIZE];
	struct vpc_image *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "vpc");
	p->pread = pread;
	p->opaque = opaque;
	p->file_size = file_size;
	ret = vpc_footer_load(p, f);
	if (!ret)
		ret = vpc_footer_parse(p, f);
	if (!ret && p->disk_type != VPC_TYPE_FIXED)
		ret = vpc_dynamic_load(p, vpc_be64(f + 16));
	if (ret) {
		vpc_image_close(p);
		return ret;
	}
	*out = p;
	return 0;
}

void vpc_image_close(struct vpc_image *p)
{
	if (!p)
		return;
	free(p->bat);
	free(p);
}

/* Sectors of a differencing block with the same bitmap bit (MSB first per byte). */
static int vpc_bitmap_run(struct vpc_image *p, uint64_t bitmap_off, uint64_t in, uint64_t n,
			  uint64_t *pnum, bool *present)
{
	uint64_t first = in / VPC_SECTOR, last = (in + n - 1) / VPC_SECTOR;
	uint64_t byte0 = first / 8, nbytes = last / 8 - byte0 + 1;
	uint8_t stack[512], *bits = stack;
	uint64_t s;
	int ret;

	if (nbytes > sizeof(stack)) {
		bits = malloc(nbytes);
		if (!bits)
			return -ENOMEM;
	}
	ret = p->pread(p->opaque, bits, nbytes, bitmap_off + byte0);
	if (ret == 0) {
		bool bit0 = bits[0] >> (7 - first % 8) & 1;

		for (s = first + 1; s <= last; s++)
			if ((bits[s / 8 - byte0] >> (7 - s % 8) & 1) != bit0)
				break;
		*present = bit0;
		*pnum = (s - first) * VPC_SECTOR - in % VPC_SECTOR;
		if (*pnum > n)
			*pnum = n;
	}
	if (bits != stack)
		free(bits);
	return ret;
}

int vpc_image_map(struct vpc_image *p, uint64_t off, uint64_t len, uint64_t *pnum,
		  uint64_t *file_off)
{
	uint64_t block, in, n, base;
	bool present;
	int ret;

	if (len == 0 || off >= p->virtual_size || len > p->virtual_size - off)
		return -EINVAL;
	if (p->disk_type == VPC_TYPE_FIXED) {
		*pnum = len;
		*file_off = off;
		return VPC_MAP_DATA;
	}
	block = off / p->block_size;
	in = off % p->block_size;
	n = p->block_size - in < len ? p->block_size - in : len;
	*pnum = n;
	if (block >= p->max_table_entries || p->bat[block] == VPC_BAT_UNUSED)
		return p->disk_type == VPC_TYPE_DIFF ? VPC_MAP_PARENT : VPC_MAP_ZERO;
	base = (uint64_t)p->bat[block] * VPC_SECTOR;
	if (p->disk_type == VPC_TYPE_DIFF) {
		/* like qemu-img, a dynamic disk's allocated block is read whole; only a
		 * differencing disk needs the bitmap to tell its sectors from the parent's */
		ret = vpc_bitmap_run(p, base, in, n, pnum, &present);
		if (ret < 0)
			return ret;
		if (!present)
			return VPC_MAP_PARENT;
	}
	*file_off = base + p->bitmap_size + in;
	return VPC_MAP_DATA;
}

int vpc_image_read(struct vpc_image *p, void *buf, size_t len, uint64_t off,
		   vpc_parent_fn parent, void *parent_opaque)
{
	uint8_t *out = buf;

	if (off > p->virtual_size || len > p->virtual_size - off)
		return -EINVAL;
	while (len) {
		uint64_t pnum, fo = 0;
		int kind, ret = 0;

		kind = vpc_image_map(p, off, len, &pnum, &fo);
		if (kind < 0)
			return kind;
		if (kind == VPC_MAP_DATA)
			ret = p->pread(p->opaque, out, pnum, fo);
		else if (kind == VPC_MAP_PARENT && parent)
			ret = parent(parent_opaque, out, pnum, off);
		else
			memset(out, 0, pnum);
		if (ret < 0)
			return ret;
		out += pnum;
		off += pnum;
		len -= pnum;
	}
	return 0;
}
