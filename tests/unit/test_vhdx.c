/* Unit tests for the VHDX parser (user/block/vhdx/, MS-VHDX v1.0): images built in
 * memory, good and hostile: headers, region tables, metadata, BAT states, log replay,
 * differencing sector bitmaps and parent locators. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "block/vhdx/vhdx.h"
#include "lib/crc32c.h"

#define MIB		(1u << 20)
#define IMG_SIZE	(8u * MIB)
#define BAT_OFF		(2u * MIB)
#define META_OFF	(3u * MIB)
#define LOG_OFF		(1u * MIB)

#define GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) { \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }

static const uint8_t g_bat[16] =
	GUID(0x2DC27766, 0xF623, 0x4200, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08);
static const uint8_t g_meta[16] =
	GUID(0x8B7CA206, 0x4790, 0x4B9A, 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E);
static const uint8_t g_fp[16] =
	GUID(0xCAA16737, 0xFA36, 0x4D43, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B);
static const uint8_t g_vds[16] =
	GUID(0x2FA54224, 0xCD1B, 0x4876, 0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8);
static const uint8_t g_lss[16] =
	GUID(0x8141BF1D, 0xA96F, 0x4709, 0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F);
static const uint8_t g_pss[16] =
	GUID(0xCDA348C7, 0x445D, 0x4471, 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56);
static const uint8_t g_pl[16] =
	GUID(0xA8D35F2D, 0xB30B, 0x454D, 0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C);
static const uint8_t g_pl_type[16] =
	GUID(0xB04AEFB7, 0xD19E, 0x4A81, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13);
static const uint8_t g_log[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct img {
	uint8_t *b;
	size_t size;
};

static int mem_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
	struct img *im = opaque;
	size_t n = 0;

	if (off < im->size) {
		n = im->size - off < len ? im->size - off : len;
		memcpy(buf, im->b + off, n);
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static void set_crc(uint8_t *p, size_t len)
{
	memset(p + 4, 0, 4);
	put32(p + 4, crc32c(0, p, len));
}

static void set_headers(struct img *im, const uint8_t *log_guid)
{
	for (int i = 0; i < 2; i++) {
		uint8_t *h = im->b + (i ? 128 : 64) * 1024;

		memset(h, 0, 4096);
		memcpy(h, "head", 4);
		put64(h + 8, i + 1);
		memset(h + 32, 0xa0 + i, 16);	/* data write guid */
		if (log_guid)
			memcpy(h + 48, log_guid, 16);
		put16(h + 66, 1);
		put32(h + 68, MIB);
		put64(h + 72, LOG_OFF);
		set_crc(h, 4096);
	}
}

static void set_regions(struct img *im, const uint8_t *extra_required)
{
	uint8_t *r = im->b + 192 * 1024;

	memset(r, 0, 65536);
	memcpy(r, "regi", 4);
	put32(r + 8, extra_required ? 3 : 2);
	memcpy(r + 16, g_bat, 16);
	put64(r + 32, BAT_OFF);
	put32(r + 40, MIB);
	put32(r + 44, 1);
	memcpy(r + 48, g_meta, 16);
	put64(r + 64, META_OFF);
	put32(r + 72, MIB);
	put32(r + 76, 1);
	if (extra_required) {
		memcpy(r + 80, extra_required, 16);
		put64(r + 96, 7 * MIB);
		put32(r + 104, MIB);
		put32(r + 108, 1);
	}
	set_crc(r, 65536);
	memcpy(im->b + 256 * 1024, r, 65536);
}

static void meta_entry(uint8_t *m, int i, const uint8_t *guid, uint32_t off, uint32_t len,
		       uint32_t flags)
{
	uint8_t *e = m + 32 + 32 * i;

	memcpy(e, guid, 16);
	put32(e + 16, off);
	put32(e + 20, len);
	put32(e + 24, flags);
	put16(m + 10, i + 1);
}

/* UTF-16LE of an ASCII string at p; returns its byte length. */
static uint16_t utf16(uint8_t *p, const char *s)
{
	uint16_t n = 0;

	for (; *s; s++, n += 2)
		put16(p + n, (uint8_t)*s);
	return n;
}

