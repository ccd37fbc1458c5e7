/*
 * Unit tests for user/devices/virtio/virtqueue.c, split.c and packed.c: rings
 * laid out in fake guest RAM by a small test driver, normal and hostile cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_machine.h"
#include "devices/virtio/virtqueue.h"
#include "devices/virtio/virtqueue_ring.h"
#include "lib/log.h"

#define RAM_SIZE	(1u << 20)
#define DESC_GPA	0x10000u	/* up to 2048 descriptors */
#define AVAIL_GPA	0x20000u
#define USED_GPA	0x30000u
#define BUF_GPA		0x40000u	/* data buffers and indirect tables */
#define TABLE_GPA	0xf0000u

struct ctx {
	struct fake_machine fm;
	struct virtq vq;
	struct virtq_elem elem;
	struct virtq_config cfg;
	/* Test driver state. */
	uint16_t avail_idx;
	uint16_t next_avail;		/* packed */
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	log_threshold = LOG_ERR;
	fake_machine_init(&c->fm, RAM_SIZE);
	c->cfg.size = 8;
	c->cfg.desc_gpa = DESC_GPA;
	c->cfg.driver_gpa = AVAIL_GPA;
	c->cfg.device_gpa = USED_GPA;
	c->cfg.indirect = true;
	c->avail_wrap = true;
	c->used_wrap = true;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	virtq_stop(&c->vq);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

static void *gpa(struct ctx *c, uint64_t a)
{
	return c->fm.ram + a;
}

static int start(struct ctx *c, uint32_t size, bool packed, bool event_idx)
{
	c->cfg.size = size;
	c->cfg.packed = packed;
	c->cfg.event_idx = event_idx;
	return virtq_start(&c->vq, &c->fm.ms, "test0/0", &c->cfg);
}

/* ---- split test driver ---- */

static void put_desc(struct ctx *c, uint64_t table, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_split_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.flags = htole16(flags), .next = htole16(next),
	};

	memcpy(gpa(c, table + 16ull * i), &d, sizeof(d));
}

static void set16(struct ctx *c, uint64_t a, uint16_t v)
{
	v = htole16(v);
	memcpy(gpa(c, a), &v, 2);
}

static uint16_t get16(struct ctx *c, uint64_t a)
{
	uint16_t v;

	memcpy(&v, gpa(c, a), 2);
	return le16toh(v);
}

static uint32_t get32(struct ctx *c, uint64_t a)
{
	uint32_t v;

	memcpy(&v, gpa(c, a), 4);
	return le32toh(v);
}

static void avail_set_idx(struct ctx *c, uint16_t idx)
{
	set16(c, AVAIL_GPA + 2, idx);
}

static void avail_add(struct ctx *c, uint16_t head)
{
	set16(c, AVAIL_GPA + 4 + 2 * (c->avail_idx % c->cfg.size), head);
	avail_set_idx(c, ++c->avail_idx);
}

static uint16_t used_idx(struct ctx *c)
{
	return get16(c, USED_GPA + 2);
}

static void used_elem(struct ctx *c, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint64_t a = USED_GPA + 4 + 8ull * (slot % c->cfg.size);

	*id = get32(c, a);
	*len = get32(c, a + 4);
}

static void set_used_event(struct ctx *c, uint16_t v)
{
	set16(c, AVAIL_GPA + 4 + 2 * c->cfg.size, v);
}

static uint16_t avail_event(struct ctx *c)
{
	return get16(c, USED_GPA + 4 + 8 * c->cfg.size);
}

/* Pop must fail with err, and the queue must stay broken with it. */
static void expect_broken(struct ctx *c, int err)
{
	assert_int_equal(virtq_pop(&c->vq, &c->elem), err);
	assert_true(virtq_is_broken(&c->vq));
	assert_int_equal(virtq_pop(&c->vq, &c->elem), err);
	assert_false(virtq_should_notify(&c->vq));
}

static void test_split_simple(void **state)
{
	struct ctx *c = *state;
	uint32_t id, len;

	assert_int_equal(start(c, 8, false, false), 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	put_desc(c, DESC_GPA, 3, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 5);
	put_desc(c, DESC_GPA, 5, BUF_GPA + 0x100, 20, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, DESC_GPA, 1, BUF_GPA + 0x200, 30, VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, 3);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.id, 3);
	assert_int_equal(c->elem.out_num, 2);
	assert_int_equal(c->elem.in_num, 1);
	assert_int_equal(c->elem.out_len, 30);
	assert_int_equal(c->elem.in_len, 30);
	assert_ptr_equal(c->elem.iov[0].iov_base, gpa(c, BUF_GPA));
	assert_int_equal(c->elem.iov[0].iov_len, 10);
	assert_ptr_equal(c->elem.iov[1].iov_base, gpa(c, BUF_GPA + 0x100));
	assert_ptr_equal(virtq_elem_in(&c->elem)[0].iov_base, gpa(c, BUF_GPA + 0x200));
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_int_equal(used_idx(c), 0);
	/* More than was writable is a device bug, refused without breaking. */
	assert_int_equal(virtq_push(&c->vq, &c->elem, 31), -EINVAL);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 7), 0);
	assert_int_equal(used_idx(c), 1);
	used_elem(c, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 7);
	/* Pushing it twice is a device bug too. */
	assert_int_equal(virtq_push(&c->vq, &c->elem, 7), -EINVAL);
	assert_int_equal(used_idx(c), 1);
	assert_false(virtq_is_broken(&c->vq));
	/* Without EVENT_IDX, the avail flags decide. */
	assert_true(virtq_should_notify(&c->vq));
	set16(c, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_notify(&c->vq));
}

