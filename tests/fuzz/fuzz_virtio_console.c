/*
 * Fuzz target for user/devices/virtio/console.c (VIRTIO 1.2 ch. 5.3): a hostile
 * driver sends arbitrary control messages, posts odd buffers and resets, while
 * the host plugs and unplugs ports; invariants of the port states are checked.
 *
 * Input: a sequence of operations, each one byte then its operands:
 *   0 ctrl N BYTES...   control message of N % 17 bytes on c_ovq (from the input)
 *   1 ctrl-buf N L      N % 5 control receive buffers of 1 + L * 4 bytes
 *   2 add NR FLAGS      host adds a port (nr NR % 8 or free, name, console bit)
 *   3 del NR            host removes port NR % 8 (by its id)
 *   4 tx NR N BYTES...  guest sends N % 33 bytes on port NR % 8
 *   5 rx NR L           guest posts a receive buffer of L bytes on port NR % 8
 *   6 reset F           driver reset, then start with features F (bit 0: MULTIPORT)
 *   7 desc Q D A L F    raw descriptor: queue Q, slot D, address A * 64, length, flags
 *   8 cfg O S           configuration read/write at O, size S
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"
#include "fake_transport.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtqueue_ring.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"

#define FZ_RAM		(1u << 20)
#define FZ_QSIZE	8
#define FZ_PORTS	8
#define FZ_QUEUES	(2 * (FZ_PORTS + 1))
#define FZ_OPS		512

struct fz {
	struct fake_machine fm;
	struct virtio_console *con;
	struct fake_transport t;
	struct virtq vq[FZ_QUEUES];
	uint16_t avail[FZ_QUEUES];
	uint16_t slot[FZ_QUEUES];
	const uint8_t *p, *end;
};

static void fz_gone(void *opaque, const char *id, struct chardev *cd)
{
	/* Every gone port had an id: the fuzzer only adds ports with one. */
	if (!id[0])
		abort();
}

static uint8_t fz_byte(struct fz *f)
{
	return f->p < f->end ? *f->p++ : 0;
}

static uint64_t fz_qbase(unsigned int q)
{
	return 0x10000 + 0x1000ull * q;
}

static uint64_t fz_buf(unsigned int q, unsigned int slot)
{
	return 0x40000 + 0x2000ull * q + 0x400ull * slot;
}

static void fz_start(struct fz *f, uint64_t features)
{
	struct virtq *vqs[FZ_QUEUES];
	unsigned int q;

	for (q = 0; q < FZ_QUEUES; q++) {
		struct virtq_config cfg = {
			.size = FZ_QSIZE, .desc_gpa = fz_qbase(q), .driver_gpa = fz_qbase(q) + 0x400,
			.device_gpa = fz_qbase(q) + 0x800,
		};

		memset(f->fm.ram + fz_qbase(q), 0, 0x1000);
		f->avail[q] = f->slot[q] = 0;
		virtq_start(&f->vq[q], &f->fm.ms, "fz", &cfg);
		vqs[q] = f->vq[q].started ? &f->vq[q] : NULL;
	}
	fake_transport_start(&f->t, features, vqs, FZ_QUEUES);
}

static void fz_stop(struct fz *f)
{
	unsigned int q;

	fake_transport_stop(&f->t);
	for (q = 0; q < FZ_QUEUES; q++)
		virtq_stop(&f->vq[q]);
}

static void fz_set16(struct fz *f, uint64_t a, uint16_t v)
{
	v = htole16(v);
	memcpy(f->fm.ram + a, &v, 2);
}

static void fz_post(struct fz *f, unsigned int q, bool in, uint32_t len)
{
	unsigned int s = f->slot[q]++ % FZ_QSIZE;
	struct virtq_split_desc d = {
		.addr = htole64(fz_buf(q, s)), .len = htole32(len),
		.flags = htole16(in ? VIRTQ_DESC_F_WRITE : 0),
	};

	memcpy(f->fm.ram + fz_qbase(q) + 16 * s, &d, sizeof(d));
	fz_set16(f, fz_qbase(q) + 0x400 + 4 + 2 * (f->avail[q] % FZ_QSIZE), (uint16_t)s);
	fz_set16(f, fz_qbase(q) + 0x400 + 2, ++f->avail[q]);
}

static void fz_check(struct fz *f)
{
	struct virtio_console_port_state st;
	unsigned int i;

	for (i = 0; i < FZ_PORTS; i++) {
		virtio_console_port_state(f->con, i, &st);
		if (st.removing && !st.exists)
			abort();
		if (!st.exists && (st.ready || st.guest_open))
			abort();
		if (st.guest_open && !st.added)
			abort();
	}
}

