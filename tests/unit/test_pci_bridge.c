/*
 * Unit tests for user/devices/pci/bridge.c and the tree routing in bus.c and
 * host.c (PCI-to-PCI Bridge 1.2 ch. 3.2, ch. 4, ch. 9.1): type 1 config cycles
 * through 0xCF8 and ECAM to buses behind bridges, unconfigured bus numbers,
 * hostile bus numbers, window decode as the guest reprograms it, secondary
 * bus reset, INTx swizzle and shared lines across buses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bridge.h"
#include "devices/pci/host.h"
#include "devices/pci/pcie.h"
#include "fake_machine.h"

/*
 * bridge.o holds the registry types; device.c is not in every tree yet. The
 * stubs record what a type's realize asked of the core.
 */
static struct dev_bus stub_bus;
static struct device *stub_owner;
static unsigned int stub_adds, stub_dels;

__attribute__((weak)) struct dev_bus *device_bus_add(struct devices *devs,
						     struct device *owner, const char *id,
						     enum dev_bus_kind kind, void *impl)
{
	memset(&stub_bus, 0, sizeof(stub_bus));
	snprintf(stub_bus.id, sizeof(stub_bus.id), "%s", id);
	stub_bus.kind = kind;
	stub_bus.impl = impl;
	stub_bus.owner = owner;
	stub_owner = owner;
	stub_adds++;
	return &stub_bus;
}

__attribute__((weak)) void device_bus_del(struct devices *devs, struct dev_bus *bus)
{
	assert_ptr_equal(bus, &stub_bus);
	stub_dels++;
}

#define ECAM	0xE0000000ULL
#define MEM32	0xC0000000ULL
#define MEM64	0x400000000ULL

static struct fake_machine fm;
static struct pci_host *host;
static struct pci_bridge br_a, br_b;

struct tdev {
	struct pci_device pci;
	unsigned int resets;
	uint64_t last_mapped[PCI_NR_BARS];
};

static struct tdev d1, d2, r1;

static void tdev_read(void *d, uint64_t off, void *data, unsigned int size)
{
	uint64_t v = 0xab00000000000000ULL | off;

	memcpy(data, &v, size > 8 ? 8 : size);
}

static void tdev_write(void *d, uint64_t off, const void *data, unsigned int size)
{
}

static const struct io_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

static void tdev_mapped(struct pci_device *dev, unsigned int idx, uint64_t addr)
{
	struct tdev *t = dev->opaque;

	t->last_mapped[idx] = addr;
}

static void tdev_reset(struct pci_device *dev)
{
	struct tdev *t = dev->opaque;

	t->resets++;
}

static void tdev_init(struct tdev *t, const char *name, uint16_t devid, unsigned int pin)
{
	memset(t, 0, sizeof(*t));
	t->pci.name = name;
	t->pci.opaque = t;
	pci_config_init(&t->pci.cfg, 0x1234, devid, 0xff0000, 0, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(&t->pci.cfg, PCI_INTERRUPT_PIN, 1, pin);
	pci_config_set_bar(&t->pci.cfg, 0, 0x1000, 0);
	t->pci.bar_ops[0] = &tdev_ops;
	t->pci.bar_mapped = tdev_mapped;
	t->pci.reset = tdev_reset;
}

/*
 * 00:02.0 bridge A -> 01:03.0 d1 (pin A), 01:05.0 bridge B -> 02:00.0 d2 (pin B);
 * 00:01.0 r1 (pin A) on the root bus.
 */
static int setup(void **state)
{
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new_ecam(&fm.ms, ECAM, 8);
	assert_non_null(host);
	pci_bridge_init(&br_a, "br-a", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_b, "br-b", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	tdev_init(&d1, "d1", 0x1111, 1);
	tdev_init(&d2, "d2", 0x2222, 2);
	tdev_init(&r1, "r1", 0x3333, 1);
	/* Children first, then the bridges: the tree attaches either way. */
	assert_int_equal(pci_host_plug(&br_a.sec, &d1.pci, PCI_DEVFN(3, 0)), 0);
	assert_int_equal(pci_host_plug(&br_b.sec, &d2.pci, PCI_DEVFN(0, 0)), 0);
	assert_int_equal(d2.pci.gsi, 0);	/* not attached yet */
	assert_int_equal(pci_host_plug(&br_a.sec, &br_b.pci, PCI_DEVFN(5, 0)), 0);
	assert_int_equal(pci_host_register(host, &br_a.pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_register(host, &r1.pci, PCI_DEVFN(1, 0)), 0);
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

static uint32_t cf8_rd(unsigned int bus, unsigned int devfn, unsigned int reg,
		       unsigned int size)
{
	out(0xcf8, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc));
	return in(0xcfc + (reg & 3), size);
}

static void cf8_wr(unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size,
		   uint32_t v)
{
	out(0xcf8, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc));
	out(0xcfc + (reg & 3), size, v);
}

static uint64_t ecam_off(unsigned int bus, unsigned int devfn, unsigned int reg)
{
	return (uint64_t)bus << 20 | devfn << 12 | reg;
}

static uint32_t ecam_rd(unsigned int bus, unsigned int devfn, unsigned int reg,
			unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + ecam_off(bus, devfn, reg), &v, size), 0);
	return v;
}

