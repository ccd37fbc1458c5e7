/*
 * Unit tests for user/vmm/boot_pvh.c: ELF64 parsing, the PVH entry note and
 * hvm_start_info v1 (xen/include/public/arch-x86/hvm/start_info.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
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

/* hvm_start_info v1 per start_info.h: offsets of every field, size 56. */
#define SI_MAGIC		0
#define SI_VERSION		4
#define SI_FLAGS		8
#define SI_NR_MODULES		12
#define SI_MODLIST_PADDR	16
#define SI_CMDLINE_PADDR	24
#define SI_RSDP_PADDR		32
#define SI_MEMMAP_PADDR		40
#define SI_MEMMAP_ENTRIES	48
#define SI_RESERVED		52
#define SI_SIZE			56
#define MOD_SIZE		32	/* paddr, size, cmdline_paddr, reserved */
#define MM_SIZE			24	/* addr, size, type, reserved */

struct ram {
	struct guest_mem mem;
	uint8_t *buf;
	uint64_t size;
};

static void ram_init(struct ram *r, uint64_t size)
{
	assert_int_equal(guest_mem_layout(&r->mem, size), 0);
	r->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(r->buf != MAP_FAILED);
	r->mem.regions[0].hva = r->buf;
	r->size = size;
}

static void ram_fini(struct ram *r)
{
	munmap(r->buf, r->size);
}

static uint8_t *phdr(uint8_t *img, unsigned int i)
{
	return img + GEN_ELF_PHOFF + i * GEN_ELF_PHSIZE;
}

static int load_img(struct ram *r, const uint8_t *img, size_t len, struct boot_entry *e)
{
	return boot_pvh_load(&r->mem, img, len, NULL, 0, NULL, 0, e);
}

static int load_spec(struct ram *r, const struct gen_elf *s, struct boot_entry *e)
{
	size_t len;
	uint8_t *img = gen_pvh_elf(s, &len, NULL, NULL);
	int ret = load_img(r, img, len, e);

	free(img);
	return ret;
}

static void test_probe(void **state)
{
	struct gen_elf s = gen_elf_default();
	const char *why = NULL;
	uint8_t *img;
	size_t len;

	img = gen_pvh_elf(&s, &len, NULL, NULL);
	assert_int_equal(boot_probe(img, len, &why), BOOT_PVH);
	img[4] = 1;			/* ELFCLASS32 */
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "ELF file is not 64-bit little-endian");
	img[4] = 2;
	gen_put16(img + 16, 3);		/* ET_DYN */
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	free(img);

	s.machine = 3;
	img = gen_pvh_elf(&s, &len, NULL, NULL);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "ELF file is not x86-64 (e_machine 3)");
	free(img);

	s = gen_elf_default();
	s.entry_descsz = 0;
	img = gen_pvh_elf(&s, &len, NULL, NULL);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "ELF vmlinux without a PVH entry note");
	free(img);
	/* Only the magic: an ELF file too short for its header. */
	assert_int_equal(boot_probe("\177ELF", 4, &why), -ENOEXEC);
	assert_string_equal(why, "not an ELF file");
}

