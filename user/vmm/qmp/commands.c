/*
 * The machine's QMP commands (Documentation/qmp.md "Commands"), with QEMU's
 * names and reply shapes so existing QMP clients work: query-status, stop,
 * cont, system_reset, system_powerdown, quit, query-cpus-fast, dump-guest-memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/qmp/commands.h"

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

const struct qmp_command qmp_machine_commands[] = {
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
