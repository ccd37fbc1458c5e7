/*
 * The device model (Documentation/device-model.md): every device kind is a
 * registered type with a name, the bus kind it plugs into, typed properties,
 * and create / realize / unrealize / destroy hooks; instances form a tree of
 * buses with ids. The machine walks its instances and names no device type.
 */
#ifndef KEEL_DEVICES_DEVICE_H
#define KEEL_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "devices/machine.h"
#include "lib/opts.h"

#define DEVICE_ID_MAX	64
#define DEVICES_MAX_TYPES	64

struct device;
struct dev_bus;
struct pci_device;
struct dev_state_desc;		/* the migration state description (user/migrate/) */

/* What a device plugs into. */
enum dev_bus_kind {
	DEV_BUS_SYSTEM,		/* board devices: no bus=, no addr= */
	DEV_BUS_PCI,		/* PCI or PCIe: bus=ID, addr=SLOT[.FN] */
	DEV_BUS_VIRTIO_SERIAL,	/* virtserialport, virtconsole */
	DEV_BUS_VIRTIO_MMIO,	/* microvm's virtio-mmio slots: virtio-*-device */
	DEV_BUS_NR,
};

/*
 * A bus a device can plug into: hooks of the bus's owner for guest-visible
 * hotplug (PCIe slot, ACPI hotplug register block). Either may be NULL:
 * then the bus takes no devices while the guest runs.
 */
struct dev_bus_ops {
	/* dev is realized on a running machine: tell the guest (presence, event). */
	int (*plugged)(struct dev_bus *bus, struct device *dev, char *err, size_t errlen);
	/*
	 * Ask the guest to let dev go (attention button, ACPI eject request);
	 * the owner calls device_unplug_done() once the guest did.
	 */
	int (*unplug_request)(struct dev_bus *bus, struct device *dev, char *err,
			      size_t errlen);
};

struct dev_bus {
	char id[DEVICE_ID_MAX];		/* "pci.0", "br1", "rp1", "virtio-serial0" */
	enum dev_bus_kind kind;
	void *impl;			/* DEV_BUS_PCI: struct pci_bus *; DEV_BUS_VIRTIO_MMIO:
					 * struct virtio_mmio_bus *; else the owner's model */
	struct device *owner;		/* NULL: the machine's root bus */
	const struct dev_bus_ops *ops;
	void *ops_opaque;
	bool hotplug;			/* takes devices while the guest runs */
	bool pcie;			/* DEV_BUS_PCI: devices on it are PCIe endpoints */
	unsigned int max_slot;		/* DEV_BUS_PCI: highest slot (0 on a root port) */
	unsigned int min_slot;		/* DEV_BUS_PCI: lowest slot for automatic placement */
	struct dev_bus *next;
};

/* What realize gets: the machine and the bus the device plugs into (NULL: system). */
struct device_ctx {
	const struct machine_services *ms;
	struct dev_bus *bus;
	bool hotplug;			/* the guest is running */
	struct devices *devs;		/* for child buses: device_bus_add() */
};

struct device_type {
	const char *name;		/* QEMU's name where the device is the same */
	const char *const *aliases;	/* older keel spellings; NULL-terminated or NULL */
	const char *desc;		/* one line for --device help */
	enum dev_bus_kind bus;
	const struct opt_desc *props;	/* typed properties (lib/opts.h), or NULL */
	/* Other spellings of property names: pairs "old", "new", ..., NULL. */
	const char *const *prop_aliases;
	size_t conf_size;		/* bytes of the struct props fill (dev->conf) */
	bool no_user;			/* a board device: not for --device / device_add */
	bool hotpluggable;		/* may be added and removed while the guest runs */
	/*
	 * Optional, pure: are the properties consistent (a required one given,
	 * values that only make sense together)? Runs for command-line checks
	 * and before create. 0 or -EINVAL with err.
	 */
	int (*check)(const struct device *dev, char *err, size_t errlen);
	/*
	 * Once per run, after the properties were applied: check them and open
	 * host resources (images, sources, chardevs through ms); may set dev->priv.
	 * 0, or -errno with one sentence in err (a command-line mistake).
	 */
	int (*create)(struct device *dev, const struct machine_services *ms, char *err,
		      size_t errlen);
	/*
	 * Every incarnation of the machine (start, reset) and on hotplug: build
	 * the guest-visible part. A DEV_BUS_PCI type sets dev->pci; the core puts
	 * it on ctx->bus. 0 or -errno with err.
	 */
	int (*realize)(struct device *dev, const struct device_ctx *ctx, char *err,
		       size_t errlen);
	/* The incarnation ends (vCPUs stopped) or the guest let the device go. */
	void (*unrealize)(struct device *dev);
	/* Close what create opened; dev->priv is freed here. */
	void (*destroy)(struct device *dev);
	/* Migratable state (user/migrate/); NULL: this type blocks migration. */
	const struct dev_state_desc *state;
};