static void ecam_wr(unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size,
		    uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + ecam_off(bus, devfn, reg), &v, size), 0);
}

static uint64_t mmio_rd(uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	fake_mmio_read(&fm, addr, &v, size);
	return v;
}

/* As Linux would: bus numbers for A (1..2) and B (2..2) through config writes. */
static void number_buses(void)
{
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PRIMARY_BUS, 4, 0x00020100);
	cf8_wr(1, PCI_DEVFN(5, 0), PCI_PRIMARY_BUS, 4, 0x00020201);
}

static void test_header(void **state)
{
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_VENDOR_ID, 4), 0x00011b36);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_REVISION_ID, 4) >> 8,
			 PCI_CLASS_BRIDGE_PCI);
	/* I/O base/limit: 16-bit decode, the low nibble reads 0 whatever is written. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_IO_BASE, 2, 0xffff);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_IO_BASE, 2), 0xf0f0);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_IO_BASE_UPPER16, 4, 0xffffffff);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_IO_BASE_UPPER16, 4), 0);
	/* Memory: 1 MiB granules; prefetchable: 64-bit capable (low nibble 1). */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_MEMORY_BASE, 4, 0xffffffff);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_MEMORY_BASE, 4), 0xfff0fff0);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PREF_MEMORY_BASE, 4, 0);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_PREF_MEMORY_BASE, 4), 0x00010001);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PREF_BASE_UPPER32, 4, 0x12345678);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_PREF_BASE_UPPER32, 4), 0x12345678);
	/* No BARs, no expansion ROM on a bridge. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_BAR0, 4), 0);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_ROM_ADDRESS1, 4, 0xffffffff);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_ROM_ADDRESS1, 4), 0);
	/* Secondary status error bits are RW1C. */
	br_a.pci.cfg.data[PCI_SEC_STATUS + 1] = 0x80;
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_SEC_STATUS, 2, 0x8000);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_SEC_STATUS, 2), 0);
}

