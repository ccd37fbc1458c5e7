/*
 * Unit tests for user/devices/pci/config.c and bus.c (PCI Local Bus 3.0 ch. 6):
 * read-only / read-write / RW1C masks, BAR sizing, capability list, hostile accesses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "devices/pci/bus.h"
#include "devices/pci/config.h"

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

static void test_ids_read_only(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 3, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(rd(0, 4), 0x56781234);
	assert_int_equal(rd(PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(rd(0x08, 4), 0x02000003);
	wr(0, 4, 0xdeadbeef);
	wr(0x08, 4, 0xffffffff);
	wr(PCI_HEADER_TYPE, 1, 0xff);
	assert_int_equal(rd(0, 4), 0x56781234);
	assert_int_equal(rd(0x08, 4), 0x02000003);
	assert_int_equal(rd(PCI_HEADER_TYPE, 1), 0);
}

static void test_command_and_rw_bytes(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	wr(PCI_COMMAND, 2, 0xffff);
	assert_int_equal(rd(PCI_COMMAND, 2), 0x0547);
	wr(PCI_COMMAND, 2, 0);
	assert_int_equal(rd(PCI_COMMAND, 2), 0);
	wr(PCI_INTERRUPT_LINE, 1, 0x0b);
	wr(PCI_INTERRUPT_PIN, 1, 0x04);	/* read-only */
	assert_int_equal(rd(PCI_INTERRUPT_LINE, 2), 0x000b);
	wr(PCI_CACHE_LINE_SIZE, 2, 0x4010);
	assert_int_equal(rd(PCI_CACHE_LINE_SIZE, 2), 0x4010);
}

static void test_status_w1c(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	/* The device raises two error bits; the guest clears one by writing 1. */
	pci_config_set(&cfg, PCI_STATUS, 2, 0x2000 | 0x0800 | PCI_STATUS_CAP_LIST);
	wr(PCI_STATUS, 2, 0);
	assert_int_equal(rd(PCI_STATUS, 2), 0x2810);
	wr(PCI_STATUS, 2, 0x0800 | PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(PCI_STATUS, 2), 0x2010);
	/* A dword write to command that sets status bits clears nothing else. */
	wr(PCI_COMMAND, 4, 0x20000002);
	assert_int_equal(rd(PCI_COMMAND, 4), 0x00100002);
}