static void set_parent_locator(uint8_t *m, int idx)
{
	uint8_t *pl = m + 65536 + 1024;
	static const char *const kv[][2] = {
		{ "parent_linkage", "{A0A0A0A0-A0A0-A0A0-A0A0-A0A0A0A0A0A0}" },
		{ "relative_path", ".\\base.vhdx" },
		{ "absolute_win32_path", "C:\\vm\\base.vhdx" },
	};
	uint32_t pos = 20 + 12 * 3;

	memcpy(pl, g_pl_type, 16);
	put16(pl + 18, 3);
	for (int i = 0; i < 3; i++) {
		uint8_t *e = pl + 20 + 12 * i;
		uint16_t kl, vl;

		kl = utf16(pl + pos, kv[i][0]);
		put32(e, pos);
		put16(e + 8, kl);
		pos += kl;
		vl = utf16(pl + pos, kv[i][1]);
		put32(e + 4, pos);
		put16(e + 10, vl);
		pos += vl;
	}
	meta_entry(m, idx, g_pl, 65536 + 1024, pos, 4);
}

/* A 4 MiB disk, 1 MiB blocks, 512 B sectors; BAT all NOT_PRESENT. */
static struct img *img_new(bool diff)
{
	struct img *im = calloc(1, sizeof(*im));
	uint8_t *m;

	im->size = IMG_SIZE;
	im->b = calloc(1, IMG_SIZE);
	memcpy(im->b, "vhdxfile", 8);
	set_headers(im, NULL);
	set_regions(im, NULL);
	m = im->b + META_OFF;
	memcpy(m, "metadata", 8);
	meta_entry(m, 0, g_fp, 65536, 8, 4);
	put32(m + 65536, MIB);
	put32(m + 65536 + 4, diff ? 2 : 0);
	meta_entry(m, 1, g_vds, 65536 + 8, 8, 4);
	put64(m + 65536 + 8, 4 * MIB);
	meta_entry(m, 2, g_lss, 65536 + 16, 4, 4);
	put32(m + 65536 + 16, 512);
	meta_entry(m, 3, g_pss, 65536 + 20, 4, 4);
	put32(m + 65536 + 20, 4096);
	if (diff)
		set_parent_locator(m, 4);
	return im;
}

static void img_free(struct img *im)
{
	free(im->b);
	free(im);
}

static void bat_set(struct img *im, uint64_t idx, uint64_t mb, unsigned int state)
{
	put64(im->b + BAT_OFF + 8 * idx, mb << 20 | state);
}

static int img_open(struct img *im, struct vhdx_image **v)
{
	return vhdx_image_open(v, "test.vhdx", mem_pread, im, im->size);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static int parent_ee(void *opaque, void *buf, size_t len, uint64_t off)
{
	memset(buf, 0xee, len);
	return 0;
}

static void test_vhdx_block_states(void **state)
{
	struct img *im = img_new(false);
	struct vhdx_image *v;
	uint8_t *buf = malloc(4 * MIB);

	memset(im->b + 4 * MIB, 0x11, MIB);
	memset(im->b + 5 * MIB, 0x22, MIB);
	memset(im->b + 6 * MIB, 0x33, MIB);
	bat_set(im, 0, 4, VHDX_PAYLOAD_FULLY_PRESENT);
	bat_set(im, 1, 5, VHDX_PAYLOAD_ZERO);	/* stale data in the file: must read 0 */
	bat_set(im, 2, 0, VHDX_PAYLOAD_NOT_PRESENT);
	bat_set(im, 3, 6, VHDX_PAYLOAD_FULLY_PRESENT);
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->hdr_index, 2);	/* higher sequence number */
	assert_int_equal(v->virtual_size, 4 * MIB);
	assert_int_equal(v->chunk_ratio, 4096);
	assert_int_equal(v->physical_sector_size, 4096);
	assert_int_equal(vhdx_image_read(v, buf, 4 * MIB, 0, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, MIB, 0x11));
	assert_true(all_bytes(buf + MIB, 2 * MIB, 0));	/* no parent: never 0xee */
	assert_true(all_bytes(buf + 3 * MIB, MIB, 0x33));
	/* unaligned read across a block boundary */
	assert_int_equal(vhdx_image_read(v, buf, 1000, MIB - 500, NULL, NULL), 0);
	assert_true(all_bytes(buf, 500, 0x11) && all_bytes(buf + 500, 500, 0));
	/* beyond the disk */
	assert_int_equal(vhdx_image_read(v, buf, 512, 4 * MIB, NULL, NULL), -EINVAL);
	vhdx_image_close(v);
	img_free(im);
	free(buf);
}

