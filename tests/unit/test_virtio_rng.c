/*
 * Unit tests for user/devices/virtio/rng.c (VIRTIO 1.2 ch. 5.4): the --rng
 * option (the virtio-rng-pci properties), the rate-limit window, and the device served on the main loop
 * through a driver-side split ring in fake guest RAM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/device.h"
#include "devices/virtio/pci.h"
#include "devices/virtio/rng.h"
#include "fake_machine.h"
#include "lib/loop.h"
#include "lib/opts.h"
#include "vmm/cli.h"

#define RAM_SIZE	(1 << 20)
#define QSZ		8
#define DESC_GPA	0x10000
#define AVAIL_GPA	0x11000
#define USED_GPA	0x12000
#define BUF_GPA		0x20000
#define BUF_LEN		32

static char err[256];

/* ---- option ---- */

extern const struct device_type virtio_rng_pci_type;

/*
 * The properties of --rng / --device virtio-rng-pci as the registry type
 * reads them (lib/opts.h): arg may be NULL (all defaults).
 */
static int rng_conf(const char *arg, struct virtio_rng_config *c)
{
	struct opts o;
	int ret = 0;

	err[0] = '\0';
	memset(c, 0, sizeof(*c));
	if (!arg) {
		opts_defaults(virtio_rng_pci_type.props, c);
		return 0;
	}
	ret = opts_parse(&o, arg, NULL, false, err, sizeof(err));
	if (!ret)
		ret = opts_apply(&o, virtio_rng_pci_type.props, c, "virtio-rng-pci", err,
				 sizeof(err));
	if (!ret)
		ret = opts_check_used(&o, "virtio-rng-pci", err, sizeof(err));
	opts_free(&o);
	return ret;
}

static void test_parse_defaults(void **state)
{
	struct virtio_rng_config c;

	assert_int_equal(rng_conf(NULL, &c), 0);
	assert_string_equal(c.source, "getrandom");
	assert_int_equal(c.max_bytes, 0);
	assert_int_equal(c.period_ms, VIRTIO_RNG_DEFAULT_PERIOD_MS);
	assert_int_equal(rng_conf("source=getrandom", &c), 0);
	assert_string_equal(c.source, "getrandom");
	assert_int_equal(rng_conf("source=/dev/hwrng,max-bytes=1024,period=1000", &c), 0);
	assert_string_equal(c.source, "/dev/hwrng");
	assert_int_equal(c.max_bytes, 1024);
	assert_int_equal(c.period_ms, 1000);
	assert_int_equal(rng_conf("max-bytes=4096", &c), 0);
	assert_int_equal(c.max_bytes, 4096);
	assert_int_equal(c.period_ms, VIRTIO_RNG_DEFAULT_PERIOD_MS);
	assert_int_equal(rng_conf("max-bytes=0x1000", &c), 0);
	assert_int_equal(c.max_bytes, 4096);
	/* A path may hold '=' (only the first one splits) and ',' (written ",,"). */
	assert_int_equal(rng_conf("source=/tmp/a=b", &c), 0);
	assert_string_equal(c.source, "/tmp/a=b");
	assert_int_equal(rng_conf("source=/tmp/a,,b", &c), 0);
	assert_string_equal(c.source, "/tmp/a,b");
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "source", "=x", "max-bytes=-1", "max-bytes=1k",
		"max-bytes=99999999999999999999", "max-bytes=4294967296",
		"max-bytes=1,period=0", "max-bytes=1,period=3600001", "rate=5",
		"source=x,", ",source=x", "max-bytes= 1", "source=a,source=b",
	};
	struct virtio_rng_config c;
	char longsrc[VIRTIO_RNG_SOURCE_MAX + 16];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(rng_conf(bad[i], &c), 0);
	assert_int_not_equal(rng_conf("rate=5", &c), 0);
	assert_string_equal(err, "virtio-rng-pci: unknown key 'rate'");
	assert_int_not_equal(rng_conf("max-bytes=1,period=3600001", &c), 0);
	assert_non_null(strstr(err, "'period'"));
	assert_non_null(strstr(err, "1..3600000"));
	memset(longsrc, 'a', sizeof(longsrc));
	memcpy(longsrc, "source=", 7);
	longsrc[sizeof(longsrc) - 1] = '\0';
	assert_int_not_equal(rng_conf(longsrc, &c), 0);
	assert_non_null(strstr(err, "'source'"));
	/* The largest accepted values. */
	assert_int_equal(rng_conf("max-bytes=4294967295,period=3600000", &c), 0);
}

