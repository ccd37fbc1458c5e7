/*
 * Unit tests for user/vmm/acpi/aml.c: PkgLength at its size boundaries,
 * NameStrings, integers at type boundaries, nesting, resource templates,
 * and an AML body with every construct decompiled by iasl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "acpi_iasl.h"
#include "vmm/acpi/aml.h"
#include "vmm/acpi/table.h"

/* Decode a PkgLength as an OS would; returns its byte count. */
static int pkglen_decode(const uint8_t *p, uint32_t *value)
{
	int n = (p[0] >> 6) + 1, i;

	if (n == 1) {
		*value = p[0] & 0x3F;
		return 1;
	}
	*value = p[0] & 0x0F;
	for (i = 1; i < n; i++)
		*value |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

static void check_pkglen(size_t body, int want_bytes)
{
	uint8_t b[4] = { 0 };
	uint32_t v;
	int n = aml_pkglen_encode(b, body);

	assert_int_equal(n, want_bytes);
	assert_int_equal(pkglen_decode(b, &v), n);
	assert_int_equal(v, body + n);
	if (n > 1)
		assert_int_equal(b[0] & 0x30, 0);	/* reserved bits */
}

static void test_pkglen_boundaries(void **state)
{
	uint8_t b[4];

	check_pkglen(0, 1);
	check_pkglen(62, 1);		/* PkgLength 63: largest 1-byte */
	check_pkglen(63, 2);		/* 64 does not fit in 6 bits */
	check_pkglen(4093, 2);		/* PkgLength 4095: largest 2-byte */
	check_pkglen(4094, 3);		/* 4096 */
	check_pkglen(0xFFFFC, 3);	/* 0xFFFFF */
	check_pkglen(0xFFFFD, 4);
	check_pkglen(0xFFFFFFB, 4);	/* 0xFFFFFFF: the maximum */
	assert_int_equal(aml_pkglen_encode(b, 0xFFFFFFC), -ERANGE);

	assert_int_equal(aml_pkglen_encode(b, 62), 1);
	assert_int_equal(b[0], 0x3F);
	assert_int_equal(aml_pkglen_encode(b, 63), 2);
	assert_int_equal(b[0], 0x41);	/* 65 = 0x41: one extra byte, nibble 1 */
	assert_int_equal(b[1], 0x04);
}

/* A Package whose body is exactly `body` bytes, checked byte by byte. */
static void check_package_body(size_t body, int want_pl)
{
	struct aml a;
	uint32_t v;
	size_t i;

	aml_init(&a);
	aml_package_begin(&a, body - 1);	/* NumElements + Zero each */
	for (i = 1; i < body; i++)
		aml_int(&a, 0);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.buf[0], AML_PACKAGE_OP);
	assert_int_equal(pkglen_decode(a.buf + 1, &v), want_pl);
	assert_int_equal(v, body + want_pl);
	assert_int_equal(a.len, 1 + want_pl + body);
	assert_int_equal(a.buf[1 + want_pl], body - 1);
	aml_free(&a);
}

static void test_nested_pkglen(void **state)
{
	check_package_body(2, 1);
	check_package_body(62, 1);
	check_package_body(63, 2);
	check_package_body(64, 2);
	check_package_body(255, 2);
}

static void test_buffer_sizes(void **state)
{
	static uint8_t data[5000];
	struct aml a;
	uint32_t v;
	int n;

	aml_init(&a);
	aml_buffer(&a, data, 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 3);
	assert_memory_equal(a.buf, "\x11\x02\x00", 3);
	aml_free(&a);

	/* 300 bytes: WordPrefix size, two-byte PkgLength covering it. */
	aml_init(&a);
	aml_buffer(&a, data, 300);
	assert_int_equal(aml_finish(&a), 0);
	assert_memory_equal(a.buf, "\x11\x41\x13\x0b\x2c\x01", 6);
	assert_int_equal(a.len, 306);
	aml_free(&a);

	/* 4093 bytes + a 3-byte size = 4096: needs a 3-byte PkgLength. */
	aml_init(&a);
	aml_buffer(&a, data, 4093);
	assert_int_equal(aml_finish(&a), 0);
	n = pkglen_decode(a.buf + 1, &v);
	assert_int_equal(n, 3);
	assert_int_equal(v, 4093 + 3 + 3);
	assert_int_equal(a.buf[1 + n], AML_WORD_PREFIX);
	assert_int_equal(a.len, 1 + v);
	aml_free(&a);
}

