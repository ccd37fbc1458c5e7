/* Unit tests for user/vmm/guest_mem.c: RAM layout around the PCI hole, e820, GPA bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "vmm/guest_mem.h"

static void test_layout_small(void **state)
{
	struct guest_mem mem;

	assert_int_equal(guest_mem_layout(&mem, 256 << 20), 0);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 256 << 20);
	assert_int_equal(guest_mem_low_end(&mem), 256 << 20);
	assert_int_equal(mem.nr_e820, 4);
	assert_int_equal(mem.e820[0].addr, 0);
	assert_int_equal(mem.e820[0].size, 0x9FC00);
	assert_int_equal(mem.e820[0].type, E820_RAM);
	assert_int_equal(mem.e820[1].addr, 0x9FC00);
	assert_int_equal(mem.e820[1].size, 0x400);
	assert_int_equal(mem.e820[1].type, E820_RESERVED);
	assert_int_equal(mem.e820[2].addr, 0xE0000);
	assert_int_equal(mem.e820[2].size, 0x20000);
	assert_int_equal(mem.e820[2].type, E820_RESERVED);
	assert_int_equal(mem.e820[3].addr, 0x100000);
	assert_int_equal(mem.e820[3].size, (256 << 20) - 0x100000);
	assert_int_equal(mem.e820[3].type, E820_RAM);
}

static void test_layout_split(void **state)
{
	struct guest_mem mem;
	uint64_t size = 4ULL << 30;

	assert_int_equal(guest_mem_layout(&mem, size), 0);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].size, GUEST_PCI_HOLE_START);
	assert_int_equal(mem.regions[1].gpa, GUEST_4G);
	assert_int_equal(mem.regions[1].size, size - GUEST_PCI_HOLE_START);
	assert_int_equal(mem.regions[1].fd_offset, GUEST_PCI_HOLE_START);
	assert_int_equal(guest_mem_low_end(&mem), GUEST_PCI_HOLE_START);
	assert_int_equal(mem.nr_e820, 5);
	assert_int_equal(mem.e820[3].addr + mem.e820[3].size, GUEST_PCI_HOLE_START);
	assert_int_equal(mem.e820[4].addr, GUEST_4G);
	assert_int_equal(mem.e820[4].size, size - GUEST_PCI_HOLE_START);
}

static void test_layout_exact_hole(void **state)
{
	struct guest_mem mem;

	assert_int_equal(guest_mem_layout(&mem, GUEST_PCI_HOLE_START), 0);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.nr_e820, 4);
}

static void test_layout_bad(void **state)
{
	struct guest_mem mem;

	assert_int_equal(guest_mem_layout(&mem, 0), -EINVAL);
	assert_int_equal(guest_mem_layout(&mem, 4096), -EINVAL);
	assert_int_equal(guest_mem_layout(&mem, (64 << 20) + 1), -EINVAL);
	assert_int_equal(guest_mem_layout(&mem, 1ULL << 50), -E2BIG);
	assert_int_equal(guest_mem_layout(&mem, UINT64_MAX & ~0xfffULL), -E2BIG);
}

/* A reserved hole (the PCI ECAM window) goes in address order, never over RAM. */
static void test_e820_reserve(void **state)
{
	struct guest_mem mem;

	assert_int_equal(guest_mem_layout(&mem, 4ULL << 30), 0);
	assert_int_equal(mem.nr_e820, 5);
	assert_int_equal(guest_mem_e820_reserve(&mem, 0xE0000000, 0x100000), 0);
	assert_int_equal(mem.nr_e820, 6);
	assert_int_equal(mem.e820[4].addr, 0xE0000000);
	assert_int_equal(mem.e820[4].size, 0x100000);
	assert_int_equal(mem.e820[4].type, E820_RESERVED);
	assert_int_equal(mem.e820[5].addr, 4ULL << 30);
	assert_int_equal(guest_mem_e820_reserve(&mem, 0xBFFFF000, 0x2000), -EEXIST);
	assert_int_equal(guest_mem_e820_reserve(&mem, 0xFFFFF000, 0x2000), -EEXIST);
	assert_int_equal(guest_mem_e820_reserve(&mem, 0xF0000000, 0), -EINVAL);
	assert_int_equal(guest_mem_e820_reserve(&mem, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(mem.nr_e820, 6);
	while (mem.nr_e820 < E820_MAX_ENTRIES)
		assert_int_equal(guest_mem_e820_reserve(&mem, 0xF0000000, 0x1000), 0);
	assert_int_equal(guest_mem_e820_reserve(&mem, 0xF0000000, 0x1000), -EINVAL);
}

static void test_choose_backing(void **state)
{
	/* shmem can have huge pages: keep the shareable memfd. */
	assert_int_equal(guest_mem_choose_backing("always within_size [advise] never deny force\n",
						  "[always] madvise never\n"), GUEST_MEM_MEMFD);
	assert_int_equal(guest_mem_choose_backing("[always] within_size advise never\n",
						  "always madvise [never]\n"), GUEST_MEM_MEMFD);
	/* Debian's default: shmem never, anon always -> anonymous memory. */
	assert_int_equal(guest_mem_choose_backing("always within_size advise [never] deny force\n",
						  "[always] madvise never\n"), GUEST_MEM_ANON);
	assert_int_equal(guest_mem_choose_backing("always within_size advise never [deny] force",
						  "always [madvise] never"), GUEST_MEM_ANON);
	/* No THP anywhere, or no sysfs at all: memfd. */
	assert_int_equal(guest_mem_choose_backing("advise [never]", "always madvise [never]"),
			 GUEST_MEM_MEMFD);
	assert_int_equal(guest_mem_choose_backing(NULL, NULL), GUEST_MEM_MEMFD);
	assert_int_equal(guest_mem_choose_backing(NULL, "[always]"), GUEST_MEM_ANON);
	/* Junk: an unterminated bracket or an unknown word selects nothing. */
	assert_int_equal(guest_mem_choose_backing("[advise", "[always"), GUEST_MEM_MEMFD);
	assert_int_equal(guest_mem_choose_backing("[adv]", "[alwaysx]"), GUEST_MEM_MEMFD);
	assert_int_equal(guest_mem_choose_backing("", "[]"), GUEST_MEM_MEMFD);
}

static void test_hva_bounds(void **state)
{
	struct guest_mem mem;
	uint8_t *lo, *hi;
	uint64_t size = 16 << 20;

	assert_int_equal(guest_mem_init(&mem, size), 0);
	lo = mem.regions[0].hva;
	assert_non_null(lo);
	assert_ptr_equal(guest_mem_hva(&mem, 0, 1), lo);
	assert_ptr_equal(guest_mem_hva(&mem, 0x1000, 0x1000), lo + 0x1000);
	assert_ptr_equal(guest_mem_hva(&mem, size - 1, 1), lo + size - 1);
	assert_ptr_equal(guest_mem_hva(&mem, 0, size), lo);
	assert_null(guest_mem_hva(&mem, size - 1, 2));
	assert_null(guest_mem_hva(&mem, size, 1));
	assert_null(guest_mem_hva(&mem, 0, size + 1));
	/* Overflowing sums must not wrap around into RAM. */
	assert_null(guest_mem_hva(&mem, 0x1000, UINT64_MAX));
	assert_null(guest_mem_hva(&mem, UINT64_MAX, 2));
	assert_null(guest_mem_hva(&mem, UINT64_MAX - 0xfff, 0x2000));
	assert_null(guest_mem_hva(&mem, GUEST_4G, 1));

	assert_int_equal(guest_mem_write(&mem, 0x5000, "keel", 4), 0);
	assert_memory_equal(lo + 0x5000, "keel", 4);
	assert_int_equal(guest_mem_write(&mem, size - 2, "keel", 4), -EFAULT);
	guest_mem_fini(&mem);
	assert_int_equal(mem.memfd, -1);

	/* Memory above 4 GiB is only laid out, not mapped, to keep the test small. */
	assert_int_equal(guest_mem_layout(&mem, 4ULL << 30), 0);
	hi = (uint8_t *)0x10000;
	mem.regions[1].hva = hi;
	assert_ptr_equal(guest_mem_hva(&mem, GUEST_4G + 8, 8), hi + 8);
	assert_null(guest_mem_hva(&mem, GUEST_4G + mem.regions[1].size - 4, 8));
	assert_null(guest_mem_hva(&mem, GUEST_PCI_HOLE_START, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_small),
		cmocka_unit_test(test_layout_split),
		cmocka_unit_test(test_layout_exact_hole),
		cmocka_unit_test(test_layout_bad),
		cmocka_unit_test(test_hva_bounds),
		cmocka_unit_test(test_choose_backing),
		cmocka_unit_test(test_e820_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
