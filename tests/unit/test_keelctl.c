/* Unit tests for user/tools/keelctl/: key=value arguments, readable output, and the
 * client's negotiation and reply matching against the real QMP server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/loop.h"
#include "vmm/qmp/qmp.h"

/* A tool is not a layer archive: its sources are compiled into the test. */
#include "tools/keelctl/client.c"
#include "tools/keelctl/format.c"

static void test_args(void **state)
{
	char *ok[] = { "a=1", "b=-7", "c=true", "d=false", "e=hello world", "f=12x",
		       "g:=\"42\"", "h:={\"k\":[1,null]}", "i=", "j=-", "k=a=b" };
	char *bad1[] = { "novalue" };
	char *bad2[] = { "=1" };
	char *bad3[] = { "x:={broken" };
	json_t *a = format_args(11, ok);

	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "b")), -7);
	assert_true(json_is_true(json_object_get(a, "c")));
	assert_true(json_is_false(json_object_get(a, "d")));
	assert_string_equal(json_string_value(json_object_get(a, "e")), "hello world");
	assert_string_equal(json_string_value(json_object_get(a, "f")), "12x");
	assert_string_equal(json_string_value(json_object_get(a, "g")), "42");
	assert_true(json_is_null(json_array_get(json_object_get(json_object_get(a, "h"), "k"),
						1)));
	assert_string_equal(json_string_value(json_object_get(a, "i")), "");
	assert_string_equal(json_string_value(json_object_get(a, "j")), "-");
	assert_string_equal(json_string_value(json_object_get(a, "k")), "a=b");
	json_decref(a);
	assert_null(format_args(1, bad1));
	assert_null(format_args(1, bad2));
	assert_null(format_args(1, bad3));
}

static char *render(void (*fn)(FILE *, json_t *), const char *json)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, v);
	fclose(f);
	json_decref(v);
	return buf;
}

static void test_output(void **state)
{
	char *s;

	s = render(format_value, "{}");
	assert_string_equal(s, "ok\n");
	free(s);
	s = render(format_value, "[]");
	assert_string_equal(s, "(none)\n");
	free(s);
	s = render(format_value, "{\"running\":true,\"status\":\"paused\"}");
	assert_string_equal(s, "running: true\nstatus: paused\n");
	free(s);
	s = render(format_value, "[{\"cpu-index\":0,\"props\":{\"core-id\":0}},\"x\"]");
	assert_string_equal(s, "[0]\n  cpu-index: 0\n  props:\n    core-id: 0\n- x\n");
	free(s);
	s = render(format_json, "{\"return\":{}}");
	assert_string_equal(s, "{\"return\":{}}\n");
	free(s);
	s = render(format_event, "{\"event\":\"SHUTDOWN\",\"timestamp\":{\"seconds\":0,"
			       "\"microseconds\":42},\"data\":{\"guest\":false,\"reason\":\"x\"}}");
	assert_non_null(strstr(s, ".000042 SHUTDOWN guest=false reason=x\n"));
	free(s);
}

static struct qmp_server *ping_srv;

static int cmd_ping(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	/* An event before the reply: the client hands it on while waiting. */
	qmp_server_event(ping_srv, "TICK", NULL);
	*ret = json_pack("{s:s}", "pong", "yes");
	return 0;
}

static const struct qmp_command ping_cmds[] = { { .name = "ping", .fn = cmd_ping } };

static void *loop_thread(void *opaque)
{
	loop_run(opaque);
	return NULL;
}

static void on_event(json_t *ev, void *opaque)
{
	(*(int *)opaque)++;
}

static void test_client_against_server(void **state)
{
	static const struct qmp_version ver = { 1, 2, 3, "t" };
	char path[] = "/tmp/keel-test-keelctl-XXXXXX";
	struct loop *loop = loop_new();
	struct qmp_server *srv = qmp_server_new(loop, &ver, ping_cmds, 1, NULL);
	struct client cl;
	pthread_t th;
	json_t *r;
	int fd, events = 0;

	ping_srv = srv;
	fd = mkstemp(path);
	close(fd);
	unlink(path);
	assert_int_equal(qmp_server_listen(srv, path), 0);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);

	assert_int_equal(client_open(&cl, "/nonexistent/keel.sock"), -ENOENT);
	assert_int_equal(client_open(&cl, path), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		json_object_get(cl.greeting, "QMP"), "version"), "qemu"), "micro")), 3);
	r = client_execute(&cl, "query-version", NULL, on_event, &events);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "return"),
							      "package")), "t");
	json_decref(r);
	assert_int_equal(events, 0);
	r = client_execute(&cl, "ping", NULL, on_event, &events);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "return"),
							      "pong")), "yes");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), cl.next_id - 1);
	json_decref(r);
	assert_int_equal(events, 1);
	r = client_execute(&cl, "nope", json_pack("{s:i}", "x", 1), on_event, &events);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"),
							      "class")), "CommandNotFound");
	json_decref(r);
	client_close(&cl);
	loop_stop(loop, 0);
	pthread_join(th, NULL);
	qmp_server_free(srv);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_client_against_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
