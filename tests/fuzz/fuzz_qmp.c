/*
 * libFuzzer target for the QMP server (user/vmm/qmp/qmp.c): framing, JSON,
 * envelope, schema checks; and the machine's command table (commands.c,
 * devices.c) over a machine that does nothing, so argument handling of every
 * real command sees hostile input too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/qmp.h"

static int fuzz_echo(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	*ret = json_deep_copy(args);
	return 0;
}

static int fuzz_fail(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	return -EINVAL;
}

static const struct qmp_command fuzz_cmds[] = {
	{ "echo", fuzz_echo, { { "text", QMP_ARG_STR, false }, { "n", QMP_ARG_INT, true },
			       { "b", QMP_ARG_BOOL, true }, { "o", QMP_ARG_OBJECT, true },
			       { "x", QMP_ARG_ANY, true }, { "f", QMP_ARG_NUMBER, true } } },
	{ .name = "stop", .fn = fuzz_fail },
};

static bool fuzz_running = true;

static bool fm_running(void *o) { return fuzz_running; }
static int fm_stop(void *o) { fuzz_running = false; return 0; }
static int fm_cont(void *o) { fuzz_running = true; return 0; }
static int fm_zero(void *o) { return 0; }
static unsigned int fm_nr_cpus(void *o) { return 2; }
static int fm_tid(void *o, unsigned int i) { return 100 + (int)i; }
static int fm_dump(void *o, const char *path) { return -EIO; }	/* writes nothing */

static const struct qmp_machine_ops fuzz_machine_ops = {
	.running = fm_running, .stop = fm_stop, .cont = fm_cont, .reset = fm_zero,
	.powerdown = fm_zero, .quit = fm_zero, .nr_cpus = fm_nr_cpus,
	.cpu_thread_id = fm_tid, .dump = fm_dump,
};

static void fuzz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void fuzz_one(struct loop *loop, const struct qmp_command *cmds, size_t nr,
		     void *opaque, const uint8_t *data, size_t size)
{
	static const struct qmp_version ver = { 0, 1, 0, "fuzz" };
	static const char neg[] = "{\"execute\":\"qmp_capabilities\"}";
	struct qmp_machine *m = opaque;
	struct qmp_server *srv;
	struct qmp_client *c;
	size_t off, chunk;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return;
	srv = qmp_server_new(loop, &ver, cmds, nr, opaque);
	if (m)
		m->srv = srv;
	c = qmp_server_attach(srv, sv[0]);
	/* The first byte picks negotiated or not, and the chunk size. */
	if (c && size && (data[0] & 1))
		qmp_client_feed(c, neg, sizeof(neg) - 1);
	chunk = size ? (size_t)(data[0] >> 1) + 1 : 1;
	for (off = size ? 1 : 0; c && off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		fuzz_drain(sv[1]);
		if (qmp_client_feed(c, data + off, n))
			c = NULL;
	}
	if (c)
		qmp_server_event(srv, "STOP", NULL);
	fuzz_drain(sv[1]);
	qmp_server_free(srv);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct loop *loop;
	struct qmp_machine m = { .ops = &fuzz_machine_ops };

	if (!loop) {
		log_threshold = LOG_ERR;
		loop = loop_new();
	}
	fuzz_one(loop, fuzz_cmds, 2, NULL, data, size);
	fuzz_running = true;
	fuzz_one(loop, qmp_machine_commands, qmp_machine_nr_commands, &m, data, size);
	return 0;
}
