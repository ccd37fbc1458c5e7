/* Unit tests for user/vmm/qmp/qmp.c: QMP greeting, negotiation, dispatch, events, hostile clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/loop.h"
#include "vmm/cli.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/qmp.h"

struct peer {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static int echo_calls;

static int cmd_echo(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	echo_calls++;
	*ret = json_pack("{s:O}", "got", json_object_get(args, "text"));
	return 0;
}

static int cmd_fail(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	return qmp_error_set(err, "fail was told to fail");
}

static int cmd_fail_quiet(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	return -EBUSY;
}

static const struct qmp_command test_cmds[] = {
	{ .name = "echo", .fn = cmd_echo,
	  .args = { { "text", QMP_ARG_STR, false }, { "n", QMP_ARG_INT, true },
		    { "flag", QMP_ARG_BOOL, true } } },
	{ .name = "fail", .fn = cmd_fail },
	{ .name = "fail-quiet", .fn = cmd_fail_quiet },
};

static const struct qmp_version test_ver = { 7, 2, 0, "keel-test" };

struct ctx {
	struct loop *loop;
	struct qmp_server *srv;
	struct qmp_client *c;
	struct peer p;
};

/* Next CRLF-terminated message from the server, parsed; NULL on EOF or timeout. */
static json_t *peer_recv(struct peer *p)
{
	for (;;) {
		char *nl = memmem(p->buf, p->len, "\r\n", 2);
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - p->buf);
			json_t *j = json_loadb(p->buf, l, 0, NULL);

			memmove(p->buf, nl + 2, p->len - l - 2);
			p->len -= l + 2;
			assert_non_null(j);
			return j;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			return NULL;
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			return NULL;
		p->len += (size_t)n;
	}
}

static void peer_send(struct ctx *x, const char *s)
{
	assert_int_equal(qmp_client_feed(x->c, s, strlen(s)), 0);
}

static const char *error_class(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "class"));
}

static const char *error_desc(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "desc"));
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));
	int sv[2];

	x->loop = loop_new();
	x->srv = qmp_server_new(x->loop, &test_ver, test_cmds, 3, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
			 0);
	x->c = qmp_server_attach(x->srv, sv[0]);
	assert_non_null(x->c);
	x->p.fd = sv[1];
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	qmp_server_free(x->srv);
	loop_free(x->loop);
	close(x->p.fd);
	free(x);
	return 0;
}

static void negotiate(struct ctx *x)
{
	json_t *j = peer_recv(&x->p);

	assert_non_null(json_object_get(j, "QMP"));
	json_decref(j);
	peer_send(x, "{\"execute\": \"qmp_capabilities\"}");
	j = peer_recv(&x->p);
	assert_true(json_is_object(json_object_get(j, "return")));
	json_decref(j);
}

static void test_greeting(void **state)
{
	struct ctx *x = *state;
	json_t *j = peer_recv(&x->p), *qmp, *ver;

	qmp = json_object_get(j, "QMP");
	assert_non_null(qmp);
	ver = json_object_get(json_object_get(qmp, "version"), "qemu");
	assert_int_equal(json_integer_value(json_object_get(ver, "major")), 7);
	assert_int_equal(json_integer_value(json_object_get(ver, "minor")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(qmp, "version"),
							      "package")), "keel-test");
	assert_true(json_is_array(json_object_get(qmp, "capabilities")));
	assert_int_equal(json_array_size(json_object_get(qmp, "capabilities")), 0);
	json_decref(j);
}

static void test_negotiation(void **state)
{
	struct ctx *x = *state;
	json_t *j = peer_recv(&x->p);

	json_decref(j);
	peer_send(x, "{\"execute\": \"query-version\", \"id\": 1}");
	j = peer_recv(&x->p);
	assert_string_equal(error_class(j), "CommandNotFound");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
	json_decref(j);
	peer_send(x, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	j = peer_recv(&x->p);
	assert_string_equal(error_class(j), "GenericError");
	json_decref(j);
	peer_send(x, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}}");
	j = peer_recv(&x->p);
	assert_non_null(json_object_get(j, "return"));
	json_decref(j);
	peer_send(x, "{\"execute\": \"qmp_capabilities\"}");
	j = peer_recv(&x->p);
	assert_string_equal(error_class(j), "CommandNotFound");
	json_decref(j);
}

