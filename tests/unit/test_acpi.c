/*
 * Unit tests for user/vmm/acpi/acpi.c and its tables (ACPI 6.x ch. 5.2):
 * checksums, lengths, RSDP/XSDT links, FADT offsets, MADT entries per vCPU
 * count, and every table decompiled (and compiled back) by iasl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "acpi_iasl.h"
#include "devices/legacy/pc_io.h"
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/fadt.h"
#include "vmm/acpi/madt.h"
#include "vmm/acpi/table.h"

static struct acpi_config pc_config(unsigned int nr_cpus)
{
	return (struct acpi_config){
		.base = ACPI_TABLES_BASE,
		.nr_cpus = nr_cpus,
		.lapic_addr = 0xFEE00000,
		.ioapic_addr = 0xFEC00000,
		.ioapic_id = 0,
		.sci_irq = PC_ACPI_SCI_IRQ,
		.pm1a_evt_port = PC_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PC_ACPI_PM1A_CNT,
		.pm_tmr_port = PC_ACPI_PM_TMR,
		.gpe0_port = PC_ACPI_GPE0,
		.gpe0_len = PC_ACPI_GPE0_LEN,
		.reset_port = PC_RESET_CTL_PORT,
		.reset_value = PC_RESET_VALUE,
		.s5_slp_typ = PC_ACPI_S5_SLP_TYP,
		.com1_port = PC_COM1_PORT,
		.com1_irq = PC_COM1_IRQ,
	};
}

static uint16_t rd16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The bytes at guest address gpa, checked to lie inside the tables. */
static const uint8_t *at_gpa(const struct acpi_tables *t, uint64_t gpa,
			     size_t len)
{
	assert_true(gpa >= ACPI_TABLES_BASE);
	assert_true(gpa - ACPI_TABLES_BASE + len <= t->len);
	return t->buf + (gpa - ACPI_TABLES_BASE);
}

/* A table with a standard header: inside the buffer, checksum 0. */
static const uint8_t *table_at(const struct acpi_tables *t, uint64_t gpa,
			       const char *sig)
{
	const uint8_t *h = at_gpa(t, gpa, ACPI_HEADER_LEN);
	uint32_t len = rd32(h + 4);

	assert_memory_equal(h, sig, 4);
	assert_true(len >= ACPI_HEADER_LEN);
	at_gpa(t, gpa, len);
	assert_int_equal(acpi_checksum(h, len), 0);
	assert_int_equal(gpa % 8, 0);
	assert_memory_equal(h + 10, "KEEL  ", 6);
	assert_memory_equal(h + 16, "KEELVM  ", 8);
	assert_memory_equal(h + 28, "KEEL", 4);
	return h;
}

static void build(struct acpi_tables *t, unsigned int nr_cpus)
{
	struct acpi_config cfg = pc_config(nr_cpus);

	assert_int_equal(acpi_build(&cfg, t), 0);
	assert_non_null(t->buf);
	assert_true(t->len <= ACPI_TABLES_SIZE);
}

static const uint8_t *rsdp_of(const struct acpi_tables *t)
{
	const uint8_t *r = at_gpa(t, t->rsdp_addr, 36);

	assert_int_equal(t->rsdp_addr % 16, 0);
	assert_memory_equal(r, "RSD PTR ", 8);
	return r;
}

/* The table the XSDT lists with signature sig (exactly once). */
static const uint8_t *find_table(const struct acpi_tables *t, const char *sig)
{
	const uint8_t *x = table_at(t, rd64(rsdp_of(t) + 24), "XSDT");
	const uint8_t *found = NULL, *h;
	uint32_t i, n = (rd32(x + 4) - ACPI_HEADER_LEN) / 8;

	for (i = 0; i < n; i++) {
		h = at_gpa(t, rd64(x + ACPI_HEADER_LEN + 8 * i), 4);
		if (!memcmp(h, sig, 4)) {
			assert_null(found);
			found = table_at(t, rd64(x + ACPI_HEADER_LEN + 8 * i), sig);
		}
	}
	assert_non_null(found);
	return found;
}

static void test_rsdp(void **state)
{
	struct acpi_tables t;
	const uint8_t *r;

	build(&t, 1);
	r = rsdp_of(&t);
	assert_int_equal(t.rsdp_addr, ACPI_TABLES_BASE);
	assert_int_equal(acpi_checksum(r, 20), 0);
	assert_int_equal(acpi_checksum(r, 36), 0);
	assert_memory_equal(r + 9, "KEEL  ", 6);
	assert_int_equal(r[15], 2);			/* revision */
	assert_int_equal(rd32(r + 16), 0);		/* no RSDT */
	assert_int_equal(rd32(r + 20), 36);		/* length */
	table_at(&t, rd64(r + 24), "XSDT");
	assert_memory_equal(r + 33, "\0\0\0", 3);
	acpi_tables_free(&t);
	assert_null(t.buf);
}