static void test_split_zero_length(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 8, false, false), 0);
	/* An empty descriptor, even at an address outside RAM, carries nothing. */
	put_desc(c, DESC_GPA, 0, 0xdead00000000ull, 0, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, DESC_GPA, 1, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.out_num, 0);
	assert_int_equal(c->elem.in_num, 1);
}

/* Many chains through a small ring: the 16-bit indexes wrap past 65535. */
static void test_split_wraparound(void **state)
{
	struct ctx *c = *state;
	unsigned int round, k, n, total = 0;
	uint32_t id, len;

	assert_int_equal(start(c, 4, false, true), 0);
	for (round = 0; round < 35000; round++) {
		n = 1 + round % 3;
		for (k = 0; k < n; k++) {
			put_desc(c, DESC_GPA, k, BUF_GPA + k * 0x100, 4,
				 VIRTQ_DESC_F_WRITE, 0);
			avail_add(c, k);
		}
		for (k = 0; k < n; k++) {
			assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
			assert_int_equal(c->elem.id, k);
		}
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
		/* Complete out of order: last first. */
		for (k = n; k-- > 0;) {
			c->elem.id = k;
			c->elem.in_len = 4;
			assert_int_equal(virtq_push(&c->vq, &c->elem, k), 0);
		}
		used_elem(c, (uint16_t)(used_idx(c) - 1), &id, &len);
		assert_int_equal(id, 0);
		assert_int_equal(used_idx(c), c->avail_idx);
		total += n;
	}
	assert_true(total > 65536);	/* the indexes did wrap */
	assert_int_equal(c->avail_idx, total & 0xffff);
	assert_false(virtq_is_broken(&c->vq));
}

static void test_split_indirect(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 8, false, false), 0);
	/* A direct descriptor first, then an indirect one of 2 ends the chain. */
	put_desc(c, DESC_GPA, 6, BUF_GPA + 0x300, 11, VIRTQ_DESC_F_NEXT, 7);
	put_desc(c, DESC_GPA, 7, TABLE_GPA + 0x400, 32, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(c, TABLE_GPA + 0x400, 0, BUF_GPA, 12, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, TABLE_GPA + 0x400, 1, BUF_GPA + 0x200, 14, VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, 6);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.out_num, 2);
	assert_int_equal(c->elem.in_num, 1);
	assert_int_equal(c->elem.iov[0].iov_len, 11);
	assert_int_equal(c->elem.iov[1].iov_len, 12);
	assert_int_equal(c->elem.iov[2].iov_len, 14);
	assert_int_equal(c->elem.id, 6);

	/* Whole chain in one table of 4, entry 0 -> 3; the rest unused. */
	put_desc(c, TABLE_GPA, 2, BUF_GPA, 12, VIRTQ_DESC_F_NEXT, 0);
	put_desc(c, TABLE_GPA, 0, BUF_GPA + 0x100, 13, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	put_desc(c, TABLE_GPA, 3, BUF_GPA + 0x200, 14, VIRTQ_DESC_F_WRITE, 0);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 64, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, 0);
	/* The walk starts at entry 0; WRITE on the table descriptor is ignored. */
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.out_num, 0);
	assert_int_equal(c->elem.in_num, 2);
	assert_int_equal(c->elem.in_len, 13 + 14);
}

/* Each hostile split case on a fresh queue. */
static void split_hostile_start(struct ctx *c)
{
	virtq_stop(&c->vq);
	memset(c->fm.ram, 0, RAM_SIZE);
	c->avail_idx = 0;
	assert_int_equal(start(c, 8, false, false), 0);
}

static void test_split_hostile(void **state)
{
	struct ctx *c = *state;

	/* avail entry names a descriptor >= queue size */
	split_hostile_start(c);
	avail_add(c, 8);
	expect_broken(c, -EINVAL);

	/* descriptor chains to an index >= queue size */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 9);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);

	/* a loop: 0 -> 1 -> 2 -> 0 */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, DESC_GPA, 1, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 2);
	put_desc(c, DESC_GPA, 2, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	avail_add(c, 1);
	expect_broken(c, -ELOOP);

	/* a descriptor chained to itself */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 5, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 5);
	avail_add(c, 5);
	expect_broken(c, -ELOOP);

	/* outside RAM */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, RAM_SIZE - 8, 16, 0, 0);
	avail_add(c, 0);
	expect_broken(c, -EFAULT);

	/* address + len wraps the 64-bit space */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, UINT64_MAX - 4, 16, 0, 0);
	avail_add(c, 0);
	expect_broken(c, -EFAULT);

	/* writable then readable */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(c, DESC_GPA, 1, BUF_GPA, 4, 0, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);

	/* avail idx more than a queue size ahead */
	split_hostile_start(c);
	avail_set_idx(c, 9);
	expect_broken(c, -EINVAL);

	/* the same head offered twice while in flight */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 2, BUF_GPA, 4, 0, 0);
	avail_add(c, 2);
	avail_add(c, 2);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	expect_broken(c, -EINVAL);
	/* once broken, pushes are refused too */
	assert_int_equal(virtq_push(&c->vq, &c->elem, 0), -EINVAL);
}

