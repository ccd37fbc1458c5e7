/*
 * virtio-console (VIRTIO 1.2 ch. 5.3): multiport control protocol (5.3.6.2),
 * per-port receive/transmit queues wired to chardevs, port hotplug. Every queue
 * is served on the main loop; every control message from the guest is hostile.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/errmsg.h"
#include "devices/virtio/console.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"

/* Control messages waiting for c_ivq buffers; host actions are refused beyond half. */
#define VCON_MAX_MSGS		512
/* Chains served per kick before the loop gets a turn (a busy guest must not starve it). */
#define VCON_BATCH		256

enum vcon_state {
	VCON_FREE,
	VCON_LIVE,
	VCON_REMOVING,		/* PORT_REMOVE queued, not yet handed to the guest */
	VCON_GONE,		/* removed on our side; port_gone() not yet run */
};

/* Guest mistakes, each logged once per device. */
enum vcon_mistake {
	VCON_SHORT_CTRL,
	VCON_BAD_ID,
	VCON_UNKNOWN_EVENT,
	VCON_UNEXPECTED_EVENT,
	VCON_REPEATED,
	VCON_DRIVER_FAILED,
	VCON_CTRL_NO_ROOM,
	VCON_RX_NO_ROOM,
	VCON_TX_NO_PORT,
	VCON_CONFIG_WRITE,
	VCON_MISTAKES
};

struct vcon_msg {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};

struct vcon_port {
	struct virtio_console *con;
	unsigned int nr;
	enum vcon_state state;
	struct virtio_console_port_cfg cfg;
	struct chardev *cd;
	/* The guest's side; forgotten when the driver resets. */
	bool added;		/* PORT_ADD handed over (or single-port mode) */
	bool ready;		/* PORT_READY answered (either value) */
	bool guest_open;	/* PORT_OPEN 1 from the guest */
	bool input_waiting;	/* chardev input paused: no buffer or port closed */
};

struct vcon_kick {
	struct virtio_console *con;
	unsigned int idx;
	int fd;			/* in the loop, or -1 */
};

struct virtio_console {
	char name[32];
	unsigned int max_ports;
	unsigned int nr_queues;
	struct loop *loop;
	void (*port_gone)(void *opaque, const char *id, struct chardev *cd);
	void *opaque;

	struct virtio_dev vdev;		/* what the transport sees */

	/* Taken by the main loop and by start/stop (vCPU thread, transport lock held). */
	pthread_mutex_t lock;
	bool running;
	bool multiport;
	bool driver_ready;	/* DEVICE_READY 1 seen */
	struct virtq *vq[VIRTIO_MAX_QUEUES];
	struct vcon_kick kick[VIRTIO_MAX_QUEUES];
	struct vcon_port ports[VIRTIO_CONSOLE_MAX_PORTS];
	struct vcon_msg msgs[VCON_MAX_MSGS];
	unsigned int msg_head, msg_count;
	unsigned int mistakes;
	struct virtq_elem elem;
};

static void vcon_mistake(struct virtio_console *con, enum vcon_mistake m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vcon_mistake(struct virtio_console *con, enum vcon_mistake m, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	if (con->mistakes & (1u << m))
		return;
	con->mistakes |= 1u << m;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("%s: %s (ignored; logged once)", con->name, buf);
}

static struct virtq *vcon_vq(struct virtio_console *con, unsigned int idx)
{
	if (!con->running || idx >= con->nr_queues)
		return NULL;
	return con->vq[idx];
}

static void vcon_notify(struct virtio_console *con, unsigned int idx)
{
	virtio_dev_notify(&con->vdev, idx);
}

static void vcon_broken(struct virtio_console *con, const char *why)
{
	virtio_dev_set_broken(&con->vdev, why);
}

static struct vcon_port *vcon_port_by_id(struct virtio_console *con, const char *id)
{
	unsigned int i;

	if (!id || !*id)
		return NULL;
	for (i = 0; i < con->max_ports; i++)
		if (con->ports[i].state != VCON_FREE && !strcmp(con->ports[i].cfg.id, id))
			return &con->ports[i];
	return NULL;
}

/* ---- control messages to the guest (c_ivq) ---- */

static int vcon_queue_msg(struct virtio_console *con, uint32_t id, uint16_t event,
			  uint16_t value)
{
	struct vcon_msg *m;

	if (con->msg_count >= VCON_MAX_MSGS) {
		log_err("%s: the guest takes no control messages; event %u for port %u lost",
			con->name, event, id);
		return -ENOSPC;
	}
	m = &con->msgs[(con->msg_head + con->msg_count++) % VCON_MAX_MSGS];
	m->id = id;
	m->event = event;
	m->value = value;
	return 0;
}

/* Forget queued messages about a port (it is being removed before the guest knew). */
static void vcon_drop_msgs(struct virtio_console *con, uint32_t id)
{
	unsigned int i, n = 0;

	for (i = 0; i < con->msg_count; i++) {
		struct vcon_msg m = con->msgs[(con->msg_head + i) % VCON_MAX_MSGS];

		if (m.id != id)
			con->msgs[(con->msg_head + n++) % VCON_MAX_MSGS] = m;
	}
	con->msg_count = n;
}

static size_t vcon_iov_write(struct iovec *iov, unsigned int niov, size_t off,
			     const void *data, size_t len)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < niov && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)data + done, n);
		done += n;
		off = 0;
	}
	return done;
}