static void test_xsdt(void **state)
{
	struct acpi_tables t;
	const uint8_t *x;

	build(&t, 2);
	x = table_at(&t, rd64(rsdp_of(&t) + 24), "XSDT");
	assert_int_equal(rd32(x + 4), ACPI_HEADER_LEN + 2 * 8);
	assert_int_equal(x[8], 1);
	assert_ptr_equal(find_table(&t, "FACP"), at_gpa(&t, rd64(x + 36), 4));
	assert_ptr_equal(find_table(&t, "APIC"), at_gpa(&t, rd64(x + 44), 4));
	acpi_tables_free(&t);
}

static void test_fadt(void **state)
{
	struct acpi_config cfg = pc_config(1);
	struct acpi_tables t;
	const uint8_t *f, *dsdt, *facs;
	uint32_t flags;

	build(&t, 1);
	f = find_table(&t, "FACP");
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[131], 0);			/* minor version */
	/* DSDT: 32-bit and X_ fields agree; FACS: X_FIRMWARE_CTRL only. */
	assert_int_equal(rd32(f + 40), rd64(f + 140));
	assert_int_equal(rd32(f + 36), 0);
	dsdt = table_at(&t, rd64(f + 140), "DSDT");
	assert_int_equal(dsdt[8], 2);
	facs = at_gpa(&t, rd64(f + 132), 64);
	assert_int_equal(rd64(f + 132) % 64, 0);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_int_equal(facs[32], 2);

	assert_int_equal(rd16(f + 46), 9);		/* SCI_INT */
	assert_int_equal(rd32(f + 48), 0);		/* SMI_CMD */
	assert_int_equal(rd32(f + 56), cfg.pm1a_evt_port);
	assert_int_equal(rd32(f + 60), 0);		/* no PM1b */
	assert_int_equal(rd32(f + 64), cfg.pm1a_cnt_port);
	assert_int_equal(rd32(f + 76), cfg.pm_tmr_port);
	assert_int_equal(rd32(f + 80), cfg.gpe0_port);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(f[92], cfg.gpe0_len);
	assert_int_equal(rd16(f + 109), 0x3);		/* LEGACY_DEVICES | 8042 */
	flags = rd32(f + 112);
	assert_true(flags & FADT_F_WBINVD);
	assert_true(flags & FADT_F_PROC_C1);
	assert_true(flags & FADT_F_SLP_BUTTON);
	assert_true(flags & FADT_F_RESET_REG_SUP);
	assert_false(flags & FADT_F_PWR_BUTTON);
	assert_false(flags & FADT_F_TMR_VAL_EXT);
	assert_false(flags & FADT_F_HW_REDUCED);
	/* RESET_REG: I/O, 8 bits, 0xCF9; RESET_VALUE 6. */
	assert_memory_equal(f + 116, "\x01\x08\x00\x01", 4);
	assert_int_equal(rd64(f + 120), 0xCF9);
	assert_int_equal(f[128], 6);
	/* CENTURY: CMOS index of the RTC's century byte. */
	assert_int_equal(f[108], 0x32);
	/* X_ GAS blocks: System I/O, width = length * 8, same ports. */
	assert_memory_equal(f + 148, "\x01\x20\x00", 3);
	assert_int_equal(rd64(f + 152), cfg.pm1a_evt_port);
	assert_memory_equal(f + 172, "\x01\x10\x00", 3);
	assert_int_equal(rd64(f + 176), cfg.pm1a_cnt_port);
	assert_memory_equal(f + 208, "\x01\x20\x00", 3);
	assert_int_equal(rd64(f + 212), cfg.pm_tmr_port);
	assert_memory_equal(f + 220, "\x01\x40\x00", 3);
	assert_int_equal(rd64(f + 224), cfg.gpe0_port);
	assert_int_equal(rd64(f + 160 + 4), 0);		/* X_PM1b_EVT */
	acpi_tables_free(&t);
}

