/*
 * Unit tests for user/devices/pci/enum.c (PCI Firmware 3.0 ch. 3.5, PCI-to-PCI
 * Bridge 1.2 ch. 3.2.5): depth-first bus numbers, BAR placement of 64+
 * functions behind three levels of bridges (every BAR inside every window
 * above it, windows nested, nothing overlapping, everything decoding), full
 * windows, bus numbers running out, guest reassignment after enumeration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bridge.h"
#include "devices/pci/enum.h"
#include "devices/pci/host.h"
#include "fake_machine.h"
#include "lib/log.h"

__attribute__((weak)) struct dev_bus *device_bus_add(struct devices *devs,
						     struct device *owner, const char *id,
						     enum dev_bus_kind kind, void *impl)
{
	return NULL;
}

__attribute__((weak)) void device_bus_del(struct devices *devs, struct dev_bus *bus)
{
}

#define ECAM	0xE0000000ULL
#define MEM32	0xC0000000ULL
#define MEM64	0x400000000ULL
#define NR_DEVS	80
#define NR_BR	8

static struct fake_machine fm;
static struct pci_host *host;
static struct pci_bridge br[NR_BR];
static struct pci_device devs[NR_DEVS];
static char names[NR_DEVS][16];

static const struct pci_host_windows wins = {
	.mem32 = { MEM32, 0x20000000 },
	.mem64 = { MEM64, 1ULL << 36 },
	.io = { 0xc000, 0x4000 },
};

static void bar_read(void *d, uint64_t off, void *data, unsigned int size)
{
	struct pci_device *dev = d;
	uint32_t v = (uint32_t)(dev - devs) << 16 | (uint32_t)off;

	memcpy(data, &v, size > 4 ? 4 : size);
}

static const struct io_ops bar_ops = { .read = bar_read };

static int setup(void **state)
{
	log_threshold = LOG_WARN;
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new_ecam(&fm.ms, ECAM, 32);
	assert_non_null(host);
	assert_int_equal(pci_host_set_windows(host, &wins), 0);
	return 0;
}

static int teardown(void **state)
{
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

/* Function i: a mix of 32-bit, 64-bit prefetchable, 64-bit plain and I/O BARs. */
static void dev_init(unsigned int i)
{
	struct pci_device *d = &devs[i];
	struct pci_config *cfg = &d->cfg;
	unsigned int b;

	memset(d, 0, sizeof(*d));
	snprintf(names[i], sizeof(names[i]), "f%u", i);
	d->name = names[i];
	d->opaque = d;
	pci_config_init(cfg, 0x1234, (uint16_t)i, 0xff0000, 0, PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(pci_config_set_bar(cfg, 0, 0x1000ULL << (i % 9), 0), 0);
	assert_int_equal(pci_config_set_bar(cfg, 1, 0x4000ULL << (i % 5),
					    PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	if (i % 4 == 0)
		assert_int_equal(pci_config_set_bar(cfg, 3, 0x10000, PCI_BAR_MEM64), 0);
	if (i % 16 == 3)
		assert_int_equal(pci_config_set_bar(cfg, 5, 0x40, PCI_BAR_IO), 0);
	for (b = 0; b < PCI_NR_BARS; b++)
		d->bar_ops[b] = &bar_ops;
}

static void bridge_init(unsigned int i)
{
	static char bnames[NR_BR][16];

	snprintf(bnames[i], sizeof(bnames[i]), "br%u", i);
	pci_bridge_init(&br[i], bnames[i], 0x1b36, 1, PCI_CLASS_BRIDGE_PCI, 0);
}

/* Every window of every bridge above dev that forwards the BAR's kind, checked. */
static void check_bar_nested(const struct pci_device *d, unsigned int idx)
{
	const struct pci_bar *bar = &d->cfg.bars[idx];
	uint64_t addr = pci_config_bar_addr(&d->cfg, idx), base, limit;
	const struct pci_bus *bus = d->bus;
	bool io = bar->flags & PCI_BAR_IO;

	assert_int_not_equal(addr, 0);
	assert_int_equal(addr & (bar->size - 1), 0);
	if (io)
		assert_true(addr >= wins.io.base && addr + bar->size <= wins.io.base + wins.io.size);
	else if (addr >= MEM64)
		assert_true(addr + bar->size <= MEM64 + wins.mem64.size);
	else
		assert_true(addr >= MEM32 && addr + bar->size <= MEM32 + wins.mem32.size);
	for (; bus->self; bus = bus->self->bus) {
		const struct pci_config *c = &bus->self->cfg;
		bool in = false;

		if (io) {
			assert_true(pci_bridge_window(c, PCI_BRIDGE_WIN_IO, &base, &limit));
			in = addr >= base && addr + bar->size - 1 <= limit;
		} else {
			if (pci_bridge_window(c, PCI_BRIDGE_WIN_MEM, &base, &limit))
				in = addr >= base && addr + bar->size - 1 <= limit;
			if (!in && pci_bridge_window(c, PCI_BRIDGE_WIN_PREF, &base, &limit))
				in = addr >= base && addr + bar->size - 1 <= limit;
		}
		assert_true(in);
		assert_true(pci_bridge_forwards(c, addr, bar->size, io));
	}
	/* Behind a bridge only 64-bit prefetchable BARs may sit above 4 GiB. */
	if (d->bus->self && addr >= 1ULL << 32)
		assert_true(bar->flags & PCI_BAR_PREFETCH);
	assert_int_equal(d->mapped[idx], addr);
}

static void check_windows_nest(const struct pci_bridge *b)
{
	const struct pci_bus *up = b->pci.bus;
	unsigned int k;

	if (!up->self)
		return;
	for (k = 0; k < PCI_BRIDGE_WIN_NR; k++) {
		uint64_t base, limit, pb, pl;

		if (!pci_bridge_window(&b->pci.cfg, k, &base, &limit))
			continue;
		assert_true(pci_bridge_window(&up->self->cfg, k, &pb, &pl));
		assert_true(base >= pb && limit <= pl);
		if (k == PCI_BRIDGE_WIN_IO)
			assert_int_equal(base & 0xfff, 0);
		else
			assert_int_equal(base & 0xfffff, 0);
	}
}

struct range {
	uint64_t base, size;
	bool io;
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->io != y->io)
		return x->io ? -1 : 1;
	return x->base < y->base ? -1 : x->base > y->base;
}

static void check_no_overlap(void)
{
	static struct range r[NR_DEVS * PCI_NR_BARS];
	unsigned int i, b, n = 0;

	for (i = 0; i < NR_DEVS; i++)
		for (b = 0; b < PCI_NR_BARS; b++)
			if (devs[i].cfg.bars[b].size)
				r[n++] = (struct range){ pci_config_bar_addr(&devs[i].cfg, b),
							 devs[i].cfg.bars[b].size,
							 devs[i].cfg.bars[b].flags & PCI_BAR_IO };
	qsort(r, n, sizeof(r[0]), range_cmp);
	for (i = 1; i < n; i++)
		if (r[i].io == r[i - 1].io)
			assert_true(r[i - 1].base + r[i - 1].size <= r[i].base);
}

static uint32_t ecam_rd(unsigned int bus, unsigned int devfn, unsigned int reg,
			unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + ((uint64_t)bus << 20 | devfn << 12 | reg),
					 &v, size), 0);
	return v;
}