static void test_bar_sizing(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 0x1000, 0), 0);
	assert_int_equal(pci_config_set_bar(&cfg, 1, 0x20, PCI_BAR_IO), 0);
	assert_int_equal(pci_config_set_bar(&cfg, 2, 1ULL << 33,
					    PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);

	wr(PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(rd(PCI_BAR0, 4), 0xfffff000);
	wr(PCI_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(rd(PCI_BAR0 + 4, 4), 0xffffffe1);
	wr(PCI_BAR0 + 8, 4, 0xffffffff);
	wr(PCI_BAR0 + 12, 4, 0xffffffff);
	assert_int_equal(rd(PCI_BAR0 + 8, 4), 0x0000000c);
	assert_int_equal(rd(PCI_BAR0 + 12, 4), 0xfffffffe);
	/* Unimplemented BARs read zero after the all-ones probe. */
	wr(PCI_BAR0 + 16, 4, 0xffffffff);
	assert_int_equal(rd(PCI_BAR0 + 16, 4), 0);

	wr(PCI_BAR0, 4, 0xc0001234);
	assert_int_equal(pci_config_bar_addr(&cfg, 0), 0xc0001000);
	wr(PCI_BAR0 + 4, 4, 0xc123);
	assert_int_equal(pci_config_bar_addr(&cfg, 1), 0xc120);
	wr(PCI_BAR0 + 8, 4, 0);
	wr(PCI_BAR0 + 12, 4, 0x4);
	assert_int_equal(pci_config_bar_addr(&cfg, 2), 0x400000000ULL);
	assert_int_equal(pci_config_bar_addr(&cfg, 3), 0);
	assert_int_equal(pci_config_bar_addr(&cfg, 6), 0);
}

static void test_bar_refused(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_config_set_bar(&cfg, 6, 0x1000, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 0x1800, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 8, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 0, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 512, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 2, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 16, PCI_BAR_IO | PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 1ULL << 32, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 5, 0x1000, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 4, 0x1000, PCI_BAR_MEM64), 0);
	assert_int_equal(pci_config_set_bar(&cfg, 5, 0x1000, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 4, 0x1000, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 3, 0x1000, 0), 0);
	assert_int_equal(pci_config_set_bar(&cfg, 3, 0x1000, 0), -EINVAL);
	/* A bridge header has two BARs. */
	pci_config_init(&cfg, 0x1234, 0x5678, 0x060400, 0, PCI_HEADER_TYPE_BRIDGE);
	assert_int_equal(pci_config_set_bar(&cfg, 2, 0x1000, 0), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 1, 0x1000, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_config_set_bar(&cfg, 0, 0x1000, PCI_BAR_MEM64), 0);
}

static void test_capability_list(void **state)
{
	int a, b, c;

	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(pci_config_find_cap(&cfg, 0x05), 0);
	a = pci_config_add_cap(&cfg, 0x05, 14);		/* MSI, 64-bit */
	b = pci_config_add_cap(&cfg, 0x11, 12);		/* MSI-X */
	c = pci_config_add_cap(&cfg, 0x09, 3);		/* vendor, odd length */
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x50);
	assert_int_equal(c, 0x5c);
	assert_true(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(rd(0x40, 2), 0x5005);
	assert_int_equal(rd(0x50, 2), 0x5c11);
	assert_int_equal(rd(0x5c, 2), 0x0009);
	assert_int_equal(pci_config_find_cap(&cfg, 0x11), 0x50);
	assert_int_equal(pci_config_find_cap(&cfg, 0x10), 0);
	/* The list is read-only to the guest; a device-set mask makes a field writable. */
	wr(0x40, 4, 0xffffffff);
	assert_int_equal(rd(0x40, 4), 0x00005005);
	pci_config_set_wmask(&cfg, 0x42, 2, 0x0001);
	wr(0x40, 4, 0xffffffff);
	assert_int_equal(rd(0x40, 4), 0x00015005);
	/* Full: the list stays in the first 256 bytes. */
	assert_int_equal(pci_config_add_cap(&cfg, 0x09, 0xa4), -ENOSPC);
	assert_true(pci_config_add_cap(&cfg, 0x09, 0xa0) == 0x60);
	assert_int_equal(pci_config_add_cap(&cfg, 0x09, 2), -ENOSPC);
	assert_int_equal(pci_config_add_cap(&cfg, 0x09, 1), -EINVAL);
	assert_int_equal(pci_config_add_cap(&cfg, 0, 4), -EINVAL);
}

/* A list the guest cannot change, but a device could corrupt: the walk ends. */
static void test_capability_loop(void **state)
{
	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	pci_config_add_cap(&cfg, 0x09, 4);
	pci_config_set(&cfg, 0x41, 1, 0x40);	/* points to itself */
	assert_int_equal(pci_config_find_cap(&cfg, 0x05), 0);
	pci_config_set(&cfg, 0x41, 1, 0xff);	/* last byte of the legacy space */
	assert_int_equal(pci_config_find_cap(&cfg, 0x05), 0);
}

static void test_hostile_accesses(void **state)
{
	uint32_t v = 0;

	pci_config_init(&cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_config_read(&cfg, 1, 2, &v), -EINVAL);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(pci_config_read(&cfg, 2, 4, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, 0, 3, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, 0, 8, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, 0, 0, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, PCI_CFG_SIZE, 1, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, PCI_CFG_SIZE - 2, 4, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, UINT32_MAX - 3, 4, &v), -EINVAL);
	assert_int_equal(pci_config_read(&cfg, PCI_CFG_SIZE - 4, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pci_config_write(&cfg, PCI_COMMAND + 1, 2, 0xffff), -EINVAL);
	assert_int_equal(pci_config_write(&cfg, PCI_CFG_SIZE, 4, 0xffffffff), -EINVAL);
	assert_int_equal(rd(PCI_COMMAND, 2), 0);
	/* Device-side helpers refuse out-of-range offsets too. */
	assert_int_equal(pci_config_get(&cfg, PCI_CFG_SIZE - 1, 2), 0xffffffff);
	pci_config_set(&cfg, PCI_CFG_SIZE - 1, 4, 0x11223344);
	assert_int_equal(rd(PCI_CFG_SIZE - 4, 4), 0);
}

static int written_off = -1;

static void note_write(struct pci_device *dev, unsigned int off, unsigned int size)
{
	written_off = (int)off;
}

static void test_bus(void **state)
{
	struct pci_bus bus;
	struct pci_device d = { .name = "t", .cfg_written = note_write };

	pci_bus_init(&bus);
	pci_config_init(&d.cfg, 0x1234, 0x5678, 0x020000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_bus_register(&bus, &d, PCI_DEVFN(3, 1)), 0);
	assert_int_equal(pci_bus_register(&bus, &d, PCI_DEVFN(3, 1)), -EEXIST);
	assert_int_equal(pci_bus_register(&bus, &d, 256), -EINVAL);
	assert_int_equal(pci_bus_register(&bus, NULL, 0), -EINVAL);
	assert_ptr_equal(pci_bus_find(&bus, PCI_DEVFN(3, 1)), &d);
	assert_null(pci_bus_find(&bus, 1000));
	assert_int_equal(pci_bus_cfg_read(&bus, PCI_DEVFN(3, 1), 0, 4), 0x56781234);
	assert_int_equal(pci_bus_cfg_read(&bus, PCI_DEVFN(3, 1), 2, 2), 0x5678);
	assert_int_equal(pci_bus_cfg_read(&bus, PCI_DEVFN(3, 0), 0, 4), 0xffffffff);
	assert_int_equal(pci_bus_cfg_read(&bus, PCI_DEVFN(3, 0), 0, 2), 0xffff);
	assert_int_equal(pci_bus_cfg_read(&bus, PCI_DEVFN(3, 0), 0, 1), 0xff);
	assert_int_equal(pci_bus_cfg_read(&bus, 999, 0, 1), 0xff);
	pci_bus_cfg_write(&bus, PCI_DEVFN(3, 1), PCI_INTERRUPT_LINE, 1, 5);
	assert_int_equal(written_off, PCI_INTERRUPT_LINE);
	written_off = -1;
	pci_bus_cfg_write(&bus, PCI_DEVFN(3, 1), 3, 2, 5);	/* refused: no callback */
	assert_int_equal(written_off, -1);
	pci_bus_cfg_write(&bus, PCI_DEVFN(4, 0), 4, 2, 5);
	assert_int_equal(written_off, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_read_only),
		cmocka_unit_test(test_command_and_rw_bytes),
		cmocka_unit_test(test_status_w1c),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_bar_refused),
		cmocka_unit_test(test_capability_list),
		cmocka_unit_test(test_capability_loop),
		cmocka_unit_test(test_hostile_accesses),
		cmocka_unit_test(test_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