static void check_madt(unsigned int nr_cpus)
{
	struct acpi_tables t;
	const uint8_t *m, *e, *end;
	unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	build(&t, nr_cpus);
	m = find_table(&t, "APIC");
	assert_int_equal(rd32(m + 4), 44 + 8 * nr_cpus + 12 + 2 * 10 + 6);
	assert_int_equal(rd32(m + 36), 0xFEE00000);
	assert_int_equal(rd32(m + 40), 1);		/* PCAT_COMPAT */
	end = m + rd32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case MADT_TYPE_LAPIC:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);	/* UID */
			assert_int_equal(e[3], lapics);	/* APIC ID */
			assert_int_equal(rd32(e + 4), 1);
			lapics++;
			break;
		case MADT_TYPE_IOAPIC:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(rd32(e + 4), 0xFEC00000);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case MADT_TYPE_ISO:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2);
				assert_int_equal(rd16(e + 8), 0x5);
			} else {
				assert_int_equal(e[3], 9);
				assert_int_equal(rd32(e + 4), 9);
				assert_int_equal(rd16(e + 8), 0xD);
			}
			isos++;
			break;
		case MADT_TYPE_LAPIC_NMI:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xFF);
			assert_int_equal(e[5], 1);	/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(lapics, nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
	acpi_tables_free(&t);
}

static void test_madt(void **state)
{
	check_madt(1);
	check_madt(2);
	check_madt(4);
	check_madt(255);
}

static void test_bad_config(void **state)
{
	struct acpi_config cfg = pc_config(0);
	struct acpi_tables t;

	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.buf);
	cfg.nr_cpus = 256;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg.nr_cpus = 1;
	cfg.base = 0xFFFF0000;			/* tables would cross 4 GiB */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg = pc_config(1);
	cfg.base = UINT64_MAX - 0x1000;		/* wraps around */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg = pc_config(1);
	cfg.sci_irq = 20;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg = pc_config(1);
	cfg.gpe0_len = 3;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg = pc_config(1);
	cfg.com1_irq = 16;			/* not an ISA IRQ: no DSDT */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.buf);
}