static void ecam_wr(unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size,
		    uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + ((uint64_t)bus << 20 | devfn << 12 | reg),
					 &v, size), 0);
}

/*
 * root: br0 (00:01), br3 (00:02), f0..f3 (00:08..0b); br0: f4..f27, br1 (01:1f);
 * br1: f28..f51, br2 (02:1e), br4 (02:1f); br2: f52..f71; br4: f72..f75;
 * br3: f76..f79. 80 functions, buses 1 (br0), 2 (br1), 3 (br2), 4 (br4), 5 (br3).
 */
static void build_tree(void)
{
	unsigned int i;

	for (i = 0; i < NR_DEVS; i++)
		dev_init(i);
	for (i = 0; i < 5; i++)
		bridge_init(i);
	for (i = 0; i < 4; i++)
		assert_int_equal(pci_host_register(host, &devs[i], PCI_DEVFN(8 + i, 0)), 0);
	for (i = 4; i < 28; i++)
		assert_int_equal(pci_host_plug(&br[0].sec, &devs[i],
					       PCI_DEVFN((i - 4) / 2, (i - 4) % 2)), 0);
	for (i = 28; i < 52; i++)
		assert_int_equal(pci_host_plug(&br[1].sec, &devs[i], PCI_DEVFN(i - 28, 0)), 0);
	for (i = 52; i < 72; i++)
		assert_int_equal(pci_host_plug(&br[2].sec, &devs[i], PCI_DEVFN(i - 52, 0)), 0);
	for (i = 72; i < 76; i++)
		assert_int_equal(pci_host_plug(&br[4].sec, &devs[i], PCI_DEVFN(i - 72, 0)), 0);
	for (i = 76; i < 80; i++)
		assert_int_equal(pci_host_plug(&br[3].sec, &devs[i], PCI_DEVFN(i - 76, 0)), 0);
	assert_int_equal(pci_host_plug(&br[1].sec, &br[2].pci, PCI_DEVFN(30, 0)), 0);
	assert_int_equal(pci_host_plug(&br[1].sec, &br[4].pci, PCI_DEVFN(31, 0)), 0);
	assert_int_equal(pci_host_plug(&br[0].sec, &br[1].pci, PCI_DEVFN(31, 0)), 0);
	assert_int_equal(pci_host_register(host, &br[0].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_register(host, &br[3].pci, PCI_DEVFN(2, 0)), 0);
}

static void check_all(void)
{
	unsigned int i, b;

	for (i = 0; i < NR_DEVS; i++)
		for (b = 0; b < PCI_NR_BARS; b++)
			if (devs[i].cfg.bars[b].size)
				check_bar_nested(&devs[i], b);
	for (i = 0; i < 5; i++)
		check_windows_nest(&br[i]);
	check_no_overlap();
}

static void test_three_levels(void **state)
{
	unsigned int i;

	build_tree();
	assert_int_equal(pci_host_place_bars(host), 0);
	/* Depth-first bus numbers: primary, secondary, subordinate. */
	assert_int_equal(pci_config_get(&br[0].pci.cfg, PCI_PRIMARY_BUS, 3), 0x040100);
	assert_int_equal(pci_config_get(&br[1].pci.cfg, PCI_PRIMARY_BUS, 3), 0x040201);
	assert_int_equal(pci_config_get(&br[2].pci.cfg, PCI_PRIMARY_BUS, 3), 0x030302);
	assert_int_equal(pci_config_get(&br[4].pci.cfg, PCI_PRIMARY_BUS, 3), 0x040402);
	assert_int_equal(pci_config_get(&br[3].pci.cfg, PCI_PRIMARY_BUS, 3), 0x050500);
	check_all();
	/* Firmware turned decode on: bridges forward and master, functions decode. */
	for (i = 0; i < 5; i++)
		assert_int_equal(pci_config_get(&br[i].pci.cfg, PCI_COMMAND, 2) & 6, 6);
	/* br3 has no I/O BARs behind it: its I/O window stays closed, IO off. */
	assert_false(pci_config_get(&br[3].pci.cfg, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* The guest reaches a function three bridges down through ECAM and its BARs. */
	assert_int_equal(ecam_rd(3, PCI_DEVFN(5, 0), PCI_DEVICE_ID, 2), 57);
	for (i = 0; i < NR_DEVS; i++) {
		uint32_t v = 0;

		assert_int_equal(fake_mmio_read(&fm, pci_config_bar_addr(&devs[i].cfg, 0) + 0x10,
						&v, 4), 0);
		assert_int_equal(v, i << 16 | 0x10);
		assert_int_equal(fake_mmio_read(&fm, pci_config_bar_addr(&devs[i].cfg, 1) + 0x20,
						&v, 4), 0);
		assert_int_equal(v, i << 16 | 0x20);
	}
}

/*
 * What Linux does with pci=realloc: turn decode off, renumber the buses and
 * move windows and BARs; decode follows the new programming.
 */
static void test_guest_reassigns(void **state)
{
	uint64_t old = pci_config_bar_addr(&devs[60].cfg, 0), base, limit;
	uint32_t v = 0;

	build_tree();
	assert_int_equal(pci_host_place_bars(host), 0);
	/* Renumber br0's subtree to 10.. through config writes. */
	ecam_wr(0, PCI_DEVFN(1, 0), PCI_PRIMARY_BUS, 4, 0x000d0a00);
	ecam_wr(10, PCI_DEVFN(31, 0), PCI_PRIMARY_BUS, 4, 0x000d0b0a);
	ecam_wr(11, PCI_DEVFN(30, 0), PCI_PRIMARY_BUS, 4, 0x000c0c0b);
	ecam_wr(11, PCI_DEVFN(31, 0), PCI_PRIMARY_BUS, 4, 0x000d0d0b);
	assert_int_equal(ecam_rd(12, PCI_DEVFN(8, 0), PCI_DEVICE_ID, 2), 60);
	assert_int_equal(ecam_rd(3, PCI_DEVFN(8, 0), PCI_DEVICE_ID, 2), 0xffff);
	/* Move f60's BAR0 (behind br0 > br1 > br2) into a fresh 1 MiB of br2's window. */
	old = pci_config_bar_addr(&devs[60].cfg, 0);
	assert_true(pci_bridge_window(&br[2].pci.cfg, PCI_BRIDGE_WIN_MEM, &base, &limit));
	assert_int_equal(devs[60].mapped[0], old);
	/* Shift br0, br1 and br2's memory windows up to 0xd0000000 + and the BAR with them. */
	ecam_wr(0, PCI_DEVFN(1, 0), PCI_MEMORY_BASE, 4, 0xd0f0d000);
	assert_int_equal(devs[60].mapped[0], 0);
	ecam_wr(10, PCI_DEVFN(31, 0), PCI_MEMORY_BASE, 4, 0xd0f0d000);
	ecam_wr(11, PCI_DEVFN(30, 0), PCI_MEMORY_BASE, 4, 0xd000d000);
	ecam_wr(12, PCI_DEVFN(8, 0), PCI_BAR0, 4, 0xd0000000);
	assert_int_equal(devs[60].mapped[0], 0xd0000000);
	assert_int_equal(fake_mmio_read(&fm, 0xd0000004, &v, 4), 0);
	assert_int_equal(v, 60u << 16 | 4);
	v = 0;
	fake_mmio_read(&fm, old + 4, &v, 4);
	assert_int_equal(v, 0xffffffff);
}

static void test_windows_full(void **state)
{
	struct pci_host_windows small = { .mem32 = { MEM32, 0x100000 }, .io = { 0xc000, 0x1000 } };
	struct pci_host *h;
	struct fake_machine fm2;
	unsigned int i;

	fake_machine_init(&fm2, 0);
	h = pci_host_new_ecam(&fm2.ms, ECAM, 4);
	assert_int_equal(pci_host_set_windows(h, &small), 0);
	for (i = 0; i < 3; i++)
		dev_init(i);
	bridge_init(0);
	bridge_init(1);
	/* Two bridges each needing an I/O window: only one 4 KiB window fits. */
	assert_int_equal(pci_host_plug(&br[0].sec, &devs[0], 0), 0);
	assert_int_equal(pci_host_plug(&br[1].sec, &devs[1], 0), 0);
	memset(devs[0].cfg.bars, 0, sizeof(devs[0].cfg.bars));
	memset(devs[1].cfg.bars, 0, sizeof(devs[1].cfg.bars));
	pci_config_set_bar(&devs[0].cfg, 0, 0x10, PCI_BAR_IO);
	pci_config_set_bar(&devs[1].cfg, 0, 0x10, PCI_BAR_IO);
	assert_int_equal(pci_host_register(h, &br[0].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_register(h, &br[1].pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_place_bars(h), -ENOSPC);
	assert_int_equal(pci_config_bar_addr(&devs[0].cfg, 0), 0xc000);
	assert_int_equal(pci_config_bar_addr(&devs[1].cfg, 0), 0);
	pci_host_free(h);
	fake_machine_fini(&fm2);
}

static void test_bus_numbers_run_out(void **state)
{
	struct fake_machine fm2;
	struct pci_host *h;

	fake_machine_init(&fm2, 0);
	h = pci_host_new_ecam(&fm2.ms, ECAM, 3);
	bridge_init(0);
	bridge_init(1);
	bridge_init(2);
	assert_int_equal(pci_host_plug(&br[0].sec, &br[1].pci, 0), 0);
	assert_int_equal(pci_host_register(h, &br[0].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_register(h, &br[2].pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_enum_buses(&h->bus, h->max_bus), -ENOSPC);
	assert_int_equal(pci_config_get(&br[0].pci.cfg, PCI_PRIMARY_BUS, 3), 0x020100);
	assert_int_equal(pci_config_get(&br[1].pci.cfg, PCI_PRIMARY_BUS, 3), 0x020201);
	assert_int_equal(pci_config_get(&br[2].pci.cfg, PCI_PRIMARY_BUS, 3), 0);
	pci_host_free(h);
	fake_machine_fini(&fm2);
	/* The one-bus ECAM of pci_host_new still numbers buses for 0xCF8. */
	fake_machine_init(&fm2, 0);
	h = pci_host_new(&fm2.ms, ECAM);
	assert_int_equal(h->max_bus, 255);
	pci_host_free(h);
	fake_machine_fini(&fm2);
	assert_null(pci_host_new_ecam(&fm2.ms, ECAM, 0));
	assert_null(pci_host_new_ecam(&fm2.ms, ECAM, 257));
}

/* A chain of bridges eight deep with one function at the bottom, no mem64 window. */
static void test_deep_chain(void **state)
{
	struct pci_host_windows w = { .mem32 = { MEM32, 0x20000000 }, .io = { 0xc000, 0x4000 } };
	struct fake_machine fm2;
	struct pci_host *h;
	unsigned int i;

	fake_machine_init(&fm2, 0);
	h = pci_host_new_ecam(&fm2.ms, ECAM, 16);
	assert_int_equal(pci_host_set_windows(h, &w), 0);
	dev_init(0);
	for (i = 0; i < NR_BR; i++)
		bridge_init(i);
	assert_int_equal(pci_host_plug(&br[NR_BR - 1].sec, &devs[0], PCI_DEVFN(3, 0)), 0);
	for (i = NR_BR - 1; i > 0; i--)
		assert_int_equal(pci_host_plug(&br[i - 1].sec, &br[i].pci, PCI_DEVFN(0, 0)), 0);
	assert_int_equal(pci_host_register(h, &br[0].pci, PCI_DEVFN(4, 0)), 0);
	assert_int_equal(pci_host_place_bars(h), 0);
	for (i = 0; i < NR_BR; i++)
		assert_int_equal(br[i].pci.cfg.data[PCI_SECONDARY_BUS], i + 1);
	/* The 64-bit prefetchable BAR went to the prefetchable windows, below 4 GiB. */
	assert_true(pci_config_bar_addr(&devs[0].cfg, 1) < 1ULL << 32);
	for (i = 0; i < PCI_NR_BARS; i++)
		if (devs[0].cfg.bars[i].size && devs[0].cfg.bars[i].flags != PCI_BAR_MEM64)
			assert_int_not_equal(devs[0].mapped[i], 0);
	/* INTx: slot 3 pin A, then slot 0 seven times, root slot 4: pin D. */
	pci_config_set(&devs[0].cfg, PCI_INTERRUPT_PIN, 1, 1);
	pci_host_unplug(&devs[0]);
	assert_int_equal(pci_host_plug(&br[NR_BR - 1].sec, &devs[0], PCI_DEVFN(3, 0)), 0);
	assert_int_equal(devs[0].gsi, PCI_INTX_GSI(4, 4));
	pci_host_free(h);
	fake_machine_fini(&fm2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_reassigns, setup, teardown),
		cmocka_unit_test(test_windows_full),
		cmocka_unit_test(test_bus_numbers_run_out),
		cmocka_unit_test(test_deep_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
