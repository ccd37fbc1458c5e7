/* libFuzzer target for the QMP server (user/vmm/qmp/qmp.c): framing, JSON, envelope, schema checks. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
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

static void fuzz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct qmp_version ver = { 0, 1, 0, "fuzz" };
	static const char neg[] = "{\"execute\":\"qmp_capabilities\"}";
	static struct loop *loop;
	struct qmp_server *srv;
	struct qmp_client *c;
	size_t off, chunk;
	int sv[2];

	if (!loop) {
		log_threshold = LOG_ERR;
		loop = loop_new();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return 0;
	srv = qmp_server_new(loop, &ver, fuzz_cmds, 2, NULL);
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
	return 0;
}