static void vcon_port_gone(struct virtio_console *con, struct vcon_port *p)
{
	p->state = VCON_GONE;
	p->added = p->ready = p->guest_open = false;
}

/* Hand queued control messages to the guest while it has buffers. */
static void vcon_flush_ctrl(struct virtio_console *con)
{
	struct virtq *vq = vcon_vq(con, VIRTIO_CONSOLE_CTRL_RXQ);
	bool pushed = false;

	while (vq && con->msg_count) {
		struct vcon_msg m = con->msgs[con->msg_head];
		struct virtq_elem *e = &con->elem;
		struct vcon_port *p = m.id < con->max_ports ? &con->ports[m.id] : NULL;
		uint8_t hdr[VIRTIO_CONSOLE_CTRL_SIZE];
		uint32_t id = htole32(m.id);
		uint16_t ev = htole16(m.event), val = htole16(m.value);
		size_t len;
		int r = virtq_pop(vq, e);

		if (r < 0) {
			vcon_broken(con, "control receive queue broken");
			break;
		}
		if (r == 0)
			break;
		memcpy(hdr, &id, 4);
		memcpy(hdr + 4, &ev, 2);
		memcpy(hdr + 6, &val, 2);
		len = vcon_iov_write(virtq_elem_in(e), e->in_num, 0, hdr, sizeof(hdr));
		if (len == sizeof(hdr) && m.event == VIRTIO_CONSOLE_PORT_NAME && p)
			len += vcon_iov_write(virtq_elem_in(e), e->in_num, len, p->cfg.name,
					      strlen(p->cfg.name));
		if (len < sizeof(hdr))
			vcon_mistake(con, VCON_CTRL_NO_ROOM,
				     "control receive buffer of %u bytes cannot hold a message",
				     e->in_len);
		virtq_push(vq, e, len);
		pushed = true;
		con->msg_head = (con->msg_head + 1) % VCON_MAX_MSGS;
		con->msg_count--;
		if (!p)
			continue;
		if (m.event == VIRTIO_CONSOLE_DEVICE_ADD)
			p->added = true;
		else if (m.event == VIRTIO_CONSOLE_DEVICE_REMOVE && p->state == VCON_REMOVING)
			vcon_port_gone(con, p);
	}
	if (pushed)
		vcon_notify(con, VIRTIO_CONSOLE_CTRL_RXQ);
}

/* port_gone() for ports removed on our side; on the main loop, lock not held. */
static void vcon_reap(struct virtio_console *con)
{
	for (;;) {
		struct vcon_port *p = NULL;
		char id[VIRTIO_CONSOLE_ID_MAX];
		struct chardev *cd;
		unsigned int i;

		pthread_mutex_lock(&con->lock);
		for (i = 0; i < con->max_ports && !p; i++)
			if (con->ports[i].state == VCON_GONE)
				p = &con->ports[i];
		if (!p) {
			pthread_mutex_unlock(&con->lock);
			return;
		}
		memcpy(id, p->cfg.id, sizeof(id));
		cd = p->cd;
		p->cd = NULL;
		p->state = VCON_FREE;
		pthread_mutex_unlock(&con->lock);
		if (cd)
			chardev_set_input(cd, NULL, NULL);
		log_info("%s: port %u (%s) removed", con->name, p->nr, id[0] ? id : "no id");
		if (con->port_gone)
			con->port_gone(con->opaque, id, cd);
	}
}