/* keel run's --rng: the value is optional, so the next option is not taken for it. */
static int cli(struct cli_config *cfg, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { "keel", "run", "--kernel", "vmlinux", (char *)a1, (char *)a2,
			 (char *)a3, NULL };
	int argc = 4 + !!a1 + !!a2 + !!a3;

	return cli_parse(argc, argv, cfg, err, sizeof(err));
}

static void test_cli_option(void **state)
{
	struct cli_config cfg;

	assert_int_equal(cli(&cfg, NULL, NULL, NULL), CLI_RUN);
	assert_int_equal(cfg.nr_devices, 0);
	assert_int_equal(cli(&cfg, "--rng", NULL, NULL), CLI_RUN);
	assert_int_equal(cfg.nr_devices, 1);
	assert_int_equal(cfg.devices[0].kind, CLI_DEV_RNG);
	assert_null(cfg.devices[0].str);
	assert_int_equal(cli(&cfg, "--rng", "--cpus", "2"), CLI_RUN);
	assert_int_equal(cfg.devices[0].kind, CLI_DEV_RNG);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cli(&cfg, "--rng", "source=/dev/hwrng,max-bytes=1024", NULL), CLI_RUN);
	assert_string_equal(cfg.devices[0].str, "source=/dev/hwrng,max-bytes=1024");
	assert_int_equal(cli(&cfg, "--rng=period=10,max-bytes=1", NULL, NULL), CLI_RUN);
	assert_int_equal(cli(&cfg, "--rng", "bogus", NULL), -EINVAL);
	assert_true(strstr(err, "--rng") != NULL);
	assert_int_equal(cli(&cfg, "--rng", "max-bytes=-1", NULL), -EINVAL);
	assert_int_equal(cli(&cfg, "--rng", "period=0", NULL), -EINVAL);
	assert_int_equal(cli(&cfg, "--rng", "period=3600001", NULL), -EINVAL);
	assert_int_equal(cli(&cfg, "--rng=", NULL, NULL), CLI_RUN);
	assert_int_equal(cfg.devices[0].kind, CLI_DEV_RNG);
	/* The long form is the same device. */
	assert_int_equal(cli(&cfg, "--device", "virtio-rng-pci,max-bytes=1024,period=10", NULL),
			 CLI_RUN);
	assert_int_equal(cli(&cfg, "--device", "virtio-rng-pci,max-bytes=x", NULL), -EINVAL);
}

/* ---- budget ---- */

static void test_budget(void **state)
{
	struct virtio_rng_budget b = { .max = 1024, .period_ns = 1000000000ull };
	struct virtio_rng_budget unlimited = { 0 };
	uint64_t wait;

	assert_int_equal(virtio_rng_budget_take(&unlimited, 5, 1 << 20, &wait), 1 << 20);
	assert_int_equal(wait, 0);

	assert_int_equal(virtio_rng_budget_take(&b, 1000, 600, &wait), 600);
	assert_int_equal(virtio_rng_budget_take(&b, 2000, 600, &wait), 424);
	assert_int_equal(virtio_rng_budget_take(&b, 3000, 1, &wait), 0);
	assert_int_equal(wait, 1000000000ull - 2000);
	/* Just before the window ends: still nothing. */
	assert_int_equal(virtio_rng_budget_take(&b, 1000 + 999999999ull, 1, &wait), 0);
	assert_int_equal(wait, 1);
	/* A new window opens where it is first used. */
	assert_int_equal(virtio_rng_budget_take(&b, 1000 + 1500000000ull, 2000, &wait), 1024);
	assert_int_equal(virtio_rng_budget_take(&b, 1000 + 2400000000ull, 1, &wait), 0);
	assert_int_equal(wait, 100000000ull);
	/* A clock that goes backwards does not stall the device forever. */
	assert_int_equal(virtio_rng_budget_take(&b, 10, 5, &wait), 5);

	/* 8 KiB at 1024 bytes per second: no earlier than 7 s after the first byte. */
	{
		struct virtio_rng_budget r = { .max = 1024, .period_ns = 1000000000ull };
		uint64_t now = 0, got = 0;

		while (got < 8192) {
			uint64_t g = virtio_rng_budget_take(&r, now, 4096, &wait);

			got += g;
			if (!g)
				now += wait;
		}
		assert_true(now >= 7000000000ull);
		assert_true(now < 8000000000ull);
	}
}

