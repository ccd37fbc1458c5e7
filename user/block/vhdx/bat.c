/* VHDX block allocation table (MS-VHDX 2.5: payload and sector bitmap entries
 * interleaved by the chunk ratio, block states) and the read path built on it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/vhdx/vhdx.h"
#include "lib/log.h"

static uint64_t vhdx_div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t vhdx_block_bytes(const struct vhdx_image *v, uint64_t block)
{
	uint64_t start = block * v->block_size;

	return v->virtual_size - start < v->block_size ? v->virtual_size - start : v->block_size;
}

static int vhdx_bat_check(struct vhdx_image *v)
{
	for (uint64_t i = 0; i < v->bat_entries; i++) {
		uint64_t e = v->bat[i];
		unsigned int state = e & 7;
		uint64_t fo = (e >> 20) * VHDX_MIB, need;
		bool sb = i % (v->chunk_ratio + 1) == v->chunk_ratio;
		uint64_t block = i - i / (v->chunk_ratio + 1);

		if (sb) {
			if (state != VHDX_SB_NOT_PRESENT && state != VHDX_SB_PRESENT)
				goto bad_state;
			if (state != VHDX_SB_PRESENT)
				continue;
			need = VHDX_MIB;
		} else {
			if (block >= v->payload_blocks)
				continue;	/* padding entry of the last chunk */
			switch (state) {
			case VHDX_PAYLOAD_NOT_PRESENT:
			case VHDX_PAYLOAD_UNDEFINED:
			case VHDX_PAYLOAD_ZERO:
			case VHDX_PAYLOAD_UNMAPPED:
				continue;
			case VHDX_PAYLOAD_PARTIALLY_PRESENT:
				if (!v->has_parent)
					goto bad_state;
				break;
			case VHDX_PAYLOAD_FULLY_PRESENT:
				break;
			default:
				goto bad_state;
			}
			need = vhdx_block_bytes(v, block);
		}
		if (fo < VHDX_MIB || fo > v->file_end || need > v->file_end - fo) {
			log_err("%s: VHDX BAT entry %llu points to %llu, outside the file",
				v->name, (unsigned long long)i, (unsigned long long)fo);
			return -EINVAL;
		}
		continue;
bad_state:
		log_err("%s: VHDX BAT entry %llu has invalid state %u", v->name,
			(unsigned long long)i, state);
		return -EINVAL;
	}
	return 0;
}

int vhdx_bat_load(struct vhdx_image *v)
{
	uint64_t bytes;
	int ret;

	v->chunk_ratio = ((uint64_t)1 << 23) * v->logical_sector_size / v->block_size;
	v->payload_blocks = vhdx_div_up(v->virtual_size, v->block_size);
	v->sb_blocks = vhdx_div_up(v->payload_blocks, v->chunk_ratio);
	if (v->has_parent)
		v->bat_entries = v->sb_blocks * (v->chunk_ratio + 1);
	else if (v->payload_blocks)
		v->bat_entries = v->payload_blocks + (v->payload_blocks - 1) / v->chunk_ratio;
	else
		v->bat_entries = 0;
	bytes = v->bat_entries * 8;
	if (bytes > v->bat_length) {
		log_err("%s: VHDX BAT region of %u bytes is too small for %llu entries",
			v->name, v->bat_length, (unsigned long long)v->bat_entries);
		return -EINVAL;
	}
	if (bytes > VHDX_BAT_MAX_BYTES) {
		log_err("%s: VHDX BAT of %llu bytes is larger than keel loads (%llu)", v->name,
			(unsigned long long)bytes, (unsigned long long)VHDX_BAT_MAX_BYTES);
		return -EFBIG;
	}
	v->bat = malloc(bytes ? bytes : 8);
	if (!v->bat)
		return -ENOMEM;
	ret = vhdx_file_read(v, v->bat, bytes, v->bat_offset);
	if (ret < 0)
		return ret;
	for (uint64_t i = 0; i < v->bat_entries; i++)
		v->bat[i] = vhdx_le64((const uint8_t *)&v->bat[i]);
	return vhdx_bat_check(v);
}

static bool vhdx_logged(const struct vhdx_image *v, uint64_t off, uint64_t len)
{
	for (unsigned int i = 0; i < v->log_nwrites; i++) {
		const struct vhdx_log_write *w = &v->log_writes[i];

		if (off < w->offset + w->length && w->offset < off + len)
			return true;
	}
	return false;
}