static void vcon_reap_cb(void *opaque)
{
	vcon_reap(opaque);
}

/* ---- data: guest to host (transmitq) ---- */

static void vcon_serve_tx(struct virtio_console *con, unsigned int nr)
{
	struct virtq *vq = vcon_vq(con, virtio_console_rxq(nr) + 1);
	struct vcon_port *p = &con->ports[nr];
	struct virtq_elem *e = &con->elem;
	unsigned int n = 0, i;
	bool pushed = false;

	while (vq) {
		int r = virtq_pop(vq, e);

		if (r < 0) {
			vcon_broken(con, "transmit queue broken");
			break;
		}
		if (r == 0)
			break;
		if (p->state == VCON_LIVE && p->added && p->cd) {
			for (i = 0; i < e->out_num; i++)
				chardev_write(p->cd, e->iov[i].iov_base, e->iov[i].iov_len);
		} else if (p->state != VCON_REMOVING) {
			/* (while removal is on its way, late data is normal: dropped quietly) */
			vcon_mistake(con, VCON_TX_NO_PORT, "data sent on port %u, which is not "
				     "plugged", nr);
		}
		virtq_push(vq, e, 0);
		pushed = true;
		if (++n >= VCON_BATCH) {
			/* Come back after the loop's other work. */
			if (con->kick[virtio_console_rxq(nr) + 1].fd >= 0) {
				uint64_t one = 1;

				if (write(con->kick[virtio_console_rxq(nr) + 1].fd, &one,
					  sizeof(one)) < 0)
					log_debug("%s: cannot requeue a kick", con->name);
			}
			break;
		}
	}
	if (pushed)
		vcon_notify(con, virtio_console_rxq(nr) + 1);
}

/* ---- data: host to guest (receiveq), with backpressure ---- */

static bool vcon_can_receive(struct virtio_console *con, struct vcon_port *p)
{
	return con->running && p->state == VCON_LIVE && p->added && p->guest_open &&
	       vcon_vq(con, virtio_console_rxq(p->nr));
}

/* chardev input for a port; taking fewer bytes pauses the chardev. */
static size_t vcon_port_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcon_port *p = opaque;
	struct virtio_console *con = p->con;
	struct virtq_elem *e = &con->elem;
	struct virtq *vq;
	size_t done = 0;
	bool pushed = false;

	pthread_mutex_lock(&con->lock);
	if (!vcon_can_receive(con, p)) {
		p->input_waiting = true;
		pthread_mutex_unlock(&con->lock);
		return 0;
	}
	vq = vcon_vq(con, virtio_console_rxq(p->nr));
	while (done < len) {
		size_t n;
		int r = virtq_pop(vq, e);

		if (r < 0) {
			vcon_broken(con, "receive queue broken");
			break;
		}
		if (r == 0) {
			/* Chains may have come in while notifications were off. */
			if (virtq_enable_notify(vq))
				continue;
			p->input_waiting = true;
			break;
		}
		n = vcon_iov_write(virtq_elem_in(e), e->in_num, 0, buf + done, len - done);
		if (!n)
			vcon_mistake(con, VCON_RX_NO_ROOM, "receive buffer on port %u has no "
				     "writable part", p->nr);
		virtq_push(vq, e, n);
		pushed = true;
		done += n;
	}
	if (pushed)
		vcon_notify(con, virtio_console_rxq(p->nr));
	pthread_mutex_unlock(&con->lock);
	return done;
}

/* Lock held. Input may flow again: queue a resume (runs later on the loop). */
static void vcon_resume_input(struct virtio_console *con, struct vcon_port *p)
{
	if (p->input_waiting && p->cd && vcon_can_receive(con, p)) {
		p->input_waiting = false;
		chardev_input_resume(p->cd);
	}
}

/* ---- control messages from the guest (c_ovq) ---- */

/* Lock held: PORT_ADD for every plugged port the guest has not been told of. */
static void vcon_announce_ports(struct virtio_console *con)
{
	unsigned int i;

	for (i = 0; i < con->max_ports; i++)
		if (con->ports[i].state == VCON_LIVE && !con->ports[i].added)
			vcon_queue_msg(con, i, VIRTIO_CONSOLE_DEVICE_ADD, 1);
}