/* ---- the device ---- */

static struct fake_machine fm;
static struct virtio_rng *rng;
static struct pci_device *pdev;
static uint16_t avail_idx;

static uint64_t rd(uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	pdev->bar_ops[4]->read(pdev->opaque, off, &v, size);
	return v;
}

static void wr(uint64_t off, unsigned int size, uint64_t v)
{
	pdev->bar_ops[4]->write(pdev->opaque, off, &v, size);
}

static int rng_setup(const char *arg)
{
	struct virtio_rng_config c;

	fake_machine_init(&fm, RAM_SIZE);
	avail_idx = 0;
	assert_int_equal(rng_conf(arg, &c), 0);
	rng = virtio_rng_create(&fm.ms, "virtio-rng0", &c);
	if (rng)
		assert_non_null(virtio_pci_new(&fm.ms, virtio_rng_vdev(rng), NULL));
	if (!rng)
		return -1;
	pdev = virtio_pci_function(virtio_rng_vdev(rng));
	return 0;
}

static void rng_teardown(void)
{
	virtio_rng_free(rng);
	rng = NULL;
	fake_machine_fini(&fm);
}

/* Driver init (ch. 3.1.1) with queue 0 at the fixed ring areas. */
static void driver_init(void)
{
	assert_int_equal(rd(0x12, 2), 1);	/* num_queues */
	wr(0x14, 1, 0);
	wr(0x14, 1, 1);
	wr(0x14, 1, 3);
	wr(0x08, 4, 1);
	wr(0x0c, 4, 1);				/* VERSION_1 */
	wr(0x14, 1, 11);
	assert_int_equal(rd(0x14, 1), 11);
	wr(0x16, 2, 0);
	wr(0x18, 2, QSZ);
	wr(0x20, 8, DESC_GPA);
	wr(0x28, 8, AVAIL_GPA);
	wr(0x30, 8, USED_GPA);
	wr(0x1c, 2, 1);
	wr(0x14, 1, 15);
	assert_int_equal(rd(0x14, 1), 15);
}

/* Offer one writable buffer of len bytes at gpa (descriptor = slot). */
static void offer(uint64_t gpa, uint32_t len)
{
	uint8_t *d = fm.ram + DESC_GPA + 16 * (avail_idx % QSZ);
	uint16_t *avail = (uint16_t *)(fm.ram + AVAIL_GPA);
	uint16_t flags = VIRTQ_DESC_F_WRITE;

	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memset(d + 14, 0, 2);
	avail[2 + avail_idx % QSZ] = avail_idx % QSZ;
	avail_idx++;
	__atomic_store_n(&avail[1], avail_idx, __ATOMIC_RELEASE);
}

/* The driver's notify write; the transport turns it into the queue's kick. */
static void kick(void)
{
	wr(0x3000, 2, 0);
}

static uint16_t used_idx(void)
{
	return ((uint16_t *)(fm.ram + USED_GPA))[1];
}

static uint32_t used_len(unsigned int slot)
{
	uint32_t len;

	memcpy(&len, fm.ram + USED_GPA + 4 + 8 * (slot % QSZ) + 4, 4);
	return len;
}

static void stop_loop(void *opaque)
{
	loop_stop(fm.ms.loop, 0);
}

/* Run the main loop for ms milliseconds. */
static void run_for(unsigned int ms)
{
	struct loop_timer *t = loop_timer_new(fm.ms.loop, stop_loop, NULL);

	assert_non_null(t);
	assert_int_equal(loop_timer_arm(t, (uint64_t)ms * 1000000, 0), 0);
	loop_run(fm.ms.loop);
	loop_timer_free(t);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_getrandom(void **state)
{
	unsigned int i, same = 0;

	assert_int_equal(rng_setup(NULL), 0);
	driver_init();
	/* A request queued before the kick is served once the driver kicks. */
	offer(BUF_GPA, BUF_LEN);
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), BUF_LEN);
	for (i = 1; i < BUF_LEN; i++)
		same += fm.ram[BUF_GPA + i] == fm.ram[BUF_GPA];
	assert_true(same < BUF_LEN - 1);
	assert_int_equal(virtio_rng_bytes(rng), BUF_LEN);

	/* Several requests, one kick. */
	offer(BUF_GPA + 0x100, 16);
	offer(BUF_GPA + 0x200, 1);
	offer(BUF_GPA + 0x300, 0x1000);
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 4);
	assert_int_equal(used_len(1), 16);
	assert_int_equal(used_len(2), 1);
	assert_int_equal(used_len(3), 0x1000);
	rng_teardown();
}

