/*
 * bzImage loader: Linux x86 boot protocol >= 2.12, "64-bit BOOT PROTOCOL"
 * (Documentation/arch/x86/boot.rst; zero page layout: zero-page.rst).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/boot_priv.h"

/* Setup header fields, as offsets into the image and into boot_params. */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_SYSSIZE		0x1f4
#define BZ_BOOT_FLAG		0x1fe
#define BZ_JUMP			0x200
#define BZ_HEADER		0x202
#define BZ_VERSION		0x206
#define BZ_TYPE_OF_LOADER	0x210
#define BZ_LOADFLAGS		0x211
#define BZ_RAMDISK_IMAGE	0x218
#define BZ_RAMDISK_SIZE		0x21c
#define BZ_HEAP_END_PTR		0x224
#define BZ_CMD_LINE_PTR		0x228
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_KERNEL_ALIGNMENT	0x230
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_SETUP_DATA		0x250
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
/* A 2.10+ header reaches at least through init_size; it never passes 0x290. */
#define BZ_HEADER_MIN_END	0x264
#define BZ_HEADER_MAX_END	0x290

#define BZ_BOOT_FLAG_MAGIC	0xaa55
#define BZ_HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BZ_JUMP_SHORT		0xeb
#define BZ_MIN_VERSION		0x020c		/* xloadflags: 64-bit entry */
#define BZ_RSDP_VERSION		0x020e		/* acpi_rsdp_addr */
#define BZ_LOADER_UNDEFINED	0xff
#define BZ_LOADED_HIGH		0x01
#define BZ_CAN_USE_HEAP		0x80
#define BZ_XLF_KERNEL_64	0x0001
#define BZ_HEAP_END		0xfe00
#define BZ_INITRD_MAX_DEFAULT	0x37ffffff	/* boot.rst: when the field is 0 */
#define BZ_ENTRY_64		0x200		/* 64-bit entry: load address + 0x200 */

/* boot_params (zero page) fields outside the setup header. */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define BP_E820_ENTRY_SIZE	20
#define BP_E820_MAX		128
#define BP_SIZE			0x1000

/* Identity map of the first 4 GiB: PML4, PDPT, four PDs of 2 MiB pages. */
#define PT_PRESENT		0x001ULL
#define PT_WRITE		0x002ULL
#define PT_LARGE		0x080ULL
#define PT_PAGES		6
#define PT_2M			0x200000ULL

/* What the loader needs from a validated header. */
struct bz_header {
	uint16_t version;
	size_t header_end;		/* setup header is [0x1f1, header_end) */
	size_t setup_size;		/* real-mode part, skipped under 64-bit boot */
	size_t kernel_size;		/* protected-mode part, loaded at 1 MiB */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_alignment;
	uint32_t init_size;
	uint64_t pref_address;
	bool relocatable;
};

