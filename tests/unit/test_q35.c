/*
 * Unit tests for the q35 board (user/vmm/board_q35.c) and its chipset
 * functions (user/devices/pci/q35_mch.c, ich9_lpc.c): the MCH and LPC config
 * spaces through 0xCF8/0xCFC and ECAM on the fake machine, hostile writes to
 * the LPC, the board's buses and e820, its ACPI tables through iasl and
 * acpiexec (_OSC included), and the _PRT against the GSI bus.c raises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "acpi_iasl.h"
#include "devices/legacy/pc_io.h"
#include "devices/pci/host.h"
#include "devices/pci/ich9_lpc.h"
#include "devices/pci/q35_mch.h"
#include "fake_machine.h"
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/table.h"
#include "vmm/board.h"
#include "vmm/machine_type.h"

#define ECAM		0xE0000000ULL
#define LOW_RAM_END	0x80000000ULL

static struct fake_machine fm;
static struct pci_host *host;
static struct ich9_lpc *lpc;

static int setup(void **state)
{
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new(&fm.ms, ECAM);
	assert_non_null(host);
	q35_mch_setup(host, LOW_RAM_END);
	lpc = ich9_lpc_new(host, PC_ACPI_PM_BASE);
	assert_non_null(lpc);
	return 0;
}

static int teardown(void **state)
{
	ich9_lpc_free(lpc);
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

static uint32_t cf8(unsigned int devfn, unsigned int reg)
{
	return 0x80000000u | devfn << 8 | (reg & 0xfc);
}

/* A config read of size bytes at reg through 0xCF8/0xCFC (byte lanes). */
static uint32_t cfg_rd(unsigned int devfn, unsigned int reg, unsigned int size)
{
	uint32_t a = cf8(devfn, reg), v = 0;

	assert_int_equal(fake_pio_write(&fm, PCI_HOST_CONFIG_ADDR, &a, 4), 0);
	assert_int_equal(fake_pio_read(&fm, PCI_HOST_CONFIG_DATA + (reg & 3), &v, size), 0);
	return v;
}

static void cfg_wr(unsigned int devfn, unsigned int reg, unsigned int size, uint32_t v)
{
	uint32_t a = cf8(devfn, reg);

	assert_int_equal(fake_pio_write(&fm, PCI_HOST_CONFIG_ADDR, &a, 4), 0);
	assert_int_equal(fake_pio_write(&fm, PCI_HOST_CONFIG_DATA + (reg & 3), &v, size), 0);
}

static uint32_t ecam_rd(unsigned int devfn, unsigned int reg, unsigned int size)
{
	uint32_t v = 0;

	assert_int_equal(fake_mmio_read(&fm, ECAM + devfn * 4096ULL + reg, &v, size), 0);
	return v;
}

static void ecam_wr(unsigned int devfn, unsigned int reg, unsigned int size, uint32_t v)
{
	assert_int_equal(fake_mmio_write(&fm, ECAM + devfn * 4096ULL + reg, &v, size), 0);
}

/* ---- MCH 00.0 ---- */

