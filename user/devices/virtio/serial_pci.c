/*
 * virtio-serial-pci, virtio-serial-device, virtserialport and virtconsole:
 * the registry entries of virtio-console (console.h). The controller (on
 * virtio-pci, or on microvm's virtio-mmio slots: transport.h) owns a
 * virtio-serial bus; ports plug into it, each claiming a chardev, and come
 * and go while the guest runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/virtio/console.h"
#include "devices/virtio/transport.h"
#include "lib/errmsg.h"

struct serial_pci_conf {
	unsigned int max_ports;
};

static const struct opt_desc serial_pci_props[] = {
	OPT_D_UINT(struct serial_pci_conf, max_ports, "max_ports", "31", 1,
		   VIRTIO_CONSOLE_MAX_PORTS, "ports the guest is offered"),
	{ 0 },
};

static const char *const serial_pci_prop_aliases[] = { "max-ports", "max_ports", NULL };

static int serial_bus_unplug(struct dev_bus *bus, struct device *port, char *err,
			     size_t errlen)
{
	int ret = virtio_console_port_del(bus->impl, port->id, err, errlen);

	if (ret == -EBUSY)
		return errmsg_set(err, errlen, ret, "Device '%s' is already in the process of "
				  "unplug", port->id);
	return ret;
}

static const struct dev_bus_ops serial_bus_ops = {
	.unplug_request = serial_bus_unplug,
};

/* What a port device keeps: its chardev, given back once the model let go. */
struct serial_port {
	struct chardev *cd;
	bool gone;
};

/* On the main loop: the guest was told the port is gone. */
static void serial_pci_port_gone(void *opaque, const char *id, struct chardev *cd)
{
	struct device *serial = opaque, *port = device_find(serial->devs, id);
	struct serial_port *p;

	if (!port || !port->priv) {
		serial->devs->ms->chardev_release(serial->devs->ms->opaque, cd);
		return;
	}
	p = port->priv;
	p->gone = true;
	device_unplug_done(port);
}

static int serial_pci_create(struct device *dev, const struct machine_services *ms, char *err,
			     size_t errlen)
{
	const struct serial_pci_conf *c = dev->conf;
	struct virtio_console_config vcc = {
		.name = dev->name, .max_ports = c->max_ports, .loop = ms->loop,
		.port_gone = serial_pci_port_gone, .opaque = dev,
	};
	struct virtio_console *con;
	struct dev_bus *bus;
	char id[DEVICE_ID_MAX + 2];

	con = virtio_console_new(&vcc);
	if (!con)
		return -ENOMEM;
	snprintf(id, sizeof(id), "%.*s.0", DEVICE_ID_MAX - 3, dev->name);
	bus = device_bus_add(dev->devs, dev, id, DEV_BUS_VIRTIO_SERIAL, con);
	if (!bus) {
		virtio_console_free(con);
		return -ENOMEM;
	}
	bus->hotplug = true;
	bus->ops = &serial_bus_ops;
	dev->priv = con;
	return 0;
}

static int serial_pci_realize(struct device *dev, const struct device_ctx *ctx, char *err,
			      size_t errlen)
{
	return virtio_transport_plug(dev, ctx, virtio_console_vdev(dev->priv), err, errlen);
}

static void serial_pci_unrealize(struct device *dev)
{
	virtio_dev_detach(virtio_console_vdev(dev->priv));
}

static void serial_pci_destroy(struct device *dev)
{
	struct dev_bus *b;

	for (b = dev->devs->buses; b; b = b->next)
		if (b->owner == dev)
			break;
	device_bus_del(dev->devs, b);
	virtio_console_free(dev->priv);
}

static const char *const serial_pci_aliases[] = { "virtio-serial", NULL };

const struct device_type virtio_serial_pci_type = {
	.name = "virtio-serial-pci",
	.aliases = serial_pci_aliases,
	.desc = "virtio-serial controller: a bus for virtserialport and virtconsole",
	.bus = DEV_BUS_PCI,
	.props = serial_pci_props,
	.prop_aliases = serial_pci_prop_aliases,
	.conf_size = sizeof(struct serial_pci_conf),
	.create = serial_pci_create,
	.realize = serial_pci_realize,
	.unrealize = serial_pci_unrealize,
	.destroy = serial_pci_destroy,
};

