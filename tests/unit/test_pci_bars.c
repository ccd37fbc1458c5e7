/*
 * Unit tests for BAR placement and dispatch in user/devices/pci/host.c (PCI 3.0
 * ch. 6.2.5, PCI Firmware 3.0 ch. 3.5) and INTx in bus.c (ch. 2.2.6): alignment,
 * largest first, 64-bit window, full windows, guest BAR moves and sizing,
 * COMMAND decode bits, bar_mapped calls, shared INTx lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "devices/legacy/pvpanic.h"
#include "devices/pci/host.h"
#include "devices/pci/pvpanic_pci.h"
#include "fake_machine.h"

#define ECAM	0xE0000000ULL
#define MEM32	0xC0000000ULL
#define MEM64	0x400000000ULL

static struct fake_machine fm;
static struct pci_host *host;

/* A test function: each BAR echoes its index and the offset, and logs writes. */
struct tdev {
	struct pci_device pci;
	unsigned int mapped_calls;
	uint64_t last_mapped[PCI_NR_BARS];
	uint64_t last_write_off;
	uint32_t last_write_val;
	unsigned int last_write_bar;
};

static struct tdev devs[4];

static void tdev_read(struct tdev *t, unsigned int bar, uint64_t off, void *data,
		      unsigned int size)
{
	uint64_t v = (uint64_t)bar << 56 | off;

	memcpy(data, &v, size > 8 ? 8 : size);
}

#define TDEV_OPS(n)								\
static void tdev_read##n(void *d, uint64_t off, void *data, unsigned int size)	\
{										\
	tdev_read(d, n, off, data, size);					\
}										\
static void tdev_write##n(void *d, uint64_t off, const void *data, unsigned int size) \
{										\
	struct tdev *t = d;							\
	uint32_t v = 0;								\
										\
	memcpy(&v, data, size > 4 ? 4 : size);					\
	t->last_write_bar = n;							\
	t->last_write_off = off;						\
	t->last_write_val = v;							\
}										\
static const struct io_ops tdev_ops##n = { .read = tdev_read##n, .write = tdev_write##n }

TDEV_OPS(0);
TDEV_OPS(1);
TDEV_OPS(2);
TDEV_OPS(4);

static void tdev_mapped(struct pci_device *dev, unsigned int idx, uint64_t addr)
{
	struct tdev *t = dev->opaque;

	t->mapped_calls++;
	t->last_mapped[idx] = addr;
}

static void tdev_init(struct tdev *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->pci.name = name;
	t->pci.opaque = t;
	pci_config_init(&t->pci.cfg, 0x1234, 0x5678, 0xff0000, 0, PCI_HEADER_TYPE_NORMAL);
	t->pci.bar_ops[0] = &tdev_ops0;
	t->pci.bar_ops[1] = &tdev_ops1;
	t->pci.bar_ops[2] = &tdev_ops2;
	t->pci.bar_ops[4] = &tdev_ops4;
	t->pci.bar_mapped = tdev_mapped;
}

static int setup(void **state)
{
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x20000000 },
		.mem64 = { MEM64, 1ULL << 35 },
		.io = { 0xc000, 0x4000 },
	};

	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new(&fm.ms, ECAM);
	assert_non_null(host);
	assert_int_equal(pci_host_set_windows(host, &w), 0);
	return 0;
}

static int teardown(void **state)
{
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

static uint32_t cfg_rd(unsigned int devfn, unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + devfn * 4096ULL + off, &v, size), 0);
	return v;
}

static void cfg_wr(unsigned int devfn, unsigned int off, unsigned int size, uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + devfn * 4096ULL + off, &v, size), 0);
}

static uint64_t mmio_rd(uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	fake_mmio_read(&fm, addr, &v, size);
	return v;
}

