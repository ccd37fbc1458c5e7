/* Unit tests for user/vmm/cli.c: keel's command line, good and hostile. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "vmm/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(int argc, char **argv, struct cli_config *cfg, char *err)
{
	return cli_parse(argc, argv, cfg, err, CLI_ERR_MAX);
}

static void test_defaults(void **state)
{
	char *argv[] = { "keel", "run", "--kernel", "bzImage" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_null(cfg.initrd);
	assert_null(cfg.cmdline);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory, 512 << 20);
	assert_string_equal(cfg.serial, "stdio");
	assert_false(cfg.no_reboot);
}

static void test_all_options(void **state)
{
	char *argv[] = { "keel", "run", "--kernel=vmlinux", "--initrd", "ird.gz",
			 "--cmdline", "console=ttyS0 quiet", "--cpus=4", "--memory", "1G",
			 "--serial=file:/tmp/x", "--no-reboot" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_string_equal(cfg.kernel, "vmlinux");
	assert_string_equal(cfg.initrd, "ird.gz");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.memory, 1ULL << 30);
	assert_string_equal(cfg.serial, "file:/tmp/x");
	assert_true(cfg.no_reboot);
}

static void test_empty_cmdline_value(void **state)
{
	char *argv[] = { "keel", "run", "--kernel", "k", "--cmdline=" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_string_equal(cfg.cmdline, "");
}

static void test_on_panic(void **state)
{
	static const struct {
		const char *arg;
		enum cli_on_panic want;
		const char *path;
	} good[] = {
		{ "--on-panic=pause", CLI_PANIC_PAUSE, NULL },
		{ "--on-panic=poweroff", CLI_PANIC_POWEROFF, NULL },
		{ "--on-panic=restart", CLI_PANIC_RESTART, NULL },
		{ "--on-panic=coredump-destroy", CLI_PANIC_COREDUMP, NULL },
		{ "--on-panic=coredump-destroy,path=/tmp/c,x", CLI_PANIC_COREDUMP, "/tmp/c,x" },
	};
	static const char *const bad[] = {
		"--on-panic=", "--on-panic=Pause", "--on-panic=coredump", "--on-panic=pause,x",
		"--on-panic=coredump-destroyx", "--on-panic=coredump-destroy,",
		"--on-panic=coredump-destroy,path=", "--on-panic=coredump-destroy,file=/x",
		"--on-panic=poweroff,path=/x",
	};
	struct cli_config cfg;
	char err[CLI_ERR_MAX];
	unsigned int i;

	{
		char *argv[] = { "keel", "run", "--kernel", "k" };

		assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
		assert_int_equal(cfg.on_panic, CLI_PANIC_PAUSE);
		assert_null(cfg.panic_path);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *argv[] = { "keel", "run", "--kernel", "k", (char *)good[i].arg };

		assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
		assert_int_equal(cfg.on_panic, good[i].want);
		if (good[i].path)
			assert_string_equal(cfg.panic_path, good[i].path);
		else
			assert_null(cfg.panic_path);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "keel", "run", "--kernel", "k", (char *)bad[i] };

		err[0] = '\0';
		assert_int_equal(parse(ARGC(argv), argv, &cfg, err), -EINVAL);
		assert_non_null(strstr(err, "--on-panic"));
	}
	{
		/* The last one wins, and a plain action forgets an earlier path. */
		char *argv[] = { "keel", "run", "--kernel", "k",
				 "--on-panic=coredump-destroy,path=/a", "--on-panic", "restart" };

		assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
		assert_int_equal(cfg.on_panic, CLI_PANIC_RESTART);
		assert_null(cfg.panic_path);
	}
}

