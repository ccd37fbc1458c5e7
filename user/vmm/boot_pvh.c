/*
 * PVH loader: ELF64 vmlinux entered at its XEN_ELFNOTE_PHYS32_ENTRY in 32-bit
 * flat mode with an hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/boot_priv.h"

/* ELF64 header and program header fields (System V gABI). */
#define ELF_EHDR_SIZE		64
#define ELF_EI_CLASS		4
#define ELF_EI_DATA		5
#define ELF_E_TYPE		16
#define ELF_E_MACHINE		18
#define ELF_E_PHOFF		32
#define ELF_E_PHENTSIZE		54
#define ELF_E_PHNUM		56
#define ELF_CLASS64		2
#define ELF_DATA_LSB		1
#define ELF_ET_EXEC		2
#define ELF_EM_X86_64		62
#define ELF_PN_XNUM		0xffff

#define ELF_PHDR_SIZE		56
#define ELF_P_TYPE		0
#define ELF_P_OFFSET		8
#define ELF_P_PADDR		24
#define ELF_P_FILESZ		32
#define ELF_P_MEMSZ		40
#define ELF_P_ALIGN		48
#define ELF_PT_LOAD		1
#define ELF_PT_NOTE		4

#define ELF_NHDR_SIZE		12
#define PVH_NOTE_NAME		"Xen"		/* namesz 4, with the NUL */
#define PVH_NOTE_PHYS32_ENTRY	18

/* More PT_LOAD segments than any kernel has; keeps the overlap check small. */
#define PVH_MAX_SEGMENTS	32

/* hvm_start_info (version 1), one hvm_modlist_entry, hvm_memmap_table_entry[]. */
#define PVH_MAGIC		0x336ec578
#define PVH_VERSION		1
#define SI_MAGIC		0
#define SI_VERSION		4
#define SI_FLAGS		8
#define SI_NR_MODULES		12
#define SI_MODLIST_PADDR	16
#define SI_CMDLINE_PADDR	24
#define SI_RSDP_PADDR		32
#define SI_MEMMAP_PADDR		40
#define SI_MEMMAP_ENTRIES	48
#define SI_SIZE			56
#define MOD_PADDR		0
#define MOD_SIZE		8
#define MOD_CMDLINE_PADDR	16
#define MOD_ENTRY_SIZE		32
#define MM_ADDR			0
#define MM_SIZE			8
#define MM_TYPE			16
#define MM_ENTRY_SIZE		24
/* Offsets inside the start info page at BOOT_PVH_INFO_ADDR. */
#define PVH_MODLIST_OFF		0x40
#define PVH_MEMMAP_OFF		0x80
#define PVH_INFO_SIZE		0x1000

struct pvh_segment {
	uint64_t offset;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct pvh_image {
	uint32_t entry;
	unsigned int nr_segments;
	struct pvh_segment seg[PVH_MAX_SEGMENTS];
	uint64_t start;			/* lowest paddr of any segment */
	uint64_t end;			/* highest paddr + memsz */
};

static uint64_t pvh_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Walk the notes of one PT_NOTE segment; the entry note's descriptor is
 * 4 bytes (or 8 with a zero upper half, as Linux writes it).
 */
static int pvh_scan_notes(const uint8_t *p, uint64_t size, uint64_t align,
			  bool *found, uint32_t *entry, const char **why)
{
	uint64_t off = 0;

	while (size - off >= ELF_NHDR_SIZE) {
		uint32_t namesz = boot_get32(p + off);
		uint32_t descsz = boot_get32(p + off + 4);
		uint32_t type = boot_get32(p + off + 8);
		uint64_t name_off = off + ELF_NHDR_SIZE;
		uint64_t desc_off = name_off + pvh_align_up(namesz, align);
		uint64_t next = desc_off + pvh_align_up(descsz, align);

		if (desc_off > size || next > size || descsz > size - desc_off) {
			*why = boot_why("ELF note at segment offset %#llx runs past its segment",
					(unsigned long long)off);
			return -ENOEXEC;
		}
		if (!*found && type == PVH_NOTE_PHYS32_ENTRY &&
		    namesz == sizeof(PVH_NOTE_NAME) &&
		    memcmp(p + name_off, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME)) == 0) {
			if (descsz == 4) {
				*entry = boot_get32(p + desc_off);
			} else if (descsz == 8 && boot_get32(p + desc_off + 4) == 0) {
				*entry = boot_get32(p + desc_off);
			} else {
				*why = boot_why("PVH entry note has a bad descriptor (%u bytes)",
						descsz);
				return -ENOEXEC;
			}
			*found = true;
		}
		off = next;
	}
	return 0;
}