static void vcon_port_ready(struct virtio_console *con, struct vcon_port *p, uint16_t value)
{
	if (p->ready) {
		vcon_mistake(con, VCON_REPEATED, "PORT_READY for port %u again", p->nr);
		return;
	}
	p->ready = true;
	if (!value) {
		vcon_mistake(con, VCON_DRIVER_FAILED, "guest could not set up port %u", p->nr);
		return;
	}
	if (p->cfg.console)
		vcon_queue_msg(con, p->nr, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	if (p->cfg.name[0])
		vcon_queue_msg(con, p->nr, VIRTIO_CONSOLE_PORT_NAME, 1);
	/* The host side is always open: a chardev keeps bytes until a peer comes. */
	vcon_queue_msg(con, p->nr, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

/* One control message from the driver (lock held). */
static void vcon_handle_ctrl(struct virtio_console *con, const uint8_t *msg)
{
	uint32_t id;
	uint16_t event, value;
	struct vcon_port *p;

	memcpy(&id, msg, 4);
	memcpy(&event, msg + 4, 2);
	memcpy(&value, msg + 6, 2);
	id = le32toh(id);
	event = le16toh(event);
	value = le16toh(value);

	if (event == VIRTIO_CONSOLE_DEVICE_READY) {
		if (!value) {
			vcon_mistake(con, VCON_DRIVER_FAILED, "guest driver failed to initialise");
			return;
		}
		if (con->driver_ready) {
			vcon_mistake(con, VCON_REPEATED, "DEVICE_READY again");
			return;
		}
		con->driver_ready = true;
		vcon_announce_ports(con);
		return;
	}
	if (event != VIRTIO_CONSOLE_PORT_READY && event != VIRTIO_CONSOLE_PORT_OPEN) {
		if (event <= VIRTIO_CONSOLE_PORT_NAME)
			vcon_mistake(con, VCON_UNEXPECTED_EVENT, "control event %u is the "
				     "device's to send, not the driver's", event);
		else
			vcon_mistake(con, VCON_UNKNOWN_EVENT, "unknown control event %u", event);
		return;
	}
	p = id < con->max_ports ? &con->ports[id] : NULL;
	if (!p || p->state != VCON_LIVE || !p->added) {
		/* A port being removed may still see its PORT_OPEN 0: not a mistake. */
		if (p && p->state == VCON_REMOVING)
			return;
		vcon_mistake(con, VCON_BAD_ID, "control event %u for port %u, which the "
			     "guest was not given", event, id);
		return;
	}
	if (event == VIRTIO_CONSOLE_PORT_READY) {
		vcon_port_ready(con, p, value);
		return;
	}
	p->guest_open = value != 0;
	if (p->guest_open)
		p->input_waiting = true;	/* kick the chardev once: data may wait */
	vcon_resume_input(con, p);
}

static void vcon_serve_ctrl_tx(struct virtio_console *con)
{
	struct virtq *vq = vcon_vq(con, VIRTIO_CONSOLE_CTRL_TXQ);
	struct virtq_elem *e = &con->elem;
	unsigned int n = 0;
	bool pushed = false;

	while (vq && n++ < VCON_BATCH) {
		uint8_t msg[VIRTIO_CONSOLE_CTRL_SIZE];
		size_t got = 0;
		unsigned int i;
		int r = virtq_pop(vq, e);

		if (r < 0) {
			vcon_broken(con, "control transmit queue broken");
			break;
		}
		if (r == 0)
			break;
		for (i = 0; i < e->out_num && got < sizeof(msg); i++) {
			size_t c = e->iov[i].iov_len;

			if (c > sizeof(msg) - got)
				c = sizeof(msg) - got;
			memcpy(msg + got, e->iov[i].iov_base, c);
			got += c;
		}
		virtq_push(vq, e, 0);
		pushed = true;
		if (got < sizeof(msg)) {
			vcon_mistake(con, VCON_SHORT_CTRL, "control message of %u bytes (needs %u)",
				     e->out_len, VIRTIO_CONSOLE_CTRL_SIZE);
			continue;
		}
		vcon_handle_ctrl(con, msg);
	}
	if (pushed)
		vcon_notify(con, VIRTIO_CONSOLE_CTRL_TXQ);
}

/* ---- kicks ---- */

void virtio_console_kick(struct virtio_console *con, unsigned int idx)
{
	pthread_mutex_lock(&con->lock);
	if (!con->running || idx >= con->nr_queues) {
		pthread_mutex_unlock(&con->lock);
		return;
	}
	if (idx == VIRTIO_CONSOLE_CTRL_TXQ) {
		vcon_serve_ctrl_tx(con);
	} else if (idx == VIRTIO_CONSOLE_CTRL_RXQ) {
		/* New buffers: pending messages can go. */
	} else {
		unsigned int nr = idx < 2 ? 0 : (idx - 2) / 2;

		if (nr < con->max_ports) {
			if (idx & 1) {
				vcon_serve_tx(con, nr);
			} else {
				vcon_resume_input(con, &con->ports[nr]);
			}
		}
	}
	/* Anything queued by this kick (or waiting for buffers) goes out now. */
	vcon_flush_ctrl(con);
	pthread_mutex_unlock(&con->lock);
	vcon_reap(con);
}

static void vcon_on_kick(void *opaque, uint32_t events)
{
	struct vcon_kick *k = opaque;
	uint64_t v;

	if (read(k->fd, &v, sizeof(v)) < 0)
		return;
	virtio_console_kick(k->con, k->idx);
}

/* ---- the device interface ---- */

static struct virtio_console *vcon_of(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_console, vdev);
}

static void vcon_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			     unsigned int size)
{
	struct virtio_console *con = vcon_of(vdev);
	uint8_t cfg[VIRTIO_CONSOLE_CONFIG_SIZE] = { 0 };
	uint32_t max = htole32(con->max_ports);

	/* cols, rows: 0 (no F_SIZE); emerg_wr reads as 0. */
	memcpy(cfg + 4, &max, 4);
	memset(data, 0, size);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, size < sizeof(cfg) - off ? size : sizeof(cfg) - off);
}

