/*
 * Synthetic Linux kernel images for the boot loader tests and fuzz seeds:
 * a bzImage with a boot.rst setup header, an ELF64 vmlinux with a PVH note.
 */
#ifndef KEEL_TESTS_BOOT_IMAGE_GEN_H
#define KEEL_TESTS_BOOT_IMAGE_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void gen_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void gen_put32(uint8_t *p, uint32_t v)
{
	gen_put16(p, v);
	gen_put16(p + 2, v >> 16);
}

static inline void gen_put64(uint8_t *p, uint64_t v)
{
	gen_put32(p, v);
	gen_put32(p + 4, v >> 32);
}

static inline uint16_t gen_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t gen_get32(const uint8_t *p)
{
	return (uint32_t)gen_get16(p) | (uint32_t)gen_get16(p + 2) << 16;
}

static inline uint64_t gen_get64(const uint8_t *p)
{
	return (uint64_t)gen_get32(p) | (uint64_t)gen_get32(p + 4) << 32;
}

/* The byte every synthetic payload has at offset i (seeded per segment). */
static inline uint8_t gen_pattern(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 7 + seed * 31 + 1);
}

struct gen_bz {
	uint16_t version;
	uint8_t setup_sects;		/* as stored: 0 means 4 */
	uint8_t header_len;		/* byte at 0x201: header ends at 0x202 + this */
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	size_t payload_len;		/* multiple of 16 */
	size_t trailer_len;		/* bytes after syssize * 16 (a signature) */
};

/* A small relocatable 2.15 kernel that runs at 16 MiB with 1 MiB init_size. */
static inline struct gen_bz gen_bz_default(void)
{
	return (struct gen_bz){
		.version = 0x020f,
		.setup_sects = 4,
		.header_len = 0x6a,	/* 0x26c: a 2.15 header */
		.xloadflags = 0x1,
		.relocatable = 1,
		.kernel_alignment = 0x200000,
		.pref_address = 0x1000000,
		.init_size = 0x100000,
		.cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff,
		.payload_len = 0x1000,
	};
}

static inline uint8_t *gen_bzimage(const struct gen_bz *s, size_t *len)
{
	size_t setup = ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
	size_t n = setup + s->payload_len + s->trailer_len;
	uint8_t *p = calloc(1, n);
	size_t i;

	if (!p)
		abort();
	p[0x1f1] = s->setup_sects;
	gen_put32(p + 0x1f4, s->payload_len / 16);
	gen_put16(p + 0x1fa, 0xffff);			/* vid_mode: normal */
	gen_put16(p + 0x1fe, 0xaa55);
	p[0x200] = 0xeb;
	p[0x201] = s->header_len;
	memcpy(p + 0x202, "HdrS", 4);
	gen_put16(p + 0x206, s->version);
	gen_put16(p + 0x20e, 0x0200);			/* kernel_version string */
	p[0x211] = 0x01;				/* LOADED_HIGH */
	gen_put32(p + 0x214, 0x100000);			/* code32_start */
	gen_put32(p + 0x22c, s->initrd_addr_max);
	gen_put32(p + 0x230, s->kernel_alignment);
	p[0x234] = s->relocatable;
	p[0x235] = 21;					/* min_alignment: 2 MiB */
	gen_put16(p + 0x236, s->xloadflags);
	gen_put32(p + 0x238, s->cmdline_size);
	gen_put32(p + 0x248, 0x3ab);			/* payload_offset */
	gen_put32(p + 0x24c, 0x100);			/* payload_length */
	gen_put64(p + 0x258, s->pref_address);
	gen_put32(p + 0x260, s->init_size);
	gen_put32(p + 0x264, 0x190);			/* handover_offset */
	gen_put32(p + 0x268, 0x0);			/* kernel_info_offset */
	for (i = 0; i < s->payload_len + s->trailer_len; i++)
		p[setup + i] = gen_pattern(i, 0);
	*len = n;
	return p;
}

/* ELF64 vmlinux: PT_LOAD segments, then one PT_NOTE with the PVH entry. */
#define GEN_ELF_MAX_SEGS	6

