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

/*
 * What backs guest RAM. A memfd is shareable (vhost, migration) but only gets
 * huge pages when the host enables THP for shmem; anonymous memory gets them
 * under the usual THP setting. Huge pages matter more than sharing today:
 * the nested-paging walk on 4 KiB pages made the guest 2-3x slower here.
 */
enum guest_mem_backing {
	GUEST_MEM_MEMFD,
	GUEST_MEM_ANON,
};

struct guest_mem {
	uint64_t ram_size;		/* total RAM the user asked for */
	enum guest_mem_backing backing;
	int memfd;			/* one memfd backs every region, or -1 */
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

/* Mark [addr, addr + size) reserved in the e820 map (outside RAM): 0 or -errno. */
int guest_mem_e820_reserve(struct guest_mem *mem, uint64_t addr, uint64_t size);

/*
 * Pick the backing from the host's THP settings, given as the contents of
 * /sys/kernel/mm/transparent_hugepage/{shmem_enabled,enabled} (NULL when
 * absent): memfd when shmem can have huge pages or nothing can, else anon.
 */
enum guest_mem_backing guest_mem_choose_backing(const char *shmem_thp, const char *anon_thp);

/* guest_mem_layout() plus the backing and mappings (MADV_HUGEPAGE). */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_size);
void guest_mem_fini(struct guest_mem *mem);

/* NULL unless [gpa, gpa + len) lies inside one RAM region. */
void *guest_mem_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy into guest RAM; -EFAULT if the range is not all RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);

/* Highest address + 1 of RAM below 4 GiB (where initrd and tables must fit). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