static void test_vhdx_headers(void **state)
{
	struct img *im = img_new(false);
	struct vhdx_image *v;

	im->b[128 * 1024 + 100] ^= 1;	/* header 2 checksum breaks */
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->hdr_index, 1);
	vhdx_image_close(v);
	im->b[64 * 1024 + 100] ^= 1;
	assert_int_equal(img_open(im, &v), -EINVAL);
	set_headers(im, NULL);
	memcpy(im->b, "vhdxfilf", 8);
	assert_int_equal(img_open(im, &v), -EINVAL);
	memcpy(im->b, "vhdxfile", 8);
	im->size = MIB - 1;
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);
}

static void test_vhdx_regions(void **state)
{
	static const uint8_t unknown[16] = { 0x42 };
	struct img *im = img_new(false);
	struct vhdx_image *v;

	im->b[192 * 1024 + 200] ^= 1;	/* region table 1 corrupt: copy is used */
	assert_int_equal(img_open(im, &v), 0);
	vhdx_image_close(v);
	im->b[256 * 1024 + 200] ^= 1;
	assert_int_equal(img_open(im, &v), -EINVAL);
	set_regions(im, unknown);
	assert_int_equal(img_open(im, &v), -EINVAL);
	/* BAT region beyond end of file */
	set_regions(im, NULL);
	put64(im->b + 192 * 1024 + 32, 64ull * MIB);
	set_crc(im->b + 192 * 1024, 65536);
	memcpy(im->b + 256 * 1024, im->b + 192 * 1024, 65536);
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);
}

static void test_vhdx_bat_hostile(void **state)
{
	struct img *im = img_new(false);
	struct vhdx_image *v;

	bat_set(im, 0, 100, VHDX_PAYLOAD_FULLY_PRESENT);	/* beyond EOF */
	assert_int_equal(img_open(im, &v), -EINVAL);
	bat_set(im, 0, 0, VHDX_PAYLOAD_FULLY_PRESENT);		/* over the headers */
	assert_int_equal(img_open(im, &v), -EINVAL);
	bat_set(im, 0, 4, 4);					/* reserved state */
	assert_int_equal(img_open(im, &v), -EINVAL);
	bat_set(im, 0, 4, VHDX_PAYLOAD_PARTIALLY_PRESENT);	/* only with a parent */
	assert_int_equal(img_open(im, &v), -EINVAL);
	bat_set(im, 0, 7, VHDX_PAYLOAD_FULLY_PRESENT);		/* last MiB: fits exactly */
	assert_int_equal(img_open(im, &v), 0);
	vhdx_image_close(v);
	img_free(im);
}

static void test_vhdx_metadata_hostile(void **state)
{
	static const uint8_t unknown[16] = { 0x99 };
	struct img *im = img_new(false);
	uint8_t *m = im->b + META_OFF;
	struct vhdx_image *v;

	put32(m + 65536, 3 * MIB);			/* block size not a power of 2 */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put32(m + 65536, MIB);
	put32(m + 65536 + 16, 1024);			/* logical sector size */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put32(m + 65536 + 16, 512);
	put64(m + 65536 + 8, (64ull << 40) + 512);	/* above 64 TiB */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put64(m + 65536 + 8, 1ull << 40);		/* 1 TiB: BAT region too small */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put64(m + 65536 + 8, 4 * MIB + 100);		/* not a sector multiple */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put64(m + 65536 + 8, 4 * MIB);
	meta_entry(m, 4, unknown, 65536 + 512, 8, 4);	/* unknown, required */
	assert_int_equal(img_open(im, &v), -ENOTSUP);
	meta_entry(m, 4, unknown, 65536 + 512, 8, 0);	/* unknown, optional: fine */
	assert_int_equal(img_open(im, &v), 0);
	vhdx_image_close(v);
	meta_entry(m, 4, unknown, MIB - 4, 8, 0);	/* crosses the region end */
	assert_int_equal(img_open(im, &v), -EINVAL);
	meta_entry(m, 4, g_vds, 65536 + 8, 8, 4);	/* duplicate item */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put16(m + 10, 4);
	meta_entry(m, 1, unknown, 65536 + 512, 8, 0);	/* no disk size at all */
	put16(m + 10, 4);
	assert_int_equal(img_open(im, &v), -EINVAL);
	put16(m + 10, 0xffff);				/* too many entries */
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);
}

