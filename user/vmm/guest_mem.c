/*
 * Guest RAM of the PC machine: one memfd split into a region below the 32-bit
 * PCI hole and one above 4 GiB, the e820 map (ACPI 6.x ch. 15) that describes
 * them, and the bounds-checked GPA -> HVA translation every device relies on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/guest_mem.h"

#define GUEST_MEM_EBDA_START	0x9FC00ULL	/* top 1 KiB of base memory: EBDA */
#define GUEST_MEM_BASE_END	0xA0000ULL
#define GUEST_MEM_BIOS_START	0xE0000ULL	/* ACPI tables, see acpi.h */
#define GUEST_MEM_1M		0x100000ULL
#define GUEST_MEM_MIN		(2 * GUEST_MEM_1M)

static int guest_mem_e820_add(struct guest_mem *mem, uint64_t addr, uint64_t size,
			      uint32_t type)
{
	struct e820_entry *e;

	if (mem->nr_e820 >= E820_MAX_ENTRIES)
		return -ENOSPC;
	e = &mem->e820[mem->nr_e820++];
	e->addr = addr;
	e->size = size;
	e->type = type;
	return 0;
}

int guest_mem_layout(struct guest_mem *mem, uint64_t ram_size)
{
	uint64_t low, high;
	int ret = 0;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	if (ram_size < GUEST_MEM_MIN || (ram_size & 0xfff))
		return -EINVAL;
	/* Keep the high region's end inside 48 bits of guest-physical space. */
	if (ram_size > (1ULL << 46))
		return -E2BIG;

	mem->ram_size = ram_size;
	low = ram_size < GUEST_PCI_HOLE_START ? ram_size : GUEST_PCI_HOLE_START;
	high = ram_size - low;

	mem->regions[0] = (struct guest_region){ .gpa = 0, .size = low, .memfd = -1 };
	mem->nr_regions = 1;
	if (high) {
		mem->regions[1] = (struct guest_region){
			.gpa = GUEST_4G, .size = high, .memfd = -1, .fd_offset = low,
		};
		mem->nr_regions = 2;
	}

	ret |= guest_mem_e820_add(mem, 0, GUEST_MEM_EBDA_START, E820_RAM);
	ret |= guest_mem_e820_add(mem, GUEST_MEM_EBDA_START,
				  GUEST_MEM_BASE_END - GUEST_MEM_EBDA_START, E820_RESERVED);
	ret |= guest_mem_e820_add(mem, GUEST_MEM_BIOS_START,
				  GUEST_MEM_1M - GUEST_MEM_BIOS_START, E820_RESERVED);
	ret |= guest_mem_e820_add(mem, GUEST_MEM_1M, low - GUEST_MEM_1M, E820_RAM);
	if (high)
		ret |= guest_mem_e820_add(mem, GUEST_4G, high, E820_RAM);
	return ret ? -ENOSPC : 0;
}

/* A reserved hole (ECAM, ...) outside RAM, kept in address order for the guest. */
int guest_mem_e820_reserve(struct guest_mem *mem, uint64_t addr, uint64_t size)
{
	unsigned int i, pos;

	if (!size || addr + size < addr || mem->nr_e820 >= E820_MAX_ENTRIES)
		return -EINVAL;
	for (i = 0; i < mem->nr_e820; i++) {
		const struct e820_entry *e = &mem->e820[i];

		if (e->type == E820_RAM && addr < e->addr + e->size && e->addr < addr + size)
			return -EEXIST;
	}
	for (pos = 0; pos < mem->nr_e820 && mem->e820[pos].addr < addr; pos++)
		;
	memmove(&mem->e820[pos + 1], &mem->e820[pos],
		(mem->nr_e820 - pos) * sizeof(mem->e820[0]));
	mem->e820[pos] = (struct e820_entry){ .addr = addr, .size = size, .type = E820_RESERVED };
	mem->nr_e820++;
	return 0;
}

/* The selected word of a sysfs THP setting: "always [madvise] never" -> madvise. */
static bool guest_mem_thp_selected(const char *setting, const char *const *words)
{
	const char *open = setting ? strchr(setting, '[') : NULL;
	const char *close = open ? strchr(open, ']') : NULL;
	size_t len;

	if (!close)
		return false;
	len = close - open - 1;
	for (; *words; words++)
		if (strlen(*words) == len && !strncmp(open + 1, *words, len))
			return true;
	return false;
}