static void test_split_hostile_indirect(void **state)
{
	struct ctx *c = *state;

	/* indirect without VIRTIO_F_INDIRECT_DESC */
	c->cfg.indirect = false;
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);
	c->cfg.indirect = true;

	/* indirect and NEXT together */
	split_hostile_start(c);
	put_desc(c, TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, DESC_GPA, 1, BUF_GPA, 4, 0, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);

	/* indirect inside an indirect table */
	split_hostile_start(c);
	put_desc(c, TABLE_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);

	/* table length zero, not a multiple of 16, too large */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, BUF_GPA, 16 * (VIRTQ_MAX_INDIRECT + 1), VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -E2BIG);

	/* table outside RAM */
	split_hostile_start(c);
	put_desc(c, DESC_GPA, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EFAULT);

	/* NEXT inside the table pointing outside it */
	split_hostile_start(c);
	put_desc(c, TABLE_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 2);
	put_desc(c, TABLE_GPA, 2, BUF_GPA, 4, 0, 0);	/* exists in RAM, not in the table */
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EINVAL);

	/* a loop inside the table */
	split_hostile_start(c);
	put_desc(c, TABLE_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, TABLE_GPA, 1, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -ELOOP);

	/* an entry of the table outside RAM is named by its entry */
	split_hostile_start(c);
	put_desc(c, TABLE_GPA, 0, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, TABLE_GPA, 1, 1ull << 40, 4, 0, 0);
	put_desc(c, DESC_GPA, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(c, 0);
	expect_broken(c, -EFAULT);
}

/* More segments than an element holds. */
static void test_split_too_many_segments(void **state)
{
	struct ctx *c = *state;
	unsigned int i, n = VIRTQ_MAX_SEGS + 1;

	assert_int_equal(start(c, 2048, false, false), 0);
	for (i = 0; i < n; i++)
		put_desc(c, DESC_GPA, i, BUF_GPA, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(c, 0);
	expect_broken(c, -E2BIG);

	/* Exactly VIRTQ_MAX_SEGS is fine. */
	virtq_stop(&c->vq);
	c->avail_idx = 0;
	assert_int_equal(start(c, 2048, false, false), 0);
	put_desc(c, DESC_GPA, n - 2, BUF_GPA, 1, 0, 0);
	avail_add(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.out_num, VIRTQ_MAX_SEGS);
}

/*
 * A machine whose RAM above 1 GiB is a mirror of the fake RAM, so buffers of
 * gigabytes exist without gigabytes of memory (pop never touches them).
 */
static void *huge_gpa_to_hva(void *opaque, uint64_t a, uint64_t len)
{
	struct fake_machine *fm = opaque;

	if (a >= (1ull << 30) && a < (16ull << 30) && len <= (16ull << 30) - a)
		return fm->ram;
	if (a >= fm->ram_size || len > fm->ram_size - a)
		return NULL;
	return fm->ram + a;
}

static void test_split_over_4g(void **state)
{
	struct ctx *c = *state;

	c->fm.ms.gpa_to_hva = huge_gpa_to_hva;
	assert_int_equal(start(c, 8, false, false), 0);
	put_desc(c, DESC_GPA, 0, 1ull << 30, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
	put_desc(c, DESC_GPA, 1, 4ull << 30, 0x7ffffffeu, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	put_desc(c, DESC_GPA, 2, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);	/* 4 GiB - 1 in all */
	avail_add(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal((uint64_t)c->elem.out_len + c->elem.in_len, UINT32_MAX);
	put_desc(c, DESC_GPA, 4, 1ull << 30, 0x80000000u, VIRTQ_DESC_F_NEXT, 5);
	put_desc(c, DESC_GPA, 5, 4ull << 30, 0x80000000u, VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, 4);
	expect_broken(c, -E2BIG);
}

static void test_config(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 0, false, false), -EINVAL);
	assert_int_equal(start(c, 6, false, false), -EINVAL);
	assert_int_equal(start(c, 65536, false, false), -EINVAL);
	assert_int_equal(start(c, 32769, true, false), -EINVAL);
	assert_int_equal(start(c, 0, true, false), -EINVAL);
	assert_int_equal(start(c, 6, true, false), 0);
	assert_int_equal(start(c, 1, false, false), 0);
	c->cfg.desc_gpa = DESC_GPA + 8;
	assert_int_equal(start(c, 8, false, false), -EINVAL);
	c->cfg.desc_gpa = DESC_GPA;
	c->cfg.device_gpa = USED_GPA + 2;
	assert_int_equal(start(c, 8, false, false), -EINVAL);
	c->cfg.device_gpa = RAM_SIZE - 64;
	assert_int_equal(start(c, 8, false, false), -EFAULT);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), -EFAULT);
	c->cfg.device_gpa = USED_GPA;
	assert_int_equal(start(c, 8, false, false), 0);
	assert_false(virtq_is_broken(&c->vq));
	/* A queue never started pops nothing. */
	virtq_stop(&c->vq);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), -EIO);
	/* The largest split ring fits in 1 MiB of RAM at 0. */
	c->cfg.desc_gpa = 0;
	c->cfg.driver_gpa = 0x80000;
	c->cfg.device_gpa = 0xa0000;
	assert_int_equal(start(c, 32768, false, true), 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
}

static void test_need_event(void **state)
{
	(void)state;
	assert_true(virtq_need_event(0, 1, 0));
	assert_false(virtq_need_event(1, 1, 0));
	assert_true(virtq_need_event(5, 10, 3));
	assert_false(virtq_need_event(10, 10, 3));
	assert_false(virtq_need_event(2, 10, 3));
	/* across the 16-bit wrap */
	assert_true(virtq_need_event(0xffff, 2, 0xfffe));
	assert_true(virtq_need_event(0, 2, 0xfffe));
	assert_false(virtq_need_event(2, 2, 0xfffe));
	assert_false(virtq_need_event(0xfffd, 2, 0xfffe));
}

