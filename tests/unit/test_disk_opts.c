/*
 * Unit tests for user/vmm/disk.c: --disk / --iothread option strings (every key,
 * defaults, bad values, unknown keys and iothreads), through cli_parse too, and
 * disk_open's refusals (missing file, directory, vhdx/vpc without readonly=on).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "lib/log.h"
#include "vmm/cli.h"
#include "vmm/disk.h"

static void test_defaults(void **state)
{
	struct disk_conf c;
	char err[256];

	assert_int_equal(disk_parse("path=/tmp/a.img", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "/tmp/a.img");
	assert_null(c.format);
	assert_false(c.read_only);
	assert_string_equal(c.iothread, "");
	assert_int_equal(c.aio, BLOCK_AIO_URING);
	assert_int_equal(c.cache, BLOCK_CACHE_WRITEBACK);
	assert_false(c.discard);
	assert_string_equal(c.serial, "");
	assert_int_equal(c.num_queues, 1);
	assert_int_equal(c.werror, VIRTIO_BLK_WERROR_REPORT);
}

static void test_all_keys(void **state)
{
	struct disk_conf c;
	char err[256];

	assert_int_equal(disk_parse("path=/x,,y.vhdx,format=vhdx,readonly=on,iothread=io-0,"
				    "aio=native,cache=none,discard=unmap,serial=ABC 123,"
				    "num-queues=4,werror=stop", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "/x,y.vhdx");
	assert_string_equal(c.format, "vhdx");
	assert_true(c.read_only);
	assert_string_equal(c.iothread, "io-0");
	assert_int_equal(c.aio, BLOCK_AIO_NATIVE);
	assert_int_equal(c.cache, BLOCK_CACHE_NONE);
	assert_true(c.discard);
	assert_string_equal(c.serial, "ABC 123");
	assert_int_equal(c.num_queues, 4);
	assert_int_equal(c.werror, VIRTIO_BLK_WERROR_STOP);

	assert_int_equal(disk_parse("format=qcow2,path=q,aio=threads,cache=unsafe,discard=ignore,"
				    "readonly=off,werror=report", &c, err, sizeof(err)), 0);
	assert_string_equal(c.format, "qcow2");
	assert_int_equal(c.aio, BLOCK_AIO_THREADS);
	assert_int_equal(c.cache, BLOCK_CACHE_UNSAFE);
	assert_false(c.discard);
	assert_false(c.read_only);
	assert_int_equal(disk_parse("path=v,format=vpc,readonly=on,serial=12345678901234567890",
				    &c, err, sizeof(err)), 0);
	assert_string_equal(c.serial, "12345678901234567890");
	assert_int_equal(disk_parse("path=a,,", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "a,");
	/* numbers and booleans as every option reads them (Documentation/options.md) */
	assert_int_equal(disk_parse("path=a,num-queues=0x4,readonly=yes", &c, err, sizeof(err)), 0);
	assert_int_equal(c.num_queues, 4);
	assert_true(c.read_only);
}