static void fz_loop_stop(void *opaque)
{
	loop_stop(opaque, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_console_config cfg = {
		.name = "fz-serial", .max_ports = FZ_PORTS, .port_gone = fz_gone,
	};
	struct chardev *null_cd;
	struct fz *f = calloc(1, sizeof(*f));
	char err[128];
	unsigned int n, i, op;

	log_threshold = LOG_ERR;
	fake_machine_init(&f->fm, FZ_RAM);
	cfg.loop = loop_new();
	cfg.opaque = f;
	f->con = virtio_console_new(&cfg);
	null_cd = chardev_open("null", cfg.loop);
	fake_transport_bind(&f->t, virtio_console_vdev(f->con));
	f->p = data;
	f->end = data + size;
	fz_start(f, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);

	for (op = 0; op < FZ_OPS && f->p < f->end; op++) {
		uint8_t kind = fz_byte(f) % 9, a, b;
		unsigned int q;
		uint8_t buf[40];

		switch (kind) {
		case 0:
			n = fz_byte(f) % 17;
			for (i = 0; i < n; i++)
				buf[i] = fz_byte(f);
			q = VIRTIO_CONSOLE_CTRL_TXQ;
			memcpy(f->fm.ram + fz_buf(q, f->slot[q] % FZ_QSIZE), buf, n);
			fz_post(f, q, false, n);
			virtio_console_kick(f->con, q);
			break;
		case 1:
			n = fz_byte(f) % 5;
			a = fz_byte(f);
			for (i = 0; i < n; i++)
				fz_post(f, VIRTIO_CONSOLE_CTRL_RXQ, true, 1 + a * 4u);
			virtio_console_kick(f->con, VIRTIO_CONSOLE_CTRL_RXQ);
			break;
		case 2: {
			struct virtio_console_port_cfg pc = { .nr = -1 };

			a = fz_byte(f);
			b = fz_byte(f);
			if (!(b & 1))
				pc.nr = a % FZ_PORTS;
			pc.console = b & 2;
			snprintf(pc.id, sizeof(pc.id), "p%u", a % FZ_PORTS);
			snprintf(pc.chardev, sizeof(pc.chardev), "c");
			if (b & 4)
				snprintf(pc.name, sizeof(pc.name), "n%u", a % FZ_PORTS);
			virtio_console_port_add(f->con, &pc, (b & 8) ? null_cd : NULL, err,
						sizeof(err));
			break;
		}
		case 3: {
			char id[8];

			snprintf(id, sizeof(id), "p%u", fz_byte(f) % FZ_PORTS);
			virtio_console_port_del(f->con, id, err, sizeof(err));
			break;
		}
		case 4:
			a = fz_byte(f) % FZ_PORTS;
			n = fz_byte(f) % 33;
			q = virtio_console_rxq(a) + 1;
			for (i = 0; i < n; i++)
				f->fm.ram[fz_buf(q, f->slot[q] % FZ_QSIZE) + i] = fz_byte(f);
			fz_post(f, q, false, n);
			virtio_console_kick(f->con, q);
			break;
		case 5:
			a = fz_byte(f) % FZ_PORTS;
			q = virtio_console_rxq(a);
			fz_post(f, q, true, fz_byte(f));
			virtio_console_kick(f->con, q);
			break;
		case 6:
			fz_stop(f);
			fz_start(f, fz_byte(f) & 1 ? 1ull << VIRTIO_CONSOLE_F_MULTIPORT : 0);
			break;
		case 7: {
			struct virtq_split_desc d;

			q = fz_byte(f) % FZ_QUEUES;
			i = fz_byte(f) % FZ_QSIZE;
			d.addr = htole64((uint64_t)fz_byte(f) * 64 * 64);
			d.len = htole32(fz_byte(f) * 16u);
			d.flags = htole16(fz_byte(f) & 7);
			d.next = htole16(fz_byte(f));
			memcpy(f->fm.ram + fz_qbase(q) + 16 * i, &d, sizeof(d));
			fz_set16(f, fz_qbase(q) + 0x400 + 4 + 2 * (f->avail[q] % FZ_QSIZE),
				 (uint16_t)i);
			fz_set16(f, fz_qbase(q) + 0x400 + 2, ++f->avail[q]);
			virtio_console_kick(f->con, q);
			break;
		}
		case 8: {
			struct virtio_dev *vdev = virtio_console_vdev(f->con);
			uint8_t cb[8];

			a = fz_byte(f) % 16;
			b = 1u << (fz_byte(f) % 4);
			if (a + b <= VIRTIO_CONSOLE_CONFIG_SIZE)
				vdev->ops->config_read(vdev, a, cb, b);
			else
				vdev->ops->config_write(vdev, a % 12, cb, 1);
			break;
		}
		}
		fz_check(f);
	}
	fz_stop(f);
	/* Run what the device queued on the loop (chardev resumes, reaps), then stop. */
	loop_call(cfg.loop, fz_loop_stop, cfg.loop);
	loop_run(cfg.loop);
	virtio_console_free(f->con);
	chardev_close(null_cd);
	loop_free(cfg.loop);
	fake_machine_fini(&f->fm);
	free(f);
	return 0;
}