static int pvh_parse(const uint8_t *p, size_t len, struct pvh_image *img, const char **why)
{
	uint64_t phoff;
	unsigned int phnum, i, j;
	bool found = false;
	int ret;

	memset(img, 0, sizeof(*img));
	if (len < ELF_EHDR_SIZE || memcmp(p, "\177ELF", 4) != 0) {
		*why = "not an ELF file";
		return -ENOEXEC;
	}
	if (p[ELF_EI_CLASS] != ELF_CLASS64 || p[ELF_EI_DATA] != ELF_DATA_LSB) {
		*why = "ELF file is not 64-bit little-endian";
		return -ENOEXEC;
	}
	if (boot_get16(p + ELF_E_MACHINE) != ELF_EM_X86_64) {
		*why = boot_why("ELF file is not x86-64 (e_machine %u)",
				boot_get16(p + ELF_E_MACHINE));
		return -ENOEXEC;
	}
	if (boot_get16(p + ELF_E_TYPE) != ELF_ET_EXEC) {
		*why = "ELF file is not an executable (e_type is not ET_EXEC)";
		return -ENOEXEC;
	}
	phoff = boot_get64(p + ELF_E_PHOFF);
	phnum = boot_get16(p + ELF_E_PHNUM);
	if (boot_get16(p + ELF_E_PHENTSIZE) != ELF_PHDR_SIZE) {
		*why = "ELF program header size is not 56";
		return -ENOEXEC;
	}
	if (phnum == 0 || phnum == ELF_PN_XNUM) {
		*why = boot_why("ELF file has %s program headers",
				phnum ? "too many (PN_XNUM)" : "no");
		return -ENOEXEC;
	}
	if (phoff > len || (uint64_t)phnum * ELF_PHDR_SIZE > len - phoff) {
		*why = "ELF program headers run past the end of the file";
		return -ENOEXEC;
	}

	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = p + phoff + (uint64_t)i * ELF_PHDR_SIZE;
		uint32_t type = boot_get32(ph + ELF_P_TYPE);
		struct pvh_segment s = {
			.offset = boot_get64(ph + ELF_P_OFFSET),
			.paddr = boot_get64(ph + ELF_P_PADDR),
			.filesz = boot_get64(ph + ELF_P_FILESZ),
			.memsz = boot_get64(ph + ELF_P_MEMSZ),
		};

		if (type != ELF_PT_LOAD && type != ELF_PT_NOTE)
			continue;
		if (s.offset > len || s.filesz > len - s.offset) {
			*why = boot_why("ELF segment %u (offset %#llx, %#llx bytes) runs past "
					"the end of the file", i,
					(unsigned long long)s.offset,
					(unsigned long long)s.filesz);
			return -ENOEXEC;
		}
		if (type == ELF_PT_NOTE) {
			uint64_t align = boot_get64(ph + ELF_P_ALIGN) == 8 ? 8 : 4;

			ret = pvh_scan_notes(p + s.offset, s.filesz, align, &found,
					     &img->entry, why);
			if (ret < 0)
				return ret;
			continue;
		}
		if (s.memsz == 0)
			continue;
		if (s.filesz > s.memsz || s.paddr + s.memsz < s.paddr) {
			*why = boot_why("ELF segment %u has a bad size or address", i);
			return -ENOEXEC;
		}
		if (img->nr_segments == PVH_MAX_SEGMENTS) {
			*why = "ELF file has more than 32 loadable segments";
			return -ENOEXEC;
		}
		for (j = 0; j < img->nr_segments; j++) {
			const struct pvh_segment *o = &img->seg[j];

			if (s.paddr < o->paddr + o->memsz && o->paddr < s.paddr + s.memsz) {
				*why = boot_why("ELF segments overlap at physical %#llx",
						(unsigned long long)s.paddr);
				return -ENOEXEC;
			}
		}
		if (!img->nr_segments || s.paddr < img->start)
			img->start = s.paddr;
		if (s.paddr + s.memsz > img->end)
			img->end = s.paddr + s.memsz;
		img->seg[img->nr_segments++] = s;
	}
	if (!found) {
		*why = "ELF vmlinux without a PVH entry note";
		return -ENOEXEC;
	}
	for (i = 0; i < img->nr_segments; i++) {
		const struct pvh_segment *s = &img->seg[i];

		if (img->entry >= s->paddr && img->entry - s->paddr < s->filesz)
			break;
	}
	if (i == img->nr_segments) {
		*why = boot_why("PVH entry %#x is outside every loaded segment", img->entry);
		return -ENOEXEC;
	}
	return 0;
}

int boot_pvh_check(const void *image, size_t len, const char **why)
{
	struct pvh_image *img = malloc(sizeof(*img));
	const char *reason = NULL;
	int ret;

	if (!img)
		return -ENOMEM;
	ret = pvh_parse(image, len, img, &reason);
	free(img);
	if (why)
		*why = reason;
	return ret;
}