static void test_load_layout(void **state)
{
	struct gen_elf s = gen_elf_default();
	struct boot_entry e;
	struct ram r;
	uint8_t initrd[0x2345], *si, *mod, *img, *gdt;
	uint64_t rd, code;
	size_t len, k;
	unsigned int i;

	for (k = 0; k < sizeof(initrd); k++)
		initrd[k] = gen_pattern(k, 7);
	ram_init(&r, 64 * MiB);
	memset(r.buf + 0x1200000, 0xee, 0x3000);	/* the bss must be zeroed */
	img = gen_pvh_elf(&s, &len, NULL, NULL);
	assert_int_equal(boot_pvh_load(&r.mem, img, len, initrd, sizeof(initrd),
				       "console=ttyS0 panic=-1", 0xe0000, &e), 0);
	free(img);

	assert_int_equal(e.kind, BOOT_PVH);
	assert_int_equal(e.rip, 0x1000040);
	assert_int_equal(e.rbx, BOOT_PVH_INFO_ADDR);
	assert_int_equal(e.cr3, 0);
	assert_int_equal(e.gdt_addr, BOOT_GDT_ADDR);
	assert_int_equal(e.gdt_limit, 31);
	gdt = r.buf + BOOT_GDT_ADDR;
	assert_int_equal(gen_get64(gdt), 0);
	code = gen_get64(gdt + 0x10);
	assert_int_equal(code, 0x00cf9b000000ffffULL);
	assert_int_equal(code >> 53 & 1, 0);		/* not long mode */
	assert_int_equal(code >> 54 & 1, 1);		/* 32-bit default size */
	assert_int_equal(code >> 55 & 1, 1);		/* 4 KiB granularity: 4 GiB */
	assert_int_equal(gen_get64(gdt + 0x18), 0x00cf93000000ffffULL);

	/* Segments: file bytes at p_paddr, zero up to p_memsz, nothing after. */
	for (k = 0; k < 0x800; k++)
		assert_int_equal(r.buf[0x1000000 + k], gen_pattern(k, 1));
	for (k = 0; k < 0x300; k++)
		assert_int_equal(r.buf[0x1200000 + k], gen_pattern(k, 2));
	for (k = 0x300; k < 0x2000; k++)
		assert_int_equal(r.buf[0x1200000 + k], 0);
	assert_int_equal(r.buf[0x1202000], 0xee);

	si = r.buf + BOOT_PVH_INFO_ADDR;
	assert_int_equal(gen_get32(si + SI_MAGIC), 0x336ec578);
	assert_int_equal(gen_get32(si + SI_VERSION), 1);
	assert_int_equal(gen_get32(si + SI_FLAGS), 0);
	assert_int_equal(gen_get32(si + SI_NR_MODULES), 1);
	assert_int_equal(gen_get64(si + SI_CMDLINE_PADDR), BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "console=ttyS0 panic=-1");
	assert_int_equal(gen_get64(si + SI_RSDP_PADDR), 0xe0000);
	assert_int_equal(gen_get32(si + SI_RESERVED), 0);

	/* modlist: one entry, 8-byte aligned, beside the start info, not inside it. */
	assert_int_equal(gen_get64(si + SI_MODLIST_PADDR) % 8, 0);
	assert_true(gen_get64(si + SI_MODLIST_PADDR) >= BOOT_PVH_INFO_ADDR + SI_SIZE);
	mod = r.buf + gen_get64(si + SI_MODLIST_PADDR);
	rd = gen_get64(mod);
	assert_int_equal(rd, 64 * MiB - 0x3000);	/* highest page-aligned fit */
	assert_int_equal(gen_get64(mod + 8), sizeof(initrd));
	assert_int_equal(gen_get64(mod + 16), 0);
	assert_int_equal(gen_get64(mod + 24), 0);
	assert_memory_equal(r.buf + rd, initrd, sizeof(initrd));

	/* memmap: the e820 map in hvm_memmap_table_entry form. */
	assert_int_equal(gen_get32(si + SI_MEMMAP_ENTRIES), r.mem.nr_e820);
	assert_true(gen_get64(si + SI_MEMMAP_PADDR) >=
		    gen_get64(si + SI_MODLIST_PADDR) + MOD_SIZE);
	for (i = 0; i < r.mem.nr_e820; i++) {
		uint8_t *m = r.buf + gen_get64(si + SI_MEMMAP_PADDR) + i * MM_SIZE;

		assert_int_equal(gen_get64(m), r.mem.e820[i].addr);
		assert_int_equal(gen_get64(m + 8), r.mem.e820[i].size);
		assert_int_equal(gen_get32(m + 16), r.mem.e820[i].type);
		assert_int_equal(gen_get32(m + 20), 0);
	}
	/* The whole start info block stays in its page below the zero page. */
	assert_true(gen_get64(si + SI_MEMMAP_PADDR) + E820_MAX_ENTRIES * MM_SIZE <=
		    BOOT_PARAMS_ADDR);
	ram_fini(&r);
}