static void test_placement(void **state)
{
	unsigned int a = PCI_DEVFN(1, 0), b = PCI_DEVFN(2, 0);

	tdev_init(&devs[0], "a");
	tdev_init(&devs[1], "b");
	assert_int_equal(pci_config_set_bar(&devs[0].pci.cfg, 0, 0x1000, 0), 0);
	assert_int_equal(pci_config_set_bar(&devs[0].pci.cfg, 1, 0x20, PCI_BAR_IO), 0);
	assert_int_equal(pci_config_set_bar(&devs[0].pci.cfg, 2, 0x4000,
					    PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_config_set_bar(&devs[1].pci.cfg, 0, 0x100000, 0), 0);
	assert_int_equal(pci_config_set_bar(&devs[1].pci.cfg, 1, 0x100, PCI_BAR_IO), 0);
	assert_int_equal(pci_config_set_bar(&devs[1].pci.cfg, 2, 0x10, 0), 0);
	assert_int_equal(pci_host_register(host, &devs[0].pci, a), 0);
	assert_int_equal(pci_host_register(host, &devs[1].pci, b), 0);
	assert_ptr_equal(devs[0].pci.ms, &fm.ms);
	assert_int_equal(pci_host_place_bars(host), 0);

	/* Largest first, naturally aligned, packed from each window's base. */
	assert_int_equal(pci_config_bar_addr(&devs[1].pci.cfg, 0), MEM32);
	assert_int_equal(pci_config_bar_addr(&devs[0].pci.cfg, 0), MEM32 + 0x100000);
	assert_int_equal(pci_config_bar_addr(&devs[1].pci.cfg, 2), MEM32 + 0x101000);
	assert_int_equal(pci_config_bar_addr(&devs[1].pci.cfg, 1), 0xc000);
	assert_int_equal(pci_config_bar_addr(&devs[0].pci.cfg, 1), 0xc100);
	assert_int_equal(pci_config_bar_addr(&devs[0].pci.cfg, 2), MEM64);
	/* As the guest reads it: flags kept, upper dword of the 64-bit BAR. */
	assert_int_equal(cfg_rd(a, PCI_BAR0 + 8, 4), (uint32_t)MEM64 | 0xc);
	assert_int_equal(cfg_rd(a, PCI_BAR0 + 12, 4), MEM64 >> 32);
	assert_int_equal(cfg_rd(a, PCI_BAR0 + 4, 4), 0xc101);
	/* Firmware turned decoding on. */
	assert_int_equal(cfg_rd(a, PCI_COMMAND, 2) & 3, 3);
	assert_int_equal(devs[0].last_mapped[0], MEM32 + 0x100000);
	assert_int_equal(devs[0].last_mapped[2], MEM64);
	assert_int_equal(devs[0].mapped_calls, 3);

	/* Dispatch: offset from the BAR's start to the right handler. */
	assert_int_equal(mmio_rd(MEM32 + 0x100010, 4), 0x10);
	assert_int_equal(mmio_rd(MEM64 + 0x3ff8, 8), 2ULL << 56 | 0x3ff8);
	assert_int_equal(mmio_rd(MEM32 + 0x101004, 8), 2ULL << 56 | 4);
	{
		uint32_t v = 0;

		assert_int_equal(fake_pio_read(&fm, 0xc104, &v, 2), 0);
		assert_int_equal(v, 4);
	}
	/* Unclaimed window space reads all-ones; running off a BAR's end too. */
	assert_int_equal(mmio_rd(MEM32 + 0x200000, 4), 0xffffffff);
	assert_int_equal(mmio_rd(MEM32 + 0x10100c, 8), UINT64_MAX);
	assert_int_equal(mmio_rd(MEM64 + 0x4000, 4), 0xffffffff);
}

static void test_guest_moves_and_sizing(void **state)
{
	unsigned int a = PCI_DEVFN(3, 0);
	uint32_t v = 0xdead;

	tdev_init(&devs[0], "a");
	assert_int_equal(pci_config_set_bar(&devs[0].pci.cfg, 0, 0x1000, 0), 0);
	assert_int_equal(pci_host_register(host, &devs[0].pci, a), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	assert_int_equal(devs[0].last_mapped[0], MEM32);

	/* Linux sizing: decode off, all-ones, read back the size, restore, decode on. */
	cfg_wr(a, PCI_COMMAND, 2, 0);
	assert_int_equal(devs[0].last_mapped[0], 0);
	assert_int_equal(mmio_rd(MEM32, 4), 0xffffffff);
	cfg_wr(a, PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(a, PCI_BAR0, 4), 0xfffff000);
	cfg_wr(a, PCI_BAR0, 4, (uint32_t)MEM32);
	cfg_wr(a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(devs[0].last_mapped[0], MEM32);
	assert_int_equal(mmio_rd(MEM32 + 8, 4), 8);

	/* Sizing with decode on: the all-ones address decodes nothing. */
	devs[0].mapped_calls = 0;
	cfg_wr(a, PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(devs[0].last_mapped[0], 0);
	assert_int_equal(mmio_rd(MEM32 + 8, 4), 0xffffffff);
	cfg_wr(a, PCI_BAR0, 4, (uint32_t)MEM32);
	assert_int_equal(devs[0].mapped_calls, 2);

	/* The guest moves the BAR: old address dead, new one live, device told. */
	cfg_wr(a, PCI_BAR0, 4, (uint32_t)MEM32 + 0x10000);
	assert_int_equal(devs[0].last_mapped[0], MEM32 + 0x10000);
	assert_int_equal(devs[0].mapped_calls, 4);	/* 0, then the new address */
	assert_int_equal(mmio_rd(MEM32 + 8, 4), 0xffffffff);
	assert_int_equal(mmio_rd(MEM32 + 0x10008, 4), 8);
	assert_int_equal(fake_mmio_write(&fm, MEM32 + 0x10020, &v, 4), 0);
	assert_int_equal(devs[0].last_write_off, 0x20);
	assert_int_equal(devs[0].last_write_val, 0xdead);

	/* Moved outside every window (onto the ECAM): decodes nothing. */
	cfg_wr(a, PCI_BAR0, 4, (uint32_t)ECAM);
	assert_int_equal(devs[0].last_mapped[0], 0);
	/* Rewriting the same COMMAND value calls nobody. */
	cfg_wr(a, PCI_BAR0, 4, (uint32_t)MEM32);
	devs[0].mapped_calls = 0;
	cfg_wr(a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(devs[0].mapped_calls, 0);
	/* A byte write to COMMAND's high half (INTX_DISABLE) keeps decoding. */
	cfg_wr(a, PCI_COMMAND + 1, 1, PCI_COMMAND_INTX_DISABLE >> 8);
	assert_int_equal(mmio_rd(MEM32 + 8, 4), 8);
}

static void test_windows_full(void **state)
{
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x2000 },
		.io = { 0xc000, 0x100 },
	};
	struct pci_host *h2;
	struct fake_machine fm2;

	fake_machine_init(&fm2, 0);
	h2 = pci_host_new(&fm2.ms, ECAM);
	assert_int_equal(pci_host_set_windows(h2, &w), 0);
	assert_int_equal(pci_host_set_windows(h2, &w), -EBUSY);
	tdev_init(&devs[0], "big");
	tdev_init(&devs[1], "io");
	tdev_init(&devs[2], "wide");
	/* Without a 64-bit window, a 64-bit BAR goes into the 32-bit one. */
	assert_int_equal(pci_config_set_bar(&devs[2].pci.cfg, 0, 0x1000, PCI_BAR_MEM64), 0);
	assert_int_equal(pci_host_register(h2, &devs[2].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_place_bars(h2), 0);
	assert_int_equal(pci_config_bar_addr(&devs[2].pci.cfg, 0), MEM32);

	assert_int_equal(pci_config_set_bar(&devs[0].pci.cfg, 0, 0x2000, 0), 0);
	assert_int_equal(pci_host_register(h2, &devs[0].pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_place_bars(h2), -ENOSPC);

	pci_host_free(h2);
	fake_machine_fini(&fm2);

	/* I/O window full. */
	fake_machine_init(&fm2, 0);
	h2 = pci_host_new(&fm2.ms, ECAM);
	assert_int_equal(pci_host_set_windows(h2, &w), 0);
	assert_int_equal(pci_config_set_bar(&devs[1].pci.cfg, 0, 0x100, PCI_BAR_IO), 0);
	assert_int_equal(pci_config_set_bar(&devs[1].pci.cfg, 1, 0x4, PCI_BAR_IO), 0);
	assert_int_equal(pci_host_register(h2, &devs[1].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_place_bars(h2), -ENOSPC);
	pci_host_free(h2);
	fake_machine_fini(&fm2);

	/* A window past the 16-bit port space is refused. */
	fake_machine_init(&fm2, 0);
	h2 = pci_host_new(&fm2.ms, ECAM);
	w.io.base = 0xf000;
	w.io.size = 0x2000;
	assert_int_equal(pci_host_set_windows(h2, &w), -EINVAL);
	pci_host_free(h2);
	fake_machine_fini(&fm2);
}

static void test_intx_swizzle_and_sharing(void **state)
{
	/* Slots 1 and 5 pin A share GSI 17; slot 2 pin B is GSI 19. */
	tdev_init(&devs[0], "s1");
	tdev_init(&devs[1], "s5");
	tdev_init(&devs[2], "s2");
	tdev_init(&devs[3], "nopin");
	pci_config_set(&devs[0].pci.cfg, PCI_INTERRUPT_PIN, 1, 1);
	pci_config_set(&devs[1].pci.cfg, PCI_INTERRUPT_PIN, 1, 1);
	pci_config_set(&devs[2].pci.cfg, PCI_INTERRUPT_PIN, 1, 2);
	assert_int_equal(pci_host_register(host, &devs[0].pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_register(host, &devs[1].pci, PCI_DEVFN(5, 0)), 0);
	assert_int_equal(pci_host_register(host, &devs[2].pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_register(host, &devs[3].pci, PCI_DEVFN(6, 0)), 0);
	assert_int_equal(devs[0].pci.gsi, 17);
	assert_int_equal(devs[1].pci.gsi, 17);
	assert_int_equal(devs[2].pci.gsi, 19);
	assert_int_equal(devs[3].pci.gsi, 0);
	assert_int_equal(cfg_rd(PCI_DEVFN(2, 0), PCI_INTERRUPT_LINE, 1), 19);

	pci_device_intx(&devs[0].pci, 1);
	assert_int_equal(fm.irq_level[17], 1);
	assert_true(cfg_rd(PCI_DEVFN(1, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_device_intx(&devs[0].pci, 1);	/* no double count */
	pci_device_intx(&devs[1].pci, 1);
	pci_device_intx(&devs[0].pci, 0);
	assert_int_equal(fm.irq_level[17], 1);	/* s5 still holds it */
	assert_false(cfg_rd(PCI_DEVFN(1, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_device_intx(&devs[1].pci, 0);
	assert_int_equal(fm.irq_level[17], 0);
	assert_int_equal(fm.irq_raises[17], 1);

	/* COMMAND.INTX_DISABLE gates the line but not STATUS.INTERRUPT. */
	pci_device_intx(&devs[2].pci, 1);
	assert_int_equal(fm.irq_level[19], 1);
	cfg_wr(PCI_DEVFN(2, 0), PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fm.irq_level[19], 0);
	assert_true(cfg_rd(PCI_DEVFN(2, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(PCI_DEVFN(2, 0), PCI_COMMAND, 2, 0);
	assert_int_equal(fm.irq_level[19], 1);
	/* The guest cannot clear STATUS.INTERRUPT. */
	cfg_wr(PCI_DEVFN(2, 0), PCI_STATUS, 2, 0xffff);
	assert_true(cfg_rd(PCI_DEVFN(2, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_device_intx(&devs[2].pci, 0);
	assert_int_equal(fm.irq_level[19], 0);

	/* A function without a pin does nothing. */
	pci_device_intx(&devs[3].pci, 1);
	assert_int_equal(fm.irq_raises[16] + fm.irq_raises[18], 0);
}

static void test_swizzle_table(void **state)
{
	unsigned int s, p, count[4] = { 0 };

	for (s = 0; s < PCI_SLOTS; s++)
		for (p = 1; p <= 4; p++) {
			unsigned int g = PCI_INTX_GSI(s, p);

			assert_true(g >= 16 && g <= 19);
			count[g - 16]++;
		}
	/* Spread evenly over the four lines. */
	for (s = 0; s < 4; s++)
		assert_int_equal(count[s], 32);
	assert_int_equal(PCI_INTX_GSI(0, 1), 16);
	assert_int_equal(PCI_INTX_GSI(3, 2), 16);
	assert_int_equal(PCI_INTX_GSI(3, 4), 18);
}

static unsigned int panic_events, panic_calls;

static void on_panic(void *opaque, unsigned int events)
{
	panic_events |= events;
	panic_calls++;
}

/* pvpanic-pci: a real device through placement and dispatch. */
static void test_pvpanic_pci(void **state)
{
	struct pvpanic_pci *p = pvpanic_pci_new(on_panic, NULL);
	struct pci_device *d;
	uint8_t b;
	uint32_t v;

	assert_non_null(p);
	d = pvpanic_pci_dev(p);
	assert_int_equal(pci_host_register(host, d, PCI_DEVFN(4, 0)), 0);
	assert_int_equal(pci_host_place_bars(host), 0);
	assert_int_equal(cfg_rd(PCI_DEVFN(4, 0), PCI_VENDOR_ID, 4), 0x00111b36);
	assert_int_equal(cfg_rd(PCI_DEVFN(4, 0), PCI_REVISION_ID, 4) >> 8, 0x088000);
	assert_int_equal(cfg_rd(PCI_DEVFN(4, 0), PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(d->gsi, 0);
	/* Sizing reads back a 16-byte 32-bit memory BAR. */
	cfg_wr(PCI_DEVFN(4, 0), PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(PCI_DEVFN(4, 0), PCI_BAR0, 4), 0xfffffff0);
	cfg_wr(PCI_DEVFN(4, 0), PCI_BAR0, 4, (uint32_t)MEM32 + 0x40);
	assert_int_equal(mmio_rd(MEM32 + 0x40, 1), PVPANIC_EVENTS);
	assert_int_equal(mmio_rd(MEM32 + 0x40, 4), PVPANIC_EVENTS);
	assert_int_equal(mmio_rd(MEM32 + 0x44, 4), 0);
	/* Writes elsewhere in the BAR, and zero, report nothing. */
	v = 1;
	fake_mmio_write(&fm, MEM32 + 0x48, &v, 4);
	b = 0;
	fake_mmio_write(&fm, MEM32 + 0x40, &b, 1);
	assert_int_equal(panic_calls, 0);
	b = 0xfd;	/* unknown bits dropped, PANICKED kept */
	fake_mmio_write(&fm, MEM32 + 0x40, &b, 1);
	assert_int_equal(panic_calls, 1);
	assert_int_equal(panic_events, PVPANIC_PANICKED);
	/* Decoding off: nothing reaches the device. */
	cfg_wr(PCI_DEVFN(4, 0), PCI_COMMAND, 2, 0);
	b = PVPANIC_CRASH_LOADED;
	fake_mmio_write(&fm, MEM32 + 0x40, &b, 1);
	assert_int_equal(panic_calls, 1);
	assert_int_equal(mmio_rd(MEM32 + 0x40, 1), 0xff);
	pvpanic_pci_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_moves_and_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_windows_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_swizzle_and_sharing, setup, teardown),
		cmocka_unit_test(test_swizzle_table),
		cmocka_unit_test_setup_teardown(test_pvpanic_pci, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
