/*
 * Unit tests for user/devices/virtio/console.c (VIRTIO 1.2 ch. 5.3): the guest
 * driver is played with split rings in fake RAM, the device runs on a real
 * event loop thread; control protocol, hotplug, data, backpressure, hostile messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_machine.h"
#include "fake_transport.h"
#include "devices/device.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtqueue_ring.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/opts.h"

#define RAM_SIZE	(4u << 20)
#define QSIZE		8
#define MAX_PORTS	4
#define NR_QUEUES	(2 * (MAX_PORTS + 1))
#define BUF_SIZE	0x1000

struct dq {
	uint16_t avail_idx;
	uint16_t used_seen;
	uint16_t next_slot;
	uint32_t slot_len[QSIZE];
};

struct ctx {
	struct fake_machine fm;
	struct loop *loop;
	pthread_t thread;
	struct virtio_console *con;
	struct fake_transport t;
	struct virtq vq[NR_QUEUES];
	struct dq dq[NR_QUEUES];
	int notifies[NR_QUEUES];
	int broken;
	pthread_mutex_t lock;
	char gone[8][VIRTIO_CONSOLE_ID_MAX];
	int nr_gone;
};

/* ---- running things on the device's loop, as the main thread would ---- */

struct call {
	void (*fn)(struct ctx *c, void *arg);
	struct ctx *c;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void call_cb(void *opaque)
{
	struct call *k = opaque;