static void test_no_initrd_and_desc4(void **state)
{
	struct gen_elf s = gen_elf_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *si;

	ram_init(&r, 32 * MiB);
	s.entry_descsz = 4;
	s.other_notes = false;
	s.entry = 0x1200010;		/* inside the second segment's file bytes */
	assert_int_equal(load_spec(&r, &s, &e), 0);
	assert_int_equal(e.rip, 0x1200010);
	si = r.buf + BOOT_PVH_INFO_ADDR;
	assert_int_equal(gen_get32(si + SI_NR_MODULES), 0);
	assert_int_equal(gen_get64(si + SI_MODLIST_PADDR), 0);
	assert_int_equal(gen_get64(si + SI_RSDP_PADDR), 0);
	assert_int_equal(r.buf[BOOT_CMDLINE_ADDR], 0);
	ram_fini(&r);
}

static void test_initrd_placement(void **state)
{
	struct gen_elf s = gen_elf_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *img, *big;
	size_t len;
	uint64_t rd;

	big = mmap(NULL, 40 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(big != MAP_FAILED);
	img = gen_pvh_elf(&s, &len, NULL, NULL);

	/* No room above the kernel (16 MiB..16 MiB + 0x202000): below it, in 1..16 MiB. */
	ram_init(&r, 0x1210000);
	assert_int_equal(boot_pvh_load(&r.mem, img, len, big, MiB, NULL, 0, &e), 0);
	rd = gen_get64(r.buf + gen_get64(r.buf + BOOT_PVH_INFO_ADDR + SI_MODLIST_PADDR));
	assert_int_equal(rd, 15 * MiB);
	/* Largest fit: all of 1..16 MiB; one page more does not fit anywhere. */
	assert_int_equal(boot_pvh_load(&r.mem, img, len, big, 15 * MiB, NULL, 0, &e), 0);
	assert_int_equal(boot_pvh_load(&r.mem, img, len, big, 15 * MiB + 0x1000, NULL, 0, &e),
			 -ENOMEM);
	assert_int_equal(boot_pvh_load(&r.mem, img, len, big, 40 * MiB, NULL, 0, &e), -ENOMEM);
	ram_fini(&r);
	free(img);
	munmap(big, 40 * MiB);
}

static void test_segments_outside_ram(void **state)
{
	struct gen_elf s;
	struct boot_entry e;
	struct ram r;
	static const uint64_t bad[] = {
		0x1000,			/* over the GDT / start info / zero page */
		0x28000,		/* over the command line */
		0xa0000,		/* the VGA hole (not e820 RAM) */
		0x9f000,		/* runs into the EBDA */
		0xe1000,		/* the ACPI table area (e820 reserved) */
		0x1fff000,		/* runs past the end of RAM */
		0x40000000,		/* far above RAM */
		0x140000000ULL,		/* above 4 GiB */
	};
	unsigned int i;

	ram_init(&r, 32 * MiB);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = gen_elf_default();
		s.seg[1].paddr = bad[i];
		memset(r.buf + 0x1000000, 0xee, 0x800);
		assert_int_equal(load_spec(&r, &s, &e), -ENOMEM);
		/* Checked before anything is written. */
		assert_int_equal(r.buf[0x1000000], 0xee);
	}
	/* A segment just below the end of RAM is fine. */
	s = gen_elf_default();
	s.seg[1].paddr = 32 * MiB - 0x2000;
	assert_int_equal(load_spec(&r, &s, &e), 0);
	ram_fini(&r);
}

