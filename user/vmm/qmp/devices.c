/*
 * QMP chardev-add / chardev-remove / device_add / device_del and the device
 * and machine-type listings (devices.h; QEMU's qapi/char.json and qdev
 * shapes). device_add goes through the same parser as --device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bus.h"
#include "lib/opts.h"
#include "vmm/blockdev.h"
#include "vmm/chardevs.h"
#include "vmm/machine_type.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"

static struct qmp_devices *qmp_devices_of(void *opaque)
{
	struct qmp_machine *m = opaque;

	return m->devices;
}

static const char *qmp_devices_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* backend {"type": T, "data": {...}} into spec (id already set). */
static int qmp_devices_backend(json_t *backend, struct chardevs_spec *spec,
			       struct qmp_error *err)
{
	const char *type = qmp_devices_str(backend, "type"), *path = NULL;
	json_t *data = json_object_get(backend, "data");

	if (!type)
		return qmp_error_set(err, "backend needs a 'type'");
	if (data && !json_is_object(data))
		return qmp_error_set(err, "backend 'data' must be an object");
	if (!strcmp(type, "null")) {
		spec->backend = CHARDEVS_NULL;
	} else if (!strcmp(type, "pty")) {
		spec->backend = CHARDEVS_PTY;
	} else if (!strcmp(type, "file")) {
		spec->backend = CHARDEVS_FILE;
		path = qmp_devices_str(data, "out");
		if (!path)
			return qmp_error_set(err, "file backend needs data.out");
		if (json_object_get(data, "in"))
			return qmp_error_set(err, "file backend: 'in' is not supported");
	} else if (!strcmp(type, "socket")) {
		json_t *addr = json_object_get(data, "addr");
		json_t *server = json_object_get(data, "server");

		spec->backend = CHARDEVS_UNIX;
		if (!addr || !qmp_devices_str(addr, "type") ||
		    strcmp(qmp_devices_str(addr, "type"), "unix"))
			return qmp_error_set(err, "socket backend: only addr.type 'unix' is "
					     "supported");
		path = qmp_devices_str(json_object_get(addr, "data"), "path");
		if (!path)
			return qmp_error_set(err, "socket backend needs addr.data.path");
		/* QEMU's default is a client; keel only listens, so say so. */
		if (!json_is_true(server))
			return qmp_error_set(err, "socket backend: only server=true is supported");
		spec->server = true;
	} else {
		return qmp_error_set(err, "backend type '%.64s' is not supported (socket, file, "
				     "pty, null)", type);
	}
	if (path) {
		if (strlen(path) >= sizeof(spec->path))
			return qmp_error_set(err, "path is longer than %zu bytes",
					     sizeof(spec->path) - 1);
		snprintf(spec->path, sizeof(spec->path), "%s", path);
	}
	return 0;
}

int qmp_cmd_chardev_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	struct chardevs_spec spec = { 0 };
	const char *id = qmp_devices_str(args, "id");
	char pty[64] = "";
	int r;

	if (!d || !d->chardevs)
		return qmp_error_set(err, "this machine has no chardevs");
	if (strlen(id) >= sizeof(spec.id))
		return qmp_error_set(err, "chardev id is longer than %zu bytes",
				     sizeof(spec.id) - 1);
	snprintf(spec.id, sizeof(spec.id), "%s", id);
	r = qmp_devices_backend(json_object_get(args, "backend"), &spec, err);
	if (r)
		return r;
	r = chardevs_add(d->chardevs, &spec, pty, sizeof(pty), err->desc, sizeof(err->desc));
	if (r)
		return r;
	if (spec.backend == CHARDEVS_PTY) {
		*ret = json_pack("{s:s}", "pty", pty);
		return *ret ? 0 : -ENOMEM;
	}
	return 0;
}

int qmp_cmd_chardev_remove(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	const char *id = qmp_devices_str(args, "id");
	int r;

	if (!d || !d->chardevs)
		return qmp_error_set(err, "Chardev '%.64s' not found", id);
	r = chardevs_remove(d->chardevs, id, err->desc, sizeof(err->desc));
	if (r == -ENOENT)
		return qmp_error_set(err, "Chardev '%.64s' not found", id);
	if (r == -EBUSY)
		return qmp_error_set(err, "Chardev '%.64s' is busy", id);
	return r;
}

/* One level of args into o, object members as "prefix.key" (blockdev-add's file.*). */
static int qmp_devices_flatten(json_t *args, const char *prefix, struct opts *o,
			       struct qmp_error *err)
{
	const char *key;
	json_t *v;
	char num[32], full[OPTS_KEY_MAX];
	int r;

	json_object_foreach(args, key, v) {
		const char *val;

		if ((size_t)snprintf(full, sizeof(full), "%s%s", prefix, key) >= sizeof(full))
			return qmp_error_set(err, "Parameter '%.64s%.64s' is too long", prefix, key);
		if (json_is_object(v) && prefix[0] == '\0') {
			char sub[OPTS_KEY_MAX + 1];

			snprintf(sub, sizeof(sub), "%s.", full);
			r = qmp_devices_flatten(v, sub, o, err);
			if (r)
				return r;
			continue;
		}

		if (json_is_string(v))
			val = json_string_value(v);
		else if (json_is_boolean(v))
			val = json_is_true(v) ? "on" : "off";
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			val = num;
		} else
			return qmp_error_set(err, "Parameter '%.64s' must be a string, a number or "
					     "a boolean", full);
		r = opts_set(o, full, val);
		if (r == -ENOSPC)
			return qmp_error_set(err, "too many parameters (at most %d)",
					     OPTS_MAX_PAIRS);
		if (r)
			return qmp_error_set(err, "Parameter '%.64s' cannot be taken", full);
	}
	return 0;
}

