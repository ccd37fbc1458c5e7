/*
 * Unit tests for user/vmm/boot.c and boot_bzimage.c: boot_probe, boot_load
 * file handling and the 64-bit boot protocol (boot.rst, zero-page.rst).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_image_gen.h"
#include "vmm/boot.h"
#include "vmm/guest_mem.h"

#define MiB	0x100000ULL

/* Guest RAM as guest_mem lays it out, backed by anonymous memory. */
struct ram {
	struct guest_mem mem;
	uint8_t *buf;
	uint64_t size;
};

static void ram_init(struct ram *r, uint64_t size)
{
	assert_int_equal(guest_mem_layout(&r->mem, size), 0);
	assert_int_equal(r->mem.nr_regions, 1);
	r->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(r->buf != MAP_FAILED);
	r->mem.regions[0].hva = r->buf;
	r->size = size;
}

static void ram_fini(struct ram *r)
{
	munmap(r->buf, r->size);
}

static int load(struct ram *r, const struct gen_bz *s, const void *initrd, size_t initrd_len,
		const char *cmdline, uint64_t rsdp, struct boot_entry *e)
{
	size_t len;
	uint8_t *img = gen_bzimage(s, &len);
	int ret = boot_bzimage_load(&r->mem, img, len, initrd, initrd_len, cmdline, rsdp, e);

	free(img);
	return ret;
}

static uint8_t *zero_page(struct ram *r)
{
	return r->buf + BOOT_PARAMS_ADDR;
}

static void test_probe(void **state)
{
	struct gen_bz s = gen_bz_default();
	const char *why = "unset";
	uint8_t junk[4096];
	uint8_t *img;
	size_t len;

	img = gen_bzimage(&s, &len);
	assert_int_equal(boot_probe(img, len, &why), BOOT_BZIMAGE);
	assert_int_equal(boot_probe(img, len, NULL), BOOT_BZIMAGE);
	free(img);

	s.version = 0x020a;
	img = gen_bzimage(&s, &len);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "bzImage boot protocol 2.10 is too old (need 2.12)");
	free(img);

	s = gen_bz_default();
	s.xloadflags = 0x2;
	img = gen_bzimage(&s, &len);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_non_null(strstr(why, "64-bit"));
	free(img);

	/* Both an ELF magic and an old setup header: the bzImage reason wins,
	 * intact although the ELF check ran after it. */
	s = gen_bz_default();
	s.version = 0x0208;
	img = gen_bzimage(&s, &len);
	memcpy(img, "\177ELF\2\1", 6);	/* ELF64 LSB, e_machine 0: a formatted reason */
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "bzImage boot protocol 2.08 is too old (need 2.12)");
	free(img);

	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(boot_probe(junk, sizeof(junk), &why), -ENOEXEC);
	assert_string_equal(why, "not a Linux kernel: no HdrS signature and not an ELF file");
	assert_int_equal(boot_probe(junk, 0, &why), -ENOEXEC);
	assert_int_equal(boot_probe(junk, 3, &why), -ENOEXEC);
}