static void push_one(struct ctx *c, uint16_t head)
{
	put_desc(c, DESC_GPA, head, BUF_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
	avail_add(c, head);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 0), 0);
}

static void test_split_event_idx(void **state)
{
	struct ctx *c = *state;
	int i;

	assert_int_equal(start(c, 8, false, true), 0);
	/* NO_INTERRUPT is ignored under EVENT_IDX (§2.7.7). */
	set16(c, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(c, 0);
	push_one(c, 0);
	assert_true(virtq_should_notify(&c->vq));	/* used idx passed 0 */
	/* The driver wants an interrupt once used idx passes 4. */
	set_used_event(c, 4);
	for (i = 1; i <= 3; i++) {
		push_one(c, 0);
		assert_false(virtq_should_notify(&c->vq));
	}
	push_one(c, 0);
	assert_true(virtq_should_notify(&c->vq));
	/* Nothing new: no interrupt. */
	assert_false(virtq_should_notify(&c->vq));
	/* Several pushes between decisions, event in the middle. */
	set_used_event(c, 6);
	push_one(c, 0);
	push_one(c, 0);
	push_one(c, 0);
	assert_true(virtq_should_notify(&c->vq));

	/* Kick suppression: avail_event follows what the device consumed. */
	virtq_disable_notify(&c->vq);
	assert_false(virtq_enable_notify(&c->vq));
	assert_int_equal(avail_event(c), c->avail_idx);
	put_desc(c, DESC_GPA, 1, BUF_GPA, 4, 0, 0);
	avail_add(c, 1);
	assert_true(virtq_enable_notify(&c->vq));
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
}

static void test_split_notify_flags(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 8, false, false), 0);
	virtq_disable_notify(&c->vq);
	assert_int_equal(get16(c, USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&c->vq));
	assert_int_equal(get16(c, USED_GPA), 0);
	put_desc(c, DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	avail_add(c, 0);
	assert_true(virtq_enable_notify(&c->vq));
}

/* ---- packed test driver ---- */

static void pk_put(struct ctx *c, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		   uint16_t id, uint16_t flags)
{
	struct virtq_packed_desc d = {
		.addr = htole64(addr), .len = htole32(len),
		.id = htole16(id), .flags = htole16(flags),
	};

	memcpy(gpa(c, table + 16ull * i), &d, sizeof(d));
}

static uint16_t pk_avail_flags(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

/*
 * Make a chain of n descriptors available, flags[i] per element; the head's
 * flags are written last, as a driver must.
 */
static void pk_add(struct ctx *c, unsigned int n, const uint16_t *flags, uint16_t id)
{
	uint16_t slot = c->next_avail, head = c->next_avail;
	bool wrap = c->avail_wrap;
	uint16_t head_flags = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t f = flags[i] | pk_avail_flags(wrap) |
			     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		pk_put(c, DESC_GPA, slot, BUF_GPA + 0x100 * slot, 8, id, i ? f : 0);
		if (!i)
			head_flags = f;
		else
			set16(c, DESC_GPA + 16ull * slot + 14, f);
		if (++slot == c->cfg.size) {
			slot = 0;
			wrap = !wrap;
		}
	}
	set16(c, DESC_GPA + 16ull * head + 14, head_flags);
	c->next_avail = slot;
	c->avail_wrap = wrap;
}

static void pk_check_used(struct ctx *c, uint16_t id, uint32_t len, unsigned int n)
{
	uint64_t d = DESC_GPA + 16ull * c->next_used;
	uint16_t flags = get16(c, d + 14);
	uint16_t want = c->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

	if (len)
		want |= VIRTQ_DESC_F_WRITE;
	assert_int_equal(flags, want);
	assert_int_equal(get16(c, d + 12), id);
	assert_int_equal(get32(c, d + 8), len);
	c->next_used += n;
	if (c->next_used >= c->cfg.size) {
		c->next_used -= c->cfg.size;
		c->used_wrap = !c->used_wrap;
	}
}

static const uint16_t rw3[] = { 0, 0, VIRTQ_DESC_F_WRITE };

static void test_packed_simple(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 8, true, false), 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	pk_add(c, 3, rw3, 5);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.id, 5);
	assert_int_equal(c->elem.ndescs, 3);
	assert_int_equal(c->elem.out_num, 2);
	assert_int_equal(c->elem.in_num, 1);
	assert_ptr_equal(c->elem.iov[1].iov_base, gpa(c, BUF_GPA + 0x100));
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 8), 0);
	pk_check_used(c, 5, 8, 3);
	/* A used descriptor at the next slot does not look available. */
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_false(virtq_is_broken(&c->vq));
}

/* Chains of 1..3 through a ring of 5 (not a power of two), many laps. */
static void test_packed_wrap(void **state)
{
	struct ctx *c = *state;
	unsigned int round, n;
	uint16_t id;

	assert_int_equal(start(c, 5, true, false), 0);
	for (round = 0; round < 1000; round++) {
		n = 1 + round % 3;
		id = round % 5;
		pk_add(c, n, rw3 + 3 - n, id);
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
		assert_int_equal(c->elem.id, id);
		assert_int_equal(c->elem.ndescs, n);
		assert_int_equal(c->elem.in_num, 1);
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
		assert_int_equal(virtq_push(&c->vq, &c->elem, round % 2), 0);
		pk_check_used(c, id, round % 2, n);
	}
	assert_false(virtq_is_broken(&c->vq));
}