static void check_name(const char *path, const void *want, size_t len)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, path);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, len);
	assert_memory_equal(a.buf, want, len);
	aml_free(&a);
}

static void check_bad_name(const char *path)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, path);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_names(void **state)
{
	char many[256 * 5 + 2];
	int i;

	check_name("_SB", "_SB_", 4);
	check_name("COM1", "COM1", 4);
	check_name("\\_SB", "\\_SB_", 5);
	check_name("\\_SB.PCI0", "\\\x2e_SB_PCI0", 10);
	check_name("\\_SB.PCI0.S08", "\\\x2f\x03_SB_PCI0S08_", 15);
	check_name("^^FOO", "^^FOO_", 6);
	check_name("^A.B", "^\x2e" "A___B___", 10);
	check_name("", "\x00", 1);
	check_name("\\", "\\\x00", 2);

	check_bad_name("abc");		/* lower case */
	check_bad_name("TOOLONG");
	check_bad_name("1ABC");		/* digit first */
	check_bad_name("A..B");
	check_bad_name(".A");
	check_bad_name("A.");
	check_bad_name("\\^A");
	check_bad_name("A-B");

	/* 255 segments is the MultiNamePrefix limit. */
	for (i = 0; i < 256; i++)
		memcpy(many + 5 * i, "ABCD.", 5);
	many[5 * 256 - 1] = '\0';
	check_bad_name(many);
	many[5 * 255 - 1] = '\0';
	{
		struct aml a;

		aml_init(&a);
		aml_name(&a, many);
		assert_int_equal(aml_finish(&a), 0);
		assert_int_equal(a.len, 2 + 4 * 255);
		assert_int_equal(a.buf[1], 255);
		aml_free(&a);
	}
}

static void check_int(uint64_t v, const void *want, size_t len)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, v);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, len);
	assert_memory_equal(a.buf, want, len);
	aml_free(&a);
}

static void test_integers(void **state)
{
	struct aml a;

	check_int(0, "\x00", 1);
	check_int(1, "\x01", 1);
	check_int(2, "\x0a\x02", 2);
	check_int(0xFF, "\x0a\xff", 2);
	check_int(0x100, "\x0b\x00\x01", 3);
	check_int(0xFFFF, "\x0b\xff\xff", 3);
	check_int(0x10000, "\x0c\x00\x00\x01\x00", 5);
	check_int(0xFFFFFFFF, "\x0c\xff\xff\xff\xff", 5);
	check_int(0x100000000ull, "\x0e\x00\x00\x00\x00\x01\x00\x00\x00", 9);
	check_int(UINT64_MAX, "\x0e\xff\xff\xff\xff\xff\xff\xff\xff", 9);

	aml_init(&a);
	aml_ones(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 1);
	assert_int_equal(a.buf[0], 0xFF);
	aml_free(&a);
}