static void vcon_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
			      unsigned int size)
{
	struct virtio_console *con = vcon_of(vdev);

	pthread_mutex_lock(&con->lock);
	vcon_mistake(con, VCON_CONFIG_WRITE, "driver wrote %u bytes at configuration offset %u "
		     "(EMERG_WRITE is not offered)", size, off);
	pthread_mutex_unlock(&con->lock);
}

static int vcon_start(struct virtio_dev *vdev, uint64_t features, struct virtq *const *vqs)
{
	struct virtio_console *con = vcon_of(vdev);
	struct vcon_port *p0 = &con->ports[0];
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&con->lock);
	con->multiport = features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT);
	for (i = 0; i < con->nr_queues; i++)
		con->vq[i] = vqs[i];
	if (con->multiport && (!con->vq[VIRTIO_CONSOLE_CTRL_RXQ] ||
			       !con->vq[VIRTIO_CONSOLE_CTRL_TXQ])) {
		log_warn("%s: driver negotiated MULTIPORT without the control queues", con->name);
		memset(con->vq, 0, sizeof(con->vq));
		pthread_mutex_unlock(&con->lock);
		return -EINVAL;
	}
	for (i = 0; i < con->nr_queues; i++) {
		struct vcon_kick *k = &con->kick[i];

		k->con = con;
		k->idx = i;
		k->fd = virtio_dev_kick_fd(vdev, i);
		if (k->fd >= 0 && con->vq[i] &&
		    loop_add_fd(con->loop, k->fd, EPOLLIN, vcon_on_kick, k) < 0) {
			log_err("%s: cannot watch the kicks of queue %u", con->name, i);
			k->fd = -1;
			ret = -EIO;
		} else if (!con->vq[i]) {
			k->fd = -1;
		}
	}
	con->running = true;
	con->driver_ready = false;
	con->msg_head = con->msg_count = 0;
	for (i = 0; i < con->max_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		p->added = p->ready = p->guest_open = false;
		p->input_waiting = true;
	}
	/* Without MULTIPORT the guest sees port 0 only, always there and open. */
	if (!con->multiport && p0->state == VCON_LIVE) {
		p0->added = p0->ready = p0->guest_open = true;
		vcon_resume_input(con, p0);
	}
	pthread_mutex_unlock(&con->lock);
	return ret;
}