/* A log entry at log offset off: data writes of 4 KiB (targets[i], fill[i]) then
 * zero writes (ztarget, zlen). Returns its length. */
static uint32_t log_entry(struct img *im, uint32_t off, uint64_t seq, uint32_t tail,
			  int ndata, const uint64_t *targets, const uint8_t *fill,
			  uint64_t ztarget, uint64_t zlen, const uint8_t *guid)
{
	uint8_t *e = im->b + LOG_OFF + off;
	uint32_t len = 4096 * (1 + ndata);
	int nd = ndata + (zlen ? 1 : 0);

	memset(e, 0, len);
	memcpy(e, "loge", 4);
	put32(e + 8, len);
	put32(e + 12, tail);
	put64(e + 16, seq);
	put32(e + 24, nd);
	memcpy(e + 32, guid, 16);
	put64(e + 48, IMG_SIZE);
	put64(e + 56, IMG_SIZE);
	for (int i = 0; i < ndata; i++) {
		uint8_t *d = e + 64 + 32 * i, *ds = e + 4096 * (1 + i);
		uint8_t sector[4096];

		memset(sector, fill[i], sizeof(sector));
		if (targets[i] == BAT_OFF) {
			/* a BAT sector: block 2 fully present at 7 MiB, others as they are */
			memcpy(sector, im->b + BAT_OFF, 4096);
			put64(sector + 16, 7ull << 20 | VHDX_PAYLOAD_FULLY_PRESENT);
		}
		memcpy(d, "desc", 4);
		memcpy(d + 4, sector + 4092, 4);
		memcpy(d + 8, sector, 8);
		put64(d + 16, targets[i]);
		put64(d + 24, seq);
		memcpy(ds, "data", 4);
		put32(ds + 4, seq >> 32);
		memcpy(ds + 8, sector + 8, 4084);
		put32(ds + 4092, (uint32_t)seq);
	}
	if (zlen) {
		uint8_t *d = e + 64 + 32 * ndata;

		memcpy(d, "zero", 4);
		put64(d + 8, zlen);
		put64(d + 16, ztarget);
		put64(d + 24, seq);
	}
	set_crc(e, len);
	return len;
}

static struct img *img_with_log(void)
{
	struct img *im = img_new(false);
	static const uint64_t bat_target[1] = { BAT_OFF };
	static const uint8_t fill[1] = { 0 };
	uint32_t l1;

	memset(im->b + 4 * MIB, 0x11, MIB);
	memset(im->b + 7 * MIB, 0x44, MIB);
	bat_set(im, 0, 4, VHDX_PAYLOAD_FULLY_PRESENT);
	set_headers(im, g_log);
	/* seq 10 maps block 2; seq 11 zeroes the first 4 KiB of block 0 */
	l1 = log_entry(im, 0, 10, 0, 1, bat_target, fill, 0, 0, g_log);
	log_entry(im, l1, 11, 0, 0, NULL, NULL, 4 * MIB, 4096, g_log);
	return im;
}

static void test_vhdx_log_replay(void **state)
{
	struct img *im = img_with_log();
	struct vhdx_image *v;
	uint8_t *buf = malloc(4 * MIB);

	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->log_replayed_seq, 11);
	assert_int_equal(vhdx_image_read(v, buf, 4 * MIB, 0, NULL, NULL), 0);
	assert_true(all_bytes(buf, 4096, 0));
	assert_true(all_bytes(buf + 4096, MIB - 4096, 0x11));
	assert_true(all_bytes(buf + 2 * MIB, MIB, 0x44));
	/* the zeroed range is reported as logged, not as plain file data */
	{
		uint64_t pnum, fo;

		assert_int_equal(vhdx_image_map(v, 0, MIB, &pnum, &fo), VHDX_MAP_LOGGED);
		assert_int_equal(vhdx_image_map(v, 2 * MIB, MIB, &pnum, &fo), VHDX_MAP_DATA);
		assert_int_equal(fo, 7 * MIB);
	}
	vhdx_image_close(v);
	/* the file itself was not changed */
	assert_true(all_bytes(im->b + 4 * MIB, 4096, 0x11));
	img_free(im);
	free(buf);
}