static void test_builtin_commands(void **state)
{
	struct ctx *x = *state;
	json_t *j, *list;
	size_t i;
	bool seen_echo = false;

	negotiate(x);
	peer_send(x, "{\"execute\": \"query-version\", \"id\": {\"a\": [1, \"x\"]}}");
	j = peer_recv(&x->p);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(j, "return"), "qemu"), "major")), 7);
	assert_true(json_is_object(json_object_get(j, "id")));
	assert_true(json_is_array(json_object_get(json_object_get(j, "id"), "a")));
	json_decref(j);

	peer_send(x, "{\"execute\": \"query-commands\"}");
	j = peer_recv(&x->p);
	list = json_object_get(j, "return");
	assert_int_equal(json_array_size(list), 6);
	for (i = 0; i < json_array_size(list); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(list, i), "name")),
			    "echo"))
			seen_echo = true;
	assert_true(seen_echo);
	assert_null(json_object_get(j, "id"));
	json_decref(j);

	peer_send(x, "{\"execute\": \"query-version\", \"arguments\": {\"x\": 1}}");
	j = peer_recv(&x->p);
	assert_string_equal(error_class(j), "GenericError");
	json_decref(j);
}

static void test_envelope_errors(void **state)
{
	static const struct {
		const char *in, *cls, *desc;
	} cases[] = {
		{ "[1, 2]", "GenericError", "QMP input must be a JSON object" },
		{ "{\"id\": 5}", "GenericError", "QMP input lacks member 'execute'" },
		{ "{\"execute\": 5}", "GenericError",
		  "QMP input member 'execute' must be a string" },
		{ "{\"execute\": \"echo\", \"arguments\": [1]}", "GenericError",
		  "QMP input member 'arguments' must be an object" },
		{ "{\"execute\": \"echo\", \"bogus\": 1}", "GenericError",
		  "QMP input member 'bogus' is unexpected" },
		{ "{\"execute\": \"no-such\"}", "CommandNotFound",
		  "The command no-such has not been found" },
		{ "{\"execute\": \"echo\"}", "GenericError", "Parameter 'text' is missing" },
		{ "{\"execute\": \"echo\", \"arguments\": {\"text\": 3}}", "GenericError",
		  "Invalid parameter type for 'text', expected: string" },
		{ "{\"execute\": \"echo\", \"arguments\": {\"text\": \"a\", \"n\": 1.5}}",
		  "GenericError", "Invalid parameter type for 'n', expected: integer" },
		{ "{\"execute\": \"echo\", \"arguments\": {\"text\": \"a\", \"zz\": 1}}",
		  "GenericError", "Parameter 'zz' is unexpected" },
		{ "{\"execute\": \"fail\"}", "GenericError", "fail was told to fail" },
		{ "{\"execute\": \"fail-quiet\"}", "GenericError",
		  "fail-quiet failed: Device or resource busy" },
		{ "{\"execute\": \"echo\", \"execute\": \"echo\"}", "GenericError", NULL },
		{ "{\"execute\": \"echo\"", NULL, NULL },	/* completed by the next case */
		{ "}", "GenericError", "Parameter 'text' is missing" },
		{ "}}}", "GenericError", NULL },
		{ "12345\n", "GenericError", "QMP input must be a JSON object" },
		{ "nonsense\n", "GenericError", NULL },
	};
	struct ctx *x = *state;
	unsigned int i;
	json_t *j;

	negotiate(x);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		peer_send(x, cases[i].in);
		if (!cases[i].cls)
			continue;
		j = peer_recv(&x->p);
		assert_non_null(j);
		assert_string_equal(error_class(j), cases[i].cls);
		if (cases[i].desc)
			assert_string_equal(error_desc(j), cases[i].desc);
		json_decref(j);
		/* "}}}" gives one error per stray bracket. */
		if (!strcmp(cases[i].in, "}}}")) {
			json_decref(peer_recv(&x->p));
			json_decref(peer_recv(&x->p));
		}
	}
	assert_int_equal(echo_calls, 0);
	assert_int_equal(qmp_server_nr_clients(x->srv), 1);
}

