/*
 * The device model's core (device.h, Documentation/device-model.md): type
 * lookup and help, instances from option lists, the bus tree, realizing an
 * incarnation, and hotplug / unplug on buses that allow it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bus.h"
#include "devices/pci/host.h"
#include "lib/errmsg.h"
#include "lib/log.h"

#define dev_err(err, errlen, ...) errmsg_set(err, errlen, -EINVAL, __VA_ARGS__)

static const char *const dev_bus_names[DEV_BUS_NR] = {
	[DEV_BUS_SYSTEM] = "system",
	[DEV_BUS_PCI] = "PCI",
	[DEV_BUS_VIRTIO_SERIAL] = "virtio-serial",
	[DEV_BUS_VIRTIO_MMIO] = "virtio-mmio",
};

const struct device_type *device_type_find(const char *name)
{
	unsigned int i, j;

	if (!name)
		return NULL;
	for (i = 0; device_types[i]; i++) {
		const struct device_type *t = device_types[i];

		if (!strcmp(t->name, name))
			return t;
		for (j = 0; t->aliases && t->aliases[j]; j++)
			if (!strcmp(t->aliases[j], name))
				return t;
	}
	return NULL;
}

void device_types_help(FILE *f)
{
	unsigned int i;

	fprintf(f, "device types (--device TYPE,help lists a type's properties):\n");
	for (i = 0; device_types[i]; i++) {
		const struct device_type *t = device_types[i];

		if (t->no_user)
			continue;
		fprintf(f, "  %-20s %s bus%s; %s\n", t->name, dev_bus_names[t->bus],
			t->hotpluggable ? ", hot-pluggable" : "", t->desc);
	}
}

void device_type_help(FILE *f, const struct device_type *t)
{
	fprintf(f, "%s: %s\n", t->name, t->desc);
	fprintf(f, "  id=<string>          the device's name for QMP (device_del) and bus=\n");
	if (t->bus == DEV_BUS_PCI) {
		fprintf(f, "  bus=<string>         the PCI bus (default: the root bus)\n");
		fprintf(f, "  addr=<slot[.fn]>     slot and function in hex (default: first free)\n");
	} else if (t->bus != DEV_BUS_SYSTEM) {
		fprintf(f, "  bus=<string>         the %s bus (default: the first one)\n",
			dev_bus_names[t->bus]);
	}
	if (t->props)
		opts_help(f, t->props);
}

/* The type's place in the registry, for per-type instance numbers. */
static unsigned int dev_type_index(const struct device_type *t)
{
	unsigned int i;

	for (i = 0; device_types[i] && i < DEVICES_MAX_TYPES - 1; i++)
		if (device_types[i] == t)
			return i;
	return DEVICES_MAX_TYPES - 1;
}

void devices_init(struct devices *devs, const struct machine_services *ms)
{
	memset(devs, 0, sizeof(*devs));
	devs->ms = ms;
}

