/*
 * Unit tests for user/devices/pci/host.c: the 0xCF8/0xCFC mechanism (enable bit,
 * byte lanes, bus/devfn decode), absent functions, ECAM reads and writes of the
 * same registers, 0xCF9 forwarding and hostile sizes, against the fake machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "devices/pci/host.h"
#include "fake_machine.h"

#define ECAM	0xE0000000ULL

static struct fake_machine fm;
static struct pci_host *host;

static int setup(void **state)
{
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new(&fm.ms, ECAM);
	assert_non_null(host);
	return 0;
}

static int teardown(void **state)
{
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

static uint32_t in(uint16_t port, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_pio_read(&fm, port, &v, size), 0);
	return v;
}

static void out(uint16_t port, unsigned int size, uint32_t v)
{
	assert_int_equal(fake_pio_write(&fm, port, &v, size), 0);
}

static uint32_t cf8(unsigned int bus, unsigned int devfn, unsigned int reg)
{
	return 0x80000000u | bus << 16 | devfn << 8 | reg;
}

static uint32_t ecam_rd(uint64_t off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + off, &v, size), 0);
	return v;
}

static void ecam_wr(uint64_t off, unsigned int size, uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + off, &v, size), 0);
}

static void test_address_register(void **state)
{
	out(0xcf8, 4, 0xffffffff);
	assert_int_equal(in(0xcf8, 4), 0x80fffffc);
	/* Linux's type 1 probe: a byte at 0xCFB, then the enable bit reads back. */
	out(0xcfb, 1, 0x01);
	out(0xcf8, 4, 0x80000000);
	assert_int_equal(in(0xcf8, 4), 0x80000000);
	/* Partial accesses do not change the register. */
	out(0xcf8, 2, 0x1234);
	out(0xcfa, 2, 0x1234);
	assert_int_equal(in(0xcf8, 4), 0x80000000);
}