static void test_config_routing(void **state)
{
	/* Unconfigured: every bridge has bus numbers 0, nothing behind is reachable. */
	assert_int_equal(cf8_rd(1, PCI_DEVFN(3, 0), 0, 4), 0xffffffff);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(3, 0), 0, 4), 0xffffffff);
	number_buses();
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_PRIMARY_BUS, 4), 0x00020100);
	/* Type 1 to the secondary bus: becomes type 0 there. */
	assert_int_equal(cf8_rd(1, PCI_DEVFN(3, 0), 0, 4), 0x11111234);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(3, 0), 0, 4), 0x11111234);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(5, 0), 0, 4), 0x00011b36);
	/* Two levels down, by both mechanisms, byte lanes too. */
	assert_int_equal(cf8_rd(2, PCI_DEVFN(0, 0), 2, 2), 0x2222);
	assert_int_equal(ecam_rd(2, PCI_DEVFN(0, 0), 3, 1), 0x22);
	/* A write through ECAM seen through 0xCFC. */
	ecam_wr(2, PCI_DEVFN(0, 0), PCI_LATENCY_TIMER, 1, 0x40);
	assert_int_equal(cf8_rd(2, PCI_DEVFN(0, 0), PCI_LATENCY_TIMER, 1), 0x40);
	/* Absent functions and bus numbers nobody claims read all-ones. */
	assert_int_equal(ecam_rd(1, PCI_DEVFN(4, 0), 0, 4), 0xffffffff);
	assert_int_equal(ecam_rd(3, PCI_DEVFN(0, 0), 0, 4), 0xffffffff);
	assert_int_equal(cf8_rd(200, PCI_DEVFN(0, 0), 0, 2), 0xffff);
	ecam_wr(3, 0, PCI_LATENCY_TIMER, 1, 0x40);	/* vanishes */
	/* The ECAM covers 8 buses: bus 8 is not claimed at all. */
	{
		uint32_t v = 0;

		assert_int_equal(fake_mmio_read(&fm, ECAM + PCI_ECAM_SIZE(8), &v, 4), -1);
	}
	/* Bus 0 extended config of a function behind a bridge. */
	assert_int_equal(ecam_rd(2, PCI_DEVFN(0, 0), 0x100, 4), 0);
	/* A reprogrammed secondary bus number moves the bus. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_SECONDARY_BUS, 1, 5);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_SUBORDINATE_BUS, 1, 6);
	cf8_wr(5, PCI_DEVFN(5, 0), PCI_PRIMARY_BUS, 4, 0x00060605);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(3, 0), 0, 4), 0xffffffff);
	assert_int_equal(ecam_rd(5, PCI_DEVFN(3, 0), 0, 4), 0x11111234);
	assert_int_equal(ecam_rd(6, PCI_DEVFN(0, 0), 0, 4), 0x22221234);
}

static void test_hostile_bus_numbers(void **state)
{
	unsigned int b, i;

	number_buses();
	/* Subordinate below secondary: only the secondary bus itself is reached. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_SUBORDINATE_BUS, 1, 0);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(3, 0), 0, 2), 0x1234);
	assert_int_equal(ecam_rd(2, PCI_DEVFN(0, 0), 0, 2), 0xffff);
	/* B claims the same number as A's secondary, and all of 0..255 below. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_SUBORDINATE_BUS, 1, 0xff);
	ecam_wr(1, PCI_DEVFN(5, 0), PCI_SECONDARY_BUS, 1, 0x01);
	ecam_wr(1, PCI_DEVFN(5, 0), PCI_SUBORDINATE_BUS, 1, 0xff);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(3, 0), 0, 2), 0x1234);	/* A wins: it is first */
	/* B: secondary 0 (a "loop" back to the root) and subordinate 255. */
	cf8_wr(1, PCI_DEVFN(5, 0), PCI_SECONDARY_BUS, 1, 0);
	for (b = 0; b < 256; b++)
		cf8_rd(b, PCI_DEVFN(0, 0), 0, 4);
	/* Hostile writes of every byte value to every type 1 register, then walk all buses. */
	for (i = 0; i < 256; i += 17) {
		unsigned int reg;

		for (reg = PCI_PRIMARY_BUS; reg < PCI_CAPABILITY_LIST; reg++) {
			ecam_wr(0, PCI_DEVFN(2, 0), reg, 1, i);
			cf8_wr(1, PCI_DEVFN(5, 0), reg, 1, 255 - i);
		}
		for (b = 0; b < 8; b++)
			ecam_rd(b, PCI_DEVFN(0, 0), 0, 4);
		for (b = 0; b < 256; b++)
			cf8_rd(b, PCI_DEVFN(0, 0), 0, 4);
	}
	/* The root bus is always bus 0, whatever a bridge claims. */
	assert_int_equal(ecam_rd(0, 0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	/* A bridge cannot be put below its own secondary bus. */
	assert_int_equal(pci_host_plug(&br_b.sec, &br_a.pci, PCI_DEVFN(9, 0)), -ELOOP);
	assert_int_equal(pci_host_plug(&br_b.sec, &br_b.pci, PCI_DEVFN(9, 0)), -ELOOP);
}

static void test_window_decode(void **state)
{
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x10000000 },
		.mem64 = { MEM64, 1ULL << 32 },
		.io = { 0xc000, 0x4000 },
	};
	uint64_t a1, a2;

	assert_int_equal(pci_host_set_windows(host, &w), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	a1 = pci_config_bar_addr(&d1.pci.cfg, 0);
	a2 = pci_config_bar_addr(&d2.pci.cfg, 0);
	assert_true(a1 && a2);
	assert_int_equal(d1.last_mapped[0], a1);
	assert_int_equal(d2.last_mapped[0], a2);
	assert_int_equal(mmio_rd(a2 + 8, 4), 8);

	/* B's memory decode off: d2 stops, d1 (beside B) goes on. */
	cf8_wr(1, PCI_DEVFN(5, 0), PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(d2.last_mapped[0], 0);
	assert_int_equal(mmio_rd(a2 + 8, 4), 0xffffffff);
	assert_int_equal(mmio_rd(a1 + 8, 4), 8);
	cf8_wr(1, PCI_DEVFN(5, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(d2.last_mapped[0], a2);

	/*
	 * The guest moves A's window (as Linux's reassignment does): d1's BAR is
	 * now outside it and stops; moved inside the new window it decodes again.
	 */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_MEMORY_BASE, 4, 0xc800c800);	/* [0xc8000000, +1 MiB) */
	assert_int_equal(d1.last_mapped[0], 0);
	assert_int_equal(d2.last_mapped[0], 0);
	assert_int_equal(mmio_rd(a1, 4), 0xffffffff);
	ecam_wr(1, PCI_DEVFN(3, 0), PCI_BAR0, 4, 0xc8000000);
	assert_int_equal(d1.last_mapped[0], 0xc8000000);
	assert_int_equal(mmio_rd(0xc8000010, 4), 0x10);
	/* B's window is no longer inside A's: d2 stays dark even with B's window open. */
	assert_int_equal(mmio_rd(a2, 4), 0xffffffff);
	/* A BAR covered by the prefetchable window instead decodes too. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PREF_MEMORY_BASE, 4, 0xc911c911);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PREF_BASE_UPPER32, 4, 0);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PREF_LIMIT_UPPER32, 4, 0);
	ecam_wr(1, PCI_DEVFN(3, 0), PCI_BAR0, 4, 0xc9100000);
	assert_int_equal(d1.last_mapped[0], 0xc9100000);
	/* Just past the window's end: nothing forwards it. */
	ecam_wr(1, PCI_DEVFN(3, 0), PCI_BAR0, 4, 0xc91ff000 + 0x1000);
	assert_int_equal(d1.last_mapped[0], 0);
	/* A closed window (base > limit) forwards nothing. */
	ecam_wr(1, PCI_DEVFN(3, 0), PCI_BAR0, 4, 0xc8000000);
	assert_int_equal(d1.last_mapped[0], 0xc8000000);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_MEMORY_BASE, 4, 0xc700c800);
	assert_int_equal(d1.last_mapped[0], 0);
	/* The widest window the registers hold is [0, 4 GiB): d1 decodes again. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_MEMORY_BASE, 4, 0xfff00000);
	assert_int_equal(d1.last_mapped[0], 0xc8000000);
}

static void test_io_window(void **state)
{
	struct pci_host_windows w = { .mem32 = { MEM32, 0x10000000 }, .io = { 0xc000, 0x4000 } };
	struct tdev iod;
	uint32_t v = 0;

	tdev_init(&iod, "iod", 0x4444, 0);
	memset(&iod.pci.cfg.bars[0], 0, sizeof(iod.pci.cfg.bars[0]));
	pci_config_set_bar(&iod.pci.cfg, 1, 0x100, PCI_BAR_IO);
	iod.pci.bar_ops[1] = &tdev_ops;
	assert_int_equal(pci_host_plug(&br_a.sec, &iod.pci, PCI_DEVFN(7, 0)), 0);
	assert_int_equal(pci_host_set_windows(host, &w), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	assert_int_equal(pci_config_bar_addr(&iod.pci.cfg, 1), 0xc000);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_IO_BASE, 2), 0xc0c0);
	assert_int_equal(fake_pio_read(&fm, 0xc004, &v, 2), 0);
	assert_int_equal(v, 4);
	/* ISA enable: the first 256 bytes of each 1 KiB still go down. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_ISA);
	assert_int_equal(iod.last_mapped[1], 0xc000);
	ecam_wr(1, PCI_DEVFN(7, 0), PCI_BAR0 + 4, 4, 0xc101);
	assert_int_equal(iod.last_mapped[1], 0);
	v = 0;
	assert_int_equal(fake_pio_read(&fm, 0xc104, &v, 2), 0);
	assert_int_equal(v, 0xffff);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, 0);
	assert_int_equal(iod.last_mapped[1], 0xc100);
	/* COMMAND.IO off on A. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(iod.last_mapped[1], 0);
	pci_host_unplug(&iod.pci);
}

static void test_secondary_bus_reset(void **state)
{
	number_buses();
	ecam_wr(1, PCI_DEVFN(5, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(d1.resets, 1);
	assert_int_equal(d2.resets, 1);		/* B's reset reaches its bus too */
	assert_int_equal(ecam_rd(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2),
			 PCI_BRIDGE_CTL_BUS_RESET);
	/* B is back to power-on: bus numbers 0, decode off. */
	assert_int_equal(ecam_rd(1, PCI_DEVFN(5, 0), PCI_PRIMARY_BUS, 4), 0);
	assert_int_equal(ecam_rd(1, PCI_DEVFN(5, 0), PCI_COMMAND, 2), 0);
	assert_int_equal(ecam_rd(2, 0, 0, 4), 0xffffffff);
	/* Held: no second reset until the bit drops and rises again. */
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(d1.resets, 1);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, 0);
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_BUS_RESET);
	assert_int_equal(d1.resets, 2);
}