static void test_vhdx_log_torn_and_foreign(void **state)
{
	struct img *im = img_with_log();
	struct vhdx_image *v;
	uint8_t *buf = malloc(4 * MIB);
	static const uint8_t other[16] = { 9 };

	/* torn second entry: only seq 10 is replayed */
	im->b[LOG_OFF + 8192 + 64 + 20] ^= 1;
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->log_replayed_seq, 10);
	assert_int_equal(vhdx_image_read(v, buf, 4 * MIB, 0, NULL, NULL), 0);
	assert_true(all_bytes(buf, MIB, 0x11));
	assert_true(all_bytes(buf + 2 * MIB, MIB, 0x44));
	vhdx_image_close(v);
	img_free(im);

	/* entries of another log (different guid): nothing to replay */
	im = img_with_log();
	set_headers(im, other);
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->log_replayed_seq, 0);
	assert_int_equal(vhdx_image_read(v, buf, MIB, 2 * MIB, NULL, NULL), 0);
	assert_true(all_bytes(buf, MIB, 0));
	vhdx_image_close(v);
	img_free(im);

	/* a sequence whose head's tail is outside it is not valid: nothing replayed */
	im = img_with_log();
	log_entry(im, 8192, 11, 65536, 0, NULL, NULL, 4 * MIB, 4096, g_log);
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->log_replayed_seq, 0);
	vhdx_image_close(v);
	img_free(im);
	free(buf);
}

static void test_vhdx_log_hostile(void **state)
{
	struct img *im = img_with_log();
	struct vhdx_image *v;

	/* a logged write over the headers is refused */
	log_entry(im, 8192, 11, 0, 0, NULL, NULL, 64 * 1024, 4096, g_log);
	assert_int_equal(img_open(im, &v), -EINVAL);
	/* a logged zero range beyond the file end is refused */
	log_entry(im, 8192, 11, 0, 0, NULL, NULL, 4 * MIB, 1ull << 40, g_log);
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);

	/* the log says the file was longer than it is: truncated */
	im = img_with_log();
	put64(im->b + LOG_OFF + 8192 + 48, IMG_SIZE + MIB);
	set_crc(im->b + LOG_OFF + 8192, 4096);
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);

	/* log region beyond end of file */
	im = img_with_log();
	for (int i = 0; i < 2; i++) {
		uint8_t *h = im->b + (i ? 128 : 64) * 1024;

		put64(h + 72, 64ull * MIB);
		set_crc(h, 4096);
	}
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);
}

static void test_vhdx_differencing(void **state)
{
	struct img *im = img_new(true);
	struct vhdx_image *v;
	uint8_t buf[4 * 512];
	uint64_t sb_index = 4096;	/* chunk ratio: 2^23 * 512 / 1 MiB */

	memset(im->b + 4 * MIB, 0x55, MIB);
	memset(im->b + 5 * MIB, 0x66, MIB);
	bat_set(im, 0, 4, VHDX_PAYLOAD_PARTIALLY_PRESENT);
	bat_set(im, 1, 0, VHDX_PAYLOAD_NOT_PRESENT);
	bat_set(im, 2, 0, VHDX_PAYLOAD_ZERO);
	bat_set(im, 3, 5, VHDX_PAYLOAD_FULLY_PRESENT);
	bat_set(im, sb_index, 7, VHDX_SB_PRESENT);
	im->b[7 * MIB] = 0x05;		/* sectors 0 and 2 of block 0 are here */
	assert_int_equal(img_open(im, &v), 0);
	assert_true(v->has_parent);
	assert_string_equal(v->parent_relative, "./base.vhdx");
	assert_string_equal(v->parent_absolute, "C:/vm/base.vhdx");
	assert_string_equal(v->parent_linkage, "{A0A0A0A0-A0A0-A0A0-A0A0-A0A0A0A0A0A0}");
	assert_int_equal(vhdx_image_read(v, buf, sizeof(buf), 0, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0x55));
	assert_true(all_bytes(buf + 512, 512, 0xee));
	assert_true(all_bytes(buf + 1024, 512, 0x55));
	assert_true(all_bytes(buf + 1536, 512, 0xee));
	assert_int_equal(vhdx_image_read(v, buf, 512, MIB + 4096, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0xee));
	assert_int_equal(vhdx_image_read(v, buf, 512, 2 * MIB, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0));
	assert_int_equal(vhdx_image_read(v, buf, 512, 3 * MIB, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0x66));
	vhdx_image_close(v);

	/* partially present without its sector bitmap block: an error, not guessed data */
	bat_set(im, sb_index, 0, VHDX_SB_NOT_PRESENT);
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(vhdx_image_read(v, buf, 512, 0, parent_ee, NULL), -EIO);
	vhdx_image_close(v);
	img_free(im);
}