/* Without GPE0 the FADT has neither the block nor its X_ twin. */
static void test_no_gpe0(void **state)
{
	struct acpi_config cfg = pc_config(1);
	struct acpi_tables t;
	const uint8_t *f;

	cfg.gpe0_len = 0;
	assert_int_equal(acpi_build(&cfg, &t), 0);
	f = find_table(&t, "FACP");
	assert_int_equal(rd32(f + 80), 0);
	assert_int_equal(f[92], 0);
	assert_memory_equal(f + 220, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	acpi_tables_free(&t);
}

/* Table builder on its own: pointer fixups, ordering, limits. */
static void test_blob(void **state)
{
	struct acpi_blob b;
	size_t t1, t2, p;

	acpi_blob_init(&b, 0x1000, 256);
	t1 = acpi_table_begin(&b, "TST1", 1);
	acpi_blob_alloc(&b, 3, 1);
	acpi_table_end(&b, t1);
	t2 = acpi_table_begin(&b, "TST2", 1);
	assert_int_equal(t2 % 8, 0);
	p = acpi_blob_alloc(&b, 12, 1);
	acpi_blob_add_ptr64(&b, p, t1);
	acpi_blob_add_ptr32(&b, p + 8, t2);
	acpi_table_end(&b, t2);
	assert_int_equal(acpi_blob_finish(&b), 0);
	assert_int_equal(rd64(b.buf + p), 0x1000 + t1);
	assert_int_equal(rd32(b.buf + p + 8), 0x1000 + t2);
	assert_int_equal(acpi_checksum(b.buf + t1, 39), 0);
	assert_int_equal(acpi_checksum(b.buf + t2, 48), 0);
	p = acpi_blob_alloc(&b, 64, 64);
	assert_int_equal(p % 64, 0);
	acpi_blob_alloc(&b, 200, 1);			/* over the limit */
	assert_int_equal(acpi_blob_finish(&b), -ENOSPC);
	acpi_blob_free(&b);

	/* A 32-bit pointer that cannot reach its target. */
	acpi_blob_init(&b, 0xFFFFFF00, 4096);
	acpi_blob_alloc(&b, 0x200, 8);
	acpi_blob_add_ptr32(&b, 0, 0x100);
	assert_int_equal(acpi_blob_finish(&b), -ERANGE);
	acpi_blob_free(&b);
}

static const char *const dsdt_must[] = {
	"Scope (\\_SB)",
	"Device (COM1)", "EisaId (\"PNP0501\")", "0x03F8,", "{4}",
	"Device (RTC)", "EisaId (\"PNP0B00\")", "0x0070,", "{8}",
	"Device (KBD)", "EisaId (\"PNP0303\")", "0x0060,", "0x0064,", "{1}",
	"Device (MOU)", "EisaId (\"PNP0F13\")", "{12}",
	"Name (\\_S5, Package (0x04)", "0x05,",
	"Method (\\_PIC, 1, NotSerialized)",
};

static void check_iasl(struct acpi_iasl *ia, const char *name,
		       const uint8_t *tbl, size_t len, int exact)
{
	char *dsl = acpi_iasl_decompile(ia, name, tbl, len);
	size_t i;

	assert_non_null(dsl);
	if (!strcmp(name, "dsdt")) {
		for (i = 0; i < sizeof(dsdt_must) / sizeof(dsdt_must[0]); i++)
			if (!strstr(dsl, dsdt_must[i]))
				fail_msg("decompiled DSDT lacks '%s'", dsdt_must[i]);
	}
	free(dsl);
	assert_int_equal(acpi_iasl_recompile(ia, name, tbl, len, exact), 0);
}

/* Text of running cmd inside the temp dir (stdout + stderr). */
static char *run_in(struct acpi_iasl *ia, const char *cmd, int *rc)
{
	char line[600], path[160];

	snprintf(line, sizeof(line), "cd %s && %s >run.log 2>&1", ia->dir, cmd);
	*rc = system(line);
	snprintf(path, sizeof(path), "%s/run.log", ia->dir);
	return acpi_iasl_slurp(path);
}

/*
 * ACPICA's own interpreter (the one Linux runs) loads the DSDT with our FADT
 * and evaluates \_S5 and a _CRS. acpiexec's built-in hardware self-tests
 * complain about PM2/GPE blocks we do not have ("Unexpected ... aetests"),
 * so only the load and the evaluations are judged.
 */
static void check_acpiexec(struct acpi_iasl *ia, unsigned int nr_cpus)
{
	char *out;
	int rc;

	out = run_in(ia, "acpiexec -l dsdt.dat facp.dat apic.dat", &rc);
	assert_non_null(out);
	if (rc != 0 || !strstr(out, "with   4 Devices") ||
	    !strstr(out, "1 ACPI AML tables successfully acquired and loaded") ||
	    acpi_iasl_clean("acpiexec -l", out))
		fail_msg("acpiexec could not load the tables (%d):\n%s", rc, out);
	free(out);
	out = run_in(ia, "acpiexec -b 'evaluate \\_S5; evaluate \\_SB.COM1._CRS' "
		     "dsdt.dat facp.dat apic.dat", &rc);
	assert_non_null(out);
	if (rc != 0 || !strstr(out, "[Package] Contains 4 Elements") ||
	    !strstr(out, "[Integer] = 0000000000000005") ||
	    !strstr(out, "47 01 F8 03 F8 03 01 08 22 10 00 79") ||
	    strstr(out, "Exception") || strstr(out, "AE_AML"))
		fail_msg("acpiexec evaluation failed (%d, %u vCPUs):\n%s", rc,
			 nr_cpus, out);
	free(out);
}

static void check_iasl_all(unsigned int nr_cpus)
{
	struct acpi_tables t;
	struct acpi_iasl ia;
	const uint8_t *f;

	build(&t, nr_cpus);
	assert_int_equal(acpi_iasl_open(&ia), 0);
	f = find_table(&t, "FACP");
	check_iasl(&ia, "facp", f, rd32(f + 4), 1);
	check_iasl(&ia, "facs", at_gpa(&t, rd64(f + 132), 64), 64, 1);
	check_iasl(&ia, "dsdt", table_at(&t, rd64(f + 140), "DSDT"),
		   rd32(table_at(&t, rd64(f + 140), "DSDT") + 4), 0);
	check_iasl(&ia, "apic", find_table(&t, "APIC"),
		   rd32(find_table(&t, "APIC") + 4), 1);
	f = table_at(&t, rd64(rsdp_of(&t) + 24), "XSDT");
	check_iasl(&ia, "xsdt", f, rd32(f + 4), 1);
	check_acpiexec(&ia, nr_cpus);
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);
}