static void test_intx_swizzle(void **state)
{
	unsigned int slot, pin;

	/* d1: slot 3 pin A behind A (slot 2): pin D on slot 2 -> 16 + ((2 + 4 - 1) & 3). */
	assert_true(pci_device_intx_root(&d1.pci, &slot, &pin));
	assert_int_equal(slot, 2);
	assert_int_equal(pin, 4);
	assert_int_equal(d1.pci.gsi, 17);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1), 17);
	/* d2: slot 0 pin B behind B (slot 5): pin B; behind A (slot 2): pin C. */
	assert_true(pci_device_intx_root(&d2.pci, &slot, &pin));
	assert_int_equal(slot, 2);
	assert_int_equal(pin, 3);
	assert_int_equal(d2.pci.gsi, PCI_INTX_GSI(2, 3));
	assert_int_equal(PCI_INTX_SWIZZLE(0, 1), 1);
	assert_int_equal(PCI_INTX_SWIZZLE(3, 2), 1);
	/* r1 on the root bus (slot 1 pin A) shares GSI 17 with d1. */
	assert_int_equal(r1.pci.gsi, 17);
	pci_device_intx(&d1.pci, 1);
	assert_int_equal(fm.irq_level[17], 1);
	pci_device_intx(&r1.pci, 1);
	pci_device_intx(&d1.pci, 0);
	assert_int_equal(fm.irq_level[17], 1);
	pci_device_intx(&r1.pci, 0);
	assert_int_equal(fm.irq_level[17], 0);
	assert_int_equal(fm.irq_raises[17], 1);
	/* d2 on GSI 16, INTX_DISABLE through two bridges of config routing. */
	number_buses();
	pci_device_intx(&d2.pci, 1);
	assert_int_equal(fm.irq_level[16], 1);
	ecam_wr(2, 0, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fm.irq_level[16], 0);
	ecam_wr(2, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(fm.irq_level[16], 1);
	/* Unplugging an asserting function drops its share of the line. */
	pci_host_unplug(&d2.pci);
	assert_int_equal(fm.irq_level[16], 0);
	assert_null(d2.pci.bus);
	assert_int_equal(ecam_rd(2, 0, 0, 4), 0xffffffff);
	assert_int_equal(pci_host_plug(&br_b.sec, &d2.pci, PCI_DEVFN(0, 0)), 0);
	assert_int_equal(d2.pci.gsi, PCI_INTX_GSI(2, 3));
}

