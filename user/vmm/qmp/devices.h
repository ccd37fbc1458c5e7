/*
 * QMP commands for chardevs and serial port hotplug (Documentation/qmp.md
 * "Chardevs and serial ports", F27): chardev-add, chardev-remove, device_add,
 * device_del and the DEVICE_DELETED event, in QEMU's argument and reply shapes.
 */
#ifndef KEEL_VMM_QMP_DEVICES_H
#define KEEL_VMM_QMP_DEVICES_H

#include <jansson.h>

#include "vmm/qmp/qmp.h"

struct chardevs;
struct virtio_console;

/* What the commands work on; struct qmp_machine points at it. */
struct qmp_devices {
	struct chardevs *chardevs;
	struct virtio_console *console;		/* NULL without --device virtio-serial */
};

/* Handlers for the machine's command table; opaque is a struct qmp_machine. */
int qmp_cmd_chardev_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_chardev_remove(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_device_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_device_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);

/* DEVICE_DELETED {"device": id, "path": "/machine/peripheral/ID"} (srv may be NULL). */
void qmp_devices_deleted(struct qmp_server *srv, const char *id);

#endif