static char tmp_path[64];

static void make_source(const void *data, size_t len)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/keel-rng-test.XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_file_source_and_error(void **state)
{
	static const char data[] = "0123456789abcdefghij";
	char arg[128];

	make_source(data, 20);
	snprintf(arg, sizeof(arg), "source=%s", tmp_path);
	assert_int_equal(rng_setup(arg), 0);
	driver_init();
	offer(BUF_GPA, 16);
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 16);
	assert_memory_equal(fm.ram + BUF_GPA, data, 16);
	/* Only 4 bytes left: a short answer is fine. */
	offer(BUF_GPA + 0x100, 16);
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_len(1), 4);
	assert_memory_equal(fm.ram + BUF_GPA + 0x100, data + 16, 4);
	/* The source is exhausted: logged once, the request waits, no spin, no empty answers. */
	offer(BUF_GPA + 0x200, 16);
	kick();
	run_for(30);
	assert_int_equal(used_idx(), 2);
	/* A reset while a request waits for the retry timer. */
	wr(0x14, 1, 0);
	run_for(10);
	assert_int_equal(used_idx(), 2);
	rng_teardown();
	unlink(tmp_path);
}

static void test_bad_sources(void **state)
{
	struct virtio_rng_config c;

	assert_int_equal(rng_conf("source=/nonexistent/keel-rng", &c), 0);
	assert_int_equal(virtio_rng_check_source(&c), -ENOENT);
	fake_machine_init(&fm, RAM_SIZE);
	assert_null(virtio_rng_create(&fm.ms, "virtio-rng0", &c));
	assert_int_equal(rng_conf("source=/tmp", &c), 0);
	assert_int_equal(virtio_rng_check_source(&c), -EINVAL);
	assert_null(virtio_rng_create(&fm.ms, "virtio-rng0", &c));
	assert_int_equal(rng_conf("source=getrandom", &c), 0);
	assert_int_equal(virtio_rng_check_source(&c), 0);
	assert_int_equal(rng_conf("source=/dev/urandom", &c), 0);
	assert_int_equal(virtio_rng_check_source(&c), 0);
	fake_machine_fini(&fm);
}

static void test_rate_limit(void **state)
{
	uint64_t t0;

	/* 16 bytes per 200 ms. */
	assert_int_equal(rng_setup("source=/dev/urandom,max-bytes=16,period=200"), 0);
	driver_init();
	t0 = now_ms();
	offer(BUF_GPA, BUF_LEN);
	offer(BUF_GPA + 0x100, BUF_LEN);
	offer(BUF_GPA + 0x200, BUF_LEN);
	kick();
	run_for(50);
	/* The first request got the window's 16 bytes; the others wait on a timer. */
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 16);
	run_for(200);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_len(1), 16);
	run_for(200);
	assert_int_equal(used_idx(), 3);
	assert_true(now_ms() - t0 >= 400);
	assert_int_equal(virtio_rng_bytes(rng), 48);

	/* Reset while a request waits for budget: the timer must not serve a stopped queue. */
	offer(BUF_GPA, BUF_LEN);
	kick();
	run_for(5);
	wr(0x14, 1, 0);
	run_for(250);
	assert_int_equal(used_idx(), 3);
	rng_teardown();
}

static void test_hostile_ring(void **state)
{
	uint8_t *d;

	assert_int_equal(rng_setup(NULL), 0);
	driver_init();
	/* A buffer outside guest RAM breaks the queue, never the VMM. */
	offer(RAM_SIZE - 8, 64);
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 0);
	assert_true(rd(0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Readable-only descriptors: an answer of 0 bytes after a reset. */
	wr(0x14, 1, 0);
	memset(fm.ram + AVAIL_GPA, 0, 0x2000);
	avail_idx = 0;
	driver_init();
	offer(BUF_GPA, 16);
	d = fm.ram + DESC_GPA;
	d[12] = 0;	/* not writable */
	kick();
	run_for(20);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 0);
	rng_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_cli_option),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_getrandom),
		cmocka_unit_test(test_file_source_and_error),
		cmocka_unit_test(test_bad_sources),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_hostile_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