/* Two chains in flight, completed out of order. */
static void test_packed_out_of_order(void **state)
{
	struct ctx *c = *state;
	static const uint16_t w[] = { VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_WRITE };
	struct virtq_elem *first = malloc(sizeof(*first));

	assert_int_equal(start(c, 4, true, false), 0);
	pk_add(c, 2, w, 1);
	pk_add(c, 1, w, 0);
	assert_int_equal(virtq_pop(&c->vq, first), 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 3), 0);
	pk_check_used(c, 0, 3, 1);
	assert_int_equal(virtq_push(&c->vq, first, 4), 0);
	pk_check_used(c, 1, 4, 2);
	/* The device's used pointer wrapped with the driver's: slot 3, then 0. */
	pk_add(c, 2, w, 2);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.ndescs, 2);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 0), 0);
	pk_check_used(c, 2, 0, 2);
	free(first);
}

static void test_packed_indirect(void **state)
{
	struct ctx *c = *state;
	static const uint16_t ind[] = { VIRTQ_DESC_F_INDIRECT };

	assert_int_equal(start(c, 4, true, false), 0);
	/* NEXT and ids inside the table mean nothing in a packed ring. */
	pk_put(c, TABLE_GPA, 0, BUF_GPA, 10, 77, VIRTQ_DESC_F_NEXT);
	pk_put(c, TABLE_GPA, 1, BUF_GPA + 0x100, 20, 0, VIRTQ_DESC_F_WRITE);
	pk_put(c, TABLE_GPA, 2, BUF_GPA + 0x200, 30, 0, VIRTQ_DESC_F_WRITE);
	pk_add(c, 1, ind, 3);
	/* pk_add wrote a buffer address: point it at the table. */
	pk_put(c, DESC_GPA, 0, TABLE_GPA, 48, 3,
	       VIRTQ_DESC_F_INDIRECT | pk_avail_flags(true));
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.id, 3);
	assert_int_equal(c->elem.ndescs, 1);
	assert_int_equal(c->elem.out_num, 1);
	assert_int_equal(c->elem.in_num, 2);
	assert_int_equal(c->elem.in_len, 50);
}

static void pk_hostile_start(struct ctx *c, uint32_t size)
{
	virtq_stop(&c->vq);
	memset(c->fm.ram, 0, RAM_SIZE);
	c->next_avail = 0;
	c->avail_wrap = true;
	c->next_used = 0;
	c->used_wrap = true;
	assert_int_equal(start(c, size, true, false), 0);
}

static void test_packed_hostile(void **state)
{
	struct ctx *c = *state;
	static const uint16_t two[] = { 0, 0 };
	static const uint16_t wr[] = { VIRTQ_DESC_F_WRITE, 0 };
	static const uint16_t ind[] = { VIRTQ_DESC_F_INDIRECT };
	static const uint16_t dir_ind[] = { 0, VIRTQ_DESC_F_INDIRECT };
	uint16_t f;

	/* A head that is neither available nor expected (AVAIL == USED == wrap): empty. */
	pk_hostile_start(c, 4);
	pk_put(c, DESC_GPA, 0, BUF_GPA, 4, 0, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_false(virtq_is_broken(&c->vq));

	/* A chain whose second descriptor was not made available (wrap mismatch). */
	pk_hostile_start(c, 4);
	pk_add(c, 2, two, 0);
	set16(c, DESC_GPA + 16 + 14, VIRTQ_DESC_F_USED);	/* the old lap's marking */
	expect_broken(c, -EINVAL);

	/* A chain that crosses the end of the ring must flip the wrap bit. */
	pk_hostile_start(c, 4);
	c->next_avail = 3;
	pk_add(c, 2, two, 0);	/* slots 3 and 0, slot 0 marked for the next lap */
	c->vq.next_avail = 3;
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->vq.next_avail, 1);
	assert_false(c->vq.avail_wrap);
	pk_hostile_start(c, 4);
	c->next_avail = 3;
	pk_add(c, 2, two, 0);
	set16(c, DESC_GPA + 14, pk_avail_flags(true));	/* slot 0 with the old wrap */
	c->vq.next_avail = 3;
	expect_broken(c, -EINVAL);

	/* Every descriptor chained: longer than the ring. */
	pk_hostile_start(c, 4);
	for (f = 0; f < 4; f++)
		pk_put(c, DESC_GPA, f, BUF_GPA, 4, 0, VIRTQ_DESC_F_NEXT | pk_avail_flags(true));
	expect_broken(c, -ELOOP);

	/* Buffer id out of range. */
	pk_hostile_start(c, 4);
	pk_add(c, 1, two, 4);
	expect_broken(c, -EINVAL);

	/* Buffer id reused while in flight. */
	pk_hostile_start(c, 4);
	pk_add(c, 1, two, 2);
	pk_add(c, 1, two, 2);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	expect_broken(c, -EINVAL);

	/* Writable before readable. */
	pk_hostile_start(c, 4);
	pk_add(c, 2, wr, 0);
	expect_broken(c, -EINVAL);

	/* Out of RAM. */
	pk_hostile_start(c, 4);
	pk_put(c, DESC_GPA, 0, RAM_SIZE, 1, 0, pk_avail_flags(true));
	expect_broken(c, -EFAULT);

	/* Indirect in a chain. */
	pk_hostile_start(c, 4);
	pk_add(c, 2, dir_ind, 0);
	pk_put(c, DESC_GPA, 1, TABLE_GPA, 16, 0, VIRTQ_DESC_F_INDIRECT | pk_avail_flags(true));
	expect_broken(c, -EINVAL);

	/* Indirect inside the table; table length not a multiple of 16. */
	pk_hostile_start(c, 4);
	pk_put(c, TABLE_GPA, 0, TABLE_GPA, 16, 0, VIRTQ_DESC_F_INDIRECT);
	pk_add(c, 1, ind, 0);
	pk_put(c, DESC_GPA, 0, TABLE_GPA, 16, 0, VIRTQ_DESC_F_INDIRECT | pk_avail_flags(true));
	expect_broken(c, -EINVAL);
	pk_hostile_start(c, 4);
	pk_put(c, DESC_GPA, 0, TABLE_GPA, 40, 0, VIRTQ_DESC_F_INDIRECT | pk_avail_flags(true));
	expect_broken(c, -EINVAL);
}