static void test_nasty_elf(void **state)
{
	struct gen_elf s = gen_elf_default();
	struct boot_entry e;
	struct ram r;
	uint8_t *img, *orig;
	size_t len, note_off, note_len;
	const char *why;

	ram_init(&r, 32 * MiB);
	orig = gen_pvh_elf(&s, &len, &note_off, &note_len);
	img = malloc(len);
#define RESET() memcpy(img, orig, len)
#define BAD() assert_int_equal(load_img(&r, img, len, &e), -ENOEXEC)

	RESET();
	assert_int_equal(load_img(&r, img, len, &e), 0);
	/* Truncated ELF header, truncated program headers. */
	assert_int_equal(load_img(&r, img, 63, &e), -ENOEXEC);
	assert_int_equal(load_img(&r, img, GEN_ELF_PHOFF + GEN_ELF_PHSIZE, &e), -ENOEXEC);
	/* e_phentsize, e_phnum 0 / PN_XNUM / past EOF, e_phoff huge. */
	gen_put16(img + 54, 32);
	BAD();
	RESET();
	gen_put16(img + 56, 0);
	BAD();
	gen_put16(img + 56, 0xffff);
	BAD();
	gen_put16(img + 56, 1000);
	BAD();
	RESET();
	gen_put64(img + 32, 0xfffffffffffffff0ULL);
	BAD();
	gen_put64(img + 32, len);
	BAD();

	/* p_offset + p_filesz past EOF, and wrapping around. */
	RESET();
	gen_put64(phdr(img, 0) + 32, len);
	gen_put64(phdr(img, 0) + 40, len);
	BAD();
	RESET();
	gen_put64(phdr(img, 0) + 8, 0xfffffffffffffff8ULL);
	BAD();
	RESET();
	gen_put64(phdr(img, 0) + 8, len);
	gen_put64(phdr(img, 0) + 32, 1);
	BAD();
	/* p_filesz > p_memsz; p_paddr + p_memsz wraps. */
	RESET();
	gen_put64(phdr(img, 1) + 40, 0x100);
	BAD();
	RESET();
	gen_put64(phdr(img, 1) + 24, 0xfffffffffffff000ULL);
	BAD();
	/* Overlapping segments. */
	RESET();
	gen_put64(phdr(img, 1) + 24, 0x1000400);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_non_null(strstr(why, "overlap"));
	/* Entry outside every segment, or in a segment's bss. */
	RESET();
	gen_put32(img + note_off + note_len - 8, 0x2000000);
	BAD();
	gen_put32(img + note_off + note_len - 8, 0x1200300);
	BAD();
	/* Entry descriptor with a non-zero upper half. */
	RESET();
	gen_put32(img + note_off + note_len - 4, 1);
	BAD();

	/* Notes: namesz / descsz huge, and the PT_NOTE cut in mid-note. */
	RESET();
	gen_put32(img + note_off, 0xffffffff);
	BAD();
	RESET();
	gen_put32(img + note_off + 4, 0xfffffff0);
	BAD();
	RESET();
	gen_put32(img + note_off + 4, 0xfffffffd);	/* + padding wraps 32 bits */
	BAD();
	RESET();
	gen_put64(phdr(img, 2) + 32, note_len - 4);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_non_null(strstr(why, "note"));
	/* A PT_NOTE past EOF. */
	RESET();
	gen_put64(phdr(img, 2) + 8, len - 4);
	BAD();
	/* The entry note with a 2-byte descriptor. */
	RESET();
	gen_put32(img + note_off + note_len - 20, 2);
	BAD();
	/* Trailing bytes too few for a note header are ignored. */
	RESET();
	free(img);
	free(orig);

	s.entry_descsz = 4;
	s.other_notes = false;
	orig = gen_pvh_elf(&s, &len, &note_off, &note_len);
	img = malloc(len);
	RESET();
	gen_put64(phdr(img, 2) + 32, note_len + 8);	/* 8 stray bytes after the note */
	assert_int_equal(load_img(&r, img, len, &e), 0);
	/* A "Xen" note of another type, or "Xe" of type 18, is not the entry. */
	gen_put32(img + note_off + 8, 17);
	gen_put64(phdr(img, 2) + 32, note_len);
	BAD();
	RESET();
	memcpy(img + note_off + 12, "Xe\0", 4);
	gen_put32(img + note_off, 3);
	BAD();
#undef RESET
#undef BAD
	free(img);
	free(orig);
	ram_fini(&r);
}