static void test_mch_ids(void **state)
{
	assert_int_equal(cfg_rd(0, PCI_VENDOR_ID, 4), 0x29c08086);
	assert_int_equal(cfg_rd(0, PCI_REVISION_ID, 4), 0x06000000 | Q35_MCH_REVISION);
	assert_int_equal(cfg_rd(0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(ecam_rd(0, PCI_DEVICE_ID, 2), 0x29c0);
	assert_int_equal(cfg_rd(0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	/* PCIEXBAR: the ECAM base, LENGTH 256 MiB, enabled; TOLUD: 2 GiB >> 20 << 4. */
	assert_int_equal(cfg_rd(0, Q35_MCH_PCIEXBAR, 4), 0xE0000001);
	assert_int_equal(cfg_rd(0, Q35_MCH_PCIEXBAR + 4, 4), 0);
	assert_int_equal(cfg_rd(0, Q35_MCH_TOLUD, 2), 0x8000);
	assert_int_equal(ecam_rd(0, Q35_MCH_PCIEXBAR, 4), 0xE0000001);
}

/* The guest cannot move ECAM or RAM, nor switch the bridge's decoding off. */
static void test_mch_locked(void **state)
{
	cfg_wr(0, Q35_MCH_PCIEXBAR, 4, 0xB0000001);
	cfg_wr(0, Q35_MCH_PCIEXBAR + 4, 4, 0xffffffff);
	cfg_wr(0, Q35_MCH_TOLUD, 2, 0x1230);
	cfg_wr(0, PCI_COMMAND, 2, 0);
	cfg_wr(0, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(cfg_rd(0, Q35_MCH_PCIEXBAR, 4), 0xE0000001);
	assert_int_equal(cfg_rd(0, Q35_MCH_PCIEXBAR + 4, 4), 0);
	assert_int_equal(cfg_rd(0, Q35_MCH_TOLUD, 2), 0x8000);
	assert_int_equal(cfg_rd(0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(cfg_rd(0, PCI_VENDOR_ID, 4), 0x29c08086);
	/* ECAM still answers where PCIEXBAR says. */
	assert_int_equal(ecam_rd(0, PCI_VENDOR_ID, 4), 0x29c08086);
}

/* ---- LPC 1f.0 ---- */

static void test_lpc_ids(void **state)
{
	unsigned int n;

	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, PCI_VENDOR_ID, 4), 0x29188086);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, PCI_REVISION_ID, 4),
			 0x06010000 | ICH9_LPC_REVISION);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(lpc->pci.gsi, 0);
	/* PMBASE: acpi_pm's block, I/O indicator set; ACPI on, SCI on IRQ 9. */
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PMBASE, 4), PC_ACPI_PM_BASE | 1);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_ACPI_CNTL, 1), ICH9_LPC_ACPI_EN);
	/* The FADT's blocks lie inside the 128 bytes PMBASE names. */
	assert_true(PC_ACPI_PM1A_EVT >= PC_ACPI_PM_BASE && PC_ACPI_GPE0 + PC_ACPI_GPE0_LEN <=
		    PC_ACPI_PM_BASE + 128);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_GPIOBASE, 4), 0);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_GC, 1), 0);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_RCBA, 4), 0);
	for (n = 0; n < 8; n++)
		assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ich9_lpc_pirq_reg(n), 1), 0x80);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 4), 0x80808080);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQE_ROUT, 4), 0x80808080);
	/* Nothing else on bus 0 but the two chipset functions. */
	assert_int_equal(cfg_rd(PCI_DEVFN(1, 0), PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(cfg_rd(PCI_DEVFN(31, 3), PCI_VENDOR_ID, 4), 0xffffffff);
}

static void test_lpc_pirq_rw(void **state)
{
	unsigned int n;

	for (n = 0; n < 8; n++) {
		cfg_wr(ICH9_LPC_DEVFN, ich9_lpc_pirq_reg(n), 1, 0x03 + n);
		assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ich9_lpc_pirq_reg(n), 1), 0x03 + n);
	}
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 4), 0x06050403);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQE_ROUT, 4), 0x0a090807);
	/* Reserved bits 6:4 never stick; IRQEN does. */
	cfg_wr(ICH9_LPC_DEVFN, ICH9_LPC_PIRQE_ROUT, 4, 0xffffffff);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQE_ROUT, 4), 0x8f8f8f8f);
	cfg_wr(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT + 2, 2, 0x7080);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 4), 0x00800403);
	/* ECAM sees and writes the same registers. */
	ecam_wr(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 1, 0x85);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 1), 0x85);
}

/*
 * Every byte of the 4 KiB space written with all-ones, then zeros, by ECAM
 * byte writes, and all-ones dwords through 0xCFC: only the PIRQ registers and
 * the header's scratch bytes (cache line, latency timer, interrupt line) move.
 */