static int bz_parse(const uint8_t *p, size_t len, struct bz_header *h, const char **why)
{
	uint32_t syssize;
	unsigned int sects;

	if (len < BZ_VERSION + 2 || boot_get32(p + BZ_HEADER) != BZ_HDRS_MAGIC) {
		*why = "no HdrS signature: not a bzImage";
		return -ENOEXEC;
	}
	if (boot_get16(p + BZ_BOOT_FLAG) != BZ_BOOT_FLAG_MAGIC) {
		*why = "bzImage boot_flag is not 0xAA55";
		return -ENOEXEC;
	}
	h->version = boot_get16(p + BZ_VERSION);
	if (h->version < BZ_MIN_VERSION) {
		*why = boot_why("bzImage boot protocol %u.%02u is too old (need 2.12)",
				h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	/* The short jump at 0x200 skips the header: its target is the header end. */
	if (p[BZ_JUMP] != BZ_JUMP_SHORT) {
		*why = "bzImage setup header has no jump at 0x200";
		return -ENOEXEC;
	}
	h->header_end = BZ_HEADER + p[BZ_JUMP + 1];
	if (h->header_end < BZ_HEADER_MIN_END) {
		*why = "bzImage setup header is too short for its protocol version";
		return -ENOEXEC;
	}
	if (h->header_end > BZ_HEADER_MAX_END)
		h->header_end = BZ_HEADER_MAX_END;
	if (len < h->header_end) {
		*why = "bzImage is truncated inside its setup header";
		return -ENOEXEC;
	}
	if (!(boot_get16(p + BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64)) {
		*why = "bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)";
		return -ENOEXEC;
	}
	sects = p[BZ_SETUP_SECTS] ? p[BZ_SETUP_SECTS] : 4;
	h->setup_size = (size_t)(sects + 1) * 512;
	if (h->setup_size >= len) {
		*why = boot_why("bzImage is truncated: %u setup sectors but only %zu bytes",
				sects, len);
		return -ENOEXEC;
	}
	/* Files may carry trailing bytes (signatures) past syssize. */
	syssize = boot_get32(p + BZ_SYSSIZE);
	h->kernel_size = syssize ? (size_t)syssize * 16 : len - h->setup_size;
	if (h->kernel_size > len - h->setup_size) {
		*why = boot_why("bzImage is truncated: kernel of %zu bytes, file has %zu",
				h->kernel_size, len - h->setup_size);
		return -ENOEXEC;
	}
	h->initrd_addr_max = boot_get32(p + BZ_INITRD_ADDR_MAX);
	h->cmdline_size = boot_get32(p + BZ_CMDLINE_SIZE);
	h->kernel_alignment = boot_get32(p + BZ_KERNEL_ALIGNMENT);
	h->relocatable = p[BZ_RELOCATABLE] != 0;
	h->pref_address = boot_get64(p + BZ_PREF_ADDRESS);
	h->init_size = boot_get32(p + BZ_INIT_SIZE);
	if (h->relocatable && (h->kernel_alignment == 0 ||
			       (h->kernel_alignment & (h->kernel_alignment - 1)) ||
			       h->kernel_alignment > (1U << 30))) {
		*why = boot_why("bzImage kernel_alignment %#x is not a power of two up to 1 GiB",
				h->kernel_alignment);
		return -ENOEXEC;
	}
	return 0;
}

int boot_bzimage_check(const void *image, size_t len, const char **why)
{
	struct bz_header h;
	const char *reason = NULL;
	int ret = bz_parse(image, len, &h, &reason);

	if (why)
		*why = reason;
	return ret;
}

/*
 * Where the decompressed kernel will run: a relocatable kernel realigns its
 * load address to kernel_alignment but not below pref_address; a fixed one
 * moves itself to pref_address. It needs init_size bytes from there.
 */
static uint64_t bz_runtime_start(const struct bz_header *h, uint64_t load)
{
	uint64_t start = load;

	if (h->relocatable) {
		start = (load + h->kernel_alignment - 1) & ~(uint64_t)(h->kernel_alignment - 1);
		if (h->pref_address > start)
			start = h->pref_address;
	} else if (h->pref_address) {
		start = h->pref_address;
	}
	return start;
}

static int bz_write_page_tables(struct guest_mem *mem)
{
	uint64_t *pt = calloc(PT_PAGES, BOOT_PAGE_SIZE);
	uint8_t *bytes = (uint8_t *)pt;
	unsigned int i;
	int ret;

	if (!pt)
		return -ENOMEM;
	/* PML4[0] -> PDPT; PDPT[0..3] -> PD 0..3; each PD maps 1 GiB in 2 MiB pages. */
	boot_put64(bytes, (BOOT_PML4_ADDR + BOOT_PAGE_SIZE) | PT_PRESENT | PT_WRITE);
	for (i = 0; i < 4; i++)
		boot_put64(bytes + BOOT_PAGE_SIZE + i * 8,
			   (BOOT_PML4_ADDR + (2 + i) * BOOT_PAGE_SIZE) | PT_PRESENT | PT_WRITE);
	for (i = 0; i < 4 * 512; i++)
		boot_put64(bytes + 2 * BOOT_PAGE_SIZE + i * 8,
			   i * PT_2M | PT_PRESENT | PT_WRITE | PT_LARGE);
	ret = guest_mem_write(mem, BOOT_PML4_ADDR, pt, PT_PAGES * BOOT_PAGE_SIZE);
	free(pt);
	if (ret < 0)
		log_err("bzImage: page tables at %#x are not in guest RAM", BOOT_PML4_ADDR);
	return ret;
}

static void bz_fill_e820(const struct guest_mem *mem, uint8_t *bp)
{
	unsigned int i, n = mem->nr_e820;

	if (n > E820_MAX_ENTRIES)
		n = E820_MAX_ENTRIES;
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

		boot_put64(e, mem->e820[i].addr);
		boot_put64(e + 8, mem->e820[i].size);
		boot_put32(e + 16, mem->e820[i].type);
	}
	bp[BP_E820_ENTRIES] = n;
}

static int bz_load_initrd(struct guest_mem *mem, const struct bz_header *h, uint8_t *bp,
			  const void *initrd, size_t initrd_len, uint64_t kernel_end)
{
	/* initrd_addr_max is the last byte the initrd may occupy. */
	uint64_t limit = (uint64_t)(h->initrd_addr_max ? h->initrd_addr_max :
				    BZ_INITRD_MAX_DEFAULT) + 1;
	uint64_t addr;
	int ret;

	ret = boot_place_initrd(mem, initrd_len, limit, BOOT_KERNEL_ADDR, kernel_end, &addr);
	if (ret < 0) {
		log_err("bzImage: initrd does not fit in guest RAM (%zu bytes, below %#llx, "
			"above the kernel's %#llx)", initrd_len,
			(unsigned long long)(limit < guest_mem_low_end(mem) ?
					     limit : guest_mem_low_end(mem)),
			(unsigned long long)kernel_end);
		return ret;
	}
	ret = guest_mem_write(mem, addr, initrd, initrd_len);
	if (ret < 0)
		return ret;
	boot_put32(bp + BZ_RAMDISK_IMAGE, (uint32_t)addr);
	boot_put32(bp + BZ_RAMDISK_SIZE, (uint32_t)initrd_len);
	boot_put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
	boot_put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_len >> 32));
	return 0;
}