/* More PT_LOAD entries than any kernel has are refused before the overlap walk. */
static void test_many_segments(void **state)
{
	unsigned int n = 40, i;
	size_t len = GEN_ELF_PHOFF + n * GEN_ELF_PHSIZE;
	uint8_t *img = calloc(1, len);
	const char *why;

	memcpy(img, "\177ELF", 4);
	img[4] = 2;
	img[5] = 1;
	gen_put16(img + 16, 2);
	gen_put16(img + 18, 62);
	gen_put64(img + 32, GEN_ELF_PHOFF);
	gen_put16(img + 54, GEN_ELF_PHSIZE);
	gen_put16(img + 56, n);
	for (i = 0; i < n; i++) {
		uint8_t *ph = img + GEN_ELF_PHOFF + i * GEN_ELF_PHSIZE;

		gen_put32(ph, 1);
		gen_put64(ph + 24, 0x1000000 + i * 0x1000);
		gen_put64(ph + 40, 0x1000);
	}
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_non_null(strstr(why, "more than 32"));
	/* 32 of them are fine as far as segments go (no entry note, though). */
	gen_put16(img + 56, 32);
	assert_int_equal(boot_probe(img, len, &why), -ENOEXEC);
	assert_string_equal(why, "ELF vmlinux without a PVH entry note");
	free(img);
}

static void test_boot_load_pvh_file(void **state)
{
	struct gen_elf s = gen_elf_default();
	struct boot_config cfg = { 0 };
	struct boot_entry e;
	struct ram r;
	char path[] = "/tmp/keel-test-pvh-XXXXXX";
	uint8_t *img;
	size_t len;
	int fd;

	img = gen_pvh_elf(&s, &len, NULL, NULL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	ram_init(&r, 32 * MiB);
	cfg.kernel_path = path;
	cfg.cmdline = "quiet";
	assert_int_equal(boot_load(&r.mem, &cfg, &e), 0);
	assert_int_equal(e.kind, BOOT_PVH);
	assert_int_equal(e.rip, s.entry);
	assert_string_equal((char *)r.buf + BOOT_CMDLINE_ADDR, "quiet");
	unlink(path);
	free(img);
	ram_fini(&r);
}

static char *find_real_vmlinux(void)
{
	const char *env = getenv("KEEL_TEST_VMLINUX");
	char *found = NULL;
	glob_t g;

	if (env && *env)
		return strdup(env);
	if (glob("build/harness/kernel-*/vmlinux", 0, NULL, &g) == 0 && g.gl_pathc)
		found = strdup(g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return found;
}

static void test_real_vmlinux(void **state)
{
	char *path = find_real_vmlinux();
	struct boot_config cfg = { 0 };
	struct boot_entry e;
	struct ram r;
	uint8_t *si, *mod;
	struct stat st;

	if (!path) {
		print_message("# skip: no vmlinux in build/harness (the system harness extracts "
			      "it; or set KEEL_TEST_VMLINUX=/path/to/vmlinux)\n");
		skip();
		return;
	}
	print_message("# real vmlinux: %s\n", path);
	assert_int_equal(stat(path, &st), 0);
	ram_init(&r, 256 * MiB);
	cfg.kernel_path = path;
	cfg.initrd_path = "/etc/hostname";
	cfg.cmdline = "console=ttyS0";
	cfg.rsdp_addr = 0xe0000;
	assert_int_equal(boot_load(&r.mem, &cfg, &e), 0);
	assert_int_equal(e.kind, BOOT_PVH);
	si = r.buf + BOOT_PVH_INFO_ADDR;
	mod = r.buf + gen_get64(si + SI_MODLIST_PADDR);
	print_message("# entry %#llx, initrd at %#llx (%llu bytes), %u memmap entries\n",
		      (unsigned long long)e.rip, (unsigned long long)gen_get64(mod),
		      (unsigned long long)gen_get64(mod + 8), gen_get32(si + SI_MEMMAP_ENTRIES));
	/* Linux's pvh_start_xen lies in the first segment, at 16 MiB and up. */
	assert_true(e.rip > 0x1000000 && e.rip < 0x3000000);
	/* The text starts with code, not zeros, and the initrd sits above the kernel. */
	assert_true(gen_get64(r.buf + 0x1000000) != 0);
	assert_true(gen_get64(mod) > 0x3000000);
	free(path);
	ram_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_load_layout),
		cmocka_unit_test(test_no_initrd_and_desc4),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_segments_outside_ram),
		cmocka_unit_test(test_nasty_elf),
		cmocka_unit_test(test_many_segments),
		cmocka_unit_test(test_boot_load_pvh_file),
		cmocka_unit_test(test_real_vmlinux),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