static void test_lpc_hostile(void **state)
{
	static uint8_t before[PCI_CFG_SIZE];
	unsigned int off, pass;

	for (off = 0; off < PCI_CFG_SIZE; off++)
		before[off] = (uint8_t)ecam_rd(ICH9_LPC_DEVFN, off, 1);
	for (pass = 0; pass < 2; pass++) {
		uint8_t v = pass ? 0x00 : 0xff;

		for (off = 0; off < PCI_CFG_SIZE; off++)
			ecam_wr(ICH9_LPC_DEVFN, off, 1, v);
		for (off = 0; off < PCI_CFG_SIZE; off++) {
			uint8_t got = (uint8_t)ecam_rd(ICH9_LPC_DEVFN, off, 1);
			bool pirq = (off >= 0x60 && off <= 0x63) || (off >= 0x68 && off <= 0x6b);
			bool scratch = off == PCI_CACHE_LINE_SIZE || off == PCI_LATENCY_TIMER ||
				       off == PCI_INTERRUPT_LINE;

			if (pirq)
				assert_int_equal(got, v & ICH9_LPC_PIRQ_WMASK);
			else if (scratch)
				assert_int_equal(got, v);
			else if (got != before[off])
				fail_msg("LPC config byte %#x changed: %#x -> %#x", off, before[off],
					 got);
		}
	}
	for (off = 0; off < PCI_CFG_LEGACY_SIZE; off += 4)
		cfg_wr(ICH9_LPC_DEVFN, off, 4, 0xffffffff);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, PCI_VENDOR_ID, 4), 0x29188086);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PMBASE, 4), PC_ACPI_PM_BASE | 1);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_ACPI_CNTL, 1), ICH9_LPC_ACPI_EN);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_RCBA, 4), 0);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_GPIOBASE, 4), 0);
	/* Misaligned and odd-sized accesses: all-ones, nothing written. */
	assert_int_equal(fake_mmio_read(&fm, ECAM + ICH9_LPC_DEVFN * 4096ULL + 0x61, &off, 4), 0);
	assert_int_equal(off, 0xffffffff);
	off = 0;
	assert_int_equal(fake_mmio_write(&fm, ECAM + ICH9_LPC_DEVFN * 4096ULL + 0x61, &off, 2),
			 0);
	assert_int_equal(cfg_rd(ICH9_LPC_DEVFN, ICH9_LPC_PIRQA_ROUT, 4), 0x8f8f8f8f);
	/* No MMIO or I/O decoding appeared anywhere. */
	assert_int_equal(lpc->pci.cfg.bars[0].size, 0);
}

/* ---- the machine type and the board ---- */

static void test_machine_type(void **state)
{
	const struct machine_type *t = machine_type_find("q35");

	assert_non_null(t);
	assert_string_equal(t->name, "q35-keel-1");
	assert_int_equal(t->version, 1);
	assert_ptr_equal(t->board, &board_q35_ops);
	assert_ptr_equal(machine_type_find("q35-keel-1"), t);
	assert_false(t->is_default);
	assert_string_equal(machine_type_default()->name, "pc-keel-1");
}