static void test_host_bridge_ids(void **state)
{
	out(0xcf8, 4, cf8(0, 0, 0));
	assert_int_equal(in(0xcfc, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	out(0xcf8, 4, cf8(0, 0, 0x08));
	assert_int_equal(in(0xcfc, 4) >> 8, PCI_HOST_CLASS);
	/* Byte lanes: 0xCFC + n reads register byte n of the dword. */
	out(0xcf8, 4, cf8(0, 0, 0));
	assert_int_equal(in(0xcfc, 1), PCI_HOST_VENDOR & 0xff);
	assert_int_equal(in(0xcfd, 1), PCI_HOST_VENDOR >> 8);
	assert_int_equal(in(0xcfe, 2), PCI_HOST_DEVICE);
	assert_int_equal(in(0xcff, 1), PCI_HOST_DEVICE >> 8);
	out(0xcf8, 4, cf8(0, 0, 0x0c));
	assert_int_equal(in(0xcfe, 1), PCI_HEADER_TYPE_NORMAL);
	/* Register bits 1:0 of the address are ignored: lanes pick the byte. */
	out(0xcf8, 4, cf8(0, 0, 0) | 3);
	assert_int_equal(in(0xcfc, 2), PCI_HOST_VENDOR);
}

static void test_enable_bit(void **state)
{
	out(0xcf8, 4, cf8(0, 0, 0) & ~0x80000000u);
	assert_int_equal(in(0xcfc, 4), 0xffffffff);
	assert_int_equal(in(0xcfc, 1), 0xff);
	out(0xcf8, 4, cf8(0, 0, PCI_LATENCY_TIMER & ~3u) & ~0x80000000u);
	out(0xcfd, 1, 0x40);	/* ignored while disabled */
	out(0xcf8, 4, cf8(0, 0, PCI_LATENCY_TIMER & ~3u));
	assert_int_equal(in(0xcfd, 1), 0);
	out(0xcfd, 1, 0x40);
	assert_int_equal(in(0xcfd, 1), 0x40);
}

static void test_absent_functions(void **state)
{
	out(0xcf8, 4, cf8(0, PCI_DEVFN(1, 0), 0));
	assert_int_equal(in(0xcfc, 4), 0xffffffff);
	assert_int_equal(in(0xcfe, 2), 0xffff);
	out(0xcf8, 4, cf8(0, PCI_DEVFN(0, 1), 0));
	assert_int_equal(in(0xcfc, 4), 0xffffffff);
	out(0xcf8, 4, cf8(1, 0, 0));		/* no bus 1 */
	assert_int_equal(in(0xcfc, 4), 0xffffffff);
	out(0xcfc, 4, 0);			/* and writes vanish */
	out(0xcf8, 4, cf8(0, 0, 0));
	assert_int_equal(in(0xcfc, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	assert_int_equal(ecam_rd(PCI_DEVFN(31, 7) << 12, 4), 0xffffffff);
	assert_int_equal(ecam_rd(PCI_DEVFN(2, 0) << 12 | 0x100, 2), 0xffff);
}

static void test_ecam_same_registers(void **state)
{
	assert_int_equal(ecam_rd(0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	assert_int_equal(ecam_rd(2, 2), PCI_HOST_DEVICE);
	assert_int_equal(ecam_rd(0x0b, 1), PCI_HOST_CLASS >> 16);
	/* A write through ECAM is seen through 0xCFC, and the reverse. */
	ecam_wr(PCI_INTERRUPT_LINE, 1, 0x0a);
	out(0xcf8, 4, cf8(0, 0, PCI_INTERRUPT_LINE));
	assert_int_equal(in(0xcfc, 1), 0x0a);
	out(0xcfc, 1, 0x0b);
	assert_int_equal(ecam_rd(PCI_INTERRUPT_LINE, 1), 0x0b);
	/* Extended space exists (4 KiB per function) and reads zero here. */
	assert_int_equal(ecam_rd(0xffc, 4), 0);
	/* Read-only IDs stay read-only through ECAM. */
	ecam_wr(0, 4, 0);
	assert_int_equal(ecam_rd(0, 2), PCI_HOST_VENDOR);
}

static void test_hostile_sizes(void **state)
{
	uint64_t v8 = 0;

	/* A dword at 0xCFE runs past the data port: all-ones, no write. */
	out(0xcf8, 4, cf8(0, 0, PCI_CACHE_LINE_SIZE));
	assert_int_equal(in(0xcfe, 4), 0xffffffff);
	out(0xcfe, 4, 0x12345678);
	out(0xcfd, 2, 0xffff);			/* unaligned word */
	assert_int_equal(in(0xcfc, 4) & 0xffff, 0);
	/* ECAM: unaligned, odd and 8-byte accesses read all-ones and write nothing. */
	assert_int_equal(ecam_rd(1, 2), 0xffff);
	assert_int_equal(ecam_rd(2, 4), 0xffffffff);
	assert_int_equal(ecam_rd(0, 3), 0xffffff);
	assert_int_equal(fake_mmio_read(&fm, ECAM, &v8, 8), 0);
	assert_true(v8 == UINT64_MAX);
	ecam_wr(PCI_CACHE_LINE_SIZE + 1, 2, 0xffff);
	v8 = UINT64_MAX;
	assert_int_equal(fake_mmio_write(&fm, ECAM + PCI_CACHE_LINE_SIZE, &v8, 8), 0);
	assert_int_equal(ecam_rd(PCI_CACHE_LINE_SIZE, 2), 0);
	/* The last byte of the window still decodes. */
	assert_int_equal(ecam_rd(PCI_ECAM_BUS_SIZE - 1, 1), 0xff);
}

static int cf9_reads, cf9_writes;
static uint8_t cf9_last;

static void cf9_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	cf9_reads++;
	*(uint8_t *)data = 0x02;
}

static void cf9_write(void *dev, uint64_t off, const void *data, unsigned int size)
{
	cf9_writes++;
	cf9_last = *(const uint8_t *)data;
}

static const struct io_ops cf9_ops = { .read = cf9_read, .write = cf9_write };

static void test_cf9_forwarding(void **state)
{
	out(0xcf8, 4, cf8(0, 0, 0));
	assert_int_equal(in(0xcf9, 1), 0xff);	/* nobody there yet */
	pci_host_set_cf9(host, &cf9_ops, NULL);
	out(0xcf9, 1, 0x06);
	assert_int_equal(cf9_writes, 1);
	assert_int_equal(cf9_last, 0x06);
	assert_int_equal(in(0xcf9, 1), 0x02);
	assert_int_equal(cf9_reads, 1);
	/* The dword address register is untouched by the byte port. */
	assert_int_equal(in(0xcf8, 4), cf8(0, 0, 0));
	out(0xcf8, 4, cf8(0, 0, 4));
	assert_int_equal(cf9_writes, 1);
}

static void test_register_devices(void **state)
{
	static struct pci_device d = { .name = "dev" };

	pci_config_init(&d.cfg, 0x1af4, 0x1041, 0x010000, 1, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_host_register(host, &d, PCI_DEVFN(0, 0)), -EEXIST);
	assert_int_equal(pci_host_register(host, &d, PCI_DEVFN(5, 0)), 0);
	assert_int_equal(ecam_rd(PCI_DEVFN(5, 0) << 12, 4), 0x10411af4);
	out(0xcf8, 4, cf8(0, PCI_DEVFN(5, 0), 0));
	assert_int_equal(in(0xcfc, 4), 0x10411af4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_address_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bridge_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam_same_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cf9_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_devices, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