static void expect_bad(const char *str, const char *needle)
{
	struct disk_conf c;
	char err[256] = "";

	if (disk_parse(str, &c, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' was accepted", str);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", str, err, needle);
}

static void test_bad_values(void **state)
{
	expect_bad("", "needs path");
	expect_bad("format=raw", "needs path=FILE");
	expect_bad("path=", "path is empty");
	expect_bad("path=a,foo=1", "unknown key 'foo'");
	expect_bad("path=a,readonly", "not key=value");
	expect_bad("path=a,", "not key=value");
	expect_bad("path=a,,,", "not key=value");	/* "a," then a trailing comma */
	expect_bad("path=a,format=vmdk", "format 'vmdk'");
	expect_bad("path=a,format=vhdx", "read-only in keel");
	expect_bad("path=a,format=vpc,readonly=off", "read-only in keel");
	expect_bad("path=a,readonly=maybe", "readonly is on or off");
	expect_bad("path=a,aio=posix", "aio 'posix'");
	expect_bad("path=a,cache=directsync", "cache 'directsync'");
	expect_bad("path=a,discard=yes please", "discard");
	expect_bad("path=a,serial=123456789012345678901", "longer than 20");
	expect_bad("path=a,serial=a\tb", "printable");
	expect_bad("path=a,num-queues=0", "num-queues");
	expect_bad("path=a,num-queues=17", "num-queues");
	expect_bad("path=a,num-queues=-1", "num-queues");
	expect_bad("path=a,num-queues=1x", "num-queues");
	expect_bad("path=a,num-queues=99999999999999999999", "num-queues");
	expect_bad("path=a,werror=ignore", "werror 'ignore'");
	expect_bad("path=a,iothread=", "not a valid id");
	expect_bad("path=a,iothread=a b", "not a valid id");
	expect_bad("path=a,iothread=0123456789012345678901234567890123", "not a valid id");
	expect_bad("path=a,path=b", "given twice");
	/* the shared grammar (lib/opts.h) names what is wrong with the element */
	expect_bad("=a", "an empty key");
	expect_bad("path=a,,,", "trailing comma");
	expect_bad("path=a,PATH=b", "unknown key 'PATH'");
	expect_bad("path=a,num queues=2", "bad key");
	expect_bad("path=a,readonly=on,readonly=off", "given twice");
}

static void test_long_path(void **state)
{
	size_t n = DISK_PATH_MAX + 10;
	char *s = malloc(n + 8), err[256];
	struct disk_conf c;

	memcpy(s, "path=", 5);
	memset(s + 5, 'a', n);
	s[5 + n] = '\0';
	assert_int_equal(disk_parse(s, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	free(s);
}

static void test_iothreads(void **state)
{
	const char *disks[] = { "path=a,iothread=io0", "path=b", "path=c,iothread=io1" };
	const char *its[] = { "id=io0", "id=io1" };
	const char *dup[] = { "id=io0", "id=io0" };
	const char *bad[] = { "io0" };
	const char *bad2[] = { "id=io0,x=1" };
	char err[256], id[IOTHREAD_ID_MAX];

	assert_int_equal(disk_parse_iothread("id=abc.1_2-3", id, err, sizeof(err)), 0);
	assert_string_equal(id, "abc.1_2-3");
	assert_int_equal(disk_check_config(disks, 3, its, 2, err, sizeof(err)), 0);
	assert_int_equal(disk_check_config(disks, 3, its, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no --iothread id=io1"));
	assert_int_equal(disk_check_config(NULL, 0, dup, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(disk_check_config(NULL, 0, bad, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not id=ID"));
	assert_int_equal(disk_check_config(NULL, 0, bad2, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(disk_check_config(NULL, 0, NULL, 0, err, sizeof(err)), 0);
}

static void test_cli(void **state)
{
	char *ok[] = { "keel", "run", "--kernel", "k", "--iothread", "id=io0",
		       "--disk", "path=a,iothread=io0", "--disk=path=b,readonly=on", NULL };
	char *unknown[] = { "keel", "run", "--kernel", "k", "--disk", "path=a,iothread=io9",
			    NULL };
	char *badkey[] = { "keel", "run", "--kernel", "k", "--disk", "path=a,size=1G", NULL };
	char *many[40] = { "keel", "run", "--kernel", "k" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];
	int i;

	assert_int_equal(cli_parse(9, ok, &cfg, err, sizeof(err)), CLI_RUN);
	assert_int_equal(cfg.nr_disks, 2);
	assert_int_equal(cfg.nr_iothreads, 1);
	assert_int_equal(cfg.devices[1].kind, CLI_DEV_DISK);
	assert_string_equal(cfg.devices[1].str, "path=b,readonly=on");
	assert_int_equal(cli_parse(6, unknown, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "io9"));
	assert_int_equal(cli_parse(6, badkey, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'size'"));
	for (i = 0; i < 17; i++) {
		many[4 + 2 * i] = "--disk";
		many[5 + 2 * i] = "path=x";
	}
	assert_int_equal(cli_parse(4 + 34, many, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 16"));
}

static void test_open_refusals(void **state)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct block_dev *bd = NULL;
	struct disk_conf c;
	char err[256], path[256], spec[300];
	FILE *f;

	log_threshold = LOG_ERR;
	snprintf(path, sizeof(path), "%s/keel-test-disk-%d", dir, (int)getpid());
	snprintf(spec, sizeof(spec), "path=%s", path);
	unlink(path);
	/* missing */
	assert_int_equal(disk_parse(spec, &c, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&c, &bd), -ENOENT);
	/* a directory */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(disk_open(&c, &bd) < 0);
	rmdir(path);
	/* a probed VPC footer without readonly=on */
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("conectix", 1, 8, f);
	fclose(f);
	assert_int_equal(disk_open(&c, &bd), -EROFS);
	/* a raw image opens, and its size is the file's */
	assert_int_equal(truncate(path, 1 << 20), 0);
	f = fopen(path, "r+");
	fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
	fclose(f);
	snprintf(spec, sizeof(spec), "path=%s,format=raw,aio=threads", path);
	assert_int_equal(disk_parse(spec, &c, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&c, &bd), 0);
	assert_int_equal(bd->size, 1 << 20);
	block_close(bd);
	/* readonly=on on a file we may not write is fine */
	assert_int_equal(chmod(path, 0400), 0);
	snprintf(spec, sizeof(spec), "path=%s,format=raw,readonly=on", path);
	assert_int_equal(disk_parse(spec, &c, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&c, &bd), 0);
	assert_true(bd->read_only);
	block_close(bd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_iothreads),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_open_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