static void test_vhdx_parent_locator_hostile(void **state)
{
	struct img *im = img_new(true);
	uint8_t *m = im->b + META_OFF, *pl = m + 65536 + 1024;
	struct vhdx_image *v;

	put32(pl + 20, 0x10000);	/* key offset outside the item */
	assert_int_equal(img_open(im, &v), -EINVAL);
	set_parent_locator(m, 4);
	put16(pl + 18, 60000);		/* more entries than fit */
	assert_int_equal(img_open(im, &v), -EINVAL);
	set_parent_locator(m, 4);
	put16(pl + 20 + 12 + 8, 0);	/* relative_path renamed away: key length 0 */
	assert_int_equal(img_open(im, &v), -EINVAL);
	set_parent_locator(m, 4);
	put16(pl + 20 + 12 * 3, 0xd800); /* lone surrogate in parent_linkage key */
	assert_int_equal(img_open(im, &v), -EINVAL);
	put16(m + 10, 4);		/* no locator at all */
	assert_int_equal(img_open(im, &v), -EINVAL);
	img_free(im);
}

/* 4 KiB logical sectors: the chunk ratio is 8x larger and a bitmap bit covers 4 KiB */
static void test_vhdx_4k_sectors(void **state)
{
	struct img *im = img_new(true);
	struct vhdx_image *v;
	uint8_t buf[16384];

	put32(im->b + META_OFF + 65536 + 16, 4096);
	memset(im->b + 4 * MIB, 0x55, MIB);
	bat_set(im, 0, 4, VHDX_PAYLOAD_PARTIALLY_PRESENT);
	bat_set(im, 32768, 7, VHDX_SB_PRESENT);
	im->b[7 * MIB] = 0x02;		/* only the second 4 KiB sector is here */
	assert_int_equal(img_open(im, &v), 0);
	assert_int_equal(v->chunk_ratio, 32768);
	assert_int_equal(v->bat_entries, 32769);
	assert_int_equal(vhdx_image_read(v, buf, sizeof(buf), 0, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 4096, 0xee));
	assert_true(all_bytes(buf + 4096, 4096, 0x55));
	assert_true(all_bytes(buf + 8192, 8192, 0xee));
	/* a 512-byte read inside the present 4 KiB sector */
	assert_int_equal(vhdx_image_read(v, buf, 512, 4096 + 1536, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0x55));
	vhdx_image_close(v);
	img_free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vhdx_block_states),
		cmocka_unit_test(test_vhdx_headers),
		cmocka_unit_test(test_vhdx_regions),
		cmocka_unit_test(test_vhdx_bat_hostile),
		cmocka_unit_test(test_vhdx_metadata_hostile),
		cmocka_unit_test(test_vhdx_log_replay),
		cmocka_unit_test(test_vhdx_log_torn_and_foreign),
		cmocka_unit_test(test_vhdx_log_hostile),
		cmocka_unit_test(test_vhdx_differencing),
		cmocka_unit_test(test_vhdx_parent_locator_hostile),
		cmocka_unit_test(test_vhdx_4k_sectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