static void pk_set_driver_event(struct ctx *c, uint16_t off_wrap, uint16_t flags)
{
	set16(c, AVAIL_GPA, off_wrap);
	set16(c, AVAIL_GPA + 2, flags);
}

static void pk_push_one(struct ctx *c)
{
	static const uint16_t w[] = { VIRTQ_DESC_F_WRITE };

	pk_add(c, 1, w, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 1), 0);
}

static void test_packed_event_suppression(void **state)
{
	struct ctx *c = *state;
	int i;

	assert_int_equal(start(c, 4, true, true), 0);
	pk_set_driver_event(c, 0, VIRTQ_EVENT_F_DISABLE);
	pk_push_one(c);
	assert_false(virtq_should_notify(&c->vq));
	pk_set_driver_event(c, 0, VIRTQ_EVENT_F_ENABLE);
	pk_push_one(c);
	assert_true(virtq_should_notify(&c->vq));
	/* Used so far: slots 0, 1. Ask for slot 3 of this lap. */
	pk_set_driver_event(c, 3 | 0x8000, VIRTQ_EVENT_F_DESC);
	pk_push_one(c);				/* slot 2 */
	assert_false(virtq_should_notify(&c->vq));
	pk_push_one(c);				/* slot 3, ring wraps */
	assert_true(virtq_should_notify(&c->vq));
	assert_false(virtq_should_notify(&c->vq));
	/* Ask for slot 1 of the next lap (wrap counter 0) and pass it in a batch. */
	pk_set_driver_event(c, 1, VIRTQ_EVENT_F_DESC);
	pk_push_one(c);				/* slot 0 */
	assert_false(virtq_should_notify(&c->vq));
	pk_push_one(c);				/* slot 1 */
	pk_push_one(c);				/* slot 2 */
	assert_true(virtq_should_notify(&c->vq));
	/* Slot 3 of this lap (wrap 0), passed by a batch crossing the end. */
	pk_set_driver_event(c, 3, VIRTQ_EVENT_F_DESC);
	pk_push_one(c);				/* slot 3, the device wrap becomes 1 */
	pk_push_one(c);				/* slot 0 */
	assert_true(virtq_should_notify(&c->vq));
	/* The same event is now in the past: it does not fire again. */
	for (i = 0; i < 2; i++)
		pk_push_one(c);			/* slots 1, 2 */
	assert_false(virtq_should_notify(&c->vq));
	/* Slot 3 with wrap 1 is this lap's: it fires when used. */
	pk_set_driver_event(c, 3 | 0x8000, VIRTQ_EVENT_F_DESC);
	pk_push_one(c);
	assert_true(virtq_should_notify(&c->vq));

	/* Kick suppression through the device area. */
	virtq_disable_notify(&c->vq);
	assert_int_equal(get16(c, USED_GPA + 2), VIRTQ_EVENT_F_DISABLE);
	assert_false(virtq_enable_notify(&c->vq));
	assert_int_equal(get16(c, USED_GPA + 2), VIRTQ_EVENT_F_DESC);
	assert_int_equal(get16(c, USED_GPA), c->vq.next_avail | (c->vq.avail_wrap ? 0x8000 : 0));
	pk_push_one(c);
	assert_false(virtq_enable_notify(&c->vq));
	pk_add(c, 1, rw3, 0);
	assert_true(virtq_enable_notify(&c->vq));
}

static void test_packed_notify_no_event_idx(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(start(c, 4, true, false), 0);
	pk_push_one(c);
	/* DESC without EVENT_IDX negotiated: notify rather than lose one. */
	pk_set_driver_event(c, 3, VIRTQ_EVENT_F_DESC);
	assert_true(virtq_should_notify(&c->vq));
	virtq_disable_notify(&c->vq);
	assert_false(virtq_enable_notify(&c->vq));
	assert_int_equal(get16(c, USED_GPA + 2), VIRTQ_EVENT_F_ENABLE);
}

/*
 * The split ring with a real driver on another thread: the driver publishes
 * chains and kicks only when avail_event asks; the device polls with kicks off,
 * re-enables them and sleeps until a kick. A lost kick or interrupt (missing
 * fence) shows as a stall; a misordered read shows as a wrong length.
 */
#define RACE_CHAINS	100000u
#define RACE_SIZE	16u

struct race {
	struct ctx *c;
	atomic_uint kicks;
	atomic_uint irqs;
	atomic_int failed;
	char why[128];
};

static double race_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void race_fail(struct race *r, const char *why)
{
	int expected = 0;

	if (atomic_compare_exchange_strong(&r->failed, &expected, 1))
		snprintf(r->why, sizeof(r->why), "%s", why);
}