/* Build and tear down the board on a machine whose services are the fake's. */
static void test_board_build(void **state)
{
	struct cli_config cfg = { .cpus = 2 };
	struct machine *m = calloc(1, sizeof(*m));
	struct fake_machine bfm;
	struct dev_bus *root;
	struct opts o;
	char err[256];
	unsigned int i;
	bool reserved = false;

	assert_non_null(m);
	fake_machine_init(&bfm, 1 << 20);
	m->cfg = &cfg;
	m->ms = bfm.ms;
	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");
	devices_init(&m->devs, &m->ms);
	assert_int_equal(guest_mem_layout(&m->mem, 1ULL << 30), 0);
	assert_int_equal(board_q35_ops.build(m), 0);

	root = device_bus_find(&m->devs, "pcie.0");
	assert_non_null(root);
	assert_true(root->pcie);
	assert_false(root->hotplug);
	assert_null(root->owner);
	assert_null(device_bus_find(&m->devs, "pci.0"));
	for (i = 0; i < m->mem.nr_e820; i++)
		if (m->mem.e820[i].addr == ECAM && m->mem.e820[i].size == Q35_MCH_ECAM_WINDOW &&
		    m->mem.e820[i].type == E820_RESERVED)
			reserved = true;
	assert_true(reserved);

	/* --device virtio-rng-pci,bus=pcie.0, and one without bus=: both on pcie.0. */
	assert_int_equal(opts_parse(&o, "virtio-rng-pci,bus=pcie.0,id=rng0", "driver", false,
				    err, sizeof(err)), 0);
	assert_int_equal(device_new(&m->devs, &o, NULL, err, sizeof(err)), 0);
	opts_free(&o);
	assert_int_equal(opts_parse(&o, "virtio-rng-pci,id=rng1", "driver", false, err,
				    sizeof(err)), 0);
	assert_int_equal(device_new(&m->devs, &o, NULL, err, sizeof(err)), 0);
	opts_free(&o);
	if (devices_realize(&m->devs, err, sizeof(err)))
		fail_msg("realize: %s", err);
	assert_ptr_equal(device_find(&m->devs, "rng0")->bus, root);
	assert_ptr_equal(device_find(&m->devs, "rng1")->bus, root);
	assert_int_equal(device_find(&m->devs, "rng0")->pci->devfn, PCI_DEVFN(1, 0));
	assert_int_equal(device_find(&m->devs, "rng1")->pci->devfn, PCI_DEVFN(2, 0));
	devices_unrealize(&m->devs);
	board_q35_ops.teardown(m);
	assert_null(m->board);
	devices_fini(&m->devs);
	bus_fini(&m->pio);
	bus_fini(&m->mmio);
	fake_machine_fini(&bfm);
	free(m);
}

/* ---- ACPI ---- */

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const uint8_t *at_gpa(const struct acpi_tables *t, uint64_t gpa)
{
	assert_true(gpa >= ACPI_TABLES_BASE && gpa - ACPI_TABLES_BASE < t->len);
	return t->buf + (gpa - ACPI_TABLES_BASE);
}

static const uint8_t *find_table(const struct acpi_tables *t, const char *sig)
{
	const uint8_t *x = at_gpa(t, rd64(at_gpa(t, t->rsdp_addr) + 24));
	uint32_t i, n = (rd32(x + 4) - ACPI_HEADER_LEN) / 8;

	if (!memcmp(sig, "DSDT", 4))
		return at_gpa(t, rd64(find_table(t, "FACP") + 140));
	for (i = 0; i < n; i++) {
		const uint8_t *h = at_gpa(t, rd64(x + ACPI_HEADER_LEN + 8 * i));

		if (!memcmp(h, sig, 4)) {
			assert_int_equal(acpi_checksum(h, rd32(h + 4)), 0);
			return h;
		}
	}
	fail_msg("no %s table", sig);
	return NULL;
}

static const struct pci_host_windows q35_windows = {
	.mem32 = { 0xC0000000ULL, 0x20000000ULL },
	.mem64 = { 0x100000000ULL, 32ULL << 30 },
	.io = { 0xC000, 0x4000 },
};

static void q35_tables(struct acpi_tables *t, unsigned int cpus)
{
	struct acpi_config cfg;

	q35_acpi_config(&cfg, cpus, &q35_windows);
	assert_int_equal(acpi_build(&cfg, t), 0);
}

/* dsl without any white space, so entries match across iasl's line breaks. */
static char *squeeze(const char *dsl)
{
	char *out = malloc(strlen(dsl) + 1), *o = out;

	assert_non_null(out);
	for (; *dsl; dsl++)
		if (!isspace((unsigned char)*dsl))
			*o++ = *dsl;
	*o = 0;
	return out;
}

static char *decompile(struct acpi_iasl *ia, const char *name, const uint8_t *tbl)
{
	char *dsl = acpi_iasl_decompile(ia, name, tbl, rd32(tbl + 4));

	assert_non_null(dsl);
	return dsl;
}