static void test_echo_and_framing(void **state)
{
	struct ctx *x = *state;
	const char *two = "{\"execute\":\"echo\",\"arguments\":{\"text\":\"a}\\\"{[\"},\"id\":1}"
			  "  \r\n{\"execute\":\"echo\",\"arguments\":{\"text\":\"\\u00e9\","
			  "\"n\":-3,\"flag\":true},\"id\":2}";
	json_t *j;
	size_t i;

	negotiate(x);
	echo_calls = 0;
	/* Byte by byte, then both documents in one write. */
	for (i = 0; two[i]; i++)
		assert_int_equal(qmp_client_feed(x->c, &two[i], 1), 0);
	peer_send(x, two);
	for (i = 0; i < 4; i++) {
		j = peer_recv(&x->p);
		assert_int_equal(json_integer_value(json_object_get(j, "id")), (i % 2) + 1);
		assert_string_equal(json_string_value(json_object_get(
			json_object_get(j, "return"), "got")), i % 2 ? "\xc3\xa9" : "a}\"{[");
		json_decref(j);
	}
	assert_int_equal(echo_calls, 4);
}

static void test_hostile_nesting_and_utf8(void **state)
{
	struct ctx *x = *state;
	char *deep = malloc(200001);
	json_t *j;
	size_t i;

	negotiate(x);
	for (i = 0; i < 100000; i++) {
		deep[i] = '[';
		deep[200000 - 1 - i] = ']';
	}
	deep[200000] = '\0';
	peer_send(x, deep);
	j = peer_recv(&x->p);
	assert_string_equal(error_desc(j), "JSON nesting deeper than 32 levels");
	json_decref(j);
	free(deep);

	/* Invalid UTF-8 inside a string, and an embedded NUL escape. */
	peer_send(x, "{\"execute\": \"echo\", \"arguments\": {\"text\": \"\xc3\x28\xff\"}}");
	j = peer_recv(&x->p);
	assert_string_equal(error_class(j), "GenericError");
	assert_non_null(strstr(error_desc(j), "JSON parse error"));
	json_decref(j);
	peer_send(x, "{\"execute\": \"echo\", \"arguments\": {\"text\": \"a\\u0000b\"}}");
	j = peer_recv(&x->p);
	assert_non_null(strstr(error_desc(j), "JSON parse error"));
	json_decref(j);

	/* Still usable afterwards. */
	peer_send(x, "{\"execute\": \"echo\", \"arguments\": {\"text\": \"ok\"}}");
	j = peer_recv(&x->p);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "return"),
							      "got")), "ok");
	json_decref(j);
}

static void test_hostile_huge_document(void **state)
{
	struct ctx *x = *state;
	size_t len = QMP_MAX_MSG + 100, i;
	char *big = malloc(len);
	json_t *j;
	int ret = 0;

	negotiate(x);
	memcpy(big, "{\"execute\": \"echo\", \"arguments\": {\"text\": \"", 44);
	for (i = 44; i < len; i++)
		big[i] = 'A';
	for (i = 0; i < len && !ret; i += 4096)
		ret = qmp_client_feed(x->c, big + i, len - i < 4096 ? len - i : 4096);
	free(big);
	assert_int_equal(ret, -EPIPE);
	assert_int_equal(qmp_server_nr_clients(x->srv), 0);
	j = peer_recv(&x->p);
	assert_string_equal(error_desc(j), "JSON document larger than 1048576 bytes");
	json_decref(j);
	assert_null(peer_recv(&x->p));	/* then the connection is closed */
}

static void test_events(void **state)
{
	struct ctx *x = *state;
	struct qmp_client *c2;
	struct peer p2 = { 0 };
	int sv[2];
	json_t *j, *ts;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c2 = qmp_server_attach(x->srv, sv[0]);
	assert_non_null(c2);
	p2.fd = sv[1];
	json_decref(peer_recv(&p2));
	negotiate(x);
	/* c2 has not negotiated: no events for it. */
	qmp_server_event(x->srv, "STOP", NULL);
	qmp_server_event(x->srv, "SHUTDOWN", json_pack("{s:b,s:s}", "guest", 1, "reason",
						       "guest-shutdown"));
	j = peer_recv(&x->p);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "STOP");
	assert_null(json_object_get(j, "data"));
	ts = json_object_get(j, "timestamp");
	assert_true(json_integer_value(json_object_get(ts, "seconds")) > 1600000000);
	assert_true(json_integer_value(json_object_get(ts, "microseconds")) < 1000000);
	json_decref(j);
	j = peer_recv(&x->p);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "SHUTDOWN");
	assert_true(json_is_true(json_object_get(json_object_get(j, "data"), "guest")));
	json_decref(j);

	struct pollfd pfd = { .fd = p2.fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 50), 0);
	close(p2.fd);
}