static void vcon_stop(struct virtio_dev *vdev)
{
	struct virtio_console *con = vcon_of(vdev);
	bool gone = false;
	unsigned int i;

	pthread_mutex_lock(&con->lock);
	for (i = 0; i < con->nr_queues; i++) {
		if (con->running && con->kick[i].fd >= 0)
			loop_del_fd(con->loop, con->kick[i].fd);
		con->kick[i].fd = -1;
		con->vq[i] = NULL;
	}
	con->running = false;
	con->driver_ready = false;
	con->msg_count = 0;
	for (i = 0; i < con->max_ports; i++) {
		struct vcon_port *p = &con->ports[i];

		p->added = p->ready = p->guest_open = false;
		if (p->state == VCON_REMOVING)
			vcon_port_gone(con, p);
		gone |= p->state == VCON_GONE;
	}
	pthread_mutex_unlock(&con->lock);
	/* stop() may run on a vCPU thread: port_gone() belongs to the main loop. */
	if (gone && loop_call(con->loop, vcon_reap_cb, con) < 0)
		log_err("%s: cannot hand removed ports to the main loop", con->name);
}

static const struct virtio_dev_ops vcon_ops = {
	.config_read = vcon_config_read,
	.config_write = vcon_config_write,
	.start = vcon_start,
	.stop = vcon_stop,
};

struct virtio_dev *virtio_console_vdev(struct virtio_console *con)
{
	return &con->vdev;
}

/* ---- the model and its ports ---- */

struct virtio_console *virtio_console_new(const struct virtio_console_config *cfg)
{
	struct virtio_console *con;
	unsigned int i;

	if (!cfg->max_ports || cfg->max_ports > VIRTIO_CONSOLE_MAX_PORTS) {
		log_err("%s: max-ports must be 1..%d", cfg->name, VIRTIO_CONSOLE_MAX_PORTS);
		return NULL;
	}
	con = calloc(1, sizeof(*con));
	if (!con)
		return NULL;
	snprintf(con->name, sizeof(con->name), "%s", cfg->name ? cfg->name : "virtio-serial");
	con->max_ports = cfg->max_ports;
	con->nr_queues = 2 * (cfg->max_ports + 1);
	con->loop = cfg->loop;
	con->port_gone = cfg->port_gone;
	con->opaque = cfg->opaque;
	con->vdev = (struct virtio_dev){
		.name = con->name,
		.type = VIRTIO_ID_CONSOLE,
		.features = 1ull << VIRTIO_CONSOLE_F_MULTIPORT,
		.nr_queues = con->nr_queues,
		.queue_size = VIRTIO_CONSOLE_QUEUE_SIZE,
		.config_size = VIRTIO_CONSOLE_CONFIG_SIZE,
		.ops = &vcon_ops,
	};
	pthread_mutex_init(&con->lock, NULL);
	for (i = 0; i < VIRTIO_CONSOLE_MAX_PORTS; i++) {
		con->ports[i].con = con;
		con->ports[i].nr = i;
	}
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		con->kick[i].fd = -1;
	return con;
}

void virtio_console_free(struct virtio_console *con)
{
	unsigned int i;

	if (!con)
		return;
	virtio_dev_detach(&con->vdev);
	for (i = 0; i < con->max_ports; i++)
		if (con->ports[i].state != VCON_FREE && con->ports[i].cd)
			chardev_set_input(con->ports[i].cd, NULL, NULL);
	pthread_mutex_destroy(&con->lock);
	free(con);
}

#define vcon_err(err, errlen, ret, ...) errmsg_set(err, errlen, ret, __VA_ARGS__)

/*
 * A port name becomes a file name in the guest (/dev/virtio-ports/NAME): no
 * '/', not "." or "..", no control characters. Anything else is QEMU's too.
 */