static void test_acpi_iasl(void **state)
{
	static const char *const tables[][2] = {
		{ "facp", "FACP" }, { "apic", "APIC" }, { "mcfg", "MCFG" }, { "dsdt", "DSDT" },
	};
	static const char *const dsdt_must[] = {
		"Device(PCI0)", "EisaId(\"PNP0A08\")", "EisaId(\"PNP0A03\")",
		"Method(_OSC,4,NotSerialized)", "ToUUID(\"33db4d5b-1ff7-401c-9657-7441c03dd766\")",
		"CreateDWordField(Arg3,Zero,CDW1)", "CreateDWordField(Arg3,0x08,CDW3)",
		"WordBusNumber(ResourceProducer", "0x00FF,//RangeMaximum", "0x0100,//Length",
		"DWordMemory(ResourceProducer", "0xC0000000,//RangeMinimum",
		"0xDFFFFFFF,//RangeMaximum", "QWordMemory(ResourceProducer",
		"0x0000000100000000,//RangeMinimum", "Name(_PRT,Package(0x80)",
		"Device(COM1)", "Device(RTC)", "Device(KBD)", "Device(PEVT)", "Name(\\_S5",
	};
	struct acpi_tables t;
	struct acpi_iasl ia;
	const uint8_t *m;
	char *dsl, *sq;
	size_t i;

	q35_tables(&t, 2);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const uint8_t *tbl = find_table(&t, tables[i][1]);

		free(decompile(&ia, tables[i][0], tbl));
		assert_int_equal(acpi_iasl_recompile(&ia, tables[i][0], tbl, rd32(tbl + 4),
						     strcmp(tables[i][0], "dsdt") != 0), 0);
	}
	/* MCFG: exactly what the host decodes, buses 0..255 of the PCIEXBAR window. */
	m = find_table(&t, "MCFG");
	assert_int_equal(rd64(m + 44), ECAM);
	assert_int_equal(m[54], 0);
	assert_int_equal(m[55], 0xff);
	dsl = decompile(&ia, "mcfg", m);
	if (!strstr(dsl, "Base Address : 00000000E0000000") ||
	    !strstr(dsl, "End Bus Number : FF"))
		fail_msg("decompiled MCFG:\n%s", dsl);
	free(dsl);

	dsl = decompile(&ia, "dsdt", find_table(&t, "DSDT"));
	sq = squeeze(dsl);
	for (i = 0; i < sizeof(dsdt_must) / sizeof(dsdt_must[0]); i++)
		if (!strstr(sq, dsdt_must[i]))
			fail_msg("q35 DSDT lacks '%s':\n%s", dsdt_must[i], dsl);
	/* No ACPI PCI hotplug on q35: native PCIe hotplug comes with root ports. */
	assert_null(strstr(sq, "_EJ0"));
	assert_null(strstr(sq, "_GPE"));
	free(sq);
	free(dsl);
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);
}

/* Text of cmd run inside the iasl temp dir (stdout and stderr). */
static char *run_in(struct acpi_iasl *ia, const char *cmd, int *rc)
{
	char line[900], path[160];

	snprintf(line, sizeof(line), "cd %s && %s >run.log 2>&1", ia->dir, cmd);
	*rc = system(line);
	snprintf(path, sizeof(path), "%s/run.log", ia->dir);
	return acpi_iasl_slurp(path);
}

/*
 * ACPICA (Linux's interpreter) evaluates _OSC as Linux calls it: the PCI UUID,
 * revision 1, three DWORDs. Asking for everything (0x1F: hotplug, SHPC, PME,
 * AER, PCIe capability) grants 0x1D and says "masked"; asking for the granted
 * set is clean; a wrong UUID or revision, or no control DWORD, is reported.
 */
static void test_acpi_osc(void **state)
{
#define OSC_UUID "(5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66)"
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ OSC_UUID " 1 3 (01 00 00 00 1f 00 00 00 1f 00 00 00)",
		  "11 00 00 00 1F 00 00 00 1D 00 00 00" },
		{ OSC_UUID " 1 3 (00 00 00 00 1f 00 00 00 1d 00 00 00)",
		  "00 00 00 00 1F 00 00 00 1D 00 00 00" },
		{ OSC_UUID " 2 3 (00 00 00 00 1f 00 00 00 1d 00 00 00)",
		  "08 00 00 00 1F 00 00 00 1D 00 00 00" },
		{ OSC_UUID " 1 2 (01 00 00 00 1f 00 00 00)", "03 00 00 00 1F 00 00 00" },
		{ "(00 00 00 00 f7 1f 1c 40 96 57 74 41 c0 3d d7 66) 1 3 "
		  "(00 00 00 00 1f 00 00 00 1f 00 00 00)",
		  "04 00 00 00 1F 00 00 00 1F 00 00 00" },
	};