	k->fn(k->c, k->arg);
	pthread_mutex_lock(&k->lock);
	k->done = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

static void on_loop(struct ctx *c, void (*fn)(struct ctx *c, void *arg), void *arg)
{
	struct call k = { .fn = fn, .c = c, .arg = arg };

	pthread_mutex_init(&k.lock, NULL);
	pthread_cond_init(&k.cond, NULL);
	assert_int_equal(loop_call(c->loop, call_cb, &k), 0);
	pthread_mutex_lock(&k.lock);
	while (!k.done)
		pthread_cond_wait(&k.cond, &k.lock);
	pthread_mutex_unlock(&k.lock);
	pthread_cond_destroy(&k.cond);
	pthread_mutex_destroy(&k.lock);
}

static void do_kick(struct ctx *c, void *arg)
{
	virtio_console_kick(c->con, (unsigned int)(uintptr_t)arg);
}

static void kick(struct ctx *c, unsigned int q)
{
	on_loop(c, do_kick, (void *)(uintptr_t)q);
}

struct add_args {
	const char *opts;
	struct chardev *cd;
	int ret;
	char err[128];
};

/*
 * "[virtserialport|virtconsole,]chardev=C[,name=N][,nr=N][,id=ID]" into the
 * cfg the registry types hand the model (serial_pci.c), read with lib/opts.
 */
static int port_cfg(const char *str, struct virtio_console_port_cfg *cfg, char *err,
		    size_t errlen)
{
	const char *driver, *v;
	struct opts o;
	uint64_t nr;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->nr = -1;
	ret = opts_parse(&o, str, "driver", false, err, errlen);
	if (ret)
		goto out;
	driver = opts_get(&o, "driver");
	cfg->console = driver && !strcmp(driver, "virtconsole");
	if ((v = opts_get(&o, "chardev")))
		snprintf(cfg->chardev, sizeof(cfg->chardev), "%s", v);
	if ((v = opts_get(&o, "name")))
		snprintf(cfg->name, sizeof(cfg->name), "%s", v);
	if ((v = opts_get(&o, "id")))
		snprintf(cfg->id, sizeof(cfg->id), "%s", v);
	if ((v = opts_get(&o, "nr"))) {
		ret = opt_parse_uint(v, &nr);
		if (ret)
			goto out;
		cfg->nr = nr > 1000 ? 1000 : (int)nr;
	}
	ret = opts_check_used(&o, "port", err, errlen);
out:
	opts_free(&o);
	return ret;
}

static void do_add(struct ctx *c, void *arg)
{
	struct add_args *a = arg;
	struct virtio_console_port_cfg cfg;

	a->ret = port_cfg(a->opts, &cfg, a->err, sizeof(a->err));
	if (!a->ret)
		a->ret = virtio_console_port_add(c->con, &cfg, a->cd, a->err, sizeof(a->err));
}

static int add_port(struct ctx *c, const char *opts, struct chardev *cd)
{
	struct add_args a = { .opts = opts, .cd = cd };

	on_loop(c, do_add, &a);
	return a.ret;
}

struct del_args {
	const char *id;
	int ret;
};

static void do_del(struct ctx *c, void *arg)
{
	struct del_args *a = arg;
	char err[128];

	a->ret = virtio_console_port_del(c->con, a->id, err, sizeof(err));
}

static int del_port(struct ctx *c, const char *id)
{
	struct del_args a = { .id = id };

	on_loop(c, do_del, &a);
	return a.ret;
}

static void nothing(struct ctx *c, void *arg)
{
}

static void close_chardev(struct ctx *c, void *arg)
{
	chardev_close(arg);
}

/* Let queued loop work (chardev resumes, reaps) run. */
static void settle(struct ctx *c)
{
	int i;

	for (i = 0; i < 3; i++)
		on_loop(c, nothing, NULL);
}

/* ---- test transport ---- */

static void t_notify(void *opaque, unsigned int idx)
{
	struct ctx *c = opaque;

	if (idx < NR_QUEUES)
		__atomic_fetch_add(&c->notifies[idx], 1, __ATOMIC_SEQ_CST);
}

static void t_broken(void *opaque, const char *why)
{
	struct ctx *c = opaque;

	c->broken++;
}

/* The device's configuration space, as the transport reads it for the driver. */
static void cfg_read(struct ctx *c, uint32_t off, void *data, unsigned int size)
{
	struct virtio_dev *vdev = virtio_console_vdev(c->con);

	vdev->ops->config_read(vdev, off, data, size);
}

static void cfg_write(struct ctx *c, uint32_t off, const void *data, unsigned int size)
{
	struct virtio_dev *vdev = virtio_console_vdev(c->con);

	vdev->ops->config_write(vdev, off, data, size);
}

static void port_gone(void *opaque, const char *id, struct chardev *cd)
{
	struct ctx *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (c->nr_gone < 8)
		snprintf(c->gone[c->nr_gone], VIRTIO_CONSOLE_ID_MAX, "%s", id);
	c->nr_gone++;
	pthread_mutex_unlock(&c->lock);
}

static int nr_gone(struct ctx *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->nr_gone;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void *loop_main(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct virtio_console_config cfg = {
		.name = "vcon-test", .max_ports = MAX_PORTS, .port_gone = port_gone,
	};

	log_threshold = LOG_ERR;
	fake_machine_init(&c->fm, RAM_SIZE);
	pthread_mutex_init(&c->lock, NULL);
	c->loop = loop_new();
	cfg.loop = c->loop;
	cfg.opaque = c;
	c->con = virtio_console_new(&cfg);
	assert_non_null(c->con);
	assert_int_equal(fake_transport_bind(&c->t, virtio_console_vdev(c->con)), 0);
	c->t.on_notify = t_notify;
	c->t.on_broken = t_broken;
	c->t.opaque = c;
	assert_int_equal(pthread_create(&c->thread, NULL, loop_main, c->loop), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	fake_transport_stop(&c->t);
	settle(c);
	loop_stop(c->loop, 0);
	pthread_join(c->thread, NULL);
	virtio_console_free(c->con);
	for (i = 0; i < NR_QUEUES; i++)
		virtq_stop(&c->vq[i]);
	loop_free(c->loop);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

/* ---- the guest driver ---- */

static uint64_t q_base(unsigned int q)
{
	return 0x10000 + 0x4000ull * q;
}

static uint64_t buf_gpa(unsigned int q, unsigned int slot)
{
	return 0x100000 + 0x10000ull * q + (uint64_t)BUF_SIZE * slot;
}

static void *gpa(struct ctx *c, uint64_t a)
{
	return c->fm.ram + a;
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

/* Enable every queue and set DRIVER_OK with the given features. */
static void driver_start(struct ctx *c, uint64_t features)
{
	struct virtq *vqs[NR_QUEUES];
	unsigned int q;

	for (q = 0; q < NR_QUEUES; q++) {
		struct virtq_config cfg = {
			.size = QSIZE, .desc_gpa = q_base(q), .driver_gpa = q_base(q) + 0x1000,
			.device_gpa = q_base(q) + 0x2000,
		};
		char name[32];

		snprintf(name, sizeof(name), "vcon/%u", q);
		memset(&c->dq[q], 0, sizeof(c->dq[q]));
		memset(gpa(c, q_base(q)), 0, 0x4000);
		assert_int_equal(virtq_start(&c->vq[q], &c->fm.ms, name, &cfg), 0);
		vqs[q] = &c->vq[q];
	}
	assert_int_equal(fake_transport_start(&c->t, features, vqs, NR_QUEUES), 0);
}

/* Make one buffer available: device-writable (in) of len, or readable with data. */
static void post(struct ctx *c, unsigned int q, bool in, const void *data, uint32_t len)
{
	struct dq *d = &c->dq[q];
	unsigned int slot = d->next_slot++ % QSIZE;
	struct virtq_split_desc desc = {
		.addr = htole64(buf_gpa(q, slot)), .len = htole32(len),
		.flags = htole16(in ? VIRTQ_DESC_F_WRITE : 0),
	};

	if (!in && data)
		memcpy(gpa(c, buf_gpa(q, slot)), data, len);
	memcpy(gpa(c, q_base(q) + 16ull * slot), &desc, sizeof(desc));
	set16(c, q_base(q) + 0x1000 + 4 + 2 * (d->avail_idx % QSIZE), (uint16_t)slot);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	set16(c, q_base(q) + 0x1000 + 2, ++d->avail_idx);
}

/* The next used buffer of q: its slot and length; false if none. */
static bool used(struct ctx *c, unsigned int q, unsigned int *slot, uint32_t *len)
{
	struct dq *d = &c->dq[q];
	uint64_t ring = q_base(q) + 0x2000;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (get16(c, ring + 2) == d->used_seen)
		return false;
	*slot = get32(c, ring + 4 + 8ull * (d->used_seen % QSIZE));
	*len = get32(c, ring + 4 + 8ull * (d->used_seen % QSIZE) + 4);
	d->used_seen++;
	return true;
}

static void ctrl_send_raw(struct ctx *c, const void *msg, uint32_t len)
{
	unsigned int slot;
	uint32_t ulen;

	post(c, VIRTIO_CONSOLE_CTRL_TXQ, false, msg, len);
	kick(c, VIRTIO_CONSOLE_CTRL_TXQ);
	assert_true(used(c, VIRTIO_CONSOLE_CTRL_TXQ, &slot, &ulen));
}

static void ctrl_send(struct ctx *c, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];
	uint32_t i = htole32(id);
	uint16_t e = htole16(event), v = htole16(value);

	memcpy(m, &i, 4);
	memcpy(m + 4, &e, 2);
	memcpy(m + 6, &v, 2);
	ctrl_send_raw(c, m, sizeof(m));
}

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
	char extra[64];
	uint32_t len;
};

/* The next control message from the device; the buffer is given back. */
static bool ctrl_recv(struct ctx *c, struct ctrl_msg *m)
{
	unsigned int slot;
	uint32_t len;
	uint8_t *b;

	if (!used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len))
		return false;
	memset(m, 0, sizeof(*m));
	b = gpa(c, buf_gpa(VIRTIO_CONSOLE_CTRL_RXQ, slot));
	m->len = len;
	if (len >= 8) {
		m->id = get32(c, buf_gpa(VIRTIO_CONSOLE_CTRL_RXQ, slot));
		m->event = get16(c, buf_gpa(VIRTIO_CONSOLE_CTRL_RXQ, slot) + 4);
		m->value = get16(c, buf_gpa(VIRTIO_CONSOLE_CTRL_RXQ, slot) + 6);
		if (len > 8 && len - 8 < sizeof(m->extra))
			memcpy(m->extra, b + 8, len - 8);
	}
	post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, BUF_SIZE);
	return true;
}

static void expect_ctrl(struct ctx *c, uint32_t id, uint16_t event, uint16_t value)
{
	struct ctrl_msg m;

	assert_true(ctrl_recv(c, &m));
	assert_int_equal(m.event, event);
	assert_int_equal(m.id, id);
	assert_int_equal(m.value, value);
}

/* Driver probe: control buffers, DEVICE_READY. */
static void driver_ready(struct ctx *c)
{
	int i;

	driver_start(c, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
	for (i = 0; i < 4; i++)
		post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, BUF_SIZE);
	kick(c, VIRTIO_CONSOLE_CTRL_RXQ);
	ctrl_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
}

/* PORT_ADD seen: the guest sets up the port and opens it. */
static void guest_port_up(struct ctx *c, uint32_t nr, const char *name, bool open)
{
	struct ctrl_msg m;
	int i;

	for (i = 0; i < 4; i++)
		post(c, virtio_console_rxq(nr), true, NULL, 16);
	kick(c, virtio_console_rxq(nr));
	ctrl_send(c, nr, VIRTIO_CONSOLE_PORT_READY, 1);
	if (name) {
		assert_true(ctrl_recv(c, &m));
		assert_int_equal(m.event, VIRTIO_CONSOLE_PORT_NAME);
		assert_int_equal(m.id, nr);
		assert_int_equal(m.len, 8 + strlen(name));
		assert_string_equal(m.extra, name);
	}
	expect_ctrl(c, nr, VIRTIO_CONSOLE_PORT_OPEN, 1);
	if (open)
		ctrl_send(c, nr, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

/* ---- tests ---- */

static void test_config_space(void **state)
{
	struct ctx *c = *state;
	uint8_t b[16];
	uint32_t v;

	cfg_read(c, 4, &v, 4);
	assert_int_equal(le32toh(v), MAX_PORTS);
	cfg_read(c, 0, &v, 4);
	assert_int_equal(v, 0);			/* cols, rows */
	cfg_read(c, 8, &v, 4);
	assert_int_equal(v, 0);			/* emerg_wr */
	memset(b, 0xaa, sizeof(b));
	cfg_read(c, 10, b, 4);	/* runs past the end */
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	cfg_write(c, 8, "x", 1);	/* ignored, no crash */
}

/* The port options as --device and device_add read them (the registry types). */
static void test_port_parse(void **state)
{
	static const char *const bad[] = {
		"virtserialport,name=x", "virtserialport,chardev=c1,nr=31",
		"virtserialport,chardev=c1,nr=", "virtserialport,chardev=c1,nr=1x",
		"virtserialport,chardev=c1,bogus=1", "virtserialport,chardev=c1,chardev",
		"virtserialport,chardev=c1,virtserialport", "virtserialport,chardev=c1,",
		"virtserialport,chardev=c1,chardev=c2", "virtserialport,chardev=c1,addr=1",
		"virtserialport,chardev=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaa",
	};
	struct virtio_console_port_cfg cfg;
	char err[256];
	unsigned int i;

	assert_int_equal(device_check("virtserialport,chardev=c1,name=keel.test.0,nr=3,id=p1",
				      err, sizeof(err)), 0);
	assert_int_equal(device_check("virtconsole,chardev=c1", err, sizeof(err)), 0);
	assert_int_equal(device_check("virtserialport,chardev=c1,bus=vs0.0", err, sizeof(err)),
			 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(device_check(bad[i], err, sizeof(err)), -EINVAL);
		assert_true(err[0]);
	}
	assert_int_equal(device_check("virtserialport,name=x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "chardev"));
	assert_int_equal(device_check("virtserialport,chardev=c1,bogus=1", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'bogus'"));

	/* What the model gets from them. */
	assert_int_equal(port_cfg("virtserialport,chardev=c1,name=keel.test.0,nr=3,id=p1", &cfg,
				  err, sizeof(err)), 0);
	assert_string_equal(cfg.chardev, "c1");
	assert_string_equal(cfg.name, "keel.test.0");
	assert_string_equal(cfg.id, "p1");
	assert_int_equal(cfg.nr, 3);
	assert_false(cfg.console);
	assert_int_equal(port_cfg("virtconsole,chardev=c1", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.console);
	assert_int_equal(cfg.nr, -1);
}

static void test_port_add_rules(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(add_port(c, "chardev=a,id=p1,name=n1", NULL), 0);
	assert_int_equal(add_port(c, "chardev=b,id=p1,name=n2", NULL), -EEXIST);
	assert_int_equal(add_port(c, "chardev=b,id=p2,name=n1", NULL), -EEXIST);
	assert_int_equal(add_port(c, "chardev=b,id=p2,nr=0", NULL), -EINVAL);
	assert_int_equal(add_port(c, "chardev=b,id=p2,nr=1", NULL), -EBUSY);
	assert_int_equal(add_port(c, "chardev=b,id=p2", NULL), 0);	/* gets 2 */
	assert_int_equal(add_port(c, "chardev=b,id=p3", NULL), 0);	/* gets 3 */
	assert_int_equal(add_port(c, "chardev=b,id=p4", NULL), -ENOSPC);
	/* The guest makes a file of the name: no '/' or "..". */
	assert_int_equal(add_port(c, "chardev=b,id=p5,name=../x", NULL), -EINVAL);
	assert_int_equal(add_port(c, "chardev=b,id=p5,name=a/b", NULL), -EINVAL);
	assert_int_equal(add_port(c, "virtconsole,chardev=b,id=p4", NULL), 0);	/* port 0 */
	assert_int_equal(del_port(c, "nope"), -ENOENT);
	/* No driver: removal is immediate. */
	assert_int_equal(del_port(c, "p2"), 0);
	settle(c);
	assert_int_equal(nr_gone(c), 1);
	assert_string_equal(c->gone[0], "p2");
	assert_false(virtio_console_has_port(c->con, "p2"));
	assert_true(virtio_console_has_port(c->con, "p1"));
}

static void test_cold_plugged_port(void **state)
{
	struct ctx *c = *state;
	struct virtio_console_port_state st;
	struct ctrl_msg m;

	assert_int_equal(add_port(c, "chardev=a,id=p1,name=keel.test.0", NULL), 0);
	driver_ready(c);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	assert_false(ctrl_recv(c, &m));
	guest_port_up(c, 1, "keel.test.0", true);
	virtio_console_port_state(c->con, 1, &st);
	assert_true(st.exists && st.added && st.ready && st.guest_open);
	assert_true(c->notifies[VIRTIO_CONSOLE_CTRL_RXQ] > 0);
	assert_int_equal(c->broken, 0);
}

static void test_hotplug_and_unplug(void **state)
{
	struct ctx *c = *state;
	struct virtio_console_port_state st;
	struct ctrl_msg m;

	driver_ready(c);
	assert_false(ctrl_recv(c, &m));
	assert_int_equal(add_port(c, "virtserialport,chardev=a,id=s1,name=keel.test.0", NULL), 0);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	guest_port_up(c, 1, "keel.test.0", true);

	assert_int_equal(del_port(c, "s1"), 0);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
	settle(c);
	assert_int_equal(nr_gone(c), 1);
	assert_string_equal(c->gone[0], "s1");
	/* The guest's late PORT_OPEN 0 for the removed port is harmless. */
	ctrl_send(c, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	virtio_console_port_state(c->con, 1, &st);
	assert_false(st.exists);
	assert_int_equal(del_port(c, "s1"), -ENOENT);

	/* The number is free again; re-plug works. */
	assert_int_equal(add_port(c, "chardev=a,id=s1,name=keel.test.0", NULL), 0);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
}

static void test_unplug_waits_for_buffers(void **state)
{
	struct ctx *c = *state;
	unsigned int slot;
	uint32_t len;

	driver_start(c, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
	ctrl_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	/* No control buffers yet: PORT_ADD waits for one. */
	assert_int_equal(add_port(c, "chardev=a,id=s1", NULL), 0);
	assert_false(used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len));
	post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, BUF_SIZE);
	kick(c, VIRTIO_CONSOLE_CTRL_RXQ);
	assert_true(used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len));
	assert_int_equal(get16(c, buf_gpa(VIRTIO_CONSOLE_CTRL_RXQ, slot) + 4),
			 VIRTIO_CONSOLE_DEVICE_ADD);
	/* PORT_OPEN 1 is queued (no buffer), then the port is unplugged. */
	ctrl_send(c, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	assert_false(used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len));
	assert_int_equal(del_port(c, "s1"), 0);
	settle(c);
	assert_int_equal(nr_gone(c), 0);
	assert_true(virtio_console_has_port(c->con, "s1"));
	assert_int_equal(del_port(c, "s1"), -EBUSY);
	/* The stale PORT_OPEN is dropped: the next buffer gets PORT_REMOVE. */
	post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, BUF_SIZE);
	kick(c, VIRTIO_CONSOLE_CTRL_RXQ);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
	settle(c);
	assert_int_equal(nr_gone(c), 1);
	assert_false(virtio_console_has_port(c->con, "s1"));
}

static void test_removal_finished_by_reset(void **state)
{
	struct ctx *c = *state;
	unsigned int slot;
	uint32_t len;

	driver_start(c, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
	post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, BUF_SIZE);
	kick(c, VIRTIO_CONSOLE_CTRL_RXQ);
	ctrl_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	assert_int_equal(add_port(c, "chardev=a,id=s1", NULL), 0);
	assert_true(used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len));	/* PORT_ADD */
	assert_int_equal(del_port(c, "s1"), 0);				/* no buffer */
	settle(c);
	assert_int_equal(nr_gone(c), 0);
	fake_transport_stop(&c->t);	/* as on a vCPU thread */
	settle(c);
	assert_int_equal(nr_gone(c), 1);
	assert_false(virtio_console_has_port(c->con, "s1"));
}

/* virtconsole: port 0, announced as a console port before it is opened. */
static void test_console_port(void **state)
{
	struct ctx *c = *state;
	struct ctrl_msg m;

	assert_int_equal(add_port(c, "virtconsole,chardev=a,id=con0", NULL), 0);
	driver_ready(c);
	expect_ctrl(c, 0, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	ctrl_send(c, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(c, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctrl(c, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_false(ctrl_recv(c, &m));
}

/* A driver reset (or machine reset) keeps the ports: the new driver hears of them again. */
static void test_ports_survive_reset(void **state)
{
	struct ctx *c = *state;
	struct virtio_console_port_state st;
	unsigned int q;

	assert_int_equal(add_port(c, "chardev=a,id=s1,name=n1", NULL), 0);
	driver_ready(c);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	guest_port_up(c, 1, "n1", true);
	fake_transport_stop(&c->t);
	for (q = 0; q < NR_QUEUES; q++)
		virtq_stop(&c->vq[q]);
	settle(c);
	virtio_console_port_state(c->con, 1, &st);
	assert_true(st.exists && !st.added && !st.ready && !st.guest_open);
	assert_int_equal(nr_gone(c), 0);
	driver_ready(c);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	guest_port_up(c, 1, "n1", true);
	virtio_console_port_state(c->con, 1, &st);
	assert_true(st.exists && st.added && st.ready && st.guest_open);
}

/* ---- data through a unix socket chardev ---- */

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static size_t sock_read(int fd, char *buf, size_t len, size_t want)
{
	size_t got = 0;

	while (got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* Collect what the guest received on port nr, posting buffers of size sz as it goes. */
static size_t guest_read(struct ctx *c, unsigned int nr, char *out, size_t cap, size_t want,
			 uint32_t sz)
{
	unsigned int q = virtio_console_rxq(nr), slot;
	size_t got = 0;
	uint32_t len;
	int spins;

	for (spins = 0; got < want && spins < 2000; spins++) {
		bool any = false;

		while (used(c, q, &slot, &len)) {
			assert_true(len <= sz);
			assert_true(got + len <= cap);
			memcpy(out + got, gpa(c, buf_gpa(q, slot)), len);
			got += len;
			post(c, q, true, NULL, sz);
			any = true;
		}
		if (any)
			kick(c, q);
		else
			usleep(1000);
	}
	return got;
}

static void test_data_both_ways_with_backpressure(void **state)
{
	struct ctx *c = *state;
	char path[64], buf[4096], big[3000];
	struct chardev *cd;
	unsigned int slot;
	uint32_t len;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/tmp/keel-test-vcon-%d", getpid());
	snprintf(buf, sizeof(buf), "unix:%s", path);
	cd = chardev_open(buf, c->loop);
	assert_non_null(cd);
	assert_int_equal(add_port(c, "chardev=c1,id=s1,name=keel.test.0", cd), 0);
	fd = sock_connect(path);
	settle(c);

	/* Bytes sent before the guest opened the port wait in the socket. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(write(fd, big, 100), 100);
	driver_ready(c);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	guest_port_up(c, 1, "keel.test.0", false);
	usleep(20000);
	settle(c);
	assert_false(used(c, virtio_console_rxq(1), &slot, &len));
	ctrl_send(c, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);

	/* Guest to host. */
	post(c, virtio_console_rxq(1) + 1, false, "hello\n", 6);
	kick(c, virtio_console_rxq(1) + 1);
	assert_true(used(c, virtio_console_rxq(1) + 1, &slot, &len));
	assert_int_equal(sock_read(fd, buf, sizeof(buf), 6), 6);
	assert_memory_equal(buf, "hello\n", 6);

	/*
	 * Host to guest: 4 buffers of 16 bytes are posted, far less than the
	 * 100 + 3000 bytes sent; the guest reads slowly and nothing is lost.
	 */
	assert_int_equal(write(fd, big + 100, sizeof(big) - 100), (ssize_t)sizeof(big) - 100);
	assert_int_equal(guest_read(c, 1, buf, sizeof(buf), sizeof(big), 16), sizeof(big));
	assert_memory_equal(buf, big, sizeof(big));
	assert_int_equal(c->broken, 0);

	/* After unplug the chardev feeds nobody and the guest gets nothing. */
	assert_int_equal(del_port(c, "s1"), 0);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
	settle(c);
	assert_int_equal(nr_gone(c), 1);
	assert_int_equal(write(fd, "late", 4), 4);
	usleep(20000);
	settle(c);
	assert_false(used(c, virtio_console_rxq(1), &slot, &len));
	/* Guest data on the removed port is consumed and dropped. */
	post(c, virtio_console_rxq(1) + 1, false, "zzz", 3);
	kick(c, virtio_console_rxq(1) + 1);
	assert_true(used(c, virtio_console_rxq(1) + 1, &slot, &len));
	close(fd);
	on_loop(c, close_chardev, cd);
}

/* ---- hostile control messages ---- */

static void test_hostile_control(void **state)
{
	struct ctx *c = *state;
	struct virtio_console_port_state st;
	struct ctrl_msg m;
	uint8_t junk[64];

	assert_int_equal(add_port(c, "chardev=a,id=s1,name=n1", NULL), 0);
	driver_ready(c);
	expect_ctrl(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	ctrl_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);	/* again: no second PORT_ADD */
	assert_false(ctrl_recv(c, &m));
	ctrl_send_raw(c, "\x01\x00\x00\x00", 4);		/* short */
	ctrl_send_raw(c, "", 0);
	ctrl_send(c, 1000, VIRTIO_CONSOLE_PORT_READY, 1);	/* beyond max_nr_ports */
	ctrl_send(c, 0xffffffffu, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(c, 2, VIRTIO_CONSOLE_PORT_READY, 1);		/* never added */
	ctrl_send(c, 2, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(c, 1, 99, 1);					/* unknown */
	ctrl_send(c, 1, 0xffff, 0xffff);
	ctrl_send(c, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);		/* device's messages */
	ctrl_send(c, 1, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
	ctrl_send(c, 1, VIRTIO_CONSOLE_PORT_NAME, 1);
	ctrl_send(c, 1, VIRTIO_CONSOLE_RESIZE, 1);
	ctrl_send(c, 1, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	memset(junk, 0xff, sizeof(junk));
	ctrl_send_raw(c, junk, sizeof(junk));
	assert_false(ctrl_recv(c, &m));
	virtio_console_port_state(c->con, 1, &st);
	assert_true(st.exists && st.added && !st.ready);
	virtio_console_port_state(c->con, 2, &st);
	assert_false(st.exists);

	/* The real protocol still works; a repeated PORT_READY sends nothing twice. */
	guest_port_up(c, 1, "n1", true);
	ctrl_send(c, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	assert_false(ctrl_recv(c, &m));
	assert_int_equal(add_port(c, "chardev=b,id=s2", NULL), 0);
	expect_ctrl(c, 2, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	ctrl_send(c, 2, VIRTIO_CONSOLE_PORT_READY, 0);		/* guest failed the port */
	assert_false(ctrl_recv(c, &m));
	assert_int_equal(c->broken, 0);
}

static void test_tiny_control_buffer(void **state)
{
	struct ctx *c = *state;
	unsigned int slot;
	uint32_t len;

	driver_start(c, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
	post(c, VIRTIO_CONSOLE_CTRL_RXQ, true, NULL, 4);
	kick(c, VIRTIO_CONSOLE_CTRL_RXQ);
	ctrl_send(c, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	assert_int_equal(add_port(c, "chardev=a,id=s1,name=n1", NULL), 0);
	assert_true(used(c, VIRTIO_CONSOLE_CTRL_RXQ, &slot, &len));
	assert_int_equal(len, 4);	/* what fitted; the guest's problem */
	assert_int_equal(c->broken, 0);
}

/* A descriptor pointing outside RAM breaks the queue, not the VMM. */
static void test_bad_descriptor(void **state)
{
	struct ctx *c = *state;
	struct virtq_split_desc desc = {
		.addr = htole64(RAM_SIZE - 4), .len = htole32(64), .flags = 0,
	};

	driver_ready(c);
	memcpy(gpa(c, q_base(VIRTIO_CONSOLE_CTRL_TXQ) + 16ull * 5), &desc, sizeof(desc));
	set16(c, q_base(VIRTIO_CONSOLE_CTRL_TXQ) + 0x1000 + 4 +
	      2 * (c->dq[VIRTIO_CONSOLE_CTRL_TXQ].avail_idx % QSIZE), 5);
	set16(c, q_base(VIRTIO_CONSOLE_CTRL_TXQ) + 0x1000 + 2,
	      ++c->dq[VIRTIO_CONSOLE_CTRL_TXQ].avail_idx);
	kick(c, VIRTIO_CONSOLE_CTRL_TXQ);
	assert_int_equal(c->broken, 1);
}

/* Without MULTIPORT the guest sees port 0 only (a plain console). */
static void test_single_port_mode(void **state)
{
	struct ctx *c = *state;
	char path[64], spec[80], buf[64];
	struct chardev *cd;
	int fd;

	snprintf(path, sizeof(path), "/tmp/keel-test-vcon1-%d", getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, c->loop);
	assert_non_null(cd);
	assert_int_equal(add_port(c, "virtconsole,chardev=c1,id=con0", cd), 0);
	fd = sock_connect(path);
	driver_start(c, 0);
	post(c, 0, true, NULL, 16);
	kick(c, 0);
	assert_int_equal(write(fd, "ping", 4), 4);
	assert_int_equal(guest_read(c, 0, buf, sizeof(buf), 4, 16), 4);
	assert_memory_equal(buf, "ping", 4);
	post(c, 1, false, "pong", 4);
	kick(c, 1);
	assert_int_equal(sock_read(fd, buf, sizeof(buf), 4), 4);
	assert_memory_equal(buf, "pong", 4);
	close(fd);
	assert_int_equal(del_port(c, "con0"), 0);
	settle(c);
	on_loop(c, close_chardev, cd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test(test_port_parse),
		cmocka_unit_test_setup_teardown(test_port_add_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cold_plugged_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug_and_unplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removal_finished_by_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_survive_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_both_ways_with_backpressure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_control_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_port_mode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