static bool dev_valid_id(const char *id)
{
	const char *c;

	if (!*id || strlen(id) >= DEVICE_ID_MAX)
		return false;
	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return false;
	for (c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

int device_parse_pci_addr(const char *s, int *devfn)
{
	unsigned long slot, fn = 0;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	slot = strtoul(s, &end, 16);
	if (end == s || slot >= PCI_SLOTS)
		return -EINVAL;
	if (*end == '.') {
		const char *f = end + 1;

		fn = strtoul(f, &end, 16);
		if (end == f || fn >= PCI_FUNCS)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*devfn = (int)PCI_DEVFN(slot, fn);
	return 0;
}

struct device *device_find(const struct devices *devs, const char *id)
{
	struct device *d;

	if (!id || !*id)
		return NULL;
	for (d = devs->head; d; d = d->next)
		if (!strcmp(d->id, id))
			return d;
	return NULL;
}

struct dev_bus *device_bus_find(const struct devices *devs, const char *id)
{
	struct dev_bus *b;

	for (b = devs->buses; b; b = b->next)
		if (!strcmp(b->id, id))
			return b;
	return NULL;
}

struct dev_bus *device_bus_add(struct devices *devs, struct device *owner, const char *id,
			       enum dev_bus_kind kind, void *impl)
{
	struct dev_bus *b = calloc(1, sizeof(*b)), **tail;

	if (!b)
		return NULL;
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->kind = kind;
	b->impl = impl;
	b->owner = owner;
	b->max_slot = PCI_SLOTS - 1;
	b->min_slot = owner ? 0 : 1;	/* slot 0 of a root bus is the host bridge */
	for (tail = &devs->buses; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	return b;
}

void device_bus_del(struct devices *devs, struct dev_bus *bus)
{
	struct dev_bus **p;

	if (!bus)
		return;
	for (p = &devs->buses; *p; p = &(*p)->next)
		if (*p == bus) {
			*p = bus->next;
			free(bus);
			return;
		}
}

/* The bus dev plugs into: bus= by id, else the first root bus of its kind. */
struct dev_bus *device_pick_bus(struct devices *devs, struct device *dev, char *err,
				size_t errlen)
{
	struct dev_bus *b;

	if (dev->type->bus == DEV_BUS_SYSTEM)
		return NULL;
	if (dev->bus_id[0]) {
		b = device_bus_find(devs, dev->bus_id);
		if (!b) {
			dev_err(err, errlen, "%s: Bus '%s' not found", dev->name, dev->bus_id);
			return NULL;
		}
		if (b->kind != dev->type->bus) {
			dev_err(err, errlen, "%s: Bus '%s' is a %s bus, not a %s bus", dev->name,
				b->id, dev_bus_names[b->kind], dev_bus_names[dev->type->bus]);
			return NULL;
		}
		return b;
	}
	/* A root bus first, then any bus of the kind (virtio-serial's). */
	for (b = devs->buses; b; b = b->next)
		if (b->kind == dev->type->bus && !b->owner)
			return b;
	for (b = devs->buses; b; b = b->next)
		if (b->kind == dev->type->bus)
			return b;
	dev_err(err, errlen, "%s: No '%s' bus found for device '%s'", dev->name,
		dev_bus_names[dev->type->bus], dev->type->name);
	return NULL;
}

/* Put dev->pci on the PCI bus b at dev->addr, or the first free slot. */
static int dev_pci_plug(struct devices *devs, struct device *dev, struct dev_bus *b,
			char *err, size_t errlen)
{
	struct pci_bus *pb = b->impl;
	unsigned int s;
	int devfn = dev->addr, ret;

	if (devfn >= 0) {
		if ((unsigned int)devfn >> 3 > b->max_slot || (unsigned int)devfn >> 3 < b->min_slot)
			return dev_err(err, errlen, "%s: addr %x.%x is not a usable slot on bus '%s'",
				       dev->name, devfn >> 3, devfn & 7, b->id);
		if (pci_bus_find(pb, (unsigned int)devfn))
			return dev_err(err, errlen, "%s: PCI address %x.%x on bus '%s' is in use",
				       dev->name, devfn >> 3, devfn & 7, b->id);
	} else {
		for (s = b->min_slot; s <= b->max_slot; s++)
			if (!pci_bus_find(pb, PCI_DEVFN(s, 0)))
				break;
		if (s > b->max_slot)
			return errmsg_set(err, errlen, -ENOSPC, "%s: no free slot on PCI bus '%s'",
					  dev->name, b->id);
		devfn = (int)PCI_DEVFN(s, 0);
	}
	dev->pci->ms = devs->ms;
	ret = pci_host_plug(pb, dev->pci, (unsigned int)devfn);
	if (ret)
		return errmsg_set(err, errlen, ret, "%s: cannot put it on bus '%s': %s",
				  dev->name, b->id, strerror(-ret));
	return 0;
}

static void dev_pci_unplug(struct device *dev)
{
	struct pci_bus *pb;

	if (!dev->pci || !dev->bus || dev->bus->kind != DEV_BUS_PCI)
		return;
	pb = dev->bus->impl;
	if (pci_bus_find(pb, dev->pci->devfn) == dev->pci)
		pci_host_unplug(dev->pci);
}

static int dev_realize_one(struct devices *devs, struct device *dev, bool hotplug, char *err,
			   size_t errlen)
{
	struct device_ctx ctx = { .ms = devs->ms, .hotplug = hotplug, .devs = devs };
	int ret;

	if (dev->type->bus != DEV_BUS_SYSTEM) {
		ctx.bus = device_pick_bus(devs, dev, err, errlen);
		if (!ctx.bus)
			return -EINVAL;
	}
	dev->pci = NULL;
	ret = dev->type->realize ? dev->type->realize(dev, &ctx, err, errlen) : 0;
	if (ret)
		return ret;
	dev->bus = ctx.bus;
	if (ctx.bus && ctx.bus->kind == DEV_BUS_PCI) {
		if (!dev->pci) {
			ret = dev_err(err, errlen, "%s: realize made no PCI function", dev->name);
		} else {
			ret = dev_pci_plug(devs, dev, ctx.bus, err, errlen);
		}
		if (ret) {
			if (dev->type->unrealize)
				dev->type->unrealize(dev);
			dev->bus = NULL;
			return ret;
		}
	}
	dev->realized = true;
	return 0;
}

static void dev_unrealize_one(struct device *dev)
{
	if (!dev->realized)
		return;
	/* Off the bus first: no config cycle reaches a function being freed. */
	dev_pci_unplug(dev);
	if (dev->type->unrealize)
		dev->type->unrealize(dev);
	dev->realized = false;
	dev->bus = NULL;
	dev->pci = NULL;
}

int devices_realize(struct devices *devs, char *err, size_t errlen)
{
	struct device *d;
	int ret;

	for (d = devs->head; d; d = d->next) {
		if (d->realized || d->unplug_pending)
			continue;
		ret = dev_realize_one(devs, d, false, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* Newest first: a device on a bridge goes before the bridge. */
static void dev_unrealize_from(struct device *d)
{
	if (!d)
		return;
	dev_unrealize_from(d->next);
	dev_unrealize_one(d);
}

void devices_unrealize(struct devices *devs)
{
	dev_unrealize_from(devs->head);
}

static void dev_free(struct device *dev)
{
	if (dev->created && dev->type->destroy)
		dev->type->destroy(dev);
	free(dev->conf);
	free(dev);
}

static void dev_unlink(struct devices *devs, struct device *dev)
{
	struct device **p;

	for (p = &devs->head; *p; p = &(*p)->next)
		if (*p == dev) {
			*p = dev->next;
			return;
		}
}

static void dev_fini_from(struct device *d)
{
	if (!d)
		return;
	dev_fini_from(d->next);
	dev_unrealize_one(d);
	dev_free(d);
}

void devices_fini(struct devices *devs)
{
	struct dev_bus *b, *next;

	dev_fini_from(devs->head);
	devs->head = NULL;
	for (b = devs->buses; b; b = next) {
		next = b->next;
		free(b);
	}
	devs->buses = NULL;
}

/*
 * The pure half of making an instance: type, placement keys and properties
 * from o into a fresh device (no host resource is touched). devs may be NULL
 * (a command-line check): then ids are not checked against other devices.
 */
static int dev_configure(struct devices *devs, struct opts *o, struct device **out,
			 char *err, size_t errlen)
{
	const char *driver = opts_get(o, "driver"), *id, *bus, *addr;
	const struct device_type *t;
	struct device *dev;
	unsigned int i;
	int ret;

	if (!driver || !*driver)
		return dev_err(err, errlen, "Parameter 'driver' is missing");
	t = device_type_find(driver);
	if (!t || t->no_user)
		return dev_err(err, errlen, "'%s' is not a valid device model name "
			       "(--device help lists them)", driver);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->type = t;
	dev->devs = devs;
	dev->addr = -1;
	if (t->conf_size) {
		dev->conf = calloc(1, t->conf_size);
		if (!dev->conf) {
			free(dev);
			return -ENOMEM;
		}
	}
	id = opts_get(o, "id");
	if (id) {
		if (!dev_valid_id(id)) {
			ret = dev_err(err, errlen, "%s: Parameter 'id' expects an identifier "
				      "(a letter, then letters, digits, '-', '_', '.'; at most %d)",
				      t->name, DEVICE_ID_MAX - 1);
			goto fail;
		}
		if (devs && (device_find(devs, id) || device_bus_find(devs, id))) {
			ret = dev_err(err, errlen, "Duplicate device ID '%s' for device", id);
			goto fail;
		}
		snprintf(dev->id, sizeof(dev->id), "%s", id);
		snprintf(dev->name, sizeof(dev->name), "%s", id);
	} else {
		/* "virtio-blk-pci" -> "virtio-blk0": the name log lines always used. */
		const char *dash = strstr(t->name, "-pci");
		int len = dash && !dash[4] ? (int)(dash - t->name) : (int)strlen(t->name);

		snprintf(dev->name, sizeof(dev->name), "%.*s%u", len, t->name,
			 devs ? devs->counter[dev_type_index(t)] : 0);
	}
	bus = opts_get(o, "bus");
	if (bus) {
		if (t->bus == DEV_BUS_SYSTEM) {
			ret = dev_err(err, errlen, "%s: key 'bus': this device plugs into no bus",
				      t->name);
			goto fail;
		}
		if (strlen(bus) >= sizeof(dev->bus_id) || !*bus) {
			ret = dev_err(err, errlen, "%s: key 'bus': '%s' is not a bus id", t->name,
				      bus);
			goto fail;
		}
		snprintf(dev->bus_id, sizeof(dev->bus_id), "%s", bus);
	}
	addr = opts_get(o, "addr");
	if (addr) {
		if (t->bus != DEV_BUS_PCI || device_parse_pci_addr(addr, &dev->addr)) {
			ret = dev_err(err, errlen, "%s: key 'addr': '%s' is not a PCI slot[.function] "
				      "(hex, slot 0..1f, function 0..7)", t->name, addr);
			goto fail;
		}
	}
	for (i = 0; t->prop_aliases && t->prop_aliases[i]; i += 2) {
		const char *v = opts_peek(o, t->prop_aliases[i]);

		if (!v)
			continue;
		if (opts_peek(o, t->prop_aliases[i + 1])) {
			ret = dev_err(err, errlen, "%s: '%s' and '%s' are the same property; give "
				      "one", t->name, t->prop_aliases[i], t->prop_aliases[i + 1]);
			goto fail;
		}
		ret = opts_set(o, t->prop_aliases[i + 1], v);
		if (ret)
			goto fail;
		opts_del(o, t->prop_aliases[i]);
	}
	if (t->props) {
		ret = opts_apply(o, t->props, dev->conf, t->name, err, errlen);
		if (ret)
			goto fail;
	}
	ret = opts_check_used(o, t->name, err, errlen);
	if (ret)
		goto fail;
	if (t->check) {
		ret = t->check(dev, err, errlen);
		if (ret)
			goto fail;
	}
	*out = dev;
	return 0;
fail:
	free(dev->conf);
	free(dev);
	return ret < 0 ? ret : -EINVAL;
}

int device_check(const char *spec, char *err, size_t errlen)
{
	struct device *dev;
	struct opts o;
	int ret;

	ret = opts_parse(&o, spec, "driver", false, err, errlen);
	if (!ret)
		ret = dev_configure(NULL, &o, &dev, err, errlen);
	if (!ret) {
		free(dev->conf);
		free(dev);
	}
	opts_free(&o);
	return ret;
}

static int dev_new(struct devices *devs, struct opts *o, bool hotplug, struct device **out,
		   char *err, size_t errlen)
{
	const struct device_type *t;
	struct device *dev, **tail;
	int ret;

	ret = dev_configure(devs, o, &dev, err, errlen);
	if (ret)
		return ret;
	t = dev->type;
	if (hotplug) {
		struct dev_bus *b;

		if (!t->hotpluggable) {
			ret = dev_err(err, errlen, "Device '%s' does not support hotplugging",
				      t->name);
			goto fail;
		}
		if (t->bus != DEV_BUS_SYSTEM) {
			b = device_pick_bus(devs, dev, err, errlen);
			if (!b) {
				ret = -EINVAL;
				goto fail;
			}
			if (!b->hotplug) {
				ret = dev_err(err, errlen, "Bus '%s' does not support hotplugging",
					      b->id);
				goto fail;
			}
		}
		dev->hotplugged = true;
	}
	/* Linked before create: a device making a child bus finds itself. */
	for (tail = &devs->head; *tail; tail = &(*tail)->next)
		;
	*tail = dev;
	if (t->create) {
		ret = t->create(dev, devs->ms, err, errlen);
		if (ret) {
			dev_unlink(devs, dev);
			goto fail;
		}
	}
	dev->created = true;
	devs->counter[dev_type_index(t)]++;
	if (out)
		*out = dev;
	return 0;
fail:
	free(dev->conf);
	free(dev);
	return ret < 0 ? ret : -EINVAL;
}

int device_new(struct devices *devs, struct opts *o, struct device **out, char *err,
	       size_t errlen)
{
	return dev_new(devs, o, false, out, err, errlen);
}

int device_hotplug(struct devices *devs, struct opts *o, char *err, size_t errlen)
{
	struct device *dev;
	int ret;

	ret = dev_new(devs, o, true, &dev, err, errlen);
	if (ret)
		return ret;
	ret = dev_realize_one(devs, dev, true, err, errlen);
	if (ret)
		goto fail;
	if (dev->bus && dev->bus->ops && dev->bus->ops->plugged) {
		ret = dev->bus->ops->plugged(dev->bus, dev, err, errlen);
		if (ret) {
			dev_unrealize_one(dev);
			goto fail;
		}
	}
	return 0;
fail:
	dev_unlink(devs, dev);
	dev_free(dev);
	return ret;
}

int device_unplug(struct devices *devs, const char *id, char *err, size_t errlen)
{
	struct device *dev = device_find(devs, id);
	struct dev_bus *b;
	int ret;

	if (!dev)
		return errmsg_set(err, errlen, -ENOENT, "Device '%.64s' not found", id ? id : "");
	if (dev->unplug_pending)
		return errmsg_set(err, errlen, -EBUSY,
				  "Device '%s' is already in the process of unplug", id);
	b = dev->bus;
	if (!dev->type->hotpluggable || !b || !b->hotplug || !b->ops || !b->ops->unplug_request)
		return errmsg_set(err, errlen, -EOPNOTSUPP,
				  "Device '%s' (%s) does not support hot-unplug", id,
				  dev->type->name);
	for (struct device *d = devs->head; d; d = d->next) {
		struct dev_bus *child;

		for (child = devs->buses; child; child = child->next)
			if (child->owner == dev && d->bus == child)
				return errmsg_set(err, errlen, -EBUSY, "Device '%s' still has "
						  "device '%s' on its bus", id, d->name);
	}
	dev->unplug_pending = true;
	ret = b->ops->unplug_request(b, dev, err, errlen);
	if (ret)
		dev->unplug_pending = false;
	return ret;
}

void device_unplug_done(struct device *dev)
{
	struct devices *devs = dev->devs;

	log_debug("%s: unplugged", dev->name);
	dev_unrealize_one(dev);
	dev_unlink(devs, dev);
	if (devs->deleted)
		devs->deleted(devs->deleted_opaque, dev);
	dev_free(dev);
}
