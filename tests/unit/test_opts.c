/*
 * Unit tests for user/lib/opts.c: splitting option strings, the value
 * grammars, property tables (every type, defaults, every refusal), the pair
 * list's set/del/used marks and the help lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/opts.h"

struct conf {
	char name[8];
	bool ro;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	uint64_t size;
	int mode;
	char path[64];
};

static const char *const modes[] = { "threads", "native", "io_uring", NULL };

static const struct opt_desc table[] = {
	OPT_D_STR(struct conf, name, "name", "dflt", "a short name"),
	OPT_D_BOOL(struct conf, ro, "readonly", "off", "refuse writes"),
	OPT_D_UINT(struct conf, u8, "u8", "7", 0, 0, "a byte"),
	OPT_D_UINT(struct conf, u16, "u16", NULL, 0, 0, "a half"),
	OPT_D_UINT(struct conf, u32, "num-queues", "1", 1, 16, "queues"),
	OPT_D_UINT(struct conf, u64, "u64", "0x10", 0, 0, "a quad"),
	OPT_D_SIZE(struct conf, size, "size", "1M", 4096, 1ULL << 40, "bytes"),
	OPT_D_ENUM(struct conf, mode, "aio", "io_uring", modes, "engine"),
	OPT_D_STR(struct conf, path, "path", NULL, NULL),
	{ .name = NULL },
};

/* Parse str and expect -EINVAL with needle in the message. */
static void parse_bad(const char *str, const char *implied, bool bare, const char *needle)
{
	struct opts o;
	char err[256] = "";
	int ret = opts_parse(&o, str, implied, bare, err, sizeof(err));

	opts_free(&o);
	if (ret != -EINVAL)
		fail_msg("'%s' gave %d, not -EINVAL", str ? str : "(null)", ret);
	if (!strstr(err, needle))
		fail_msg("'%s': '%s' does not say '%s'", str ? str : "(null)", err, needle);
}