static void test_load_layout(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	uint8_t initrd[0x3000], *bp, *img;
	uint64_t rd_addr, rd_size;
	size_t len, setup;
	unsigned int i;

	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = gen_pattern(i, 9);
	ram_init(&r, 64 * MiB);
	assert_int_equal(load(&r, &s, initrd, sizeof(initrd), "console=ttyS0 quiet",
			      0xe0000, &e), 0);

	/* Entry state: 64-bit entry at load address + 0x200, rsi -> zero page. */
	assert_int_equal(e.kind, BOOT_BZIMAGE);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.rsi, BOOT_PARAMS_ADDR);
	assert_int_equal(e.rsp, BOOT_STACK_TOP);
	assert_int_equal(e.cr3, BOOT_PML4_ADDR);
	assert_int_equal(e.gdt_addr, BOOT_GDT_ADDR);
	assert_int_equal(e.gdt_limit, 31);

	/* The protected-mode kernel (after the 5 setup sectors) at 1 MiB. */
	img = gen_bzimage(&s, &len);
	setup = 5 * 512;
	assert_memory_equal(r.buf + BOOT_KERNEL_ADDR, img + setup, s.payload_len);

	/* Setup header copied, then the loader's own fields. */
	bp = zero_page(&r);
	assert_int_equal(bp[0x1f1], 4);
	assert_int_equal(gen_get16(bp + 0x1fe), 0xaa55);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(gen_get16(bp + 0x206), 0x020f);
	assert_int_equal(gen_get16(bp + 0x1fa), 0xffff);
	assert_int_equal(gen_get32(bp + 0x22c), 0x7fffffff);
	assert_int_equal(gen_get32(bp + 0x230), 0x200000);
	assert_int_equal(bp[0x234], 1);
	assert_int_equal(gen_get64(bp + 0x258), 0x1000000);
	assert_int_equal(gen_get32(bp + 0x260), 0x100000);
	assert_int_equal(gen_get32(bp + 0x264), 0x190);
	assert_int_equal(bp[0x210], 0xff);			/* type_of_loader */
	assert_int_equal(bp[0x211], 0x81);			/* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(gen_get16(bp + 0x224), 0xfe00);	/* heap_end_ptr */
	assert_int_equal(gen_get32(bp + 0x228), BOOT_CMDLINE_ADDR);
	assert_int_equal(gen_get32(bp + 0x0c8), 0);		/* ext_cmd_line_ptr */
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "console=ttyS0 quiet");
	assert_int_equal(gen_get64(bp + 0x070), 0xe0000);	/* acpi_rsdp_addr */
	/* Nothing the loader does not own: screen_info..tboot, past the header. */
	for (i = 0; i < 0x70; i++)
		assert_int_equal(bp[i], 0);
	for (i = 0x26c; i < 0x2d0; i++)
		assert_int_equal(bp[i], 0);

	/* initrd: page aligned, as high as possible (top of the 1 MiB..64 MiB entry). */
	rd_addr = gen_get32(bp + 0x218) | (uint64_t)gen_get32(bp + 0x0c0) << 32;
	rd_size = gen_get32(bp + 0x21c) | (uint64_t)gen_get32(bp + 0x0c4) << 32;
	assert_int_equal(rd_size, sizeof(initrd));
	assert_int_equal(rd_addr, 64 * MiB - 0x3000);
	assert_int_equal(rd_addr & 0xfff, 0);
	assert_memory_equal(r.buf + rd_addr, initrd, sizeof(initrd));

	/* e820 copied entry by entry: {u64 addr, u64 size, u32 type} at 0x2d0. */
	assert_int_equal(bp[0x1e8], r.mem.nr_e820);
	assert_int_equal(r.mem.nr_e820, 4);
	for (i = 0; i < r.mem.nr_e820; i++) {
		uint8_t *ent = bp + 0x2d0 + i * 20;

		assert_int_equal(gen_get64(ent), r.mem.e820[i].addr);
		assert_int_equal(gen_get64(ent + 8), r.mem.e820[i].size);
		assert_int_equal(gen_get32(ent + 16), r.mem.e820[i].type);
	}
	assert_int_equal(gen_get64(bp + 0x2d0 + 3 * 20), MiB);
	assert_int_equal(gen_get64(bp + 0x2d0 + 3 * 20 + 8), 63 * MiB);
	for (i = 0x2d0 + 4 * 20; i < 0x1000; i++)
		assert_int_equal(bp[i], 0);
	free(img);
	ram_fini(&r);
}

