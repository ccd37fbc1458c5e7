/* Unit tests for user/vmm/bus.c: range registration, dispatch, unclaimed accesses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

struct fake_dev {
	uint64_t last_offset;
	unsigned int last_size;
	uint8_t last_byte;
	int reads, writes;
};

static void dev_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct fake_dev *d = dev;

	d->reads++;
	d->last_offset = offset;
	d->last_size = size;
	memset(data, 0x5a, size);
}

static void dev_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct fake_dev *d = dev;

	d->writes++;
	d->last_offset = offset;
	d->last_size = size;
	d->last_byte = *(const uint8_t *)data;
}

static const struct io_ops dev_ops = { .read = dev_read, .write = dev_write };

static void test_add_overlap(void **state)
{
	struct bus bus;
	struct fake_dev d = { 0 };

	bus_init(&bus, "pio");
	assert_int_equal(bus_add(&bus, 0x3f8, 8, &dev_ops, &d), 0);
	assert_int_equal(bus_add(&bus, 0x60, 1, &dev_ops, &d), 0);
	assert_int_equal(bus_add(&bus, 0x64, 1, &dev_ops, &d), 0);
	assert_int_equal(bus_add(&bus, 0x3f8, 1, &dev_ops, &d), -EEXIST);
	assert_int_equal(bus_add(&bus, 0x3ff, 1, &dev_ops, &d), -EEXIST);
	assert_int_equal(bus_add(&bus, 0x3f0, 9, &dev_ops, &d), -EEXIST);
	assert_int_equal(bus_add(&bus, 0x3f0, 8, &dev_ops, &d), 0);
	assert_int_equal(bus_add(&bus, 0x400, 0, &dev_ops, &d), -EINVAL);
	assert_int_equal(bus_add(&bus, UINT64_MAX, 2, &dev_ops, &d), -EINVAL);
	assert_int_equal(bus_add(&bus, UINT64_MAX, 1, &dev_ops, &d), 0);
	assert_int_equal(bus_add(&bus, 0x500, 1, NULL, &d), -EINVAL);
	assert_int_equal(bus.nr, 5);
	for (unsigned int i = 1; i < bus.nr; i++)
		assert_true(bus.ranges[i - 1].base < bus.ranges[i].base);
	bus_fini(&bus);
}

static void test_dispatch(void **state)
{
	struct bus bus;
	struct fake_dev a = { 0 }, b = { 0 };
	uint8_t buf[8];
	uint8_t v = 0x41;

	bus_init(&bus, "pio");
	for (unsigned int i = 0; i < 40; i++)	/* force a few reallocations */
		assert_int_equal(bus_add(&bus, 0x1000 + i * 16, 4, &dev_ops, &b), 0);
	assert_int_equal(bus_add(&bus, 0x3f8, 8, &dev_ops, &a), 0);

	assert_true(bus_write(&bus, 0x3f8, &v, 1));
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.last_offset, 0);
	assert_int_equal(a.last_byte, 0x41);
	assert_true(bus_read(&bus, 0x3fd, buf, 1));
	assert_int_equal(a.last_offset, 5);
	assert_int_equal(buf[0], 0x5a);
	assert_true(bus_read(&bus, 0x1000 + 39 * 16 + 2, buf, 2));
	assert_int_equal(b.last_offset, 2);
	assert_int_equal(b.last_size, 2);

	/* Straddling the end of a range, or between ranges: nobody's. */
	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(&bus, 0x3fe, buf, 4));
	assert_memory_equal(buf, "\xff\xff\xff\xff", 4);
	assert_false(bus_read(&bus, 0x1004, buf, 1));
	assert_false(bus_read(&bus, 0x10, buf, 8));
	assert_memory_equal(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_false(bus_write(&bus, 0x2f8, &v, 1));
	assert_false(bus_write(&bus, 0x2f8, &v, 1));
	assert_int_equal(bus.nr_seen, 0);	/* only tracked with debug logging on */
	assert_int_equal(a.writes, 1);
	bus_fini(&bus);
}

static void test_sink(void **state)
{
	struct bus bus;
	uint32_t val = 0xffffffff;

	bus_init(&bus, "pio");
	assert_int_equal(bus_add(&bus, 0x80, 1, &bus_sink_ops, NULL), 0);
	assert_true(bus_write(&bus, 0x80, &val, 1));
	assert_true(bus_read(&bus, 0x80, &val, 1));
	assert_int_equal(val & 0xff, 0);
	bus_fini(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_overlap),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