const struct device_type virtio_serial_device_type = {
	.name = "virtio-serial-device",
	.desc = "virtio-serial controller on a virtio-mmio slot: a bus for ports",
	.bus = DEV_BUS_VIRTIO_MMIO,
	.props = serial_pci_props,
	.prop_aliases = serial_pci_prop_aliases,
	.conf_size = sizeof(struct serial_pci_conf),
	.create = serial_pci_create,
	.realize = serial_pci_realize,
	.unrealize = serial_pci_unrealize,
	.destroy = serial_pci_destroy,
};

/* ---- ports ---- */

#define SERIAL_PORT_NR_AUTO	255

struct serial_port_conf {
	char chardev[VIRTIO_CONSOLE_ID_MAX];
	char name[VIRTIO_CONSOLE_ID_MAX];
	unsigned int nr;
};

static const struct opt_desc serial_port_props[] = {
	OPT_D_STR(struct serial_port_conf, chardev, "chardev", NULL,
		  "the chardev (--chardev id=) the port is wired to"),
	OPT_D_STR(struct serial_port_conf, name, "name", NULL,
		  "the name the guest sees (/dev/virtio-ports/NAME)"),
	OPT_D_UINT(struct serial_port_conf, nr, "nr", "255", 0, SERIAL_PORT_NR_AUTO,
		   "port number (0..30; default: the first free from 1)"),
	{ 0 },
};

static int serial_port_check(const struct device *dev, char *err, size_t errlen)
{
	const struct serial_port_conf *c = dev->conf;

	if (!c->chardev[0])
		return errmsg_set(err, errlen, -EINVAL, "%s: Property 'chardev' is missing",
				  dev->type->name);
	if (c->nr != SERIAL_PORT_NR_AUTO && c->nr >= VIRTIO_CONSOLE_MAX_PORTS)
		return errmsg_set(err, errlen, -EINVAL, "%s: nr=%u is not a port number (0..%d)",
				  dev->type->name, c->nr, VIRTIO_CONSOLE_MAX_PORTS - 1);
	return 0;
}

static int serial_port_create(struct device *dev, const struct machine_services *ms,
			      char *err, size_t errlen)
{
	const struct serial_port_conf *c = dev->conf;
	struct virtio_console_port_cfg cfg = { .nr = -1 };
	struct serial_port *p;
	struct dev_bus *bus;
	int ret;

	if (!ms->chardev_claim)
		return errmsg_set(err, errlen, -ENODEV, "%s: this machine has no chardevs",
				  dev->type->name);
	bus = device_pick_bus(dev->devs, dev, err, errlen);
	if (!bus)
		return -EINVAL;
	snprintf(cfg.id, sizeof(cfg.id), "%s", dev->id);
	snprintf(cfg.chardev, sizeof(cfg.chardev), "%s", c->chardev);
	snprintf(cfg.name, sizeof(cfg.name), "%s", c->name);
	cfg.nr = c->nr == SERIAL_PORT_NR_AUTO ? -1 : (int)c->nr;
	cfg.console = !strcmp(dev->type->name, "virtconsole");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cd = ms->chardev_claim(ms->opaque, c->chardev, &ret, err, errlen);
	if (!p->cd) {
		free(p);
		return ret;
	}
	ret = virtio_console_port_add(bus->impl, &cfg, p->cd, err, errlen);
	if (ret) {
		ms->chardev_release(ms->opaque, p->cd);
		free(p);
		return ret;
	}
	dev->priv = p;
	return 0;
}

/* The model keeps a port across resets; only a completed unplug gives the chardev back. */
static void serial_port_destroy(struct device *dev)
{
	struct serial_port *p = dev->priv;
	const struct machine_services *ms = dev->devs->ms;

	if (p && p->gone)
		ms->chardev_release(ms->opaque, p->cd);
	free(p);
}

const struct device_type virtserialport_type = {
	.name = "virtserialport",
	.desc = "a named virtio-serial port wired to a chardev",
	.bus = DEV_BUS_VIRTIO_SERIAL,
	.props = serial_port_props,
	.conf_size = sizeof(struct serial_port_conf),
	.hotpluggable = true,
	.check = serial_port_check,
	.create = serial_port_create,
	.destroy = serial_port_destroy,
};

const struct device_type virtconsole_type = {
	.name = "virtconsole",
	.desc = "a virtio-serial console port (hvc) wired to a chardev",
	.bus = DEV_BUS_VIRTIO_SERIAL,
	.props = serial_port_props,
	.conf_size = sizeof(struct serial_port_conf),
	.hotpluggable = true,
	.check = serial_port_check,
	.create = serial_port_create,
	.destroy = serial_port_destroy,
};
