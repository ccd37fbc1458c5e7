/*
 * Unit tests for user/devices/pci/msix.c (PCI Local Bus 3.0 ch. 6.8.2): table and
 * PBA reads/writes, vector and function masks, pending bits delivered on unmask,
 * irqfd routes following the table, hostile BAR accesses, reset, fallbacks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "fake_machine.h"

#define NR	5
#define TABLE	0x000
#define PBA	0x800

static struct fake_machine fm;
static struct pci_device dev;
static struct msix m;

static int setup(void **state)
{
	fake_machine_init(&fm, 0);
	memset(&dev, 0, sizeof(dev));
	dev.name = "msix-test";
	pci_config_init(&dev.cfg, 0x1af4, 0x1042, 0xff0000, 1, 0);
	assert_int_equal(pci_config_set_bar(&dev.cfg, 1, 0x1000, 0), 0);
	assert_int_equal(msix_init(&m, &dev, &fm.ms, NR, 1, TABLE, PBA), 0);
	return 0;
}

static int teardown(void **state)
{
	msix_fini(&m);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	fake_machine_fini(&fm);
	return 0;
}

static uint64_t rd(uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	assert_true(msix_bar_read(&m, off, &v, size));
	return v;
}

static void wr(uint64_t off, unsigned int size, uint64_t v)
{
	assert_true(msix_bar_write(&m, off, &v, size));
}

static void ctl(uint16_t flags)
{
	pci_config_write(&dev.cfg, m.cap + PCI_MSIX_FLAGS, 2, flags);
	msix_cfg_written(&m, m.cap + PCI_MSIX_FLAGS, 2);
}

static void program(unsigned int i, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	wr(TABLE + 16 * i, 4, (uint32_t)addr);
	wr(TABLE + 16 * i + 4, 4, addr >> 32);
	wr(TABLE + 16 * i + 8, 4, data);
	wr(TABLE + 16 * i + 12, 4, ctrl);
}

static void test_capability_and_reset_state(void **state)
{
	unsigned int i;

	assert_int_equal(pci_config_find_cap(&dev.cfg, PCI_CAP_ID_MSIX), m.cap);
	assert_int_equal(pci_msix_nr_vectors(&dev.cfg, m.cap), NR);
	assert_int_equal(pci_config_get(&dev.cfg, m.cap + PCI_MSIX_TABLE, 4), TABLE | 1);
	assert_int_equal(pci_config_get(&dev.cfg, m.cap + PCI_MSIX_PBA, 4), PBA | 1);
	for (i = 0; i < NR; i++) {
		assert_int_equal(rd(TABLE + 16 * i + 12, 4), 1);
		assert_int_equal(rd(TABLE + 16 * i, 8), 0);
	}
	assert_int_equal(rd(PBA, 8), 0);
	/* Nothing registered before the guest enables anything. */
	assert_int_equal(fake_irqfd_count(&fm), 0);
}

static void test_table_roundtrip(void **state)
{
	wr(TABLE + 16, 8, 0x00000001fee01000ULL);
	wr(TABLE + 24, 8, 0x0000000100004021ULL);
	assert_int_equal(rd(TABLE + 16, 4), 0xfee01000);
	assert_int_equal(rd(TABLE + 20, 4), 1);
	assert_int_equal(rd(TABLE + 24, 4), 0x4021);
	assert_int_equal(rd(TABLE + 28, 4), 1);
	/* Reserved control bits do not stick. */
	wr(TABLE + 28, 4, 0xfffffffe);
	assert_int_equal(rd(TABLE + 28, 4), 0);
}