static void test_page_tables_and_gdt(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *pml4, *pdpt, *pd, *gdt;
	uint64_t code, data;
	unsigned int i, j;

	ram_init(&r, 32 * MiB);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), 0);
	pml4 = r.buf + BOOT_PML4_ADDR;
	pdpt = pml4 + 0x1000;
	pd = pml4 + 0x2000;
	assert_int_equal(gen_get64(pml4), (BOOT_PML4_ADDR + 0x1000) | 3);
	for (i = 1; i < 512; i++)
		assert_int_equal(gen_get64(pml4 + i * 8), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(gen_get64(pdpt + i * 8), (BOOT_PML4_ADDR + (2 + i) * 0x1000) | 3);
	for (i = 4; i < 512; i++)
		assert_int_equal(gen_get64(pdpt + i * 8), 0);
	/* 2048 entries of 2 MiB: identity 0..4 GiB, present | writable | PS. */
	for (i = 0; i < 4; i++)
		for (j = 0; j < 512; j++)
			assert_int_equal(gen_get64(pd + (i * 512 + j) * 8),
					 ((uint64_t)i << 30 | (uint64_t)j << 21) | 0x83);
	assert_int_equal(gen_get64(pd + 2047 * 8), 0xffe00083ULL);

	gdt = r.buf + BOOT_GDT_ADDR;
	assert_int_equal(gen_get64(gdt), 0);
	assert_int_equal(gen_get64(gdt + 8), 0);
	code = gen_get64(gdt + 0x10);
	data = gen_get64(gdt + 0x18);
	assert_int_equal(code, 0x00af9b000000ffffULL);
	assert_int_equal(code >> 47 & 1, 1);		/* present */
	assert_int_equal(code >> 53 & 1, 1);		/* L: 64-bit code */
	assert_int_equal(code >> 54 & 1, 0);		/* D must be 0 when L = 1 */
	assert_int_equal(code >> 40 & 0xf, 0xb);	/* exec/read, accessed */
	assert_int_equal(data, 0x00cf93000000ffffULL);
	assert_int_equal(data >> 40 & 0xf, 0x3);	/* read/write, accessed */
	/* The loaders' areas do not overlap one another. */
	assert_true(BOOT_GDT_ADDR + 32 <= BOOT_PVH_INFO_ADDR);
	assert_true(BOOT_PARAMS_ADDR + 0x1000 <= BOOT_STACK_TOP);
	assert_true(BOOT_STACK_TOP <= BOOT_PML4_ADDR);
	assert_true(BOOT_PML4_ADDR + 6 * 0x1000 <= BOOT_CMDLINE_ADDR);
	/* No cmdline given: an empty string. */
	assert_int_equal(r.buf[BOOT_CMDLINE_ADDR], 0);
	assert_int_equal(zero_page(&r)[0x218], 0);
	assert_int_equal(gen_get32(zero_page(&r) + 0x21c), 0);
	ram_fini(&r);
}

static void test_cmdline_limit(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	char *long_line;

	ram_init(&r, 32 * MiB);
	s.cmdline_size = 16;
	memset(r.buf + BOOT_CMDLINE_ADDR, 0x77, 64);
	assert_int_equal(load(&r, &s, NULL, 0, "console=ttyS0 root=/dev/vda rw", 0, &e), 0);
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "console=ttyS0 ro");

	/* cmdline_size beyond our buffer: cut at BOOT_CMDLINE_MAX - 1. */
	s.cmdline_size = 0xffffffff;
	long_line = malloc(BOOT_CMDLINE_MAX + 100);
	memset(long_line, 'x', BOOT_CMDLINE_MAX + 99);
	long_line[BOOT_CMDLINE_MAX + 99] = 0;
	memset(r.buf + BOOT_CMDLINE_ADDR, 0x77, BOOT_CMDLINE_MAX);
	assert_int_equal(load(&r, &s, NULL, 0, long_line, 0, &e), 0);
	assert_int_equal(strlen((char *)r.buf + BOOT_CMDLINE_ADDR), BOOT_CMDLINE_MAX - 1);
	free(long_line);

	/* Exactly cmdline_size bytes fit unchanged. */
	s.cmdline_size = 5;
	assert_int_equal(load(&r, &s, NULL, 0, "quiet", 0, &e), 0);
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "quiet");
	ram_fini(&r);
}

