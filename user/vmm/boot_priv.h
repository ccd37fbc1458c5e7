/*
 * Linux boot loaders, private: what boot.c, boot_bzimage.c and boot_pvh.c
 * share (little-endian field access, GDT, command line, initrd placement).
 */
#ifndef KEEL_VMM_BOOT_PRIV_H
#define KEEL_VMM_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/boot.h"

#define BOOT_PAGE_SIZE		0x1000ULL

/*
 * Everything below this address belongs to the loaders (GDT, start info,
 * zero page, stack, page tables, command line): no kernel segment or initrd
 * may land there.
 */
#define BOOT_LOW_END		(BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)

/* x86 segment descriptors for the boot GDT (flat, base 0, limit 4 GiB). */
#define BOOT_GDT_CODE64		0x00af9b000000ffffULL	/* L=1, D=0, exec/read */
#define BOOT_GDT_CODE32		0x00cf9b000000ffffULL	/* D=1, G=1, exec/read */
#define BOOT_GDT_DATA		0x00cf93000000ffffULL	/* D=1, G=1, read/write */
#define BOOT_GDT_ENTRIES	4			/* null, null, 0x10, 0x18 */

static inline uint16_t boot_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t boot_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t boot_get64(const uint8_t *p)
{
	return (uint64_t)boot_get32(p) | (uint64_t)boot_get32(p + 4) << 32;
}

static inline void boot_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void boot_put32(uint8_t *p, uint32_t v)
{
	boot_put16(p, v);
	boot_put16(p + 2, v >> 16);
}

static inline void boot_put64(uint8_t *p, uint64_t v)
{
	boot_put32(p, v);
	boot_put32(p + 4, v >> 32);
}

/* Validate a bzImage setup header; 0 or -ENOEXEC with a reason in *why. */
int boot_bzimage_check(const void *image, size_t len, const char **why);

/* Validate an ELF vmlinux with a PVH entry note; 0 or -ENOEXEC with *why. */
int boot_pvh_check(const void *image, size_t len, const char **why);

/* A reason built at run time (per thread; valid until the second next call). */
const char *boot_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write the boot GDT with the given code descriptor at 0x10 and data at 0x18. */
int boot_write_gdt(struct guest_mem *mem, uint64_t code_desc, struct boot_entry *entry);

/*
 * Write cmdline (NULL = empty) NUL-terminated at BOOT_CMDLINE_ADDR, cut to at
 * most max_len bytes (a warning says so). *len gets the length written.
 */
int boot_write_cmdline(struct guest_mem *mem, const char *cmdline, size_t max_len,
		       size_t *len);

/*
 * Pick the highest page-aligned address for an initrd of size bytes that
 * ends at or below limit (and 4 GiB), lies inside one e820 RAM entry, stays
 * above the loaders' low area and does not overlap [kernel_start, kernel_end).
 */
int boot_place_initrd(const struct guest_mem *mem, uint64_t size, uint64_t limit,
		      uint64_t kernel_start, uint64_t kernel_end, uint64_t *addr);

/* [addr, addr + size) is guest RAM, inside one e820 RAM entry if there is a map. */
bool boot_range_is_ram(const struct guest_mem *mem, uint64_t addr, uint64_t size);

#endif