static int pvh_load_segments(struct guest_mem *mem, const uint8_t *p,
			     const struct pvh_image *img)
{
	unsigned int i;

	/* Check them all before writing anything. */
	for (i = 0; i < img->nr_segments; i++) {
		const struct pvh_segment *s = &img->seg[i];

		if (s->paddr < BOOT_LOW_END || s->paddr + s->memsz > guest_mem_low_end(mem) ||
		    !boot_range_is_ram(mem, s->paddr, s->memsz)) {
			log_err("PVH: kernel segment at %#llx-%#llx is outside low guest RAM",
				(unsigned long long)s->paddr,
				(unsigned long long)(s->paddr + s->memsz));
			return -ENOMEM;
		}
	}
	for (i = 0; i < img->nr_segments; i++) {
		const struct pvh_segment *s = &img->seg[i];
		uint8_t *dst = guest_mem_hva(mem, s->paddr, s->memsz);

		memcpy(dst, p + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

int boot_pvh_load(struct guest_mem *mem, const void *image, size_t len,
		  const void *initrd, size_t initrd_len, const char *cmdline,
		  uint64_t rsdp_addr, struct boot_entry *entry)
{
	struct pvh_image *img;
	const char *why = NULL;
	uint8_t *info = NULL;
	unsigned int i, n;
	size_t cmdline_len;
	int ret;

	img = malloc(sizeof(*img));
	if (!img)
		return -ENOMEM;
	ret = pvh_parse(image, len, img, &why);
	if (ret < 0) {
		log_err("kernel: %s", why);
		goto out;
	}
	ret = pvh_load_segments(mem, image, img);
	if (ret < 0)
		goto out;
	ret = boot_write_cmdline(mem, cmdline, BOOT_CMDLINE_MAX - 1, &cmdline_len);
	if (ret < 0)
		goto out;

	ret = -ENOMEM;
	info = calloc(1, PVH_INFO_SIZE);
	if (!info)
		goto out;
	boot_put32(info + SI_MAGIC, PVH_MAGIC);
	boot_put32(info + SI_VERSION, PVH_VERSION);
	boot_put32(info + SI_FLAGS, 0);
	boot_put64(info + SI_CMDLINE_PADDR, BOOT_CMDLINE_ADDR);
	boot_put64(info + SI_RSDP_PADDR, rsdp_addr);
	if (initrd && initrd_len) {
		uint8_t *mod = info + PVH_MODLIST_OFF;
		uint64_t addr;

		ret = boot_place_initrd(mem, initrd_len, GUEST_4G, img->start, img->end, &addr);
		if (ret < 0) {
			log_err("PVH: initrd does not fit in guest RAM (%zu bytes, kernel at "
				"%#llx-%#llx, low RAM ends at %#llx)", initrd_len,
				(unsigned long long)img->start, (unsigned long long)img->end,
				(unsigned long long)guest_mem_low_end(mem));
			goto out;
		}
		ret = guest_mem_write(mem, addr, initrd, initrd_len);
		if (ret < 0)
			goto out;
		boot_put64(mod + MOD_PADDR, addr);
		boot_put64(mod + MOD_SIZE, initrd_len);
		boot_put64(mod + MOD_CMDLINE_PADDR, 0);
		boot_put32(info + SI_NR_MODULES, 1);
		boot_put64(info + SI_MODLIST_PADDR, BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFF);
	}
	n = mem->nr_e820 < E820_MAX_ENTRIES ? mem->nr_e820 : E820_MAX_ENTRIES;
	for (i = 0; i < n; i++) {
		uint8_t *e = info + PVH_MEMMAP_OFF + i * MM_ENTRY_SIZE;

		boot_put64(e + MM_ADDR, mem->e820[i].addr);
		boot_put64(e + MM_SIZE, mem->e820[i].size);
		boot_put32(e + MM_TYPE, mem->e820[i].type);
	}
	boot_put64(info + SI_MEMMAP_PADDR, n ? BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFF : 0);
	boot_put32(info + SI_MEMMAP_ENTRIES, n);

	ret = guest_mem_write(mem, BOOT_PVH_INFO_ADDR, info, PVH_INFO_SIZE);
	if (ret < 0) {
		log_err("PVH: start info at %#x is not in guest RAM", BOOT_PVH_INFO_ADDR);
		goto out;
	}
	memset(entry, 0, sizeof(*entry));
	ret = boot_write_gdt(mem, BOOT_GDT_CODE32, entry);
	if (ret < 0)
		goto out;
	entry->kind = BOOT_PVH;
	entry->rip = img->entry;
	entry->rbx = BOOT_PVH_INFO_ADDR;
	entry->rsp = BOOT_STACK_TOP;
out:
	free(info);
	free(img);
	return ret;
}