static void test_help_version(void **state)
{
	char *a1[] = { "keel", "--help" };
	char *a2[] = { "keel", "--version" };
	char *a3[] = { "keel", "run", "--help" };
	char *a4[] = { "keel", "run", "--kernel", "k", "--help" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(a1), a1, &cfg, err), CLI_HELP);
	assert_int_equal(parse(ARGC(a2), a2, &cfg, err), CLI_VERSION);
	assert_int_equal(parse(ARGC(a3), a3, &cfg, err), CLI_RUN_HELP);
	assert_int_equal(parse(ARGC(a4), a4, &cfg, err), CLI_RUN_HELP);
}

/* Each bad command line must fail with a message that names the problem. */
static void expect_bad(int argc, char **argv, const char *needle)
{
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(argc, argv, &cfg, err), -EINVAL);
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad(void **state)
{
	char *none[] = { "keel" };
	char *cmd[] = { "keel", "launch" };
	char *dash[] = { "keel", "--frobnicate" };
	char *nokernel[] = { "keel", "run", "--cpus", "2" };
	char *unknown[] = { "keel", "run", "--kernel", "k", "--disc", "x" };
	char *unknown_eq[] = { "keel", "run", "--kernel", "k", "--fast=yes" };
	char *missing[] = { "keel", "run", "--kernel" };
	char *missing2[] = { "keel", "run", "--kernel", "k", "--memory" };
	char *flagval[] = { "keel", "run", "--kernel", "k", "--no-reboot=1" };
	char *positional[] = { "keel", "run", "--kernel", "k", "extra" };
	char *bare[] = { "keel", "run", "--kernel", "k", "--" };
	char *single[] = { "keel", "run", "-k", "k" };
	char *cpus0[] = { "keel", "run", "--kernel", "k", "--cpus", "0" };
	char *cpusbig[] = { "keel", "run", "--kernel", "k", "--cpus", "100000" };
	char *cpushuge[] = { "keel", "run", "--kernel", "k", "--cpus", "99999999999999999999" };
	char *cpusneg[] = { "keel", "run", "--kernel", "k", "--cpus", "-1" };
	char *cpusjunk[] = { "keel", "run", "--kernel", "k", "--cpus", "2x" };
	char *cpushex[] = { "keel", "run", "--kernel", "k", "--cpus", "0x2" };
	char *cpusempty[] = { "keel", "run", "--kernel", "k", "--cpus=" };
	char *cpusspace[] = { "keel", "run", "--kernel", "k", "--cpus", " 2" };
	char *mem0[] = { "keel", "run", "--kernel", "k", "--memory", "0" };
	char *mem0m[] = { "keel", "run", "--kernel", "k", "--memory", "0M" };
	char *memjunk[] = { "keel", "run", "--kernel", "k", "--memory", "lots" };
	char *memunit[] = { "keel", "run", "--kernel", "k", "--memory", "256X" };
	char *memtail[] = { "keel", "run", "--kernel", "k", "--memory", "256Mi" };
	char *memneg[] = { "keel", "run", "--kernel", "k", "--memory", "-256M" };
	char *memhuge[] = { "keel", "run", "--kernel", "k", "--memory", "100000000T" };
	char *memwrap[] = { "keel", "run", "--kernel", "k", "--memory",
			    "99999999999999999999999" };
	char *memsmall[] = { "keel", "run", "--kernel", "k", "--memory", "4096" };
	char *serial[] = { "keel", "run", "--kernel", "k", "--serial", "tcp:1234" };
	char *serialfile[] = { "keel", "run", "--kernel", "k", "--serial", "file:" };
	char *emptykernel[] = { "keel", "run", "--kernel=" };

	expect_bad(ARGC(none), none, "no command");
	expect_bad(ARGC(cmd), cmd, "launch");
	expect_bad(ARGC(dash), dash, "--frobnicate");
	expect_bad(ARGC(nokernel), nokernel, "--kernel");
	expect_bad(ARGC(unknown), unknown, "--disc");
	expect_bad(ARGC(unknown_eq), unknown_eq, "--fast");
	expect_bad(ARGC(missing), missing, "needs a value");
	expect_bad(ARGC(missing2), missing2, "--memory");
	expect_bad(ARGC(flagval), flagval, "no value");
	expect_bad(ARGC(positional), positional, "extra");
	expect_bad(ARGC(bare), bare, "--");
	expect_bad(ARGC(single), single, "-k");
	expect_bad(ARGC(cpus0), cpus0, "range");
	expect_bad(ARGC(cpusbig), cpusbig, "range");
	expect_bad(ARGC(cpushuge), cpushuge, "range");
	expect_bad(ARGC(cpusneg), cpusneg, "not a number");
	expect_bad(ARGC(cpusjunk), cpusjunk, "not a number");
	expect_bad(ARGC(cpushex), cpushex, "not a number");
	expect_bad(ARGC(cpusempty), cpusempty, "not a number");
	expect_bad(ARGC(cpusspace), cpusspace, "not a number");
	expect_bad(ARGC(mem0), mem0, "too small");
	expect_bad(ARGC(mem0m), mem0m, "too small");
	expect_bad(ARGC(memjunk), memjunk, "not a size");
	expect_bad(ARGC(memunit), memunit, "not a size");
	expect_bad(ARGC(memtail), memtail, "not a size");
	expect_bad(ARGC(memneg), memneg, "not a size");
	expect_bad(ARGC(memhuge), memhuge, "too large");
	expect_bad(ARGC(memwrap), memwrap, "too large");
	expect_bad(ARGC(memsmall), memsmall, "too small");
	expect_bad(ARGC(serial), serial, "tcp:1234");
	expect_bad(ARGC(serialfile), serialfile, "file:");
	expect_bad(ARGC(emptykernel), emptykernel, "--kernel");
}