static void test_parse_basic(void **state)
{
	struct opts o;
	char err[256];

	assert_int_equal(opts_parse(&o, "a=1,b=x,,y,c=", NULL, false, err, sizeof(err)), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.pair[0].key, "a");
	assert_string_equal(o.pair[0].val, "1");
	assert_string_equal(o.pair[1].val, "x,y");
	assert_string_equal(o.pair[2].val, "");
	assert_string_equal(opts_peek(&o, "b"), "x,y");
	assert_false(o.pair[1].used);
	assert_string_equal(opts_get(&o, "b"), "x,y");
	assert_true(o.pair[1].used);
	assert_null(opts_get(&o, "zz"));
	assert_null(opts_peek(&o, "zz"));
	assert_null(opts_get(&o, NULL));
	opts_free(&o);

	/* ",,," is a comma then a separator; '=' inside a value is kept */
	assert_int_equal(opts_parse(&o, "p=a,,,q=b=c,r=,,", NULL, false, err, sizeof(err)), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(opts_peek(&o, "p"), "a,");
	assert_string_equal(opts_peek(&o, "q"), "b=c");
	assert_string_equal(opts_peek(&o, "r"), ",");
	opts_free(&o);
	opts_free(&o);		/* twice is harmless */
}

static void test_parse_implied(void **state)
{
	struct opts o;
	char err[256];

	assert_int_equal(opts_parse(&o, "virtio-blk-pci,drive=d0", "driver", false, err,
				    sizeof(err)), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.pair[0].key, "driver");
	assert_string_equal(opts_peek(&o, "driver"), "virtio-blk-pci");
	assert_string_equal(opts_peek(&o, "drive"), "d0");
	opts_free(&o);
	/* the implied key may be spelled out; a first word may hold ",," */
	assert_int_equal(opts_parse(&o, "driver=x,id=a", "driver", false, err, sizeof(err)), 0);
	assert_string_equal(opts_peek(&o, "driver"), "x");
	opts_free(&o);
	assert_int_equal(opts_parse(&o, "/img,,1,ro=on", "path", false, err, sizeof(err)), 0);
	assert_string_equal(opts_peek(&o, "path"), "/img,1");
	opts_free(&o);
	/* only the first element is implied */
	parse_bad("a=1,word", "driver", false, "'word' is not key=value");
	parse_bad("x,driver=y", "driver", false, "key 'driver' is given twice");
}

static void test_parse_bare_flags(void **state)
{
	struct opts o;
	char err[256];

	assert_int_equal(opts_parse(&o, "unix:/s,server,nowait", "path", true, err,
				    sizeof(err)), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(opts_peek(&o, "path"), "unix:/s");
	assert_string_equal(opts_peek(&o, "server"), "on");
	assert_string_equal(opts_peek(&o, "nowait"), "on");
	opts_free(&o);
	parse_bad("server", NULL, false, "'server' is not key=value");
	parse_bad("a=1,server", NULL, false, "'server' is not key=value");
	parse_bad("a=1,ser ver", NULL, true, "bad key 'ser ver'");
}

static void test_parse_errors(void **state)
{
	char big[OPTS_MAX_PAIRS * 8 + 16], key[OPTS_KEY_MAX + 8];
	struct opts o;
	char err[256];
	size_t len = 0;
	int i;

	parse_bad("", NULL, false, "empty option string");
	parse_bad(NULL, NULL, false, "empty option string");
	parse_bad("=x", NULL, false, "empty key in '=x'");
	parse_bad("a=1,=x", "driver", false, "empty key");
	parse_bad("a=1,", NULL, false, "trailing comma");
	parse_bad(",a=1", NULL, false, "empty element at the start");
	parse_bad(",", NULL, false, "empty element at the start");
	parse_bad(",,", NULL, false, "',' is not key=value");
	parse_bad(",,", NULL, true, "bad key ','");
	parse_bad("a,,b=1", NULL, false, "bad key 'a,b'");
	parse_bad("a=1,b=2,a=3", NULL, false, "key 'a' is given twice");
	parse_bad("k\x01=1", NULL, false, "bad key");

	memset(key, 'k', OPTS_KEY_MAX);
	strcpy(key + OPTS_KEY_MAX, "=1");
	parse_bad(key, NULL, false, "is longer than 63 bytes");
	key[OPTS_KEY_MAX - 1] = '=';		/* 63 bytes: the longest key */
	assert_int_equal(opts_parse(&o, key, NULL, false, err, sizeof(err)), 0);
	assert_int_equal(strlen(o.pair[0].key), OPTS_KEY_MAX - 1);
	opts_free(&o);

	for (i = 0; i < OPTS_MAX_PAIRS; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%sk%d=1", i ? "," : "", i);
	assert_int_equal(opts_parse(&o, big, NULL, false, err, sizeof(err)), 0);
	assert_int_equal(o.n, OPTS_MAX_PAIRS);
	opts_free(&o);
	snprintf(big + len, sizeof(big) - len, ",z=1");
	parse_bad(big, NULL, false, "more than 64 key=value pairs");

	/* no error buffer at all */
	assert_int_equal(opts_parse(&o, "=", NULL, false, NULL, 0), -EINVAL);
	opts_free(&o);
	assert_int_equal(opts_parse(&o, "a=1,", NULL, false, err, 1), -EINVAL);
	assert_string_equal(err, "");
	opts_free(&o);
}

static void test_set_del(void **state)
{
	struct opts o;
	char err[256], key[16];
	int i;

	opts_init(&o);
	assert_int_equal(opts_set(&o, "a", "1"), 0);
	assert_int_equal(opts_set(&o, "b", "2"), 0);
	assert_int_equal(opts_set(&o, "c", "3"), 0);
	assert_string_equal(opts_get(&o, "a"), "1");
	assert_int_equal(opts_set(&o, "a", "one"), 0);		/* replace */
	assert_int_equal(o.n, 3);
	assert_false(o.pair[0].used);				/* a new value, unused */
	assert_string_equal(opts_peek(&o, "a"), "one");
	assert_int_equal(opts_set(&o, "", "x"), -EINVAL);
	assert_int_equal(opts_set(&o, "a b", "x"), -EINVAL);
	assert_int_equal(opts_set(&o, NULL, "x"), -EINVAL);
	assert_int_equal(opts_set(&o, "d", NULL), -EINVAL);

	opts_del(&o, "b");
	assert_int_equal(o.n, 2);
	assert_null(opts_peek(&o, "b"));
	assert_string_equal(o.pair[0].key, "a");
	assert_string_equal(o.pair[1].key, "c");
	opts_del(&o, "b");					/* absent: nothing */
	opts_del(&o, NULL);
	opts_del(&o, "c");
	opts_del(&o, "a");
	assert_int_equal(o.n, 0);

	for (i = 0; i < OPTS_MAX_PAIRS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(opts_set(&o, key, "v"), 0);
	}
	assert_int_equal(opts_set(&o, "one-more", "v"), -ENOSPC);
	assert_int_equal(opts_set(&o, "k5", "w"), 0);		/* replacing still works */
	assert_string_equal(opts_peek(&o, "k5"), "w");
	opts_free(&o);
	assert_int_equal(o.n, 0);

	/* parsed lists take set/del too */
	assert_int_equal(opts_parse(&o, "x=1", NULL, false, err, sizeof(err)), 0);
	assert_int_equal(opts_set(&o, "y", "2"), 0);
	opts_del(&o, "x");
	assert_string_equal(o.pair[0].key, "y");
	opts_free(&o);
}

static void test_check_used(void **state)
{
	struct opts o;
	struct conf c;
	char err[256];

	assert_int_equal(opts_parse(&o, "readonly=on,foo=1", NULL, false, err, sizeof(err)), 0);
	assert_int_equal(opts_apply(&o, table, &c, "--disk", err, sizeof(err)), 0);
	assert_int_equal(opts_check_used(&o, "--disk", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--disk: unknown key 'foo'");
	assert_int_equal(opts_check_used(&o, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown key 'foo'");
	assert_string_equal(opts_get(&o, "foo"), "1");
	assert_int_equal(opts_check_used(&o, "--disk", err, sizeof(err)), 0);
	opts_free(&o);
	opts_init(&o);
	assert_int_equal(opts_check_used(&o, "x", err, sizeof(err)), 0);
}

static void test_bool(void **state)
{
	static const char *const t[] = { "on", "yes", "true" }, *const f[] = { "off", "no",
									  "false" };
	static const char *const bad[] = { "", "ON", "True", "1", "0", "maybe", "on ", NULL };
	unsigned int i;
	bool b;

	for (i = 0; i < 3; i++) {
		b = false;
		assert_int_equal(opt_parse_bool(t[i], &b), 0);
		assert_true(b);
		assert_int_equal(opt_parse_bool(f[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; bad[i]; i++)
		assert_int_equal(opt_parse_bool(bad[i], &b), -EINVAL);
	assert_int_equal(opt_parse_bool(NULL, &b), -EINVAL);
}

static void test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "65536", 65536 }, { "512M", 512ULL << 20 }, { "1G", 1ULL << 30 },
		{ "4KiB", 4096 }, { "4kib", 4096 }, { "4k", 4096 }, { "2MB", 2ULL << 20 },
		{ "2mb", 2ULL << 20 }, { "3T", 3ULL << 40 }, { "3TiB", 3ULL << 40 },
		{ "100B", 100 }, { "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX }, { "00012", 12 },
	};
	static const char *const bad[] = { "", "M", "1X", "1P", "1 M", " 1", "-1", "1.5G",
					   "1Mi", "1iB", "1MBB", "1MiBx", "0x10", "1KM", NULL };
	static const char *const range[] = { "16777216T", "18446744073709551616",
					     "99999999999999999999999K", "17179869184G", NULL };
	uint64_t v;
	unsigned int i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		if (opt_parse_size(ok[i].s, &v) || v != ok[i].v)
			fail_msg("size '%s' read as %llu", ok[i].s, (unsigned long long)v);
	}
	for (i = 0; bad[i]; i++)
		if (opt_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("size '%s' was not -EINVAL", bad[i]);
	for (i = 0; range[i]; i++)
		if (opt_parse_size(range[i], &v) != -ERANGE)
			fail_msg("size '%s' was not -ERANGE", range[i]);
	assert_int_equal(opt_parse_size(NULL, &v), -EINVAL);
	assert_int_equal(opt_parse_size("99999999999999999999999Q", &v), -EINVAL);
}

static void test_uint(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "42", 42 }, { "010", 10 }, { "0x10", 16 }, { "0XfF", 255 },
		{ "0xffffffffffffffff", UINT64_MAX }, { "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = { "", "0x", "x1", "-1", "+1", "1 ", "12a", "0xg",
					   "1K", "0b1", NULL };
	uint64_t v;
	unsigned int i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		if (opt_parse_uint(ok[i].s, &v) || v != ok[i].v)
			fail_msg("number '%s' read as %llu", ok[i].s, (unsigned long long)v);
	}
	for (i = 0; bad[i]; i++)
		if (opt_parse_uint(bad[i], &v) != -EINVAL)
			fail_msg("number '%s' was not -EINVAL", bad[i]);
	assert_int_equal(opt_parse_uint("18446744073709551616", &v), -ERANGE);
	assert_int_equal(opt_parse_uint("0x10000000000000000", &v), -ERANGE);
	assert_int_equal(opt_parse_uint("99999999999999999999999x", &v), -EINVAL);
	assert_int_equal(opt_parse_uint(NULL, &v), -EINVAL);
}

static void test_enum(void **state)
{
	assert_int_equal(opt_parse_enum("threads", modes), 0);
	assert_int_equal(opt_parse_enum("io_uring", modes), 2);
	assert_int_equal(opt_parse_enum("Native", modes), -EINVAL);
	assert_int_equal(opt_parse_enum("", modes), -EINVAL);
	assert_int_equal(opt_parse_enum(NULL, modes), -EINVAL);
	assert_int_equal(opt_parse_enum("threads", NULL), -EINVAL);
}

static void test_apply_defaults(void **state)
{
	struct opts o;
	struct conf c;
	char err[256];

	memset(&c, 0xa5, sizeof(c));
	opts_defaults(table, &c);
	assert_string_equal(c.name, "dflt");
	assert_false(c.ro);
	assert_int_equal(c.u8, 7);
	assert_int_equal(c.u16, 0);
	assert_int_equal(c.u32, 1);
	assert_int_equal(c.u64, 16);
	assert_int_equal(c.size, 1 << 20);
	assert_int_equal(c.mode, 2);
	assert_string_equal(c.path, "");

	memset(&c, 0xa5, sizeof(c));
	opts_init(&o);
	assert_int_equal(opts_apply(&o, table, &c, "t", err, sizeof(err)), 0);
	assert_string_equal(c.name, "dflt");
	assert_int_equal(c.u64, 16);
	assert_int_equal(c.mode, 2);
	assert_string_equal(c.path, "");
	opts_free(&o);
}

static void test_apply_values(void **state)
{
	struct opts o;
	struct conf c;
	char err[256];
	unsigned int i;

	assert_int_equal(opts_parse(&o, "name=abcdefg,readonly=yes,u8=255,u16=0xffff,"
				    "num-queues=16,u64=18446744073709551615,size=4KiB,"
				    "aio=native,path=/a,,b", NULL, false, err, sizeof(err)), 0);
	assert_int_equal(opts_apply(&o, table, &c, "t", err, sizeof(err)), 0);
	for (i = 0; i < o.n; i++)
		assert_true(o.pair[i].used);
	assert_int_equal(opts_check_used(&o, "t", err, sizeof(err)), 0);
	assert_string_equal(c.name, "abcdefg");
	assert_true(c.ro);
	assert_int_equal(c.u8, 255);
	assert_int_equal(c.u16, 0xffff);
	assert_int_equal(c.u32, 16);
	assert_true(c.u64 == UINT64_MAX);
	assert_int_equal(c.size, 4096);
	assert_int_equal(c.mode, 1);
	assert_string_equal(c.path, "/a,b");
	opts_free(&o);

	assert_int_equal(opts_parse(&o, "readonly=false,aio=threads,name=", NULL, false, err,
				    sizeof(err)), 0);
	assert_int_equal(opts_apply(&o, table, &c, "t", err, sizeof(err)), 0);
	assert_false(c.ro);
	assert_int_equal(c.mode, 0);
	assert_string_equal(c.name, "");
	assert_int_equal(c.u8, 7);		/* back to its default */
	opts_free(&o);
}

/* Apply "str" to table and expect ret with exactly msg. */
static void apply_bad(const char *str, int ret, const char *msg)
{
	struct opts o;
	struct conf c;
	char err[256] = "";
	int r;

	assert_int_equal(opts_parse(&o, str, NULL, false, err, sizeof(err)), 0);
	r = opts_apply(&o, table, &c, "virtio-blk-pci", err, sizeof(err));
	opts_free(&o);
	if (r != ret)
		fail_msg("'%s' gave %d, not %d (%s)", str, r, ret, err);
	if (strcmp(err, msg))
		fail_msg("'%s': '%s', not '%s'", str, err, msg);
}

static void test_apply_errors(void **state)
{
	apply_bad("num-queues=99", -ERANGE,
		  "virtio-blk-pci: key 'num-queues': 99 is out of range (1..16)");
	apply_bad("num-queues=0", -ERANGE,
		  "virtio-blk-pci: key 'num-queues': 0 is out of range (1..16)");
	apply_bad("num-queues=0x11", -ERANGE,
		  "virtio-blk-pci: key 'num-queues': 0x11 is out of range (1..16)");
	apply_bad("num-queues=four", -EINVAL,
		  "virtio-blk-pci: key 'num-queues': 'four' is not a number (decimal or 0x hex)");
	apply_bad("u8=256", -ERANGE, "virtio-blk-pci: key 'u8': 256 is out of range (0..255)");
	apply_bad("u16=0x10000", -ERANGE,
		  "virtio-blk-pci: key 'u16': 0x10000 is out of range (0..65535)");
	apply_bad("u64=18446744073709551616", -ERANGE, "virtio-blk-pci: key 'u64': "
		  "18446744073709551616 is out of range (0..18446744073709551615)");
	apply_bad("u8=", -EINVAL,
		  "virtio-blk-pci: key 'u8': '' is not a number (decimal or 0x hex)");
	apply_bad("readonly=maybe", -EINVAL, "virtio-blk-pci: key 'readonly': bad value "
		  "'maybe' for a boolean (on, off, yes, no, true, false)");
	apply_bad("size=1X", -EINVAL, "virtio-blk-pci: key 'size': '1X' is not a size "
		  "(examples: 65536, 512M, 1G, 4KiB)");
	apply_bad("size=2T", -ERANGE, "virtio-blk-pci: key 'size': 2T is out of range (4K..1T)");
	apply_bad("size=4095", -ERANGE,
		  "virtio-blk-pci: key 'size': 4095 is out of range (4K..1T)");
	apply_bad("size=99999999999T", -ERANGE,
		  "virtio-blk-pci: key 'size': 99999999999T is out of range (4K..1T)");
	apply_bad("aio=posix", -EINVAL,
		  "virtio-blk-pci: key 'aio': 'posix' is not one of threads, native, io_uring");
	apply_bad("name=abcdefgh", -EINVAL,
		  "virtio-blk-pci: key 'name': the value is 8 bytes, at most 7 are allowed");
	/* a long value is cut in the message so the reason still shows */
	apply_bad("aio=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  -EINVAL, "virtio-blk-pci: key 'aio': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaa...' is not one of threads, native, io_uring");
}

static void test_table_mistakes(void **state)
{
	struct bad {
		uint64_t a;
		int e;
		uint8_t b[3];
	} s;
	const struct opt_desc bad_default[] = {
		OPT_D_UINT(struct bad, a, "a", "300", 0, 255, NULL),
		{ .name = NULL },
	};
	const struct opt_desc odd_size[] = {
		{ .name = "b", .type = OPT_UINT, .offset = offsetof(struct bad, b), .size = 3 },
		{ .name = NULL },
	};
	const struct opt_desc no_choices[] = {
		OPT_D_ENUM(struct bad, e, "e", NULL, NULL, NULL),
		{ .name = NULL },
	};
	struct opts o;
	char err[256];

	memset(&s, 0xff, sizeof(s));
	opts_defaults(bad_default, &s);
	assert_true(s.a == 0);
	opts_init(&o);
	assert_int_equal(opts_apply(&o, bad_default, &s, "t", err, sizeof(err)), -ERANGE);
	assert_int_equal(opts_set(&o, "b", "1"), 0);
	assert_int_equal(opts_apply(&o, odd_size, &s, "t", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "3-byte"));
	assert_int_equal(opts_set(&o, "e", "x"), 0);
	assert_int_equal(opts_apply(&o, no_choices, &s, "t", err, sizeof(err)), -EINVAL);
	assert_int_equal(opts_apply(&o, NULL, &s, "t", err, sizeof(err)), 0);
	opts_free(&o);
}

static void test_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	opts_help(f, table);
	fclose(f);
	assert_non_null(strstr(buf, "  name=<string> (default dflt) - a short name\n"));
	assert_non_null(strstr(buf, "  readonly=<on|off> (default off) - refuse writes\n"));
	assert_non_null(strstr(buf, "  u8=<number 0..255> (default 7) - a byte\n"));
	assert_non_null(strstr(buf, "  u16=<number 0..65535> (default 0) - a half\n"));
	assert_non_null(strstr(buf, "  num-queues=<number 1..16> (default 1) - queues\n"));
	assert_non_null(strstr(buf, "  size=<size 4K..1T> (default 1M) - bytes\n"));
	assert_non_null(strstr(buf, "  aio=<one of threads|native|io_uring> (default io_uring)"
			       " - engine\n"));
	assert_non_null(strstr(buf, "  path=<string>\n"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_implied),
		cmocka_unit_test(test_parse_bare_flags),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_set_del),
		cmocka_unit_test(test_check_used),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_apply_defaults),
		cmocka_unit_test(test_apply_values),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_table_mistakes),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