/* The PC machine with PCI: MCFG (PCI Firmware 3.0 ch. 4.1.2) and \_SB.PCI0. */
static void test_pci(void **state)
{
	struct acpi_config cfg = pc_config(1);
	static const char *const pci_must[] = {
		"Device (PCI0)", "EisaId (\"PNP0A08\")", "EisaId (\"PNP0A03\")",
		"Name (_SEG, Zero)", "Name (_BBN, Zero)", "Name (_UID, Zero)",
		"WordBusNumber (ResourceProducer", "0x0CF8", "0x0CF7", "0x0D00",
		"DWordMemory (ResourceProducer", "0xC0000000", "0xDFFFFFFF",
	};
	struct acpi_tables t;
	struct acpi_iasl ia;
	const uint8_t *m, *x, *d;
	char *dsl, *out;
	size_t i;
	int rc;

	cfg.pci_ecam_base = 0xE0000000;
	cfg.pci_mem32_base = 0xC0000000;
	cfg.pci_mem32_size = 0x20000000;
	assert_int_equal(acpi_build(&cfg, &t), 0);
	x = table_at(&t, rd64(rsdp_of(&t) + 24), "XSDT");
	assert_int_equal(rd32(x + 4), ACPI_HEADER_LEN + 3 * 8);
	m = find_table(&t, "MCFG");
	assert_int_equal(rd32(m + 4), 44 + 16);
	assert_int_equal(m[8], 1);
	assert_int_equal(rd64(m + 36), 0);		/* reserved */
	assert_int_equal(rd64(m + 44), 0xE0000000);
	assert_int_equal(rd16(m + 52), 0);		/* segment */
	assert_int_equal(m[54], 0);			/* start bus */
	assert_int_equal(m[55], 0);			/* end bus */
	assert_int_equal(rd32(m + 56), 0);

	assert_int_equal(acpi_iasl_open(&ia), 0);
	check_iasl(&ia, "mcfg", m, rd32(m + 4), 1);
	dsl = acpi_iasl_decompile(&ia, "mcfg", m, rd32(m + 4));
	assert_non_null(dsl);
	if (!strstr(dsl, "Base Address : 00000000E0000000") ||
	    !strstr(dsl, "End Bus Number : 00"))
		fail_msg("decompiled MCFG:\n%s", dsl);
	free(dsl);
	d = find_table(&t, "FACP");
	check_iasl(&ia, "facp", d, rd32(d + 4), 1);
	check_iasl(&ia, "apic", find_table(&t, "APIC"), rd32(find_table(&t, "APIC") + 4), 1);
	d = table_at(&t, rd64(find_table(&t, "FACP") + 140), "DSDT");
	check_iasl(&ia, "dsdt", d, rd32(d + 4), 0);
	dsl = acpi_iasl_decompile(&ia, "dsdt", d, rd32(d + 4));
	assert_non_null(dsl);
	for (i = 0; i < sizeof(pci_must) / sizeof(pci_must[0]); i++)
		if (!strstr(dsl, pci_must[i]))
			fail_msg("decompiled DSDT lacks '%s':\n%s", pci_must[i], dsl);
	free(dsl);
	/* ACPICA evaluates the bridge's _CRS without complaint. */
	out = run_in(&ia, "acpiexec -b 'evaluate \\_SB.PCI0._CRS; evaluate \\_SB.PCI0._HID' "
		     "dsdt.dat facp.dat apic.dat", &rc);
	assert_non_null(out);
	if (rc != 0 || strstr(out, "Exception") || strstr(out, "AE_AML") ||
	    !strstr(out, "[Buffer]") || !strstr(out, "[Integer] = 00000000080AD041"))
		fail_msg("acpiexec PCI0 evaluation failed (%d):\n%s", rc, out);
	free(out);
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);
}

static void test_iasl_1cpu(void **state)
{
	check_iasl_all(1);
}

static void test_iasl_2cpu(void **state)
{
	check_iasl_all(2);
}

static void test_iasl_4cpu(void **state)
{
	check_iasl_all(4);
}

/* The check itself must be able to fail: a broken checksum is reported. */
static void test_iasl_catches_bad_checksum(void **state)
{
	struct acpi_tables t;
	struct acpi_iasl ia;
	uint8_t bad[276];
	char *dsl;

	build(&t, 1);
	memcpy(bad, find_table(&t, "FACP"), sizeof(bad));
	bad[9] ^= 0x55;
	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = acpi_iasl_decompile(&ia, "facp", bad, sizeof(bad));
	acpi_iasl_close(&ia);
	assert_null(dsl);
	acpi_tables_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp),
		cmocka_unit_test(test_xsdt),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_no_gpe0),
		cmocka_unit_test(test_blob),
		cmocka_unit_test(test_pci),
		cmocka_unit_test(test_iasl_1cpu),
		cmocka_unit_test(test_iasl_2cpu),
		cmocka_unit_test(test_iasl_4cpu),
		cmocka_unit_test(test_iasl_catches_bad_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