static void test_sizes(void **state)
{
	uint64_t v;

	assert_int_equal(cli_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(cli_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(cli_parse_size("1g", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(cli_parse_size("512MiB", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(cli_parse_size("64MB", &v), 0);
	assert_int_equal(v, 64ULL << 20);
	assert_int_equal(cli_parse_size("2T", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(cli_parse_size("4096k", &v), 0);
	assert_int_equal(v, 4096ULL << 10);
	assert_int_equal(cli_parse_size("268435456", &v), 0);
	assert_int_equal(v, 268435456ULL);
	assert_int_equal(cli_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(cli_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1GG", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1 G", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1Gb ", &v), -EINVAL);
	assert_int_equal(cli_parse_size(NULL, &v), -EINVAL);
}

static void test_memory_rounding(void **state)
{
	char *argv[] = { "keel", "run", "--kernel", "k", "--memory", "3000000" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_int_equal(cfg.memory, 3002368);
}

static void test_limits(void **state)
{
	char *argv[] = { "keel", "run", "--kernel", "k", "--memory", "8G", "--cpus", "16" };
	struct cli_limits lim = { .max_memory = 4ULL << 30, .max_cpus = 8 };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_int_equal(cli_check_limits(&cfg, &lim, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host"));
	lim.max_memory = 16ULL << 30;
	assert_int_equal(cli_check_limits(&cfg, &lim, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "KVM"));
	lim.max_cpus = 16;
	assert_int_equal(cli_check_limits(&cfg, &lim, err, sizeof(err)), 0);
	lim = (struct cli_limits){ 0 };
	assert_int_equal(cli_check_limits(&cfg, &lim, err, sizeof(err)), 0);
}

static void test_last_wins(void **state)
{
	char *argv[] = { "keel", "run", "--kernel", "a", "--kernel", "b", "--cpus", "2",
			 "--cpus=3" };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];

	assert_int_equal(parse(ARGC(argv), argv, &cfg, err), CLI_RUN);
	assert_string_equal(cfg.kernel, "b");
	assert_int_equal(cfg.cpus, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_empty_cmdline_value),
		cmocka_unit_test(test_on_panic),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_memory_rounding),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_last_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