/* Wait until *counter moves from seen; false after a 10 s stall. */
static bool race_wait(struct race *r, atomic_uint *counter, unsigned int seen)
{
	double end = race_now() + 10;

	while (atomic_load_explicit(counter, memory_order_acquire) == seen) {
		if (atomic_load(&r->failed))
			return false;
		if (race_now() > end)
			return false;
		sched_yield();
	}
	return true;
}

static uint16_t *race16(struct ctx *c, uint64_t a)
{
	return (uint16_t *)gpa(c, a);
}

static void *race_driver(void *opaque)
{
	struct race *r = opaque;
	struct ctx *c = r->c;
	uint16_t *avail_idx = race16(c, AVAIL_GPA + 2);
	uint16_t *used_idx_p = race16(c, USED_GPA + 2);
	uint16_t *used_event = race16(c, AVAIL_GPA + 4 + 2 * RACE_SIZE);
	uint16_t *avail_event = race16(c, USED_GPA + 4 + 8 * RACE_SIZE);
	unsigned int i;

	for (i = 0; i < RACE_CHAINS; i++) {
		uint16_t slot = i % RACE_SIZE, used;

		for (;;) {
			used = __atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE);
			/*
			 * Bursts of 5 then a lone chain, each followed by a drain: the
			 * device goes idle often, and a lone chain must be kicked.
			 */
			if ((uint16_t)(i - used) < (i % 7 > 1 ? RACE_SIZE : 1))
				break;
			/* Wait: ask for an interrupt at the next used entry, re-check, sleep. */
			unsigned int seen = atomic_load_explicit(&r->irqs, memory_order_acquire);

			__atomic_store_n(used_event, used, __ATOMIC_RELAXED);
			atomic_thread_fence(memory_order_seq_cst);
			if (__atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE) != used)
				continue;
			if (!race_wait(r, &r->irqs, seen)) {
				race_fail(r, "driver: no interrupt for a used chain");
				return NULL;
			}
		}
		put_desc(c, DESC_GPA, slot, BUF_GPA + 16 * slot, 1 + i % 1000,
			 VIRTQ_DESC_F_WRITE, 0);
		__atomic_store_n(race16(c, AVAIL_GPA + 4 + 2 * slot), slot, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_release);
		__atomic_store_n(avail_idx, (uint16_t)(i + 1), __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_seq_cst);
		if (virtq_need_event(__atomic_load_n(avail_event, __ATOMIC_RELAXED),
				     (uint16_t)(i + 1), (uint16_t)i))
			atomic_fetch_add_explicit(&r->kicks, 1, memory_order_release);
	}
	return NULL;
}

static void *race_device(void *opaque)
{
	struct race *r = opaque;
	struct ctx *c = r->c;
	unsigned int count = 0, seen;
	int ret;

	while (count < RACE_CHAINS) {
		seen = atomic_load_explicit(&r->kicks, memory_order_acquire);
		virtq_disable_notify(&c->vq);
		while ((ret = virtq_pop(&c->vq, &c->elem)) == 1) {
			if (c->elem.in_num != 1 || c->elem.in_len != 1 + count % 1000) {
				race_fail(r, "device: chain with the wrong length");
				return NULL;
			}
			virtq_push(&c->vq, &c->elem, 1);
			count++;
			if (virtq_should_notify(&c->vq))
				atomic_fetch_add_explicit(&r->irqs, 1, memory_order_release);
		}
		if (ret < 0) {
			race_fail(r, "device: queue broken");
			return NULL;
		}
		if (count < RACE_CHAINS && !virtq_enable_notify(&c->vq) &&
		    !race_wait(r, &r->kicks, seen)) {
			race_fail(r, "device: no kick for an available chain");
			return NULL;
		}
	}
	return NULL;
}

