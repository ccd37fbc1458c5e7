/*
 * QMP chardev-add / chardev-remove / device_add / device_del for serial ports
 * (devices.h; QEMU's qapi/char.json and qdev shapes). device_add goes through
 * the same port parser as --device on the command line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/virtio/console.h"
#include "vmm/chardevs.h"
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

/* Append ",key=value" for the port parser; a value with a comma is refused. */
static int qmp_devices_opt(char *buf, size_t cap, const char *key, const char *val,
			   struct qmp_error *err)
{
	size_t len = strlen(buf);

	if (!val)
		return 0;
	if (strchr(val, ',') || strchr(val, '='))
		return qmp_error_set(err, "Property '%s' may not hold ',' or '='", key);
	if ((size_t)snprintf(buf + len, cap - len, ",%s=%s", key, val) >= cap - len)
		return qmp_error_set(err, "Property '%s' is too long", key);
	return 0;
}

int qmp_cmd_device_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	const char *driver = qmp_devices_str(args, "driver");
	json_t *nr = json_object_get(args, "nr");
	struct virtio_console_port_cfg cfg;
	struct chardev *cd;
	char opts[512], num[16];
	int r;

	if (strcmp(driver, "virtserialport") && strcmp(driver, "virtconsole")) {
		err->cls = "GenericError";
		return qmp_error_set(err, "Device '%.64s' is not hot-pluggable (hot-pluggable: "
				     "virtserialport, virtconsole)", driver);
	}
	if (!d || !d->console)
		return qmp_error_set(err, "No 'virtio-serial-bus' bus found for device '%s' "
				     "(start keel with --device virtio-serial)", driver);
	snprintf(opts, sizeof(opts), "%s", driver);
	if (nr) {
		if (!json_is_integer(nr) || json_integer_value(nr) < 0 ||
		    json_integer_value(nr) > 1000)
			return qmp_error_set(err, "Property 'nr' must be a port number");
		snprintf(num, sizeof(num), "%d", (int)json_integer_value(nr));
	}
	r = qmp_devices_opt(opts, sizeof(opts), "chardev", qmp_devices_str(args, "chardev"), err);
	if (!r)
		r = qmp_devices_opt(opts, sizeof(opts), "name", qmp_devices_str(args, "name"), err);
	if (!r)
		r = qmp_devices_opt(opts, sizeof(opts), "id", qmp_devices_str(args, "id"), err);
	if (!r)
		r = qmp_devices_opt(opts, sizeof(opts), "nr", nr ? num : NULL, err);
	if (r)
		return r;
	r = virtio_console_port_parse(opts, &cfg, err->desc, sizeof(err->desc));
	if (r)
		return r;
	if (cfg.id[0] && virtio_console_has_port(d->console, cfg.id)) {
		err->cls = "GenericError";
		return qmp_error_set(err, "Duplicate device ID '%s' for device", cfg.id);
	}
	cd = chardevs_claim(d->chardevs, cfg.chardev, &r, err->desc, sizeof(err->desc));
	if (!cd)
		return r;
	r = virtio_console_port_add(d->console, &cfg, cd, err->desc, sizeof(err->desc));
	if (r)
		chardevs_release(d->chardevs, cd);
	return r;
}

int qmp_cmd_device_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_devices *d = qmp_devices_of(opaque);
	const char *id = qmp_devices_str(args, "id");
	int r;

	if (!d || !d->console || !virtio_console_has_port(d->console, id)) {
		err->cls = "DeviceNotFound";
		return qmp_error_set(err, "Device '%.64s' not found", id);
	}
	/* The reply comes now; DEVICE_DELETED once the port is gone. */
	r = virtio_console_port_del(d->console, id, err->desc, sizeof(err->desc));
	if (r == -EBUSY)
		return qmp_error_set(err, "Device '%.64s' is already in the process of unplug",
				     id);
	return r;
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