#undef OSC_UUID
	struct acpi_tables t;
	struct acpi_iasl ia;
	const uint8_t *d;
	char cmd[600], *out;
	size_t i;
	FILE *f;
	int rc;

	q35_tables(&t, 1);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	d = find_table(&t, "DSDT");
	snprintf(cmd, sizeof(cmd), "%s/dsdt.dat", ia.dir);
	f = fopen(cmd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, rd32(d + 4), f), rd32(d + 4));
	fclose(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "acpiexec -b 'evaluate \\_SB.PCI0._OSC %s' dsdt.dat",
			 cases[i].args);
		out = run_in(&ia, cmd, &rc);
		assert_non_null(out);
		if (rc != 0 || strstr(out, "AE_") || strstr(out, "Warning") ||
		    !strstr(out, cases[i].want))
			fail_msg("_OSC %s: want %s (%d):\n%s", cases[i].args, cases[i].want, rc,
				 out);
		free(out);
	}
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);
}

/* A function with an interrupt pin, as an endpoint device would register. */
struct intx_fn {
	struct pci_device pci;
};

/*
 * For every slot a device can take on pcie.0 and every pin: the GSI bus.c
 * raises when the function asserts INTx is the one q35's _PRT names for
 * (slot, pin), and no other line moves.
 */
static void test_prt_matches_intx(void **state)
{
	struct acpi_tables t;
	struct acpi_iasl ia;
	struct intx_fn fn;
	char *dsl, *sq, want[96], addr[16], pin_s[8];
	unsigned int slot, pin, g, raised;

	q35_tables(&t, 1);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = decompile(&ia, "dsdt", find_table(&t, "DSDT"));
	sq = squeeze(dsl);
	for (slot = 1; slot < PCI_SLOTS - 1; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			memset(&fn, 0, sizeof(fn));
			pci_config_init(&fn.pci.cfg, 0x1af4, 0x1005, 0x00ff00, 0, 0);
			fn.pci.cfg.data[PCI_INTERRUPT_PIN] = (uint8_t)pin;
			fn.pci.name = "intx";
			assert_int_equal(pci_host_register(host, &fn.pci, PCI_DEVFN(slot, 0)), 0);
			memset(fm.irq_raises, 0, sizeof(fm.irq_raises));
			pci_device_intx(&fn.pci, 1);
			raised = 0;
			for (g = 0; g < FAKE_MAX_GSI; g++)
				if (fm.irq_level[g]) {
					assert_int_equal(raised, 0);
					raised = g;
				}
			assert_true(raised >= 16 && raised <= 23);
			assert_int_equal(fn.pci.cfg.data[PCI_INTERRUPT_LINE], raised);
			snprintf(addr, sizeof(addr), "0x%04XFFFF", slot);
			snprintf(pin_s, sizeof(pin_s), pin == 1 ? "Zero" : pin == 2 ? "One" :
				 "0x%02X", pin - 1);
			snprintf(want, sizeof(want), "Package(0x04){%s,%s,Zero,0x%02X}", addr,
				 pin_s, raised);
			if (!strstr(sq, want))
				fail_msg("slot %u pin %u raised GSI %u; _PRT lacks %s:\n%s", slot,
					 pin, raised, want, dsl);
			pci_device_intx(&fn.pci, 0);
			assert_int_equal(fm.irq_level[raised], 0);
			pci_bus_unregister(&fn.pci);
		}
	}
	free(sq);
	free(dsl);
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mch_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mch_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc_pirq_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpc_hostile, setup, teardown),
		cmocka_unit_test(test_machine_type),
		cmocka_unit_test(test_board_build),
		cmocka_unit_test(test_acpi_iasl),
		cmocka_unit_test(test_acpi_osc),
		cmocka_unit_test_setup_teardown(test_prt_matches_intx, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