struct gen_elf_seg {
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct gen_elf {
	uint16_t machine;		/* 62 = x86-64 */
	unsigned int nr_segs;
	struct gen_elf_seg seg[GEN_ELF_MAX_SEGS];
	uint32_t entry;
	unsigned int entry_descsz;	/* 4, 8, or 0 for no entry note */
	bool other_notes;		/* a GNU build-id and a Xen note before it */
};

/* Two segments at 16 MiB (text, and data with a bss tail). */
static inline struct gen_elf gen_elf_default(void)
{
	return (struct gen_elf){
		.machine = 62,
		.nr_segs = 2,
		.seg = {
			{ .paddr = 0x1000000, .filesz = 0x800, .memsz = 0x800 },
			{ .paddr = 0x1200000, .filesz = 0x300, .memsz = 0x2000 },
		},
		.entry = 0x1000040,
		.entry_descsz = 8,
		.other_notes = true,
	};
}

static inline size_t gen_note(uint8_t *p, const char *name, uint32_t type,
			      const uint8_t *desc, uint32_t descsz)
{
	uint32_t namesz = strlen(name) + 1;
	size_t off = 12;

	gen_put32(p, namesz);
	gen_put32(p + 4, descsz);
	gen_put32(p + 8, type);
	memcpy(p + off, name, namesz);
	off += (namesz + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	off += (descsz + 3) & ~3u;
	return off;
}

/* Offsets in the generated file, for tests that corrupt it. */
#define GEN_ELF_PHOFF		64
#define GEN_ELF_PHSIZE		56

static inline uint8_t *gen_pvh_elf(const struct gen_elf *s, size_t *len, size_t *note_off,
				   size_t *note_len)
{
	unsigned int nph = s->nr_segs + 1, i;
	size_t notes = GEN_ELF_PHOFF + nph * GEN_ELF_PHSIZE, off, n, data;
	uint8_t buf[256], desc[8] = { 0 };
	uint8_t *p;

	off = 0;
	if (s->other_notes) {
		memset(desc, 0xab, sizeof(desc));
		off += gen_note(buf + off, "GNU", 3, desc, 8);
		off += gen_note(buf + off, "Xen", 6, (const uint8_t *)"linux", 6);
	}
	if (s->entry_descsz) {
		memset(desc, 0, sizeof(desc));
		gen_put32(desc, s->entry);
		off += gen_note(buf + off, "Xen", 18, desc, s->entry_descsz);
	}
	n = notes + off;
	data = (n + 15) & ~(size_t)15;
	n = data;
	for (i = 0; i < s->nr_segs; i++)
		n += s->seg[i].filesz;
	p = calloc(1, n);
	if (!p)
		abort();
	memcpy(p, "\177ELF", 4);
	p[4] = 2;			/* ELFCLASS64 */
	p[5] = 1;			/* little-endian */
	p[6] = 1;			/* EV_CURRENT */
	gen_put16(p + 16, 2);		/* ET_EXEC */
	gen_put16(p + 18, s->machine);
	gen_put32(p + 20, 1);
	gen_put64(p + 24, 0xffffffff81000000ULL);
	gen_put64(p + 32, GEN_ELF_PHOFF);
	gen_put16(p + 52, 64);
	gen_put16(p + 54, GEN_ELF_PHSIZE);
	gen_put16(p + 56, nph);
	for (i = 0; i < s->nr_segs; i++) {
		uint8_t *ph = p + GEN_ELF_PHOFF + i * GEN_ELF_PHSIZE;
		size_t k;

		gen_put32(ph, 1);				/* PT_LOAD */
		gen_put32(ph + 4, 7);
		gen_put64(ph + 8, data);
		gen_put64(ph + 16, 0xffffffff80000000ULL + s->seg[i].paddr);
		gen_put64(ph + 24, s->seg[i].paddr);
		gen_put64(ph + 32, s->seg[i].filesz);
		gen_put64(ph + 40, s->seg[i].memsz);
		gen_put64(ph + 48, 0x200000);
		for (k = 0; k < s->seg[i].filesz; k++)
			p[data + k] = gen_pattern(k, i + 1);
		data += s->seg[i].filesz;
	}
	{
		uint8_t *ph = p + GEN_ELF_PHOFF + s->nr_segs * GEN_ELF_PHSIZE;

		gen_put32(ph, 4);				/* PT_NOTE */
		gen_put32(ph + 4, 4);
		gen_put64(ph + 8, notes);
		gen_put64(ph + 32, off);
		gen_put64(ph + 40, off);
		gen_put64(ph + 48, 4);
	}
	memcpy(p + notes, buf, off);
	if (note_off)
		*note_off = notes;
	if (note_len)
		*note_len = off;
	*len = n;
	return p;
}

#endif