static void test_slotid(void **state)
{
	struct pci_bridge br;
	unsigned int cap;

	pci_bridge_init(&br, "br", 0x1b36, 1, PCI_CLASS_BRIDGE_PCI, 0);
	assert_true(pci_bridge_add_slotid(&br, 7) >= 0);
	cap = pci_config_find_cap(&br.pci.cfg, PCI_CAP_ID_SLOTID);
	assert_int_not_equal(cap, 0);
	assert_int_equal(br.pci.cfg.data[cap + 3], 7);
	assert_int_equal(br.pci.cfg.data[cap + 2], 0x20);
}

/* A registry type's instance as the core would make it (conf already filled). */
static int type_new(const struct device_type *t, struct device *dev,
		    const struct pci_bridge_conf *conf, char *err, size_t errlen)
{
	memset(dev, 0, sizeof(*dev));
	dev->type = t;
	snprintf(dev->id, sizeof(dev->id), "br1");
	snprintf(dev->name, sizeof(dev->name), "br1");
	dev->conf = calloc(1, t->conf_size ? t->conf_size : 1);
	assert_non_null(dev->conf);
	if (conf && t->conf_size)
		memcpy(dev->conf, conf, sizeof(*conf));
	return t->create(dev, &fm.ms, err, errlen);
}

