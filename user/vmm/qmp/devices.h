/*
 * QMP commands for chardevs and devices (Documentation/qmp.md "Devices"):
 * chardev-add, chardev-remove, device_add, device_del, the DEVICE_DELETED
 * event, and the device listing, in QEMU's argument and reply shapes.
 * device_add goes through the same parser as --device (lib/opts.h).
 */
#ifndef KEEL_VMM_QMP_DEVICES_H
#define KEEL_VMM_QMP_DEVICES_H

#include <jansson.h>

#include "vmm/qmp/qmp.h"

struct chardevs;
struct devices;
struct blockdevs;

/* What the commands work on; struct qmp_machine points at it. */
struct qmp_devices {
	struct chardevs *chardevs;
	struct devices *devs;		/* the machine's device instances */
	struct blockdevs *blockdevs;	/* its block nodes */
};

/* Handlers for the machine's command table; opaque is a struct qmp_machine. */
int qmp_cmd_chardev_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_chardev_remove(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_device_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_device_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_blockdev_add(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_blockdev_del(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_query_named_block_nodes(void *opaque, json_t *args, json_t **ret,
				    struct qmp_error *err);
int qmp_cmd_query_devices(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);
int qmp_cmd_query_machines(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);

/*
 * QMP arguments into the option list --device uses: strings as they are,
 * booleans on/off, integers in decimal. Objects and arrays are refused
 * naming the key. 0 or -EINVAL with err.
 */
struct opts;
int qmp_devices_to_opts(json_t *args, struct opts *o, struct qmp_error *err);

/* DEVICE_DELETED {"device": id, "path": "/machine/peripheral/ID"} (srv may be NULL). */
void qmp_devices_deleted(struct qmp_server *srv, const char *id);

#endif