int qmp_devices_to_opts(json_t *args, struct opts *o, struct qmp_error *err)
{
	const char *key;
	json_t *v;

	opts_init(o);
	/* device_add's values are flat: an object is an error naming its key. */
	json_object_foreach(args, key, v)
		if (json_is_object(v) || json_is_array(v))
			return qmp_error_set(err, "Parameter '%.64s' must be a string, a number "
					     "or a boolean", key);
	return qmp_devices_flatten(args, "", o, err);
}

int qmp_cmd_blockdev_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	char node[BLOCKDEV_NODE_MAX];
	struct disk_conf *conf;
	struct opts o;
	int r;

	if (!d || !d->blockdevs)
		return qmp_error_set(err, "this machine has no block layer");
	conf = malloc(sizeof(*conf));
	if (!conf)
		return -ENOMEM;
	opts_init(&o);
	r = qmp_devices_flatten(args, "", &o, err);
	if (!r)
		r = blockdev_parse(&o, node, sizeof(node), conf, err->desc, sizeof(err->desc));
	if (!r)
		r = blockdevs_add(d->blockdevs, node, conf, err->desc, sizeof(err->desc));
	opts_free(&o);
	free(conf);
	return r;
}

int qmp_cmd_blockdev_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	const char *node = qmp_devices_str(args, "node-name");

	if (!d || !d->blockdevs)
		return qmp_error_set(err, "Failed to find node with node-name='%.64s'", node);
	return blockdevs_del(d->blockdevs, node, err->desc, sizeof(err->desc));
}

int qmp_cmd_query_named_block_nodes(void *opaque, json_t *args, json_t **ret,
				    struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	json_t *list = json_array();
	struct blockdev *b;

	if (!list)
		return -ENOMEM;
	for (b = d && d->blockdevs ? d->blockdevs->head : NULL; b; b = b->next)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b,s:{s:s,s:s,s:I}}",
			"node-name", b->node, "drv", b->bd->drv->name, "file", b->conf.path,
			"ro", b->conf.read_only, "image", "filename", b->conf.path,
			"format", b->bd->drv->name, "virtual-size", (json_int_t)b->bd->size));
	*ret = list;
	return 0;
}

int qmp_cmd_device_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	struct opts o;
	int r;

	if (!d || !d->devs)
		return qmp_error_set(err, "this machine takes no devices");
	r = qmp_devices_to_opts(args, &o, err);
	if (!r) {
		r = device_hotplug(d->devs, &o, err->desc, sizeof(err->desc));
		if (r && !err->desc[0])
			qmp_error_set(err, "device_add failed: %s", strerror(-r));
	}
	opts_free(&o);
	return r;
}

int qmp_cmd_device_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	const char *id = qmp_devices_str(args, "id");
	int r;

	if (!d || !d->devs || !device_find(d->devs, id)) {
		err->cls = "DeviceNotFound";
		return qmp_error_set(err, "Device '%.64s' not found", id);
	}
	/* The reply comes now; DEVICE_DELETED once the guest let go. */
	r = device_unplug(d->devs, id, err->desc, sizeof(err->desc));
	if (r == -ENOENT)
		err->cls = "DeviceNotFound";
	return r;
}

/* Every device with its id, type, bus and address (keel's listing: x-query-devices). */
int qmp_cmd_query_devices(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	json_t *list = json_array();
	struct device *dev;

	if (!list)
		return -ENOMEM;
	for (dev = d && d->devs ? d->devs->head : NULL; dev; dev = dev->next) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b}", "id", dev->id, "name", dev->name,
				      "type", dev->type->name, "hotplugged", dev->hotplugged,
				      "unplug-pending", dev->unplug_pending);

		if (!o)
			continue;
		if (dev->bus)
			json_object_set_new(o, "bus", json_string(dev->bus->id));
		if (dev->pci) {
			char addr[16];

			snprintf(addr, sizeof(addr), "%x.%x", dev->pci->devfn >> 3,
				 dev->pci->devfn & 7);
			json_object_set_new(o, "addr", json_string(addr));
		}
		json_array_append_new(list, o);
	}
	*ret = list;
	return 0;
}

int qmp_cmd_query_machines(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	json_t *list = json_array();
	unsigned int i;

	if (!list)
		return -ENOMEM;
	for (i = 0; machine_types[i]; i++) {
		const struct machine_type *t = machine_types[i];
		json_t *o = json_pack("{s:s,s:i,s:b,s:b,s:b}", "name", t->name, "cpu-max",
				      (int)t->max_cpus, "hotpluggable-cpus", 0, "deprecated", 0,
				      "numa-mem-supported", 0);

		if (!o)
			continue;
		if (t->alias)
			json_object_set_new(o, "alias", json_string(t->alias));
		if (t->is_default)
			json_object_set_new(o, "is-default", json_true());
		json_array_append_new(list, o);
	}
	*ret = list;
	return 0;
}

void qmp_devices_deleted(struct qmp_server *srv, const char *id)
{
	char path[128];

	if (!srv || !id || !id[0])
		return;
	snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
	qmp_server_event(srv, "DEVICE_DELETED", json_pack("{s:s,s:s}", "device", id, "path",
							  path));
}