/* A client that never reads: its buffer fills, it is dropped, the server goes on. */
static void test_slow_reader(void **state)
{
	struct ctx *x = *state;
	int small = 4096, i;
	json_t *j;

	negotiate(x);
	setsockopt(x->p.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (i = 0; i < 100000 && qmp_server_nr_clients(x->srv); i++)
		qmp_server_event(x->srv, "RESUME", json_pack("{s:s}", "pad",
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	assert_int_equal(qmp_server_nr_clients(x->srv), 0);
	assert_true(i > 1000);
	/* What got through is whole lines, then EOF. */
	while ((j = peer_recv(&x->p)))
		json_decref(j);
}

static void test_client_cap(void **state)
{
	struct ctx *x = *state;
	int fds[QMP_MAX_CLIENTS + 1], sv[2], i;

	for (i = 1; i < QMP_MAX_CLIENTS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		assert_non_null(qmp_server_attach(x->srv, sv[0]));
		fds[i] = sv[1];
	}
	assert_int_equal(qmp_server_nr_clients(x->srv), QMP_MAX_CLIENTS);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_null(qmp_server_attach(x->srv, sv[0]));
	/* The refused client sees its connection closed. */
	{
		char b;

		assert_int_equal(read(sv[1], &b, 1), 0);
	}
	close(sv[1]);
	for (i = 1; i < QMP_MAX_CLIENTS; i++)
		close(fds[i]);
}

static void *loop_thread(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

/* The real listening socket on the loop: connect, negotiate, disconnect. */
static void test_listen_socket(void **state)
{
	struct loop *loop = loop_new();
	struct qmp_server *srv = qmp_server_new(loop, &test_ver, test_cmds, 3, NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[] = "/tmp/keel-test-qmp-XXXXXX";
	struct peer p = { 0 };
	const char *neg = "{\"execute\":\"qmp_capabilities\"}\n"
			  "{\"execute\":\"echo\",\"arguments\":{\"text\":\"sock\"}}\n";
	pthread_t th;
	json_t *j;
	int fd, i;

	echo_calls = 0;
	fd = mkstemp(path);
	close(fd);
	/* A plain file there is not ours to remove. */
	assert_true(qmp_server_listen(srv, path) < 0);
	unlink(path);
	assert_int_equal(qmp_server_listen(srv, path), 0);
	strcpy(sa.sun_path, path);
	p.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(p.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	assert_int_equal(write(p.fd, neg, strlen(neg)), (ssize_t)strlen(neg));
	j = peer_recv(&p);
	assert_non_null(json_object_get(j, "QMP"));
	json_decref(j);
	json_decref(peer_recv(&p));
	j = peer_recv(&p);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "return"),
							      "got")), "sock");
	json_decref(j);
	assert_int_equal(__atomic_load_n(&echo_calls, __ATOMIC_SEQ_CST), 1);
	close(p.fd);
	for (i = 0; i < 100 && qmp_server_nr_clients(srv); i++)
		usleep(10000);
	assert_int_equal(qmp_server_nr_clients(srv), 0);
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	qmp_server_free(srv);
	assert_int_equal(access(path, F_OK), -1);
	loop_free(loop);
}

/* The machine's commands (user/vmm/qmp/commands.c) over fake ops. */
struct fake_vm {
	bool running;
	int stops, conts, resets, powerdowns, quits;
	int fail_reset;
	bool panicked;
	int dumps, fail_dump;
	char dump_path[64];
};

static bool fake_running(void *o)
{
	return ((struct fake_vm *)o)->running;
}

static int fake_stop(void *o)
{
	struct fake_vm *vm = o;

	vm->stops++;
	vm->running = false;
	return 0;
}

static int fake_cont(void *o)
{
	struct fake_vm *vm = o;

	vm->conts++;
	vm->running = true;
	return 0;
}

static int fake_reset(void *o)
{
	struct fake_vm *vm = o;

	vm->resets++;
	return vm->fail_reset;
}

static int fake_powerdown(void *o)
{
	((struct fake_vm *)o)->powerdowns++;
	return 0;
}

static int fake_quit(void *o)
{
	((struct fake_vm *)o)->quits++;
	return 0;
}

static unsigned int fake_nr_cpus(void *o)
{
	return 2;
}

static int fake_tid(void *o, unsigned int i)
{
	return 1000 + (int)i;
}

static bool fake_panicked(void *o)
{
	return ((struct fake_vm *)o)->panicked;
}

static int fake_dump(void *o, const char *path)
{
	struct fake_vm *vm = o;

	vm->dumps++;
	snprintf(vm->dump_path, sizeof(vm->dump_path), "%s", path);
	return vm->fail_dump;
}

/* Counted first (out NULL), then filled; the tree itself: tests/unit/test_qmp_pci.c. */
static unsigned int fake_pci(void *o, struct qmp_pci_function *out, unsigned int max)
{
	if (max < 2)
		return 2;
	out[0] = (struct qmp_pci_function){ .slot = 0, .parent = -1, .vendor = 0x8086,
					    .device = 0x1237, .class_code = 0x060000,
					    .has_subsystem = true, .name = "pci-host" };
	out[1] = (struct qmp_pci_function){
		.slot = 3, .parent = -1, .vendor = 0x1af4, .device = 0x1042,
		.has_subsystem = true, .subsystem_vendor = 0x1af4,
		.subsystem = 2, .class_code = 0x010000, .irq_line = 11, .irq_pin = 1,
		.name = "virtio-blk0", .nr_regions = 2,
		.regions = { { .bar = 1, .address = 0xc0000000, .size = 0x1000 },
			     { .bar = 4, .prefetch = true, .mem64 = true,
			       .address = 0x800000000ULL, .size = 0x4000 } },
	};
	return 2;
}

static unsigned int fake_disks(void *o, struct qmp_block_disk *out, unsigned int max)
{
	out[0] = (struct qmp_block_disk){ .device = "virtio-blk0", .file = "/d/a.qcow2",
					  .format = "qcow2", .read_only = true,
					  .virtual_size = 1ULL << 30 };
	return 1;
}

static const struct qmp_machine_ops fake_ops = {
	.pci_functions = fake_pci, .block_disks = fake_disks,
	.running = fake_running, .stop = fake_stop, .cont = fake_cont, .reset = fake_reset,
	.powerdown = fake_powerdown, .quit = fake_quit, .nr_cpus = fake_nr_cpus,
	.cpu_thread_id = fake_tid, .panicked = fake_panicked, .dump = fake_dump,
};

/* Send one command, return the reply; events before it are checked against ev. */
static json_t *machine_exec(struct peer *p, struct qmp_client *c, const char *req,
			    const char *ev)
{
	json_t *j;

	assert_int_equal(qmp_client_feed(c, req, strlen(req)), 0);
	j = peer_recv(p);
	assert_non_null(j);
	if (ev) {
		assert_string_equal(json_string_value(json_object_get(j, "event")), ev);
		json_decref(j);
		j = peer_recv(p);
	}
	assert_null(json_object_get(j, "event"));
	return j;
}

static void test_machine_commands(void **state)
{
	struct fake_vm vm = { .running = true };
	struct qmp_machine m = { .ops = &fake_ops, .opaque = &vm };
	struct loop *loop = loop_new();
	struct qmp_server *srv = qmp_server_new(loop, &test_ver, qmp_machine_commands,
						qmp_machine_nr_commands, &m);
	struct peer p = { 0 };
	struct qmp_client *c;
	json_t *j, *r;
	int sv[2];

	m.srv = srv;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c = qmp_server_attach(srv, sv[0]);
	p.fd = sv[1];
	json_decref(peer_recv(&p));
	json_decref(machine_exec(&p, c, "{\"execute\":\"qmp_capabilities\"}", NULL));

	j = machine_exec(&p, c, "{\"execute\":\"query-status\"}", NULL);
	r = json_object_get(j, "return");
	assert_true(json_is_true(json_object_get(r, "running")));
	assert_string_equal(json_string_value(json_object_get(r, "status")), "running");
	json_decref(j);

	json_decref(machine_exec(&p, c, "{\"execute\":\"stop\"}", "STOP"));
	assert_int_equal(vm.stops, 1);
	j = machine_exec(&p, c, "{\"execute\":\"query-status\"}", NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "return"),
							      "status")), "paused");
	json_decref(j);
	/* A second stop is a no-op without an event. */
	json_decref(machine_exec(&p, c, "{\"execute\":\"stop\"}", NULL));
	assert_int_equal(vm.stops, 1);
	json_decref(machine_exec(&p, c, "{\"execute\":\"cont\"}", "RESUME"));
	json_decref(machine_exec(&p, c, "{\"execute\":\"cont\"}", NULL));
	assert_int_equal(vm.conts, 1);
	assert_true(vm.running);

	json_decref(machine_exec(&p, c, "{\"execute\":\"system_powerdown\"}", "POWERDOWN"));
	assert_int_equal(vm.powerdowns, 1);
	j = machine_exec(&p, c, "{\"execute\":\"system_reset\"}", NULL);
	assert_non_null(json_object_get(j, "return"));
	json_decref(j);
	vm.fail_reset = -EBUSY;
	j = machine_exec(&p, c, "{\"execute\":\"system_reset\"}", NULL);
	assert_string_equal(error_class(j), "GenericError");
	json_decref(j);
	assert_int_equal(vm.resets, 2);

	j = machine_exec(&p, c, "{\"execute\":\"query-cpus-fast\"}", NULL);
	r = json_object_get(j, "return");
	assert_int_equal(json_array_size(r), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "cpu-index")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "thread-id")),
			 1001);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "target")),
			    "x86_64");
	json_decref(j);

	/* query-pci: QEMU's shape, one bus, BARs as regions. */
	j = machine_exec(&p, c, "{\"execute\":\"query-pci\"}", NULL);
	r = json_object_get(json_array_get(json_object_get(j, "return"), 0), "devices");
	assert_int_equal(json_array_size(r), 2);
	{
		json_t *d = json_array_get(r, 1), *reg;

		assert_int_equal(json_integer_value(json_object_get(d, "slot")), 3);
		assert_int_equal(json_integer_value(json_object_get(
			json_object_get(d, "class_info"), "class")), 0x0100);
		assert_int_equal(json_integer_value(json_object_get(
			json_object_get(d, "id"), "device")), 0x1042);
		assert_int_equal(json_integer_value(json_object_get(d, "irq_pin")), 1);
		reg = json_array_get(json_object_get(d, "regions"), 1);
		assert_int_equal(json_integer_value(json_object_get(reg, "bar")), 4);
		assert_string_equal(json_string_value(json_object_get(reg, "type")), "memory");
		assert_int_equal(json_integer_value(json_object_get(reg, "address")),
				 0x800000000LL);
		assert_true(json_is_true(json_object_get(reg, "mem_type_64")));
	}
	json_decref(j);

	/* query-block: one disk with its image. */
	j = machine_exec(&p, c, "{\"execute\":\"query-block\"}", NULL);
	r = json_array_get(json_object_get(j, "return"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "device")), "virtio-blk0");
	assert_true(json_is_true(json_object_get(json_object_get(r, "inserted"), "ro")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		r, "inserted"), "image"), "virtual-size")), 1LL << 30);
	json_decref(j);

	/* A guest panic shows as QEMU's guest-panicked run state. */
	vm.running = false;
	vm.panicked = true;
	j = machine_exec(&p, c, "{\"execute\":\"query-status\"}", NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "return"),
							      "status")), "guest-panicked");
	json_decref(j);
	vm.running = true;

	/* dump-guest-memory: QEMU's arguments, only the physical ELF form. */
	{
		static const char *const bad[] = {
			"{}",
			"{\"paging\":false}",
			"{\"protocol\":\"file:/tmp/x\"}",
			"{\"paging\":true,\"protocol\":\"file:/tmp/x\"}",
			"{\"paging\":\"no\",\"protocol\":\"file:/tmp/x\"}",
			"{\"paging\":false,\"protocol\":\"fd:dumpfd\"}",
			"{\"paging\":false,\"protocol\":\"file:\"}",
			"{\"paging\":false,\"protocol\":7}",
			"{\"paging\":false,\"protocol\":\"file:/x\",\"format\":\"kdump-zlib\"}",
			"{\"paging\":false,\"protocol\":\"file:/x\",\"begin\":0}",
		};
		char req[256];
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(req, sizeof(req), "{\"execute\":\"dump-guest-memory\","
				 "\"arguments\":%s}", bad[i]);
			j = machine_exec(&p, c, req, NULL);
			assert_string_equal(error_class(j), "GenericError");
			json_decref(j);
		}
		assert_int_equal(vm.dumps, 0);
		j = machine_exec(&p, c, "{\"execute\":\"dump-guest-memory\",\"arguments\":"
				 "{\"paging\":false,\"protocol\":\"file:/tmp/g.core\","
				 "\"format\":\"elf\",\"detach\":false}}", NULL);
		assert_non_null(json_object_get(j, "return"));
		json_decref(j);
		assert_int_equal(vm.dumps, 1);
		assert_string_equal(vm.dump_path, "/tmp/g.core");
		vm.fail_dump = -ENOSPC;
		j = machine_exec(&p, c, "{\"execute\":\"dump-guest-memory\",\"arguments\":"
				 "{\"paging\":false,\"protocol\":\"file:/full/c\"}}", NULL);
		assert_non_null(strstr(error_desc(j), "No space left"));
		json_decref(j);
		assert_int_equal(vm.dumps, 2);
	}

	j = machine_exec(&p, c, "{\"execute\":\"quit\",\"arguments\":{\"now\":true}}", NULL);
	assert_string_equal(error_desc(j), "Parameter 'now' is unexpected");
	json_decref(j);
	assert_int_equal(vm.quits, 0);
	json_decref(machine_exec(&p, c, "{\"execute\":\"quit\"}", NULL));
	assert_int_equal(vm.quits, 1);

	qmp_server_free(srv);
	loop_free(loop);
	close(p.fd);
}