static void test_initrd_placement(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *big, *bp;
	uint64_t addr;

	big = mmap(NULL, 80 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(big != MAP_FAILED);

	/* initrd_addr_max caps it: last byte at 32 MiB - 1. */
	ram_init(&r, 64 * MiB);
	bp = zero_page(&r);
	s.initrd_addr_max = 32 * MiB - 1;
	assert_int_equal(load(&r, &s, big, 0x1800, NULL, 0, &e), 0);
	assert_int_equal(gen_get32(bp + 0x218), 32 * MiB - 0x2000);
	assert_int_equal(gen_get32(bp + 0x21c), 0x1800);

	/* initrd_addr_max 0 means the boot.rst default 0x37ffffff. */
	s.initrd_addr_max = 0;
	assert_int_equal(load(&r, &s, big, 0x1000, NULL, 0, &e), 0);
	assert_int_equal(gen_get32(bp + 0x218), 64 * MiB - 0x1000);

	/* Too big for RAM. */
	s = gen_bz_default();
	assert_int_equal(load(&r, &s, big, 80 * MiB, NULL, 0, &e), -ENOMEM);
	/* Fits in RAM but not above the kernel's 16..17 MiB run area nor below 1 MiB. */
	assert_int_equal(load(&r, &s, big, 48 * MiB, NULL, 0, &e), -ENOMEM);
	assert_int_equal(load(&r, &s, big, 47 * MiB, NULL, 0, &e), 0);
	assert_int_equal(gen_get32(bp + 0x218), 17 * MiB);
	ram_fini(&r);

	/* The kernel fills RAM up to the top: a small initrd goes below 1 MiB,
	 * under the EBDA (0x9fc00) and never into the 0xa0000-0x100000 hole. */
	ram_init(&r, 18 * MiB);
	bp = zero_page(&r);
	s.init_size = 2 * MiB;
	assert_int_equal(load(&r, &s, big, 0x10000, NULL, 0, &e), 0);
	addr = gen_get32(bp + 0x218);
	assert_int_equal(addr, 0x8f000);
	assert_true(addr >= BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX);
	assert_int_equal(load(&r, &s, big, 0x80000, NULL, 0, &e), -ENOMEM);
	ram_fini(&r);
	munmap(big, 80 * MiB);
}

static void test_kernel_placement(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	uint8_t initrd[0x1000] = { 1 };

	/* Relocatable: runs at max(align_up(1 MiB, 2 MiB), pref_address) = 16 MiB. */
	ram_init(&r, 17 * MiB);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), 0);
	ram_fini(&r);
	ram_init(&r, 17 * MiB - 0x1000);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOMEM);
	ram_fini(&r);

	/* Relocatable with pref_address below: alignment decides (2 MiB). */
	s.pref_address = 0;
	s.init_size = 0x100000;
	ram_init(&r, 3 * MiB);
	assert_int_equal(load(&r, &s, initrd, sizeof(initrd), NULL, 0, &e), 0);
	/* The initrd keeps clear of [1 MiB, 3 MiB): below 1 MiB it goes. */
	assert_true(gen_get32(zero_page(&r) + 0x218) < MiB);
	ram_fini(&r);

	/* Not relocatable: it moves itself to pref_address. */
	s = gen_bz_default();
	s.relocatable = 0;
	s.kernel_alignment = 3;		/* ignored when not relocatable */
	s.pref_address = 32 * MiB;
	ram_init(&r, 33 * MiB);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), 0);
	ram_fini(&r);
	ram_init(&r, 32 * MiB);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOMEM);
	ram_fini(&r);

	/* pref_address far above 4 GiB, or init_size past RAM. */
	s = gen_bz_default();
	s.pref_address = 0xfffffffffffff000ULL;
	ram_init(&r, 64 * MiB);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOMEM);
	s = gen_bz_default();
	s.init_size = 0xffffffff;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOMEM);
	ram_fini(&r);
}