static bool vcon_name_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int virtio_console_port_add(struct virtio_console *con,
			    const struct virtio_console_port_cfg *cfg, struct chardev *cd,
			    char *err, size_t errlen)
{
	struct vcon_port *p;
	unsigned int i, nr = 0;
	int ret = 0;

	if (!vcon_name_ok(cfg->name))
		return vcon_err(err, errlen, -EINVAL, "port name '%s' cannot be a file name in "
				"the guest (no '/', '.', '..' or control characters)", cfg->name);
	pthread_mutex_lock(&con->lock);
	if (cfg->id[0] && vcon_port_by_id(con, cfg->id)) {
		ret = vcon_err(err, errlen, -EEXIST, "a device with id '%s' exists", cfg->id);
		goto out;
	}
	for (i = 0; cfg->name[0] && i < con->max_ports; i++)
		if (con->ports[i].state != VCON_FREE && !strcmp(con->ports[i].cfg.name, cfg->name)) {
			ret = vcon_err(err, errlen, -EEXIST, "a port named '%s' exists", cfg->name);
			goto out;
		}
	if (cfg->nr >= 0) {
		nr = (unsigned int)cfg->nr;
		if (nr >= con->max_ports) {
			ret = vcon_err(err, errlen, -EINVAL, "port %u is beyond max-ports %u", nr,
				       con->max_ports);
			goto out;
		}
		if (nr == 0 && !cfg->console) {
			ret = vcon_err(err, errlen, -EINVAL,
				       "port 0 is kept for a virtconsole port");
			goto out;
		}
		if (con->ports[nr].state != VCON_FREE) {
			ret = vcon_err(err, errlen, -EBUSY, "port %u is in use", nr);
			goto out;
		}
	} else {
		/* QEMU's rule: port 0 only for a console, others from 1 up. */
		nr = cfg->console && con->ports[0].state == VCON_FREE ? 0 : 1;
		while (nr < con->max_ports && con->ports[nr].state != VCON_FREE)
			nr++;
		if (nr >= con->max_ports) {
			ret = vcon_err(err, errlen, -ENOSPC, "all %u ports are in use",
				       con->max_ports);
			goto out;
		}
	}
	if (con->msg_count > VCON_MAX_MSGS / 2) {
		ret = vcon_err(err, errlen, -EBUSY, "the guest is not taking control messages");
		goto out;
	}
	p = &con->ports[nr];
	p->cfg = *cfg;
	p->cfg.nr = (int)nr;
	p->cd = cd;
	p->state = VCON_LIVE;
	p->added = p->ready = p->guest_open = false;
	p->input_waiting = true;
	if (con->running && con->multiport && con->driver_ready) {
		vcon_queue_msg(con, nr, VIRTIO_CONSOLE_DEVICE_ADD, 1);
		vcon_flush_ctrl(con);
	} else if (con->running && !con->multiport && nr == 0) {
		p->added = p->ready = p->guest_open = true;
	}
	log_info("%s: port %u (%s%s%s) added on chardev %s", con->name, nr,
		 cfg->id[0] ? cfg->id : "no id", cfg->name[0] ? ", name " : "", cfg->name,
		 cfg->chardev);
out:
	pthread_mutex_unlock(&con->lock);
	if (!ret && cd)
		chardev_set_input(cd, vcon_port_input, &con->ports[nr]);
	return ret;
}

int virtio_console_port_del(struct virtio_console *con, const char *id, char *err,
			    size_t errlen)
{
	struct vcon_port *p;
	struct chardev *cd = NULL;
	int ret = 0;

	pthread_mutex_lock(&con->lock);
	p = vcon_port_by_id(con, id);
	if (!p) {
		ret = vcon_err(err, errlen, -ENOENT, "no port with id '%s'", id ? id : "");
		goto out;
	}
	if (p->state != VCON_LIVE) {
		ret = vcon_err(err, errlen, -EBUSY, "port '%s' is already being removed", id);
		goto out;
	}
	cd = p->cd;
	vcon_drop_msgs(con, p->nr);
	if (con->running && con->multiport && p->added) {
		p->state = VCON_REMOVING;
		p->guest_open = false;
		vcon_queue_msg(con, p->nr, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
		vcon_flush_ctrl(con);
	} else {
		vcon_port_gone(con, p);
	}
out:
	pthread_mutex_unlock(&con->lock);
	if (!ret) {
		/* No more input for this port, even while the guest is being told. */
		if (cd)
			chardev_set_input(cd, NULL, NULL);
		vcon_reap(con);
	}
	return ret;
}

bool virtio_console_has_port(struct virtio_console *con, const char *id)
{
	bool has;

	pthread_mutex_lock(&con->lock);
	has = vcon_port_by_id(con, id) != NULL;
	pthread_mutex_unlock(&con->lock);
	return has;
}

void virtio_console_port_state(struct virtio_console *con, unsigned int nr,
			       struct virtio_console_port_state *st)
{
	memset(st, 0, sizeof(*st));
	if (nr >= con->max_ports)
		return;
	pthread_mutex_lock(&con->lock);
	st->exists = con->ports[nr].state == VCON_LIVE || con->ports[nr].state == VCON_REMOVING;
	st->added = con->ports[nr].added;
	st->ready = con->ports[nr].ready;
	st->guest_open = con->ports[nr].guest_open;
	st->removing = con->ports[nr].state == VCON_REMOVING;
	pthread_mutex_unlock(&con->lock);
}