static void test_enable_unmask_delivers_through_irqfd(void **state)
{
	uint64_t addr;
	uint32_t data;

	program(2, 0xfee00000, 0x4041, 0);
	/* Unmasked, but MSI-X is still disabled: no route, nothing fires. */
	assert_int_equal(fake_irqfd_count(&fm), 0);
	msix_notify(&m, 2);
	assert_int_equal(fm.nr_msi, 0);
	assert_int_equal(rd(PBA, 8), 0);

	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fake_irqfd_count(&fm), 1);
	assert_true(fake_irqfd_message(&fm, m.v[2].efd, &addr, &data));
	assert_int_equal(addr, 0xfee00000);
	assert_int_equal(data, 0x4041);

	msix_notify(&m, 2);
	msix_notify(&m, 2);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.nr_msi, 1);
	assert_int_equal(fm.msi[0].data, 0x4041);
	assert_int_not_equal(fm.msi[0].route, -1);

	/* The guest retargets a live entry: the route follows. */
	wr(TABLE + 16 * 2 + 8, 4, 0x4042);
	assert_true(fake_irqfd_message(&fm, m.v[2].efd, &addr, &data));
	assert_int_equal(data, 0x4042);
	assert_int_equal(fm.irqfd_updates, 1);
	/* Rewriting the same value is no update. */
	wr(TABLE + 16 * 2 + 8, 4, 0x4042);
	assert_int_equal(fm.irqfd_updates, 1);
}

static void test_vector_mask_pending(void **state)
{
	program(1, 0xfee00000, 0x30, 1);
	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fake_irqfd_count(&fm), 0);

	msix_notify(&m, 1);
	assert_int_equal(fake_irqfd_deliver(&fm), 0);
	assert_int_equal(fm.nr_msi, 0);
	assert_int_equal(rd(PBA, 8), 1 << 1);
	assert_int_equal(rd(PBA, 4), 1 << 1);
	/* The PBA is read-only. */
	wr(PBA, 8, 0);
	assert_int_equal(rd(PBA, 8), 1 << 1);

	/* Unmask: the pending message goes out and the bit clears. */
	wr(TABLE + 16 + 12, 4, 0);
	assert_int_equal(rd(PBA, 8), 0);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.msi[0].data, 0x30);

	/* Mask again: the route goes away, a notify only sets the bit. */
	wr(TABLE + 16 + 12, 4, 1);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	msix_notify(&m, 1);
	assert_int_equal(rd(PBA, 8), 1 << 1);
	assert_int_equal(fm.nr_msi, 1);
}

static void test_function_mask(void **state)
{
	program(0, 0xfee00000, 0x21, 0);
	program(4, 0xfee00000, 0x25, 0);
	ctl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	msix_notify(&m, 0);
	msix_notify(&m, 4);
	assert_int_equal(rd(PBA, 8), (1 << 0) | (1 << 4));
	assert_int_equal(fm.nr_msi, 0);

	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(rd(PBA, 8), 0);
	assert_int_equal(fake_irqfd_count(&fm), 2);
	assert_int_equal(fake_irqfd_deliver(&fm), 2);

	/* Disabling drops the routes and the pending state. */
	ctl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_notify(&m, 0);
	ctl(0);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	assert_int_equal(rd(PBA, 8), 0);
	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fake_irqfd_deliver(&fm), 0);
	assert_int_equal(fm.nr_msi, 2);
}