static void test_split_two_threads(void **state)
{
	struct ctx *c = *state;
	struct race r = { .c = c };
	pthread_t drv, dev;
	double t0 = race_now();

	assert_int_equal(start(c, RACE_SIZE, false, true), 0);
	assert_int_equal(pthread_create(&dev, NULL, race_device, &r), 0);
	assert_int_equal(pthread_create(&drv, NULL, race_driver, &r), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	if (atomic_load(&r.failed))
		fail_msg("%s", r.why);
	assert_int_equal(used_idx(c), RACE_CHAINS & 0xffff);
	print_message("# %u chains in %.2f s, %u kicks, %u interrupts\n", RACE_CHAINS,
		      race_now() - t0, atomic_load(&r.kicks), atomic_load(&r.irqs));
}

/* The same with the packed ring: one-descriptor chains, ids = slots. */
static bool race_packed_reap(struct ctx *c, uint16_t *next_used, bool *used_wrap,
			     unsigned int *inflight)
{
	uint16_t *flags_p = race16(c, DESC_GPA + 16ull * *next_used + 14);
	uint16_t flags = le16toh(__atomic_load_n(flags_p, __ATOMIC_ACQUIRE));

	if (!!(flags & VIRTQ_DESC_F_USED) != *used_wrap ||
	    !!(flags & VIRTQ_DESC_F_AVAIL) != *used_wrap)
		return false;
	if (++*next_used == RACE_SIZE) {
		*next_used = 0;
		*used_wrap = !*used_wrap;
	}
	--*inflight;
	return true;
}

static void *race_packed_driver(void *opaque)
{
	struct race *r = opaque;
	struct ctx *c = r->c;
	uint16_t next_avail = 0, next_used = 0, ev_flags, ev_off;
	bool avail_wrap = true, used_wrap = true;
	unsigned int i, inflight = 0, seen;

	for (i = 0; i < RACE_CHAINS; i++) {
		while (inflight >= (i % 7 > 1 ? RACE_SIZE : 1)) {
			if (race_packed_reap(c, &next_used, &used_wrap, &inflight))
				continue;
			seen = atomic_load_explicit(&r->irqs, memory_order_acquire);
			__atomic_store_n(race16(c, AVAIL_GPA),
					 htole16(next_used | (used_wrap ? 0x8000 : 0)),
					 __ATOMIC_RELAXED);
			__atomic_store_n(race16(c, AVAIL_GPA + 2), htole16(VIRTQ_EVENT_F_DESC),
					 __ATOMIC_RELAXED);
			atomic_thread_fence(memory_order_seq_cst);
			if (race_packed_reap(c, &next_used, &used_wrap, &inflight))
				continue;
			if (!race_wait(r, &r->irqs, seen)) {
				race_fail(r, "packed driver: no interrupt for a used chain");
				return NULL;
			}
		}
		pk_put(c, DESC_GPA, next_avail, BUF_GPA + 16 * next_avail, 1 + i % 1000,
		       next_avail, 0);
		__atomic_store_n(race16(c, DESC_GPA + 16ull * next_avail + 14),
				 htole16(VIRTQ_DESC_F_WRITE | pk_avail_flags(avail_wrap)),
				 __ATOMIC_RELEASE);
		inflight++;
		atomic_thread_fence(memory_order_seq_cst);
		ev_off = le16toh(__atomic_load_n(race16(c, USED_GPA), __ATOMIC_RELAXED));
		ev_flags = le16toh(__atomic_load_n(race16(c, USED_GPA + 2), __ATOMIC_RELAXED));
		if (ev_flags == VIRTQ_EVENT_F_ENABLE ||
		    (ev_flags == VIRTQ_EVENT_F_DESC &&
		     ev_off == (next_avail | (avail_wrap ? 0x8000 : 0))))
			atomic_fetch_add_explicit(&r->kicks, 1, memory_order_release);
		if (++next_avail == RACE_SIZE) {
			next_avail = 0;
			avail_wrap = !avail_wrap;
		}
	}
	return NULL;
}

static void test_packed_two_threads(void **state)
{
	struct ctx *c = *state;
	struct race r = { .c = c };
	pthread_t drv, dev;
	double t0 = race_now();

	assert_int_equal(start(c, RACE_SIZE, true, true), 0);
	assert_int_equal(pthread_create(&dev, NULL, race_device, &r), 0);
	assert_int_equal(pthread_create(&drv, NULL, race_packed_driver, &r), 0);
	pthread_join(drv, NULL);
	pthread_join(dev, NULL);
	if (atomic_load(&r.failed))
		fail_msg("%s", r.why);
	print_message("# %u chains in %.2f s, %u kicks, %u interrupts\n", RACE_CHAINS,
		      race_now() - t0, atomic_load(&r.kicks), atomic_load(&r.irqs));
}

/* A broken queue says why exactly once, with its name and the fact. */
static void test_logs_once(void **state)
{
	struct ctx *c = *state;
	char buf[1024] = "";
	FILE *tmp = tmpfile();
	int saved = dup(2);
	ssize_t n;

	assert_non_null(tmp);
	assert_int_equal(start(c, 8, false, false), 0);
	put_desc(c, DESC_GPA, 4, BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 4);
	avail_add(c, 4);
	dup2(fileno(tmp), 2);
	virtq_pop(&c->vq, &c->elem);
	virtq_pop(&c->vq, &c->elem);
	virtq_push(&c->vq, &c->elem, 0);
	virtq_should_notify(&c->vq);
	dup2(saved, 2);
	close(saved);
	n = pread(fileno(tmp), buf, sizeof(buf) - 1, 0);
	fclose(tmp);
	assert_true(n > 0);
	assert_string_equal(buf, "keel: error: virtq test0/0: chain from descriptor 4 loops "
			    "(longer than the queue size 8)\n");
}

/* A chain may use every descriptor of the queue: that is not a loop. */
static void test_full_length_chains(void **state)
{
	struct ctx *c = *state;
	static const uint16_t four[] = { 0, 0, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_WRITE };
	unsigned int i;

	assert_int_equal(start(c, 8, false, false), 0);
	/* 7 -> 6 -> ... -> 0 */
	for (i = 0; i < 8; i++)
		put_desc(c, DESC_GPA, i, BUF_GPA, 1, i ? VIRTQ_DESC_F_NEXT : 0, i - 1);
	avail_add(c, 7);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.out_num, 8);
	assert_int_equal(c->elem.ndescs, 8);

	virtq_stop(&c->vq);
	assert_int_equal(start(c, 4, true, false), 0);
	c->next_avail = 0;
	c->avail_wrap = true;
	pk_add(c, 4, four, 3);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.ndescs, 4);
	assert_int_equal(c->elem.out_num, 2);
	assert_int_equal(c->elem.in_num, 2);
	assert_int_equal(c->vq.next_avail, 0);
	assert_false(c->vq.avail_wrap);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_int_equal(virtq_push(&c->vq, &c->elem, 2), 0);
	pk_check_used(c, 3, 2, 4);
	assert_false(c->vq.used_wrap);

	/* The largest packed ring. */
	c->cfg.desc_gpa = 0;
	c->cfg.driver_gpa = 0x80000;
	c->cfg.device_gpa = 0x80004;
	assert_int_equal(start(c, 32768, true, true), 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_hostile_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_too_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_over_4g, setup, teardown),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test_setup_teardown(test_split_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_notify_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_event_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_notify_no_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_length_chains, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
