/* Unit tests for the VPC/VHD parser (user/block/vpc/, VHD spec 1.0): fixed, dynamic
 * and differencing images built in memory; footers, checksums, BAT, bitmaps, parent
 * locators, qemu-img's geometry sizing, and hostile variants of each. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "block/vpc/vpc.h"

#define BS		4096u		/* block size: 8 sectors, 512 B bitmap */
#define NBLK		4u
#define VSIZE		(BS * NBLK)
#define DYN_OFF		512u
#define BAT_OFF		1536u
#define BLK0		2048u		/* first block (bitmap) */
#define LOC_OFF		(BLK0 + NBLK * (512 + BS))
#define DYN_SIZE	(LOC_OFF + 1024 + 512)

struct img {
	uint8_t b[DYN_SIZE > VSIZE + 512 ? DYN_SIZE : VSIZE + 512];
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

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v);
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, v >> 32);
	be32(p + 4, v);
}

static void footer(uint8_t *f, uint32_t type, const char *creator, uint64_t size,
		   uint16_t cyl, uint8_t heads, uint8_t spt)
{
	memset(f, 0, 512);
	memcpy(f, "conectix", 8);
	be32(f + 8, 2);
	be32(f + 12, 0x00010000);
	be64(f + 16, type == VPC_TYPE_FIXED ? ~0ull : DYN_OFF);
	memcpy(f + 28, creator, 4);
	be64(f + 40, size);
	be64(f + 48, size);
	be16(f + 56, cyl);
	f[58] = heads;
	f[59] = spt;
	be32(f + 60, type);
	memset(f + 68, 0x77, 16);
	be32(f + 64, vpc_checksum(f, 512, 64));
}

static void dyn_checksum(struct img *im)
{
	be32(im->b + DYN_OFF + 36, 0);
	be32(im->b + DYN_OFF + 36, vpc_checksum(im->b + DYN_OFF, 1024, 36));
}

static void footers(struct img *im, uint32_t type, const char *creator)
{
	/* 4 * 4 * 2 sectors = 16 KiB: geometry and current size agree */
	footer(im->b, type, creator, VSIZE, 2, 4, 4);
	memcpy(im->b + im->size - 512, im->b, 512);
}

/* Dynamic (or differencing) 16 KiB disk; blocks 0 and 2 allocated (0x11, 0x33). */
static struct img *img_dynamic(uint32_t type)
{
	struct img *im = calloc(1, sizeof(*im));
	uint8_t *h = im->b + DYN_OFF;

	im->size = DYN_SIZE;
	footers(im, type, "qemu");
	memcpy(h, "cxsparse", 8);
	be64(h + 8, ~0ull);
	be64(h + 16, BAT_OFF);
	be32(h + 24, 0x00010000);
	be32(h + 28, NBLK);
	be32(h + 32, BS);
	memset(h + 40, 0x77, 16);
	for (uint32_t i = 0; i < NBLK; i++)
		be32(im->b + BAT_OFF + 4 * i, 0xffffffff);
	for (uint32_t k = 0; k < NBLK; k += 2) {
		uint32_t at = BLK0 + k / 2 * (512 + BS);

		be32(im->b + BAT_OFF + 4 * k, at / 512);
		memset(im->b + at, 0xff, 512);
		memset(im->b + at + 512, k ? 0x33 : 0x11, BS);
	}
	dyn_checksum(im);
	return im;
}

static struct img *img_fixed(void)
{
	struct img *im = calloc(1, sizeof(*im));

	im->size = VSIZE + 512;
	memset(im->b, 0x5a, VSIZE);
	footer(im->b + VSIZE, VPC_TYPE_FIXED, "qemu", VSIZE, 2, 4, 4);
	return im;
}

static int img_open(struct img *im, struct vpc_image **p)
{
	return vpc_image_open(p, "test.vhd", mem_pread, im, im->size);
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

static void test_vpc_dynamic(void **state)
{
	struct img *im = img_dynamic(VPC_TYPE_DYNAMIC);
	struct vpc_image *p;
	uint8_t buf[VSIZE];

	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->virtual_size, VSIZE);
	assert_int_equal(p->bitmap_size, 512);
	assert_int_equal(vpc_image_read(p, buf, VSIZE, 0, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, BS, 0x11));
	assert_true(all_bytes(buf + BS, BS, 0));	/* not a differencing disk: no parent */
	assert_true(all_bytes(buf + 2 * BS, BS, 0x33));
	assert_true(all_bytes(buf + 3 * BS, BS, 0));
	assert_int_equal(vpc_image_read(p, buf, 100, BS - 50, NULL, NULL), 0);
	assert_true(all_bytes(buf, 50, 0x11) && all_bytes(buf + 50, 50, 0));
	assert_int_equal(vpc_image_read(p, buf, 1, VSIZE, NULL, NULL), -EINVAL);
	vpc_image_close(p);
	free(im);
}