/* keel run --qmp: the forms QEMU users type, and the ones we refuse. */
static void test_cli_qmp_option(void **state)
{
	static const struct {
		const char *arg, *path;
	} cases[] = {
		{ "--qmp=unix:/tmp/a.sock", "/tmp/a.sock" },
		{ "--qmp=unix:/tmp/a.sock,server", "/tmp/a.sock" },
		{ "--qmp=unix:/tmp/a.sock,server,nowait", "/tmp/a.sock" },
		{ "--qmp=unix:rel,server,wait=off", "rel" },
		{ "--qmp=tcp:localhost:4444", NULL },
		{ "--qmp=unix:", NULL },
		{ "--qmp=unix:,server", NULL },
		{ "--qmp=unix:/tmp/a,server,wait=on", NULL },
		{ "--qmp=unix:/tmp/a,", NULL },
		{ "--qmp=/tmp/a", NULL },
	};
	char longarg[200], err[CLI_ERR_MAX];
	struct cli_config cfg;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "keel", "run", "--kernel", "k", (char *)cases[i].arg, NULL };
		int r = cli_parse(5, argv, &cfg, err, sizeof(err));

		if (cases[i].path) {
			assert_int_equal(r, CLI_RUN);
			assert_string_equal(cfg.qmp, cases[i].path);
		} else {
			assert_int_equal(r, -EINVAL);
			assert_non_null(strstr(err, "--qmp"));
		}
	}
	{
		char *argv[] = { "keel", "run", "--kernel", "k", NULL };

		assert_int_equal(cli_parse(4, argv, &cfg, err, sizeof(err)), CLI_RUN);
		assert_string_equal(cfg.qmp, "");
	}
	snprintf(longarg, sizeof(longarg), "--qmp=unix:/%0150d", 0);
	{
		char *argv[] = { "keel", "run", "--kernel", "k", longarg, NULL };

		assert_int_equal(cli_parse(5, argv, &cfg, err, sizeof(err)), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_and_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_nesting_and_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_huge_document, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cap, setup, teardown),
		cmocka_unit_test(test_listen_socket),
		cmocka_unit_test(test_machine_commands),
		cmocka_unit_test(test_cli_qmp_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