static void test_protocol_versions(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;

	ram_init(&r, 32 * MiB);
	/* 2.12 has xloadflags but no acpi_rsdp_addr. */
	s.version = 0x020c;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0xe0000, &e), 0);
	assert_int_equal(gen_get64(zero_page(&r) + 0x70), 0);
	s.version = 0x020e;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0xe0000, &e), 0);
	assert_int_equal(gen_get64(zero_page(&r) + 0x70), 0xe0000);
	s.version = 0x020b;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOEXEC);
	s.version = 0x0100;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOEXEC);
	ram_fini(&r);
}

static void test_nasty_headers(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *img;
	size_t len;
	const char *why;

	ram_init(&r, 32 * MiB);
	img = gen_bzimage(&s, &len);
	/* Truncated anywhere inside the header or the setup code. */
	assert_int_equal(boot_bzimage_load(&r.mem, img, 0x1f0, NULL, 0, NULL, 0, &e), -ENOEXEC);
	assert_int_equal(boot_bzimage_load(&r.mem, img, 0x205, NULL, 0, NULL, 0, &e), -ENOEXEC);
	assert_int_equal(boot_bzimage_load(&r.mem, img, 0x250, NULL, 0, NULL, 0, &e), -ENOEXEC);
	assert_int_equal(boot_bzimage_load(&r.mem, img, 5 * 512, NULL, 0, NULL, 0, &e),
			 -ENOEXEC);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len - 1, NULL, 0, NULL, 0, &e),
			 -ENOEXEC);
	/* Bad magic values. */
	img[0x1fe] = 0;
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "bzImage boot_flag is not 0xAA55");
	img[0x1fe] = 0x55;
	img[0x200] = 0x90;
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), -ENOEXEC);
	img[0x200] = 0xeb;
	/* Header end before init_size. */
	img[0x201] = 0x20;
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), -ENOEXEC);
	/* ramdisk and setup_data fields in the image are the loader's: cleared. */
	img[0x201] = 0x6a;
	gen_put32(img + 0x218, 0x123000);
	gen_put32(img + 0x21c, 0x1000);
	gen_put64(img + 0x250, 0x5000);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), 0);
	assert_int_equal(gen_get32(zero_page(&r) + 0x218), 0);
	assert_int_equal(gen_get32(zero_page(&r) + 0x21c), 0);
	assert_int_equal(gen_get64(zero_page(&r) + 0x250), 0);
	/* Header end far past 0x290 is clamped: the copy stops at 0x290. */
	img[0x201] = 0xff;
	memset(img + 0x26c, 0xcc, 0x301 - 0x26c);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), 0);
	assert_int_equal(zero_page(&r)[0x28f], 0xcc);
	assert_int_equal(zero_page(&r)[0x290], 0);
	assert_int_equal(zero_page(&r)[0x2cf], 0);
	free(img);

	/* setup_sects 255: 128 KiB of setup, in a file cut to 6 KiB. */
	s.setup_sects = 255;
	img = gen_bzimage(&s, &len);
	img[0x1f1] = 255;
	assert_int_equal(boot_bzimage_load(&r.mem, img, 6 * 1024, NULL, 0, NULL, 0, &e),
			 -ENOEXEC);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), 0);
	free(img);

	/* setup_sects 0 means 4. */
	s = gen_bz_default();
	s.setup_sects = 0;
	img = gen_bzimage(&s, &len);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), 0);
	assert_memory_equal(r.buf + BOOT_KERNEL_ADDR, img + 5 * 512, s.payload_len);
	/* syssize past the end of the file; then the largest syssize. */
	gen_put32(img + 0x1f4, s.payload_len / 16 + 1);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_non_null(strstr(why, "truncated"));
	gen_put32(img + 0x1f4, 0xffffffff);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), -ENOEXEC);
	/* syssize 0 (pre-2.04 meaning): the rest of the file. */
	gen_put32(img + 0x1f4, 0);
	assert_int_equal(boot_bzimage_load(&r.mem, img, len, NULL, 0, NULL, 0, &e), 0);
	free(img);

	/* Trailing bytes after syssize (an appended signature) are not loaded. */
	s = gen_bz_default();
	s.trailer_len = 0x200;
	memset(r.buf + BOOT_KERNEL_ADDR + s.payload_len, 0x11, 0x200);
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), 0);
	assert_int_equal(r.buf[BOOT_KERNEL_ADDR + s.payload_len], 0x11);

	/* Relocatable with a kernel_alignment that is not a power of two. */
	s = gen_bz_default();
	s.kernel_alignment = 0x300000;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOEXEC);
	s.kernel_alignment = 0;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOEXEC);
	s.kernel_alignment = 0x80000000;
	assert_int_equal(load(&r, &s, NULL, 0, NULL, 0, &e), -ENOEXEC);
	ram_fini(&r);
}

