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

/*
 * More functions than any keel machine can hold (each bridge adds 32 slots
 * of 8); a larger tree is listed up to this many.
 */
#define QMP_MAX_PCI_FUNCTIONS	4096
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

/* QEMU's descriptions of the classes keel's functions have (PCI Code and ID 1.11). */
static const char *qmp_pci_class_desc(unsigned int class)
{
	static const struct {
		unsigned int class;
		const char *desc;
	} names[] = {
		{ 0x0100, "SCSI controller" }, { 0x0106, "SATA controller" },
		{ 0x0200, "Ethernet controller" }, { 0x0300, "VGA controller" },
		{ 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" },
		{ 0x0604, "PCI bridge" }, { 0x0780, "Communication controller" },
		{ 0x0880, "System peripheral" }, { 0x0c03, "USB controller" },
		{ 0x0c05, "SMBus" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].class == class)
			return names[i].desc;
	return NULL;
}

static json_t *qmp_pci_range(uint64_t base, uint64_t limit)
{
	return json_pack("{s:I,s:I}", "base", (json_int_t)base, "limit", (json_int_t)limit);
}

/*
 * One PciDeviceInfo. A bridge gets pci_bridge with an empty devices list
 * that *sub points into (a borrowed reference) for the functions behind it.
 */
static json_t *qmp_pci_device(const struct qmp_pci_function *f, json_t **sub)
{
	const char *desc = qmp_pci_class_desc(f->class_code >> 8);
	json_t *o, *id, *cls;

	*sub = NULL;
	cls = json_pack("{s:i}", "class", (int)(f->class_code >> 8));
	if (cls && desc)
		json_object_set_new(cls, "desc", json_string(desc));
	id = json_pack("{s:i,s:i}", "vendor", f->vendor, "device", f->device);
	if (id && f->has_subsystem) {
		json_object_set_new(id, "subsystem", json_integer(f->subsystem));
		json_object_set_new(id, "subsystem-vendor", json_integer(f->subsystem_vendor));
	}
	o = json_pack("{s:i,s:i,s:i,s:o,s:o,s:i,s:s,s:o}", "bus", (int)f->bus,
		      "slot", (int)f->slot, "function", (int)f->function, "class_info", cls,
		      "id", id, "irq_pin", f->irq_pin, "qdev_id", f->name,
		      "regions", qmp_pci_regions(f));
	if (!o)
		return NULL;
	/* QEMU reports irq only for a function with an interrupt pin. */
	if (f->irq_pin)
		json_object_set_new(o, "irq", json_integer(f->irq_line));
	if (f->bridge) {
		json_t *devs = json_array();
		json_t *br = json_pack(
			"{s:{s:i,s:i,s:i,s:o,s:o,s:o},s:o}", "bus", "number", f->primary,
			"secondary", f->secondary, "subordinate", f->subordinate,
			"io_range", qmp_pci_range(f->io_base, f->io_limit),
			"memory_range", qmp_pci_range(f->mem_base, f->mem_limit),
			"prefetchable_range", qmp_pci_range(f->pref_base, f->pref_limit),
			"devices", devs);

		if (br && !json_object_set_new(o, "pci_bridge", br))
			*sub = devs;
	}
	return o;
}

/*
 * query-pci in QEMU's shape: the root bus with its functions; a bridge's
 * functions nest in its pci_bridge.devices. The snapshot is a flat list
 * whose entries name their bridge by index, so building the nesting needs no
 * recursion however deep the bridges go.
 */
static int qmp_cmd_query_pci(void *opaque, json_t *args, json_t **ret,
			     struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	struct qmp_pci_function *f;
	json_t *devs, *bus, **sub;
	unsigned int i, n, k;

	if (!m->ops->pci_functions)
		return qmp_error_set(err, "this machine has no PCI bus");
	/* The tree only changes on this thread (hotplug), so the count holds. */
	n = m->ops->pci_functions(m->opaque, NULL, 0);
	if (n > QMP_MAX_PCI_FUNCTIONS)
		n = QMP_MAX_PCI_FUNCTIONS;
	f = calloc(n ? n : 1, sizeof(*f));
	sub = calloc(n ? n : 1, sizeof(*sub));
	devs = json_array();
	if (!f || !sub || !devs) {
		free(f);
		free(sub);
		json_decref(devs);
		return -ENOMEM;
	}
	k = m->ops->pci_functions(m->opaque, f, n);
	if (k < n)
		n = k;
	for (i = 0; i < n; i++) {
		json_t *o = qmp_pci_device(&f[i], &sub[i]);
		int p = f[i].parent;

		if (!o)
			continue;
		/* A parent always comes first; anything else goes on the root list. */
		json_array_append_new(p >= 0 && (unsigned int)p < i && sub[p] ? sub[p] : devs, o);
	}
	free(sub);
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