static void test_strings_eisaid(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_string(&a, "abc");
	aml_string(&a, "");
	aml_eisaid(&a, "PNP0501");
	aml_eisaid(&a, "PNP0A03");
	aml_eisaid(&a, "QEM0001");
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 5 + 2 + 15);
	assert_memory_equal(a.buf, "\x0d" "abc\0" "\x0d\0", 7);
	assert_memory_equal(a.buf + 7, "\x0c\x41\xd0\x05\x01", 5);
	assert_memory_equal(a.buf + 12, "\x0c\x41\xd0\x0a\x03", 5);
	assert_memory_equal(a.buf + 17, "\x0c\x44\xad\x00\x01", 5);
	aml_free(&a);

	aml_init(&a);
	aml_eisaid(&a, "pnp0501");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_eisaid(&a, "PNP050");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_eisaid(&a, "PNP05G1");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_string(&a, "\xc3\xa9");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_method_device_ops(void **state)
{
	static const uint8_t want[] = {
		0x5B, 0x82, 0x2A, 'D', 'E', 'V', '0',
		  0x14, 0x24, 'T', 'S', 'T', '_', 0x0A,	/* 2 args, serialized */
		    0xA0, 0x06, 0x93, 0x68, 0x01,	/* If (LEqual (Arg0, One)) */
		      0xA4, 0x01,			/* Return (One) */
		    0xA1, 0x16,				/* Else */
		      0x70, 0x69, 0x60,			/* Store (Arg1, Local0) */
		      0x7B, 0x60, 0x0A, 0xF0, 0x61,	/* And (Local0, 0xF0, Local1) */
		      0x7D, 0x61, 0x01, 0x00,		/* Or (Local1, One, ) */
		      0x86, 'D', 'E', 'V', '0', 0x0A, 0x80, /* Notify (DEV0, 0x80) */
		      0xA4, 0x61,			/* Return (Local1) */
	};
	struct aml a;

	aml_init(&a);
	aml_device_begin(&a, "DEV0");
	aml_method_begin(&a, "TST", 2, 1);
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_int(&a, 1);
	aml_return(&a);
	aml_int(&a, 1);
	aml_end(&a);
	aml_else_begin(&a);
	aml_store(&a);
	aml_arg(&a, 1);
	aml_local(&a, 0);
	aml_and(&a);
	aml_local(&a, 0);
	aml_int(&a, 0xF0);
	aml_local(&a, 1);
	aml_or(&a);
	aml_local(&a, 1);
	aml_int(&a, 1);
	aml_null_name(&a);
	aml_notify(&a);
	aml_name(&a, "DEV0");
	aml_int(&a, 0x80);
	aml_return(&a);
	aml_local(&a, 1);
	aml_end(&a);
	aml_end(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	aml_free(&a);
}

static void test_nesting_errors(void **state)
{
	struct aml a;
	int i;

	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	assert_int_equal(aml_finish(&a), -EINVAL);	/* left open */
	aml_free(&a);

	aml_init(&a);
	for (i = 0; i <= AML_MAX_DEPTH; i++)
		aml_if_begin(&a);
	assert_int_equal(aml_finish(&a), -E2BIG);
	aml_free(&a);

	aml_init(&a);
	aml_package_begin(&a, 1);
	aml_res_end(&a);			/* not a resource template */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_res_begin(&a);
	aml_res_irq(&a, 4);
	aml_end(&a);				/* template without its End Tag */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_arg(&a, 7);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_method_begin(&a, "M", 8, 0);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_region_field(void **state)
{
	static const uint8_t want[] = {
		0x5B, 0x80, 'P', 'M', 'I', 'O', 0x01, 0x0B, 0x00, 0x06, 0x0A, 0x40,
		0x5B, 0x81, 0x13, 'P', 'M', 'I', 'O', 0x02,
		  'P', 'S', 'T', 'S', 0x10,
		  0x00, 0x40, 0x08,		/* 128 bits: two-byte width */
		  'T', 'M', 'R', '_', 0x20,
		0x5B, 0x01, 'M', 'L', 'C', 'K', 0x00,
	};
	struct aml a;

	aml_init(&a);
	aml_opregion(&a, "PMIO", AML_SPACE_IO, 0x600, 0x40);
	aml_field_begin(&a, "PMIO", AML_FIELD_WORD_ACC);
	aml_field_unit(&a, "PSTS", 16);
	aml_field_skip(&a, 128);
	aml_field_unit(&a, "TMR", 32);
	aml_end(&a);
	aml_mutex(&a, "MLCK", 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	aml_free(&a);

	aml_init(&a);
	aml_field_begin(&a, "PMIO", 0);
	aml_field_unit(&a, "A.B", 8);		/* a unit is one NameSeg */
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

/* The bytes of a template inside its Buffer: after opcode, PkgLength, size. */
static const uint8_t *res_body(const struct aml *a, size_t *len)
{
	uint32_t pl;
	int n = pkglen_decode(a->buf + 1, &pl);
	const uint8_t *p = a->buf + 1 + n;

	switch (p[0]) {
	case AML_BYTE_PREFIX:
		*len = p[1];
		return p + 2;
	case AML_WORD_PREFIX:
		*len = p[1] | p[2] << 8;
		return p + 3;
	}
	fail();
	return NULL;
}

static void test_resource_template(void **state)
{
	struct aml a;
	const uint8_t *r;
	size_t len, i;
	uint8_t sum = 0;

	aml_init(&a);
	aml_res_begin(&a);
	aml_res_io(&a, 0x3F8, 0x3F8, 1, 8);
	aml_res_irq(&a, 4);
	aml_res_ext_irq(&a, 9, AML_IRQ_CONSUMER | AML_IRQ_SHARED);
	aml_res_mem32_fixed(&a, 0xFEC00000, 0x1000, 1);
	aml_res_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	r = res_body(&a, &len);
	assert_int_equal(len, 8 + 3 + 9 + 12 + 2);
	assert_memory_equal(r, "\x47\x01\xf8\x03\xf8\x03\x01\x08", 8);
	assert_memory_equal(r + 8, "\x22\x10\x00", 3);
	assert_memory_equal(r + 11, "\x89\x06\x00\x09\x01\x09\x00\x00\x00", 9);
	assert_memory_equal(r + 20, "\x86\x09\x00\x01\x00\x00\xc0\xfe\x00\x10\x00\x00", 12);
	assert_int_equal(r[len - 2], 0x79);
	for (i = 0; i < len; i++)
		sum += r[i];
	assert_int_equal(sum, 0);
	assert_int_equal(r + len, a.buf + a.len);
	aml_free(&a);

	aml_init(&a);
	aml_res_begin(&a);
	aml_res_irq(&a, 16);			/* not an ISA IRQ */
	aml_res_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_address_descriptors(void **state)
{
	struct aml a;
	const uint8_t *r;
	size_t len;

	aml_init(&a);
	aml_res_begin(&a);
	aml_res_word(&a, AML_RES_BUS, AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		     0, 0, 0xFF, 0, 0x100);
	aml_res_dword(&a, AML_RES_IO, AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		      AML_IO_RANGE_ENTIRE, 0x0D00, 0xFFFF, 0, 0xF300);
	aml_res_qword(&a, AML_RES_MEMORY,
		      AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		      AML_MEM_RW | AML_MEM_CACHEABLE, 0x100000000ull,
		      0x1FFFFFFFFull, 0, 0x100000000ull);
	aml_res_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	r = res_body(&a, &len);
	assert_int_equal(len, 16 + 26 + 46 + 2);
	assert_int_equal(r[0], 0x88);
	assert_int_equal(r[1] | r[2] << 8, 13);
	assert_int_equal(r[3], AML_RES_BUS);
	assert_int_equal(r[4], 0x0C);
	assert_int_equal(r[16], 0x87);
	assert_int_equal(r[17] | r[18] << 8, 23);
	assert_int_equal(r[19], AML_RES_IO);
	assert_int_equal(r[21], 3);
	assert_int_equal(r[42], 0x8A);
	assert_int_equal(r[43] | r[44] << 8, 43);
	assert_int_equal(r[42 + 3], AML_RES_MEMORY);
	assert_int_equal(r[42 + 5], 0x03);
	assert_memory_equal(r + 42 + 14, "\x00\x00\x00\x00\x01\x00\x00\x00", 8);
	aml_free(&a);
}

/* Region, field, mutex and a loop with the arithmetic operators. */
static void iasl_more_ops(struct aml *a)
{
	aml_opregion(a, "PMIO", AML_SPACE_IO, 0x600, 0x40);
	aml_field_begin(a, "PMIO", AML_FIELD_WORD_ACC);
	aml_field_unit(a, "PSTS", 16);
	aml_field_unit(a, "PEN", 16);
	aml_field_skip(a, 128);
	aml_field_unit(a, "GSTS", 16);
	aml_end(a);
	aml_mutex(a, "MLCK", 0);
	aml_method_begin(a, "LOOP", 1, 0);
	aml_if_begin(a);			/* Acquire returns True on timeout */
	aml_acquire(a, "MLCK", 0xFFFF);
	aml_return(a);
	aml_ones(a);
	aml_end(a);
	aml_store(a);
	aml_int(a, 0);
	aml_local(a, 0);
	aml_while_begin(a);
	aml_lless(a);
	aml_local(a, 0);
	aml_arg(a, 0);
	aml_increment(a);
	aml_local(a, 0);
	aml_add(a);
	aml_local(a, 0);
	aml_name(a, "PSTS");
	aml_local(a, 1);
	aml_subtract(a);
	aml_local(a, 1);
	aml_int(a, 2);
	aml_local(a, 1);
	aml_shift_left(a);
	aml_int(a, 1);
	aml_local(a, 0);
	aml_local(a, 2);
	aml_shift_right(a);
	aml_local(a, 2);
	aml_int(a, 1);
	aml_name(a, "GSTS");
	aml_if_begin(a);
	aml_land(a);
	aml_lnot(a);
	aml_lgreater(a);
	aml_local(a, 0);
	aml_int(a, 8);
	aml_lor(a);
	aml_local(a, 1);
	aml_local(a, 2);
	aml_store(a);
	aml_local(a, 2);
	aml_name(a, "PEN");
	aml_end(a);
	aml_end(a);
	aml_release(a, "MLCK");
	aml_return(a);
	aml_local(a, 0);
	aml_end(a);
}

/* A DSDT holding every construct; iasl must decompile it without a word. */
static void test_iasl_roundtrip(void **state)
{
	struct acpi_blob b;
	struct acpi_iasl ia;
	struct aml a;
	size_t t;
	char *dsl;

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "PCI0");
	aml_name_decl(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_name_decl(&a, "DESC");
	aml_string(&a, "keel host bridge");
	aml_name_decl(&a, "_CRS");
	aml_res_begin(&a);
	aml_res_word(&a, AML_RES_BUS, AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		     0, 0, 0xFF, 0, 0x100);
	aml_res_io(&a, 0xCF8, 0xCF8, 1, 8);
	aml_res_dword(&a, AML_RES_IO, AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		      AML_IO_RANGE_ENTIRE, 0x0D00, 0xFFFF, 0, 0xF300);
	aml_res_dword(&a, AML_RES_MEMORY,
		      AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		      AML_MEM_RW | AML_MEM_CACHEABLE, 0xC0000000, 0xFEBFFFFF,
		      0, 0x3EC00000);
	aml_res_qword(&a, AML_RES_MEMORY,
		      AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED,
		      AML_MEM_RW | AML_MEM_CACHEABLE, 0x100000000ull,
		      0x1FFFFFFFFull, 0, 0x100000000ull);
	aml_res_mem32_fixed(&a, 0xFED00000, 0x400, 0);
	aml_res_ext_irq(&a, 20, AML_IRQ_CONSUMER | AML_IRQ_ACTIVE_LOW |
			AML_IRQ_SHARED);
	aml_res_irq(&a, 5);
	aml_res_end(&a);
	aml_name_decl(&a, "PKG");
	aml_package_begin(&a, 3);
	aml_ones(&a);
	aml_int(&a, 0x123456789ull);
	aml_string(&a, "x");
	aml_end(&a);
	aml_method_begin(&a, "TST", 1, 1);
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_int(&a, 3);
	aml_notify(&a);
	aml_name(&a, "\\_SB.PCI0");
	aml_int(&a, 1);
	aml_end(&a);
	aml_else_begin(&a);
	aml_store(&a);
	aml_arg(&a, 0);
	aml_local(&a, 0);
	aml_and(&a);
	aml_local(&a, 0);
	aml_int(&a, 0xF0);
	aml_local(&a, 1);
	aml_or(&a);
	aml_local(&a, 1);
	aml_int(&a, 0x0F);
	aml_local(&a, 2);
	aml_return(&a);
	aml_local(&a, 2);
	aml_end(&a);
	aml_return(&a);
	aml_int(&a, 0);
	aml_end(&a);
	iasl_more_ops(&a);
	aml_end(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);

	acpi_blob_init(&b, 0x1000, 0x10000);
	t = acpi_table_begin(&b, "DSDT", 2);
	acpi_blob_append(&b, a.buf, a.len);
	acpi_table_end(&b, t);
	assert_int_equal(acpi_blob_finish(&b), 0);
	aml_free(&a);

	assert_int_equal(acpi_iasl_open(&ia), 0);
	dsl = acpi_iasl_decompile(&ia, "dsdt", b.buf + t, b.len - t);
	assert_int_equal(acpi_iasl_recompile(&ia, "dsdt", NULL, 0, 0), 0);
	acpi_iasl_close(&ia);
	acpi_blob_free(&b);
	assert_non_null(dsl);
	assert_non_null(strstr(dsl, "EisaId (\"PNP0A03\")"));
	assert_non_null(strstr(dsl, "WordBusNumber (ResourceProducer"));
	assert_non_null(strstr(dsl, "DWordIO (ResourceProducer"));
	assert_non_null(strstr(dsl, "DWordMemory (ResourceProducer"));
	assert_non_null(strstr(dsl, "QWordMemory (ResourceProducer"));
	assert_non_null(strstr(dsl, "Memory32Fixed (ReadOnly"));
	assert_non_null(strstr(dsl, "Interrupt (ResourceConsumer, Level, ActiveLow, Shared"));
	assert_non_null(strstr(dsl, "IRQNoFlags ()"));
	assert_non_null(strstr(dsl, "Method (TST, 1, Serialized)"));
	assert_non_null(strstr(dsl, "Notify (PCI0, One)") ?:
			strstr(dsl, "Notify (\\_SB.PCI0, One)"));
	assert_non_null(strstr(dsl, "0x0000000123456789"));
	assert_non_null(strstr(dsl, "OperationRegion (PMIO, SystemIO, 0x0600, 0x40)"));
	assert_non_null(strstr(dsl, "Field (PMIO, WordAcc, NoLock, Preserve)"));
	assert_non_null(strstr(dsl, "Offset (0x14)"));
	assert_non_null(strstr(dsl, "Mutex (MLCK, 0x00)"));
	assert_non_null(strstr(dsl, "While ((Local0 < Arg0))"));
	assert_non_null(strstr(dsl, "If (Acquire (MLCK, 0xFFFF))"));
	assert_non_null(strstr(dsl, "Release (MLCK)"));
	free(dsl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen_boundaries),
		cmocka_unit_test(test_nested_pkglen),
		cmocka_unit_test(test_buffer_sizes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings_eisaid),
		cmocka_unit_test(test_method_device_ops),
		cmocka_unit_test(test_nesting_errors),
		cmocka_unit_test(test_region_field),
		cmocka_unit_test(test_resource_template),
		cmocka_unit_test(test_address_descriptors),
		cmocka_unit_test(test_iasl_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