struct device {
	const struct device_type *type;
	char id[DEVICE_ID_MAX];		/* id= ("" when none was given) */
	char name[DEVICE_ID_MAX];	/* log name: the id, or type + index ("virtio-blk0") */
	char bus_id[DEVICE_ID_MAX];	/* bus= ("": the machine's default bus for the kind) */
	int addr;			/* PCI: devfn from addr=; -1: first free slot */
	void *conf;			/* conf_size bytes, filled from props */
	void *priv;			/* the model (create sets it) */
	struct pci_device *pci;		/* DEV_BUS_PCI: the function realize made */
	struct dev_bus *bus;		/* where it is plugged while realized */
	bool created, realized;
	bool hotplugged;		/* added while the guest ran */
	bool unplug_pending;		/* device_del sent, the guest has not let go yet */
	struct devices *devs;
	struct device *next;
};

/* The instances of one machine, in creation order, and their buses. */
struct devices {
	struct device *head;
	struct dev_bus *buses;
	const struct machine_services *ms;
	/* The machine learns of a completed unplug (DEVICE_DELETED); may be NULL. */
	void (*deleted)(void *opaque, struct device *dev);
	void *deleted_opaque;
	unsigned int counter[DEVICES_MAX_TYPES];	/* per type: "virtio-blk0", "virtio-blk1" */
};

/* The registry (user/devices/types.c): NULL-terminated. */
extern const struct device_type *const device_types[];

const struct device_type *device_type_find(const char *name);
void device_types_help(FILE *f);
/* "TYPE,help": the type's properties and placement keys. */
void device_type_help(FILE *f, const struct device_type *t);

void devices_init(struct devices *devs, const struct machine_services *ms);
/* Unrealize and destroy everything, newest first. */
void devices_fini(struct devices *devs);

/*
 * A new instance from o ("driver" or the implied first word names the type;
 * id=, bus=, addr= are the placement keys every device has; the rest are the
 * type's properties). Unknown keys, bad values: -EINVAL with err naming the
 * key; nothing is left behind. On success the device is created (its host
 * resources are open) and appended to devs.
 */
int device_new(struct devices *devs, struct opts *o, struct device **out, char *err,
	       size_t errlen);

/*
 * A command-line check of "TYPE,key=value,...": the type exists and every key
 * and value is right (no host resource touched). 0 or -EINVAL with err.
 */
int device_check(const char *spec, char *err, size_t errlen);

/* Realize every unrealized device in order (machine start or reset). */
int devices_realize(struct devices *devs, char *err, size_t errlen);
/* Unrealize every realized device, newest first (reset, exit). */
void devices_unrealize(struct devices *devs);

/* QMP device_add: device_new + realize + plug on a running machine. */
int device_hotplug(struct devices *devs, struct opts *o, char *err, size_t errlen);
/* QMP device_del: -ENOENT, -EBUSY (already pending), -EOPNOTSUPP (bus cannot). */
int device_unplug(struct devices *devs, const char *id, char *err, size_t errlen);
/* The guest let dev go: unrealize, destroy, free, tell the machine. */
void device_unplug_done(struct device *dev);

struct device *device_find(const struct devices *devs, const char *id);
struct dev_bus *device_bus_find(const struct devices *devs, const char *id);
/*
 * The bus dev plugs into: bus= by id, else the machine's root bus of the
 * kind, else the first bus of the kind. NULL with err.
 */
struct dev_bus *device_pick_bus(struct devices *devs, struct device *dev, char *err,
				size_t errlen);
/* A device's child bus (pci-bridge's secondary bus, virtio-serial's ports). */
struct dev_bus *device_bus_add(struct devices *devs, struct device *owner, const char *id,
			       enum dev_bus_kind kind, void *impl);
void device_bus_del(struct devices *devs, struct dev_bus *bus);

/* "slot" or "slot.fn" (hex digits as QEMU's addr=) into a devfn; -EINVAL. */
int device_parse_pci_addr(const char *s, int *devfn);

#endif