static void type_free(struct device *dev)
{
	if (dev->type->unrealize && dev->pci)
		dev->type->unrealize(dev);
	if (dev->priv)
		dev->type->destroy(dev);
	free(dev->conf);
}

static void test_registry_types(void **state)
{
	struct devices devs = { 0 };
	struct device_ctx ctx = { .ms = &fm.ms, .devs = &devs };
	struct device dev;
	struct pci_bridge_conf conf = { .shpc = true };
	char err[128] = "";
	unsigned int cap;
	int exp;

	assert_string_equal(pci_bridge_type.name, "pci-bridge");
	assert_int_equal(pci_bridge_type.bus, DEV_BUS_PCI);
	/* shpc=on is refused with a sentence; off is accepted. */
	assert_int_equal(pci_bridge_type.conf_size, sizeof(struct pci_bridge_conf));
	assert_non_null(pci_bridge_type.props);
	assert_int_equal(type_new(&pci_bridge_type, &dev, &conf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "shpc"));
	type_free(&dev);
	conf = (struct pci_bridge_conf){ .chassis_nr = 3 };
	assert_int_equal(type_new(&pci_bridge_type, &dev, &conf, err, sizeof(err)), 0);
	stub_adds = stub_dels = 0;
	assert_int_equal(pci_bridge_type.realize(&dev, &ctx, err, sizeof(err)), 0);
	assert_non_null(dev.pci);
	assert_int_equal(stub_adds, 1);
	assert_ptr_equal(stub_owner, &dev);
	assert_string_equal(stub_bus.id, "br1");
	assert_int_equal(stub_bus.kind, DEV_BUS_PCI);
	assert_ptr_equal(stub_bus.impl, dev.pci->subordinate);
	assert_false(stub_bus.pcie);
	assert_int_equal(stub_bus.max_slot, 31);
	assert_int_equal(pci_config_get(&dev.pci->cfg, PCI_VENDOR_ID, 4), 0x00011b36);
	cap = pci_config_find_cap(&dev.pci->cfg, PCI_CAP_ID_SLOTID);
	assert_int_not_equal(cap, 0);
	assert_int_equal(dev.pci->cfg.data[cap + 3], 3);
	/* The function works as a bridge on the host. */
	assert_int_equal(pci_host_register(host, dev.pci, PCI_DEVFN(9, 0)), 0);
	assert_int_equal(ecam_rd(0, PCI_DEVFN(9, 0), PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
	pci_host_unplug(dev.pci);
	type_free(&dev);
	assert_int_equal(stub_dels, 1);

	/* pcie-pci-bridge: no properties, a PCIe capability of type PCIe-to-PCI. */
	assert_string_equal(pcie_pci_bridge_type.name, "pcie-pci-bridge");
	assert_int_equal(type_new(&pcie_pci_bridge_type, &dev, NULL, err, sizeof(err)), 0);
	assert_int_equal(pcie_pci_bridge_type.realize(&dev, &ctx, err, sizeof(err)), 0);
	assert_int_equal(pci_config_get(&dev.pci->cfg, PCI_VENDOR_ID, 4), 0x000e1b36);
	exp = (int)pci_config_find_cap(&dev.pci->cfg, PCI_CAP_ID_EXP);
	assert_int_not_equal(exp, 0);
	assert_int_equal(pci_config_get(&dev.pci->cfg, exp + PCI_EXP_FLAGS, 2) >> 4 & 0xf,
			 PCI_EXP_TYPE_PCI_BRIDGE);
	assert_int_equal(pci_config_find_cap(&dev.pci->cfg, PCI_CAP_ID_SLOTID), 0);
	assert_false(stub_bus.pcie);
	/* A realize after a reset builds the function afresh. */
	pcie_pci_bridge_type.unrealize(&dev);
	assert_int_equal(pcie_pci_bridge_type.realize(&dev, &ctx, err, sizeof(err)), 0);
	type_free(&dev);
	assert_int_equal(stub_dels, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bus_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secondary_bus_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_swizzle, setup, teardown),
		cmocka_unit_test(test_slotid),
		cmocka_unit_test_setup_teardown(test_registry_types, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