/* A guest_mem whose low RAM cannot hold the boot structures at all. */
static void test_tiny_ram(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct guest_mem mem = { 0 };
	struct boot_entry e;
	uint8_t *img, buf[0x1000];
	size_t len;

	img = gen_bzimage(&s, &len);
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = sizeof(buf), .hva = buf };
	mem.nr_regions = 1;
	assert_int_equal(boot_bzimage_load(&mem, img, len, NULL, 0, NULL, 0, &e), -ENOMEM);
	mem.nr_regions = 0;
	assert_int_equal(boot_bzimage_load(&mem, img, len, NULL, 0, NULL, 0, &e), -ENOMEM);
	free(img);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/keel-test-boot-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_boot_load_files(void **state)
{
	struct gen_bz s = gen_bz_default();
	struct boot_config cfg = { 0 };
	struct boot_entry e;
	struct ram r;
	uint8_t *img, junk[600];
	char *kpath, *ipath, *jpath, *bigpath;
	size_t len;
	int fd;

	ram_init(&r, 32 * MiB);
	img = gen_bzimage(&s, &len);
	kpath = write_temp(img, len);
	ipath = write_temp("initrd-bytes", 12);
	memset(junk, 0, sizeof(junk));
	jpath = write_temp(junk, sizeof(junk));
	bigpath = strdup("/tmp/keel-test-boot-big-XXXXXX");
	fd = mkstemp(bigpath);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 33 * MiB), 0);
	close(fd);

	assert_int_equal(boot_load(&r.mem, &cfg, &e), -EINVAL);
	cfg.kernel_path = "/nonexistent/vmlinuz";
	assert_int_equal(boot_load(&r.mem, &cfg, &e), -ENOENT);
	cfg.kernel_path = "/tmp";
	assert_int_equal(boot_load(&r.mem, &cfg, &e), -EINVAL);
	cfg.kernel_path = jpath;
	assert_int_equal(boot_load(&r.mem, &cfg, &e), -ENOEXEC);
	cfg.kernel_path = kpath;
	cfg.initrd_path = "/nonexistent/initrd";
	assert_int_equal(boot_load(&r.mem, &cfg, &e), -ENOENT);
	cfg.initrd_path = bigpath;
	assert_int_equal(boot_load(&r.mem, &cfg, &e), -EFBIG);
	cfg.initrd_path = ipath;
	cfg.cmdline = "console=ttyS0";
	cfg.rsdp_addr = 0xe0000;
	assert_int_equal(boot_load(&r.mem, &cfg, &e), 0);
	assert_int_equal(e.kind, BOOT_BZIMAGE);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(gen_get32(zero_page(&r) + 0x21c), 12);
	assert_memory_equal(r.buf + gen_get32(zero_page(&r) + 0x218), "initrd-bytes", 12);
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "console=ttyS0");
	assert_int_equal(gen_get64(zero_page(&r) + 0x70), 0xe0000);

	unlink(kpath);
	unlink(ipath);
	unlink(jpath);
	unlink(bigpath);
	free(kpath);
	free(ipath);
	free(jpath);
	free(bigpath);
	free(img);
	ram_fini(&r);
}

