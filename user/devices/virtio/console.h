/*
 * virtio-console (VIRTIO 1.2 ch. 5.3) with VIRTIO_CONSOLE_F_MULTIPORT: named
 * serial ports, each wired to a chardev, added and removed while the guest runs.
 */
#ifndef KEEL_DEVICES_VIRTIO_CONSOLE_H
#define KEEL_DEVICES_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/virtio/device.h"
#include "devices/virtio/virtqueue.h"

struct chardev;
struct loop;
struct pci_device;

/* Feature bits (ch. 5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE		0
#define VIRTIO_CONSOLE_F_MULTIPORT	1
#define VIRTIO_CONSOLE_F_EMERG_WRITE	2

/* Control events (ch. 5.3.6.2). */
#define VIRTIO_CONSOLE_DEVICE_READY	0
#define VIRTIO_CONSOLE_DEVICE_ADD	1
#define VIRTIO_CONSOLE_DEVICE_REMOVE	2
#define VIRTIO_CONSOLE_PORT_READY	3
#define VIRTIO_CONSOLE_CONSOLE_PORT	4
#define VIRTIO_CONSOLE_RESIZE		5
#define VIRTIO_CONSOLE_PORT_OPEN	6
#define VIRTIO_CONSOLE_PORT_NAME	7

/* struct virtio_console_control: le32 id, le16 event, le16 value. */
#define VIRTIO_CONSOLE_CTRL_SIZE	8
/* struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr. */
#define VIRTIO_CONSOLE_CONFIG_SIZE	12

/* Ports 0..30: 2 queues each plus the control pair fill VIRTIO_MAX_QUEUES. */
#define VIRTIO_CONSOLE_MAX_PORTS	31
#define VIRTIO_CONSOLE_QUEUE_SIZE	128
#define VIRTIO_CONSOLE_ID_MAX		64	/* qdev id, port name, chardev id */

/* Queue numbers (ch. 5.3.2): port 0 is 0/1, control is 2/3, port n is 2n+2/2n+3. */
static inline unsigned int virtio_console_rxq(unsigned int port)
{
	return port ? 2 * port + 2 : 0;
}

#define VIRTIO_CONSOLE_CTRL_RXQ	2	/* c_ivq: device to driver */
#define VIRTIO_CONSOLE_CTRL_TXQ	3	/* c_ovq: driver to device */

struct virtio_console;

/* A port as --device virtserialport / device_add describe it. */
struct virtio_console_port_cfg {
	char id[VIRTIO_CONSOLE_ID_MAX];		/* qdev id for device_del; "" none */
	char chardev[VIRTIO_CONSOLE_ID_MAX];	/* the backend's id */
	char name[VIRTIO_CONSOLE_ID_MAX];	/* guest-visible name; "" none */
	int nr;					/* port number; -1: first free >= 1 */
	bool console;				/* virtconsole: an hvc console port */
};

struct virtio_console_config {
	const char *name;		/* "virtio-serial0", for log lines */
	unsigned int max_ports;		/* 1..VIRTIO_CONSOLE_MAX_PORTS */
	struct loop *loop;		/* main loop: kicks, chardev input */
	/*
	 * On the main loop: a port is gone (the guest was told, or has no
	 * driver); its chardev is free again. Must not call back into the device.
	 */
	void (*port_gone)(void *opaque, const char *id, struct chardev *cd);
	void *opaque;
};

/* The device model; it outlives machine resets (ports stay configured). */
struct virtio_console *virtio_console_new(const struct virtio_console_config *cfg);
/* Frees the transport still bound; chardevs of the ports are the caller's to close. */
void virtio_console_free(struct virtio_console *con);

/*
 * What a transport binds (virtio_pci_new(), virtio_mmio_new()): a new one for
 * each incarnation of the machine, freed with it (virtio_dev_detach()).
 */
struct virtio_dev *virtio_console_vdev(struct virtio_console *con);

/*
 * Before the device/transport split, for user/vmm/machine.c until it binds
 * transports itself (virtio/pci_devices.c): attach creates the virtio-pci
 * function for this incarnation, detach stops the device and frees it.
 */

/* Serve queue idx as if the guest had kicked it (main loop). */
void virtio_console_kick(struct virtio_console *con, unsigned int idx);

/*
 * Add a port (main loop); cfg comes from the virtserialport / virtconsole
 * properties (serial_pci.c). With a driver running, the guest gets PORT_ADD.
 * 0, or a negative errno with a sentence in err (bad number, a name the
 * guest could not use as a file name, duplicate id or name).
 */
int virtio_console_port_add(struct virtio_console *con,
			    const struct virtio_console_port_cfg *cfg, struct chardev *cd,
			    char *err, size_t errlen);
/*
 * Remove the port with qdev id (main loop): PORT_REMOVE to the guest;
 * port_gone() runs once the message is handed over, or at once without a
 * driver. 0, -ENOENT, or -EBUSY when a removal is already on its way.
 */
int virtio_console_port_del(struct virtio_console *con, const char *id, char *err,
			    size_t errlen);
/* Is there a port with this qdev id (being removed included)? */
bool virtio_console_has_port(struct virtio_console *con, const char *id);

/* Guest side of a port, for tests and query commands. */
struct virtio_console_port_state {
	bool exists, added, ready, guest_open, removing;
};
void virtio_console_port_state(struct virtio_console *con, unsigned int nr,
			       struct virtio_console_port_state *st);

#endif
