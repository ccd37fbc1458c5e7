/*
 * Guest RAM: memfd-backed regions (MAP_SHARED, so vhost and migration can map
 * them), the e820 map that describes them, and bounds-checked GPA -> HVA.
 */
#ifndef KEEL_VMM_GUEST_MEM_H
#define KEEL_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS	4
#define E820_MAX_ENTRIES	16

/* Low RAM stops at the 32-bit PCI hole; the rest is placed above 4 GiB. */
#define GUEST_PCI_HOLE_START	0xC0000000ULL
#define GUEST_4G		0x100000000ULL

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
};

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	int memfd;
	uint64_t fd_offset;	/* offset of this region inside memfd */
};

struct guest_mem {
	uint64_t ram_size;		/* total RAM the user asked for */
	int memfd;			/* one memfd backs every region */
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	struct e820_entry e820[E820_MAX_ENTRIES];
	unsigned int nr_e820;
};

/*
 * Lay out ram_size bytes of RAM (below the PCI hole, then above 4 GiB) and
 * fill the e820 map, without allocating anything: testable on its own.
 */
int guest_mem_layout(struct guest_mem *mem, uint64_t ram_size);

/* guest_mem_layout() plus the memfd and mappings (MADV_HUGEPAGE). */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_size);
void guest_mem_fini(struct guest_mem *mem);

/* NULL unless [gpa, gpa + len) lies inside one RAM region. */
void *guest_mem_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy into guest RAM; -EFAULT if the range is not all RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);

/* Highest address + 1 of RAM below 4 GiB (where initrd and tables must fit). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
