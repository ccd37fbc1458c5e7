/*
 * The machine's QMP commands (Documentation/qmp.md "Commands"), with QEMU's
 * names and reply shapes so existing QMP clients work: query-status, stop,
 * cont, system_reset, system_powerdown, quit, query-cpus-fast, dump-guest-memory,
 * query-pci and query-block.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/qmp/block.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"
#include "vmm/qmp/vhost.h"

static int qmp_cmd_query_status(void *opaque, json_t *args, json_t **ret,
				struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	bool running = m->ops->running(m->opaque);

	const char *status = running ? "running" : "paused";

	if (!running && m->ops->panicked && m->ops->panicked(m->opaque))
		status = "guest-panicked";
	*ret = json_pack("{s:b,s:b,s:s}", "running", running, "singlestep", 0, "status",
			 status);
	return *ret ? 0 : -ENOMEM;
}

static int qmp_cmd_stop(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	int r;

	if (!m->ops->running(m->opaque))
		return 0;
	r = m->ops->stop(m->opaque);
	if (r)
		return qmp_error_set(err, "cannot stop the vCPUs");
	qmp_server_event(m->srv, "STOP", NULL);
	return 0;
}

static int qmp_cmd_cont(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	int r;

	if (m->ops->running(m->opaque))
		return 0;
	r = m->ops->cont(m->opaque);
	if (r)
		return qmp_error_set(err, "cannot resume the vCPUs");
	qmp_server_event(m->srv, "RESUME", NULL);
	return 0;
}

static int qmp_cmd_system_reset(void *opaque, json_t *args, json_t **ret,
				struct qmp_error *err)
{
	struct qmp_machine *m = opaque;

	/* The RESET event comes from the machine when the reset happens. */
	if (m->ops->reset(m->opaque))
		return qmp_error_set(err, "cannot reset the machine now");
	return 0;
}

static int qmp_cmd_system_powerdown(void *opaque, json_t *args, json_t **ret,
				    struct qmp_error *err)
{
	struct qmp_machine *m = opaque;

	if (m->ops->powerdown(m->opaque))
		return qmp_error_set(err, "cannot press the power button");
	qmp_server_event(m->srv, "POWERDOWN", NULL);
	return 0;
}

static int qmp_cmd_quit(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_machine *m = opaque;

	if (m->ops->quit(m->opaque))
		return qmp_error_set(err, "cannot quit now");
	return 0;
}

static int qmp_cmd_query_cpus_fast(void *opaque, json_t *args, json_t **ret,
				   struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	unsigned int i, n = m->ops->nr_cpus(m->opaque);
	json_t *list = json_array();
	char path[64];

	if (!list)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		json_array_append_new(list, json_pack(
			"{s:i,s:s,s:i,s:s,s:{s:i,s:i,s:i}}", "cpu-index", (int)i,
			"qom-path", path, "thread-id", m->ops->cpu_thread_id(m->opaque, i),
			"target", "x86_64", "props", "socket-id", (int)i, "core-id", 0,
			"thread-id", 0));
	}
	*ret = list;
	return 0;
}

/*
 * dump-guest-memory with QEMU's arguments: paging must be false (keel writes
 * physical memory only), protocol "file:PATH", format absent or "elf"; detach
 * is accepted but the dump is always done before the reply.
 */
static int qmp_cmd_dump_guest_memory(void *opaque, json_t *args, json_t **ret,
				     struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	json_t *paging = json_object_get(args, "paging");
	json_t *proto = json_object_get(args, "protocol");
	json_t *format = json_object_get(args, "format");
	const char *p;
	int r;

	if (json_is_true(paging))
		return qmp_error_set(err, "paging=true is not supported: keel dumps physical "
				     "memory");
	if (format && strcmp(json_string_value(format), "elf"))
		return qmp_error_set(err, "only format 'elf' is supported");
	p = json_string_value(proto);
	if (strncmp(p, "file:", 5) || !p[5])
		return qmp_error_set(err, "protocol must be file:PATH");
	if (!m->ops->dump)
		return qmp_error_set(err, "this machine cannot dump its memory");
	r = m->ops->dump(m->opaque, p + 5);
	if (r)
		return qmp_error_set(err, "cannot write the dump to '%s': %s", p + 5, strerror(-r));
	return 0;
}

#define QMP_MAX_PCI_FUNCTIONS	256
#define QMP_MAX_DISKS		64

static json_t *qmp_pci_regions(const struct qmp_pci_function *f)
{
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; list && i < f->nr_regions && i < 6; i++) {
		const struct qmp_pci_region *r = &f->regions[i];

		if (r->io)
			json_array_append_new(list, json_pack(
				"{s:i,s:s,s:I,s:I}", "bar", (int)r->bar, "type", "io",
				"address", (json_int_t)r->address, "size", (json_int_t)r->size));
		else
			json_array_append_new(list, json_pack(
				"{s:i,s:s,s:I,s:I,s:b,s:b}", "bar", (int)r->bar, "type", "memory",
				"address", (json_int_t)r->address, "size", (json_int_t)r->size,
				"prefetch", r->prefetch, "mem_type_64", r->mem64));
	}
	return list;
}