/* Debian's bzImage when there is one: /boot, the harness cache, or $KEEL_TEST_BZIMAGE. */
static char *find_real_bzimage(void)
{
	static const char *const patterns[] = {
		"/boot/vmlinuz-*", "build/harness/kernel-*/boot/vmlinuz-*",
	};
	const char *env = getenv("KEEL_TEST_BZIMAGE");
	char *found = NULL;
	unsigned int i;

	if (env && *env)
		return strdup(env);
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]) && !found; i++) {
		glob_t g;

		if (glob(patterns[i], 0, NULL, &g) == 0 && g.gl_pathc)
			found = strdup(g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	return found;
}

static void test_real_kernel(void **state)
{
	char *path = find_real_bzimage();
	struct boot_config cfg = { 0 };
	struct boot_entry e;
	struct ram r;
	uint8_t *bp, *file;
	size_t setup, len;
	struct stat st;
	FILE *f;

	if (!path) {
		print_message("# skip: no bzImage in /boot or build/harness "
			      "(set KEEL_TEST_BZIMAGE=/path/to/vmlinuz)\n");
		skip();
		return;
	}
	print_message("# real bzImage: %s\n", path);
	assert_int_equal(stat(path, &st), 0);
	file = malloc(st.st_size);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(file, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	len = st.st_size;
	assert_int_equal(boot_probe(file, len, NULL), BOOT_BZIMAGE);

	ram_init(&r, 256 * MiB);
	cfg.kernel_path = path;
	cfg.initrd_path = path;		/* any file will do as initrd bytes */
	cfg.cmdline = "console=ttyS0 panic=-1";
	cfg.rsdp_addr = 0xe0000;
	assert_int_equal(boot_load(&r.mem, &cfg, &e), 0);
	bp = zero_page(&r);
	setup = ((size_t)(file[0x1f1] ? file[0x1f1] : 4) + 1) * 512;
	print_message("# protocol %u.%02u, setup %zu bytes, kernel %u bytes, init_size %#x, "
		      "pref_address %#llx, initrd at %#x\n", bp[0x207], bp[0x206], setup,
		      gen_get32(bp + 0x1f4) * 16, gen_get32(bp + 0x260),
		      (unsigned long long)gen_get64(bp + 0x258), gen_get32(bp + 0x218));
	assert_true(gen_get16(bp + 0x206) >= 0x020c);
	assert_true(gen_get16(bp + 0x236) & 1);
	assert_int_equal(e.rip, 0x100200);
	assert_memory_equal(r.buf + BOOT_KERNEL_ADDR, file + setup, gen_get32(bp + 0x1f4) * 16);
	/* The initrd lies above the kernel's run area and below RAM's end. */
	assert_true(gen_get32(bp + 0x218) >= gen_get64(bp + 0x258) + gen_get32(bp + 0x260));
	assert_true(gen_get32(bp + 0x218) + len <= 256 * MiB);
	assert_memory_equal(r.buf + gen_get32(bp + 0x218), file, len);
	assert_int_equal(gen_get64(bp + 0x70), 0xe0000);
	free(file);
	free(path);
	ram_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_load_layout),
		cmocka_unit_test(test_page_tables_and_gdt),
		cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_kernel_placement),
		cmocka_unit_test(test_protocol_versions),
		cmocka_unit_test(test_nasty_headers),
		cmocka_unit_test(test_tiny_ram),
		cmocka_unit_test(test_boot_load_files),
		cmocka_unit_test(test_real_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