/* Run of sectors with the same sector-bitmap bit, starting at in-block offset in. */
static int vhdx_bitmap_run(struct vhdx_image *v, uint64_t block, uint64_t in, uint64_t n,
			   uint64_t *pnum, bool *present)
{
	uint64_t chunk = block / v->chunk_ratio;
	uint64_t e = v->bat[chunk * (v->chunk_ratio + 1) + v->chunk_ratio];
	uint32_t lss = v->logical_sector_size;
	uint64_t spb = v->block_size / lss;
	uint64_t first = (block % v->chunk_ratio) * spb + in / lss;
	uint64_t last = (block % v->chunk_ratio) * spb + (in + n - 1) / lss;
	uint64_t byte0 = first / 8, nbytes = last / 8 - byte0 + 1;
	uint8_t stack[512], *bits = stack;
	uint64_t s;
	int ret;

	if ((e & 7) != VHDX_SB_PRESENT) {
		log_err("%s: VHDX block %llu is partially present but its sector bitmap is not",
			v->name, (unsigned long long)block);
		return -EIO;
	}
	if (nbytes > sizeof(stack)) {
		bits = malloc(nbytes);
		if (!bits)
			return -ENOMEM;
	}
	ret = vhdx_file_read(v, bits, nbytes, (e >> 20) * VHDX_MIB + byte0);
	if (ret == 0) {
		bool bit0 = bits[0] >> (first % 8) & 1;

		for (s = first + 1; s <= last; s++)
			if ((bits[s / 8 - byte0] >> (s % 8) & 1) != bit0)
				break;
		*present = bit0;
		*pnum = (s - first) * lss - in % lss;
		if (*pnum > n)
			*pnum = n;
	}
	if (bits != stack)
		free(bits);
	return ret;
}

int vhdx_image_map(struct vhdx_image *v, uint64_t off, uint64_t len, uint64_t *pnum,
		   uint64_t *file_off)
{
	uint64_t block, in, n, e, fo;
	bool present;
	int ret;

	if (len == 0 || off >= v->virtual_size || len > v->virtual_size - off)
		return -EINVAL;
	block = off / v->block_size;
	in = off % v->block_size;
	n = v->block_size - in < len ? v->block_size - in : len;
	e = v->bat[block + block / v->chunk_ratio];
	fo = (e >> 20) * VHDX_MIB;
	*pnum = n;
	switch (e & 7) {
	case VHDX_PAYLOAD_FULLY_PRESENT:
		break;
	case VHDX_PAYLOAD_PARTIALLY_PRESENT:
		ret = vhdx_bitmap_run(v, block, in, n, pnum, &present);
		if (ret < 0)
			return ret;
		if (!present)
			return VHDX_MAP_PARENT;
		n = *pnum;
		break;
	case VHDX_PAYLOAD_NOT_PRESENT:
		return v->has_parent ? VHDX_MAP_PARENT : VHDX_MAP_ZERO;
	case VHDX_PAYLOAD_UNDEFINED:
		/* no defined content here: a differencing file defers to its parent */
		return v->has_parent ? VHDX_MAP_PARENT : VHDX_MAP_ZERO;
	default:
		return VHDX_MAP_ZERO;
	}
	*file_off = fo + in;
	if (vhdx_logged(v, fo + in, n))
		return VHDX_MAP_LOGGED;
	return VHDX_MAP_DATA;
}

int vhdx_image_read(struct vhdx_image *v, void *buf, size_t len, uint64_t off,
		    vhdx_parent_fn parent, void *parent_opaque)
{
	uint8_t *out = buf;

	if (off > v->virtual_size || len > v->virtual_size - off)
		return -EINVAL;
	while (len) {
		uint64_t pnum, fo = 0;
		int kind, ret = 0;

		kind = vhdx_image_map(v, off, len, &pnum, &fo);
		if (kind < 0)
			return kind;
		switch (kind) {
		case VHDX_MAP_DATA:
		case VHDX_MAP_LOGGED:
			ret = vhdx_file_read(v, out, pnum, fo);
			break;
		case VHDX_MAP_ZERO:
			memset(out, 0, pnum);
			break;
		case VHDX_MAP_PARENT:
			if (parent)
				ret = parent(parent_opaque, out, pnum, off);
			else
				memset(out, 0, pnum);
			break;
		}
		if (ret < 0)
			return ret;
		out += pnum;
		off += pnum;
		len -= pnum;
	}
	return 0;
}