int boot_bzimage_load(struct guest_mem *mem, const void *image, size_t len,
		      const void *initrd, size_t initrd_len, const char *cmdline,
		      uint64_t rsdp_addr, struct boot_entry *entry)
{
	const uint8_t *p = image;
	const char *why = NULL;
	struct bz_header h;
	uint64_t low_end = guest_mem_low_end(mem);
	uint64_t run_start, run_end, kernel_end;
	uint8_t *bp;
	size_t cmdline_len;
	int ret;

	ret = bz_parse(p, len, &h, &why);
	if (ret < 0) {
		log_err("kernel: %s", why);
		return ret;
	}
	run_start = bz_runtime_start(&h, BOOT_KERNEL_ADDR);
	if (run_start >= GUEST_4G) {
		log_err("bzImage: the kernel wants to run at %#llx, above 4 GiB",
			(unsigned long long)run_start);
		return -ENOMEM;
	}
	run_end = run_start + (h.init_size ? h.init_size : h.kernel_size);
	kernel_end = BOOT_KERNEL_ADDR + h.kernel_size;
	if (run_end > kernel_end)
		kernel_end = run_end;
	if (kernel_end > low_end ||
	    !boot_range_is_ram(mem, BOOT_KERNEL_ADDR, kernel_end - BOOT_KERNEL_ADDR)) {
		log_err("bzImage: the kernel needs RAM up to %#llx (init_size %#x from %#llx), "
			"low guest RAM ends at %#llx", (unsigned long long)kernel_end,
			h.init_size, (unsigned long long)run_start,
			(unsigned long long)low_end);
		return -ENOMEM;
	}
	ret = guest_mem_write(mem, BOOT_KERNEL_ADDR, p + h.setup_size, h.kernel_size);
	if (ret < 0)
		return ret;

	bp = calloc(1, BP_SIZE);
	if (!bp)
		return -ENOMEM;
	memcpy(bp + BZ_SETUP_SECTS, p + BZ_SETUP_SECTS, h.header_end - BZ_SETUP_SECTS);
	bp[BZ_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	bp[BZ_LOADFLAGS] |= BZ_LOADED_HIGH | BZ_CAN_USE_HEAP;
	boot_put16(bp + BZ_HEAP_END_PTR, BZ_HEAP_END);
	/* Fields the boot loader owns: whatever the image carries there goes. */
	boot_put32(bp + BZ_RAMDISK_IMAGE, 0);
	boot_put32(bp + BZ_RAMDISK_SIZE, 0);
	boot_put64(bp + BZ_SETUP_DATA, 0);

	ret = boot_write_cmdline(mem, cmdline, h.cmdline_size, &cmdline_len);
	if (ret < 0)
		goto out;
	boot_put32(bp + BZ_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
	boot_put32(bp + BP_EXT_CMD_LINE_PTR, 0);

	if (initrd && initrd_len) {
		ret = bz_load_initrd(mem, &h, bp, initrd, initrd_len, kernel_end);
		if (ret < 0)
			goto out;
	}
	bz_fill_e820(mem, bp);
	if (h.version >= BZ_RSDP_VERSION)
		boot_put64(bp + BP_ACPI_RSDP_ADDR, rsdp_addr);

	ret = guest_mem_write(mem, BOOT_PARAMS_ADDR, bp, BP_SIZE);
	if (ret < 0) {
		log_err("bzImage: zero page at %#x is not in guest RAM", BOOT_PARAMS_ADDR);
		goto out;
	}
	ret = bz_write_page_tables(mem);
	if (ret < 0)
		goto out;
	memset(entry, 0, sizeof(*entry));
	ret = boot_write_gdt(mem, BOOT_GDT_CODE64, entry);
	if (ret < 0)
		goto out;
	entry->kind = BOOT_BZIMAGE;
	entry->rip = BOOT_KERNEL_ADDR + BZ_ENTRY_64;
	entry->rsi = BOOT_PARAMS_ADDR;
	entry->rsp = BOOT_STACK_TOP;
	entry->cr3 = BOOT_PML4_ADDR;
out:
	free(bp);
	return ret;
}