/* query-pci in QEMU's shape: one bus, its functions with IDs, IRQ and BARs. */
static int qmp_cmd_query_pci(void *opaque, json_t *args, json_t **ret,
			     struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	struct qmp_pci_function *f;
	json_t *devs, *bus;
	unsigned int i, n;

	if (!m->ops->pci_functions)
		return qmp_error_set(err, "this machine has no PCI bus");
	f = calloc(QMP_MAX_PCI_FUNCTIONS, sizeof(*f));
	devs = json_array();
	if (!f || !devs) {
		free(f);
		json_decref(devs);
		return -ENOMEM;
	}
	n = m->ops->pci_functions(m->opaque, f, QMP_MAX_PCI_FUNCTIONS);
	for (i = 0; i < n && i < QMP_MAX_PCI_FUNCTIONS; i++)
		json_array_append_new(devs, json_pack(
			"{s:i,s:i,s:i,s:{s:i},s:{s:i,s:i,s:i,s:i},s:i,s:i,s:s,s:o}",
			"bus", (int)f[i].bus, "slot", (int)f[i].slot,
			"function", (int)f[i].function,
			"class_info", "class", (int)(f[i].class_code >> 8),
			"id", "vendor", f[i].vendor, "device", f[i].device,
			"subsystem-vendor", f[i].subsystem_vendor,
			"subsystem", f[i].subsystem,
			"irq", f[i].irq_line, "irq_pin", f[i].irq_pin,
			"qdev_id", f[i].name, "regions", qmp_pci_regions(&f[i])));
	free(f);
	bus = json_pack("[{s:i,s:o}]", "bus", 0, "devices", devs);
	if (!bus)
		return -ENOMEM;
	*ret = bus;
	return 0;
}

/* query-block in QEMU's shape: one entry per guest disk, with its image. */
static int qmp_cmd_query_block(void *opaque, json_t *args, json_t **ret,
			       struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	struct qmp_block_disk *d;
	json_t *list = json_array();
	unsigned int i, n = 0;

	d = calloc(QMP_MAX_DISKS, sizeof(*d));
	if (!d || !list) {
		free(d);
		json_decref(list);
		return -ENOMEM;
	}
	if (m->ops->block_disks)
		n = m->ops->block_disks(m->opaque, d, QMP_MAX_DISKS);
	for (i = 0; i < n && i < QMP_MAX_DISKS; i++)
		json_array_append_new(list, json_pack(
			"{s:s,s:s,s:b,s:b,s:s,s:s,s:{s:s,s:s,s:b,s:s,s:i,s:b,s:{s:s,s:s,s:I}}}",
			"device", d[i].device, "qdev", d[i].device, "locked", 0,
			"removable", 0, "type", "unknown",
			"io-status", d[i].io_status ? d[i].io_status : "ok",
			"inserted", "node-name", d[i].node, "file", d[i].file, "ro", d[i].read_only,
			"drv", d[i].format, "backing_file_depth", 0, "encrypted", 0,
			"image", "filename", d[i].file, "format", d[i].format,
			"virtual-size", (json_int_t)d[i].virtual_size));
	free(d);
	*ret = list;
	return 0;
}

const struct qmp_command qmp_machine_commands[] = {
	{ .name = "chardev-add", .fn = qmp_cmd_chardev_add,
	  .args = { { "id", QMP_ARG_STR, false }, { "backend", QMP_ARG_OBJECT, false } } },
	{ .name = "chardev-remove", .fn = qmp_cmd_chardev_remove,
	  .args = { { "id", QMP_ARG_STR, false } } },
	{ .name = "device_add", .fn = qmp_cmd_device_add, .open_args = true,
	  .args = { { "driver", QMP_ARG_STR, false }, { "id", QMP_ARG_STR, true },
		    { "bus", QMP_ARG_STR, true }, { "addr", QMP_ARG_STR, true } } },
	{ .name = "x-query-devices", .fn = qmp_cmd_query_devices },
	{ .name = "blockdev-add", .fn = qmp_cmd_blockdev_add, .open_args = true,
	  .args = { { "driver", QMP_ARG_STR, false }, { "node-name", QMP_ARG_STR, false } } },
	{ .name = "blockdev-del", .fn = qmp_cmd_blockdev_del,
	  .args = { { "node-name", QMP_ARG_STR, false } } },
	{ .name = "query-named-block-nodes", .fn = qmp_cmd_query_named_block_nodes },
	{ .name = "query-blockstats", .fn = qmp_cmd_query_blockstats },
	{ .name = "query-machines", .fn = qmp_cmd_query_machines },
	{ .name = "device_del", .fn = qmp_cmd_device_del,
	  .args = { { "id", QMP_ARG_STR, false } } },
	{ .name = "query-pci", .fn = qmp_cmd_query_pci },
	{ .name = "query-block", .fn = qmp_cmd_query_block },
	{ .name = "query-vhost", .fn = qmp_cmd_query_vhost },
	{ .name = "query-status", .fn = qmp_cmd_query_status },
	{ .name = "stop", .fn = qmp_cmd_stop },
	{ .name = "cont", .fn = qmp_cmd_cont },
	{ .name = "system_reset", .fn = qmp_cmd_system_reset },
	{ .name = "system_powerdown", .fn = qmp_cmd_system_powerdown },
	{ .name = "quit", .fn = qmp_cmd_quit },
	{ .name = "query-cpus-fast", .fn = qmp_cmd_query_cpus_fast },
	{ .name = "dump-guest-memory", .fn = qmp_cmd_dump_guest_memory,
	  .args = { { "paging", QMP_ARG_BOOL, false }, { "protocol", QMP_ARG_STR, false },
		    { "detach", QMP_ARG_BOOL, true }, { "format", QMP_ARG_STR, true } } },
};

const size_t qmp_machine_nr_commands =
	sizeof(qmp_machine_commands) / sizeof(qmp_machine_commands[0]);