static void test_vpc_fixed(void **state)
{
	struct img *im = img_fixed();
	struct vpc_image *p;
	uint8_t buf[VSIZE];

	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->disk_type, VPC_TYPE_FIXED);
	assert_int_equal(vpc_image_read(p, buf, VSIZE, 0, NULL, NULL), 0);
	assert_true(all_bytes(buf, VSIZE, 0x5a));
	vpc_image_close(p);

	/* a guest writes a dynamic footer into its sector 0: the end footer still wins */
	footer(im->b, VPC_TYPE_DYNAMIC, "qemu", VSIZE, 2, 4, 4);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->disk_type, VPC_TYPE_FIXED);
	vpc_image_close(p);
	/* and with the end footer broken, a start copy is never taken for a fixed disk */
	footer(im->b, VPC_TYPE_FIXED, "qemu", VSIZE, 2, 4, 4);
	im->b[VSIZE + 100] ^= 1;
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);

	/* data shorter than the disk */
	im = img_fixed();
	footer(im->b + VSIZE, VPC_TYPE_FIXED, "win ", 2 * VSIZE, 2, 4, 4);
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);
}

static void test_vpc_checksums(void **state)
{
	struct img *im = img_dynamic(VPC_TYPE_DYNAMIC);
	struct vpc_image *p;

	im->b[im->size - 512 + 100] ^= 1;	/* end footer broken: start copy used */
	assert_int_equal(img_open(im, &p), 0);
	vpc_image_close(p);
	im->b[100] ^= 1;			/* both broken */
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);

	im = img_dynamic(VPC_TYPE_DYNAMIC);
	im->b[DYN_OFF + 700] ^= 1;		/* dynamic header checksum */
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);

	im = img_dynamic(VPC_TYPE_DYNAMIC);
	im->size = 100;
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);
}

static void test_vpc_hostile(void **state)
{
	struct img *im = img_dynamic(VPC_TYPE_DYNAMIC);
	uint8_t *h = im->b + DYN_OFF;
	struct vpc_image *p;

	be32(im->b + BAT_OFF, 0x7fffffff);		/* block beyond end of file */
	assert_int_equal(img_open(im, &p), -EINVAL);
	be32(im->b + BAT_OFF, (im->size - 1024) / 512);	/* block runs past the end */
	assert_int_equal(img_open(im, &p), -EINVAL);
	be32(im->b + BAT_OFF, BLK0 / 512);

	be32(h + 32, 3000);				/* block size not a power of 2 */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	be32(h + 32, 1u << 30);				/* too large */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	be32(h + 32, BS);
	be32(h + 28, 1);				/* BAT cannot cover the disk */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	be32(h + 28, 0x40000000);			/* unused entries are not loaded */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->max_table_entries, NBLK);
	vpc_image_close(p);
	be32(h + 28, NBLK);
	be64(h + 16, im->size - 8);			/* BAT runs past end of file */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	be64(h + 16, ~0ull);				/* BAT offset wraps */
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	be64(h + 16, BAT_OFF);
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), 0);
	vpc_image_close(p);

	/* dynamic header offset beyond the file, unknown disk type, too large */
	footer(im->b, VPC_TYPE_DYNAMIC, "qemu", VSIZE, 2, 4, 4);
	be64(im->b + 16, 1ull << 40);
	be32(im->b + 64, 0);
	be32(im->b + 64, vpc_checksum(im->b, 512, 64));
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), -EINVAL);
	footer(im->b, 5, "qemu", VSIZE, 2, 4, 4);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), -ENOTSUP);
	footer(im->b, VPC_TYPE_DYNAMIC, "win ", 3ull << 40, 2, 4, 4);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), -EFBIG);
	free(im);
}