enum guest_mem_backing guest_mem_choose_backing(const char *shmem_thp, const char *anon_thp)
{
	static const char *const shmem_huge[] = { "always", "within_size", "advise", "force", NULL };
	static const char *const anon_huge[] = { "always", "madvise", NULL };

	if (guest_mem_thp_selected(shmem_thp, shmem_huge))
		return GUEST_MEM_MEMFD;
	if (guest_mem_thp_selected(anon_thp, anon_huge))
		return GUEST_MEM_ANON;
	return GUEST_MEM_MEMFD;
}

static void guest_mem_read_setting(const char *path, char *buf, size_t len, const char **out)
{
	FILE *f = fopen(path, "re");

	*out = NULL;
	if (!f)
		return;
	if (fgets(buf, len, f))
		*out = buf;
	fclose(f);
}

static enum guest_mem_backing guest_mem_host_backing(void)
{
	static const char thp[] = "/sys/kernel/mm/transparent_hugepage/";
	char shmem_buf[128], anon_buf[128], path[128];
	const char *shmem, *anon;
	enum guest_mem_backing b;

	snprintf(path, sizeof(path), "%sshmem_enabled", thp);
	guest_mem_read_setting(path, shmem_buf, sizeof(shmem_buf), &shmem);
	snprintf(path, sizeof(path), "%senabled", thp);
	guest_mem_read_setting(path, anon_buf, sizeof(anon_buf), &anon);
	b = guest_mem_choose_backing(shmem, anon);
	if (b == GUEST_MEM_ANON)
		log_info("guest RAM: anonymous memory, since this host gives shmem no huge"
			 " pages (%sshmem_enabled)", thp);
	return b;
}

/*
 * Anonymous RAM aligned to 2 MiB: THP only backs aligned 2 MiB ranges, and
 * this kernel does not align anonymous mappings by itself (shmem does).
 */
static void *guest_mem_map_anon(uint64_t size)
{
	const uint64_t huge = 2ULL << 20;
	uint8_t *p, *aligned;
	uint64_t head;

	p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return p;
	aligned = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	head = aligned - p;
	if (head)
		munmap(p, head);
	if (huge - head)
		munmap(aligned + size, huge - head);
	return aligned;
}

int guest_mem_init(struct guest_mem *mem, uint64_t ram_size)
{
	unsigned int i;
	int ret;

	ret = guest_mem_layout(mem, ram_size);
	if (ret)
		return ret;

	mem->backing = guest_mem_host_backing();
	mem->memfd = -1;
	if (mem->backing == GUEST_MEM_MEMFD) {
		mem->memfd = memfd_create("keel-ram", MFD_CLOEXEC);
		if (mem->memfd < 0)
			return -errno;
		if (ftruncate(mem->memfd, ram_size) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	for (i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];
		void *p;

		if (mem->backing == GUEST_MEM_MEMFD)
			p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 mem->memfd, r->fd_offset);
		else
			p = guest_mem_map_anon(r->size);
		if (p == MAP_FAILED) {
			ret = -errno;
			goto fail;
		}
		r->hva = p;
		r->memfd = mem->memfd;
		/* THP is a wish, not a requirement: a host without it still runs. */
		if (madvise(p, r->size, MADV_HUGEPAGE) < 0)
			log_debug("guest RAM: no transparent huge pages (%s)", strerror(errno));
	}
	return 0;

fail:
	guest_mem_fini(mem);
	return ret;
}

void guest_mem_fini(struct guest_mem *mem)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];

		if (r->hva)
			munmap(r->hva, r->size);
		r->hva = NULL;
		r->memfd = -1;
	}
	if (mem->memfd >= 0)
		close(mem->memfd);
	mem->memfd = -1;
}

void *guest_mem_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* Written so that no sum can overflow with hostile gpa/len. */
		if (!r->hva || gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return (uint8_t *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_hva(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr_regions ? mem->regions[0].gpa + mem->regions[0].size : 0;
}
