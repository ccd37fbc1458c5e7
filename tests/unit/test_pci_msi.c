/*
 * Unit tests for user/devices/pci/msi.c (PCI Local Bus 3.0 ch. 6.8): MSI and
 * MSI-X capability layout, guest-writable bits, vectors and messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "devices/pci/msi.h"

static struct pci_config cfg;

static uint32_t rd(unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(pci_config_read(&cfg, off, size, &v), 0);
	return v;
}

static void wr(unsigned int off, unsigned int size, uint32_t v)
{
	assert_int_equal(pci_config_write(&cfg, off, size, v), 0);
}

static void test_msi64(void **state)
{
	struct pci_msi_msg m;
	int cap;

	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	cap = pci_msi_add(&cfg, 2, true);		/* 4 vectors */
	assert_int_equal(cap, 0x40);
	assert_int_equal(pci_config_find_cap(&cfg, PCI_CAP_ID_MSI), 0x40);
	assert_int_equal(rd(cap + PCI_MSI_FLAGS, 2), 0x0084);
	assert_int_equal(pci_msi_message(&cfg, cap, 0, &m), -EINVAL);	/* disabled */
	/* The capable field and the 64-bit bit are read-only. */
	wr(cap + PCI_MSI_FLAGS, 2, 0xffff);
	assert_int_equal(rd(cap + PCI_MSI_FLAGS, 2), 0x00f5);
	assert_true(pci_msi_enabled(&cfg, cap));
	/* Asked for 128 vectors, offered 4: 4. */
	assert_int_equal(pci_msi_nr_enabled(&cfg, cap), 4);
	wr(cap + PCI_MSI_ADDR_LO, 4, 0xfee01003);
	wr(cap + PCI_MSI_ADDR_HI, 4, 0x1);
	wr(cap + PCI_MSI_DATA_64, 4, 0xffff4023);
	assert_int_equal(rd(cap + PCI_MSI_ADDR_LO, 4), 0xfee01000);
	assert_int_equal(rd(cap + PCI_MSI_DATA_64, 4), 0x4023);
	assert_int_equal(pci_msi_message(&cfg, cap, 2, &m), 0);
	assert_int_equal(m.addr, 0x1fee01000ULL);
	assert_int_equal(m.data, 0x4022);
	assert_int_equal(pci_msi_message(&cfg, cap, 4, &m), -EINVAL);
	wr(cap + PCI_MSI_FLAGS, 2, 0x0001);		/* one vector */
	assert_int_equal(pci_msi_nr_enabled(&cfg, cap), 1);
	assert_int_equal(pci_msi_message(&cfg, cap, 0, &m), 0);
	assert_int_equal(m.data, 0x4023);
	assert_int_equal(pci_msi_message(&cfg, cap, 1, &m), -EINVAL);
}

static void test_msi32(void **state)
{
	struct pci_msi_msg m;
	int cap;

	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	cap = pci_msi_add(&cfg, 0, false);
	assert_int_equal(cap, 0x40);
	wr(cap + PCI_MSI_FLAGS, 2, 0x0071);
	assert_int_equal(pci_msi_nr_enabled(&cfg, cap), 1);
	wr(cap + PCI_MSI_ADDR_LO, 4, 0xfee00000);
	wr(cap + PCI_MSI_DATA_32, 2, 0x0031);
	assert_int_equal(pci_msi_message(&cfg, cap, 0, &m), 0);
	assert_int_equal(m.addr, 0xfee00000);
	assert_int_equal(m.data, 0x31);
	assert_int_equal(pci_msi_add(&cfg, 6, false), -EINVAL);
	/* The next capability follows, dword-aligned. */
	assert_int_equal(pci_msix_add(&cfg, 1, 0, 0, 0, 0x800), 0x4c);
}

static void test_msix(void **state)
{
	int cap;

	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_msix_add(&cfg, 0, 1, 0, 1, 0), -EINVAL);
	assert_int_equal(pci_msix_add(&cfg, 2049, 1, 0, 1, 0), -EINVAL);
	assert_int_equal(pci_msix_add(&cfg, 4, 6, 0, 1, 0), -EINVAL);
	assert_int_equal(pci_msix_add(&cfg, 4, 1, 4, 1, 0), -EINVAL);
	cap = pci_msix_add(&cfg, 2048, 1, 0x2000, 2, 0x800);
	assert_int_equal(cap, 0x40);
	assert_int_equal(rd(cap, 2), 0x0011);
	assert_int_equal(rd(cap + PCI_MSIX_FLAGS, 2), 0x07ff);
	assert_int_equal(pci_msix_nr_vectors(&cfg, cap), 2048);
	assert_int_equal(rd(cap + PCI_MSIX_TABLE, 4), 0x2001);
	assert_int_equal(rd(cap + PCI_MSIX_PBA, 4), 0x0802);
	/* Only enable and function mask are writable. */
	wr(cap, 4, 0xffffffff);
	wr(cap + PCI_MSIX_TABLE, 4, 0);
	wr(cap + PCI_MSIX_PBA, 4, 0);
	assert_int_equal(rd(cap, 4), 0xc7ff0011);
	assert_int_equal(rd(cap + PCI_MSIX_TABLE, 4), 0x2001);
	assert_int_equal(rd(cap + PCI_MSIX_PBA, 4), 0x0802);
	assert_true(pci_msix_enabled(&cfg, cap));
	assert_true(pci_msix_masked(&cfg, cap));
	wr(cap + PCI_MSIX_FLAGS + 1, 1, 0x80);
	assert_true(pci_msix_enabled(&cfg, cap));
	assert_false(pci_msix_masked(&cfg, cap));
	assert_int_equal(pci_msix_nr_vectors(&cfg, cap), 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msi64),
		cmocka_unit_test(test_msi32),
		cmocka_unit_test(test_msix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