static void test_hostile_accesses(void **state)
{
	uint64_t v;
	uint8_t b = 0xaa;
	uint16_t w = 0xbbbb;

	program(0, 0xfee00000, 0x21, 1);
	/* Byte and word accesses inside the table: all-ones, no effect. */
	assert_int_equal(rd(TABLE + 12, 1), 0xff);
	assert_int_equal(rd(TABLE + 12, 2), 0xffff);
	assert_true(msix_bar_write(&m, TABLE + 12, &b, 1));
	assert_true(msix_bar_write(&m, TABLE + 12, &w, 2));
	assert_int_equal(rd(TABLE + 12, 4), 1);
	/* Misaligned dword and qword. */
	assert_int_equal(rd(TABLE + 2, 4), 0xffffffff);
	assert_int_equal(rd(TABLE + 4, 8), UINT64_MAX);
	wr(TABLE + 4, 8, 0);
	assert_int_equal(rd(TABLE, 4), 0xfee00000);
	/* The last entry's qword at +12 would run past the table. */
	assert_int_equal(rd(TABLE + 16 * (NR - 1) + 12, 8), UINT64_MAX);
	/* Odd sizes. */
	assert_int_equal(rd(TABLE, 3) & 0xffffff, 0xffffff);
	v = 0;
	assert_true(msix_bar_write(&m, TABLE, &v, 3));
	assert_int_equal(rd(TABLE, 4), 0xfee00000);
	/* Past the table and the PBA: not ours. */
	assert_false(msix_bar_read(&m, TABLE + 16 * NR, &v, 4));
	assert_false(msix_bar_write(&m, TABLE + 16 * NR, &v, 4));
	assert_false(msix_bar_read(&m, PBA + 8, &v, 4));
	assert_false(msix_bar_read(&m, UINT64_MAX - 3, &v, 4));
	/* Out-of-range vectors are ignored. */
	msix_notify(&m, NR);
	msix_notify(&m, 4096);
	assert_int_equal(msix_vector_fd(&m, NR), -EINVAL);
	assert_int_equal(fm.nr_msi, 0);
}

static void test_reset(void **state)
{
	program(3, 0xfee00000, 0x33, 0);
	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fake_irqfd_count(&fm), 1);
	msix_reset(&m);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	assert_false(pci_msix_enabled(&dev.cfg, m.cap));
	assert_int_equal(rd(TABLE + 16 * 3 + 12, 4), 1);
	assert_int_equal(rd(TABLE + 16 * 3, 8), 0);
	assert_int_equal(rd(PBA, 8), 0);
	msix_notify(&m, 3);
	assert_int_equal(fm.nr_msi, 0);
}

static void test_no_irqfd_falls_back_to_msi_send(void **state)
{
	fm.irqfd_add_ret = -ENOSPC;
	program(0, 0xfee00000, 0x51, 0);
	ctl(PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	msix_notify(&m, 0);
	assert_int_equal(fm.nr_msi, 1);
	assert_int_equal(fm.msi[0].route, -1);
	assert_int_equal(fm.msi[0].data, 0x51);
}

/* vhost signals the vector's eventfd directly, also while it is masked. */
static void test_vector_fd_while_masked(void **state)
{
	uint64_t one = 1;
	int efd;

	program(1, 0xfee00000, 0x61, 1);
	ctl(PCI_MSIX_FLAGS_ENABLE);
	efd = msix_vector_fd(&m, 1);
	assert_true(efd >= 0);
	assert_int_equal(msix_vector_fd(&m, 1), efd);
	assert_int_equal(fake_irqfd_count(&fm), 0);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(rd(PBA, 8), 1 << 1);
	wr(TABLE + 16 + 12, 4, 0);
	assert_int_equal(fake_irqfd_route(&fm, efd) >= 0, 1);
	assert_int_equal(fake_irqfd_deliver(&fm), 1);
	assert_int_equal(fm.msi[0].data, 0x61);
}

static void test_bad_init(void **state)
{
	struct msix m2;
	struct pci_device d2;

	memset(&d2, 0, sizeof(d2));
	pci_config_init(&d2.cfg, 1, 2, 0, 0, 0);
	assert_int_equal(msix_init(&m2, &d2, &fm.ms, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m2, &d2, &fm.ms, 2049, 0, 0, 0x8000), -EINVAL);
	assert_int_equal(msix_init(&m2, &d2, &fm.ms, 4, 6, 0, 0x800), -EINVAL);
	/* PBA inside the table. */
	assert_int_equal(msix_init(&m2, &d2, &fm.ms, 4, 0, 0, 0x10), -EINVAL);
	assert_int_equal(msix_init(&m2, &d2, &fm.ms, 4, 0, 4, 0x800), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_and_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_unmask_delivers_through_irqfd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vector_mask_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_irqfd_falls_back_to_msi_send, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vector_fd_while_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_init, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