static void test_vpc_sizing(void **state)
{
	struct img *im = img_dynamic(VPC_TYPE_DYNAMIC);
	struct vpc_image *p;

	/* qemu/Virtual PC images: the geometry (2*4*2 = 16 sectors) is the size */
	footer(im->b, VPC_TYPE_DYNAMIC, "qemu", VSIZE, 2, 4, 2);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->virtual_size, 8192);
	assert_true(p->size_from_chs);
	vpc_image_close(p);
	/* Hyper-V and qemu's force_size ("qem2"): current size */
	footer(im->b, VPC_TYPE_DYNAMIC, "win ", VSIZE, 2, 4, 2);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->virtual_size, VSIZE);
	vpc_image_close(p);
	footer(im->b, VPC_TYPE_DYNAMIC, "qem2", VSIZE, 2, 4, 2);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->virtual_size, VSIZE);
	vpc_image_close(p);
	/* maximal geometry means "bigger than CHS can say": current size */
	footer(im->b, VPC_TYPE_DYNAMIC, "vpc ", VSIZE, 65535, 16, 255);
	memcpy(im->b + im->size - 512, im->b, 512);
	assert_int_equal(img_open(im, &p), 0);
	assert_int_equal(p->virtual_size, VSIZE);
	assert_false(p->size_from_chs);
	vpc_image_close(p);
	free(im);
}

static void set_locator(struct img *im, int i, const char *code, uint32_t off,
			const char *path, bool utf16)
{
	uint8_t *e = im->b + DYN_OFF + 576 + 24 * i;
	uint32_t len = 0;

	for (const char *s = path; *s; s++) {
		if (utf16) {
			im->b[off + len++] = *s;
			im->b[off + len++] = 0;
		} else {
			im->b[off + len++] = *s;
		}
	}
	memcpy(e, code, 4);
	be32(e + 4, 1);
	be32(e + 8, len);
	be64(e + 16, off);
}

static struct img *img_diff(void)
{
	struct img *im = img_dynamic(VPC_TYPE_DIFF);
	uint8_t *h = im->b + DYN_OFF;
	const char *name = "base.vhd";

	for (int i = 0; name[i]; i++)
		be16(h + 64 + 2 * i, name[i]);
	set_locator(im, 0, "W2ku", LOC_OFF, "C:\\x\\base.vhd", true);
	set_locator(im, 1, "W2ru", LOC_OFF + 512, ".\\base.vhd", true);
	memset(im->b + BLK0, 0, 512);
	im->b[BLK0] = 0xa0;			/* sectors 0 and 2 of block 0 */
	dyn_checksum(im);
	return im;
}

static void test_vpc_differencing(void **state)
{
	struct img *im = img_diff();
	struct vpc_image *p;
	uint8_t buf[VSIZE];

	assert_int_equal(img_open(im, &p), 0);
	assert_string_equal(p->parent_name, "base.vhd");
	assert_int_equal(p->nparent_paths, 2);
	assert_string_equal(p->parent_paths[0], "./base.vhd");	/* relative first */
	assert_string_equal(p->parent_paths[1], "C:/x/base.vhd");
	assert_int_equal(vpc_image_read(p, buf, VSIZE, 0, parent_ee, NULL), 0);
	assert_true(all_bytes(buf, 512, 0x11));
	assert_true(all_bytes(buf + 512, 512, 0xee));
	assert_true(all_bytes(buf + 1024, 512, 0x11));
	assert_true(all_bytes(buf + 1536, BS - 1536, 0xee));
	assert_true(all_bytes(buf + BS, BS, 0xee));		/* unallocated: parent */
	assert_true(all_bytes(buf + 2 * BS, BS, 0x33));
	vpc_image_close(p);

	/* locator data beyond end of file */
	be64(im->b + DYN_OFF + 576 + 24 + 16, im->size - 4);
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);

	/* a locator path that is not UTF-16 */
	im = img_diff();
	im->b[LOC_OFF + 512] = 0x00;		/* lone low surrogate, little endian */
	im->b[LOC_OFF + 513] = 0xdc;
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);

	/* no name and no locator */
	im = img_diff();
	memset(im->b + DYN_OFF + 64, 0, 512 + 8 * 24);
	dyn_checksum(im);
	assert_int_equal(img_open(im, &p), -EINVAL);
	free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vpc_dynamic),
		cmocka_unit_test(test_vpc_fixed),
		cmocka_unit_test(test_vpc_checksums),
		cmocka_unit_test(test_vpc_hostile),
		cmocka_unit_test(test_vpc_sizing),
		cmocka_unit_test(test_vpc_differencing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
