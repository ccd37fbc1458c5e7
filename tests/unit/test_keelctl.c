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

static void test_devices(void **state)
{
	char *s;

	s = render(format_devices,
		   "[{\"id\":\"\",\"name\":\"virtio-blk0\",\"type\":\"virtio-blk-pci\","
		   "\"hotplugged\":false,\"unplug-pending\":false,\"bus\":\"pci.0\",\"addr\":\"1.0\"},"
		   "{\"id\":\"br1\",\"name\":\"br1\",\"type\":\"pci-bridge\",\"bus\":\"pci.0\","
		   "\"addr\":\"2.0\"},"
		   "{\"id\":\"rng1\",\"name\":\"rng1\",\"type\":\"virtio-rng-pci\",\"hotplugged\":true,"
		   "\"unplug-pending\":true,\"bus\":\"br1\",\"addr\":\"0.0\"},"
		   "{\"id\":\"p0\",\"name\":\"p0\",\"type\":\"virtserialport\"}]");
	assert_string_equal(s,
		"NAME         ID    TYPE            BUS    ADDR\n"
		"virtio-blk0  -     virtio-blk-pci  pci.0  1.0\n"
		"br1          br1   pci-bridge      pci.0  2.0\n"
		"rng1         rng1  virtio-rng-pci  br1    0.0  hotplugged  unplug-pending\n"
		"p0           p0    virtserialport  -      -\n");
	free(s);
	s = render(format_devices, "[]");
	assert_string_equal(s, "(none)\n");
	free(s);
	/* Hostile: wrong types, missing keys, a non-object entry, a huge name. */
	s = render(format_devices, "{\"a\":1}");
	assert_string_equal(s, "keelctl: the reply is not a list of devices\n");
	free(s);
	s = render(format_devices, "[{\"id\":7,\"name\":[1],\"bus\":null,\"addr\":{}},3,"
				   "{\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]");
	assert_string_equal(s,
		"NAME                              ID  TYPE  BUS  ADDR\n"
		"?                                 ?   ?     ?    ?\n"
		"?                                 ?   ?     -    -\n"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  ?   ?     -    -\n");
	assert_null(strstr(s, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	free(s);
	s = render(format_devices, "null");
	assert_string_equal(s, "keelctl: the reply is not a list of devices\n");
	free(s);
}

#define PCI_FN(bus, slot, vendor, device, cls, qdev) \
	"{\"bus\":" #bus ",\"slot\":" #slot ",\"function\":0,\"class_info\":{\"class\":" #cls \
	"},\"id\":{\"vendor\":" #vendor ",\"device\":" #device "},\"qdev_id\":\"" qdev "\"}"

static void test_pci_tree(void **state)
{
	char *s;

	s = render(format_pci,
		   "[{\"bus\":0,\"devices\":["
		   "{\"bus\":0,\"slot\":0,\"function\":0,\"class_info\":{\"class\":1536,"
		   "\"desc\":\"Host bridge\"},\"id\":{\"vendor\":32902,\"device\":4663},"
		   "\"qdev_id\":\"pci-host\"},"
		   "{\"bus\":0,\"slot\":2,\"function\":0,\"class_info\":{\"class\":1540,"
		   "\"desc\":\"PCI bridge\"},\"id\":{\"vendor\":6966,\"device\":1},"
		   "\"qdev_id\":\"br1\",\"pci_bridge\":{\"bus\":{\"number\":0,\"secondary\":1,"
		   "\"subordinate\":2},\"devices\":["
		   PCI_FN(1, 0, 6900, 4164, 255, "virtio-rng0") ","
		   "{\"bus\":1,\"slot\":1,\"function\":0,\"class_info\":{\"class\":1540},"
		   "\"id\":{\"vendor\":6966,\"device\":1},\"qdev_id\":\"br2\","
		   "\"pci_bridge\":{\"bus\":{\"secondary\":2,\"subordinate\":2},\"devices\":["
		   PCI_FN(2, 31, 6900, 4162, 256, "disk9") "]}}]}},"
		   "{\"bus\":0,\"slot\":4,\"function\":0,\"class_info\":{\"class\":1540},"
		   "\"id\":{\"vendor\":6966,\"device\":1},\"qdev_id\":\"\","
		   "\"pci_bridge\":{\"bus\":{\"secondary\":0,\"subordinate\":0},\"devices\":["
		   PCI_FN(0, 3, 6900, 4164, 255, "virtio-rng1") "]}}]}]");
	assert_string_equal(s,
		"bus 00\n"
		"+-00:00.0 8086:1237 Host bridge (pci-host)\n"
		"+-00:02.0 1b36:0001 PCI bridge (br1) [bus 01-02]\n"
		"| +-01:00.0 1af4:1044 class 00ff (virtio-rng0)\n"
		"| \\-01:01.0 1b36:0001 class 0604 (br2) [bus 02-02]\n"
		"|   \\-02:1f.0 1af4:1042 class 0100 (disk9)\n"
		"\\-00:04.0 1b36:0001 class 0604 [bus not numbered yet]\n"
		"  \\-00:03.0 1af4:1044 class 00ff (virtio-rng1)\n");
	free(s);
	s = render(format_pci, "[]");
	assert_string_equal(s, "(no PCI bus)\n");
	free(s);
	s = render(format_pci, "{\"bus\":0}");
	assert_string_equal(s, "keelctl: the reply is not a list of PCI buses\n");
	free(s);
	/* Hostile: wrong types and out-of-range numbers everywhere. */
	s = render(format_pci,
		   "[{\"bus\":\"0\",\"devices\":[7,{\"bus\":256,\"slot\":-1,\"function\":8,"
		   "\"id\":[],\"class_info\":\"x\",\"qdev_id\":5,"
		   "\"pci_bridge\":{\"bus\":{\"secondary\":\"1\"},\"devices\":{}}}]},"
		   "{\"bus\":3,\"devices\":null}]");
	assert_string_equal(s,
		"bus ??\n"
		"+-??:??.? ?\n"
		"\\-??:??.? ????:???? class ? [bus ?]\n"
		"  \\-? (devices is not a list)\n"
		"bus 03\n");
	free(s);
}

/* Bridges nested far deeper than any machine: cut off, not followed. */
static void test_pci_deep(void **state)
{
	const char *head = "{\"bus\":1,\"slot\":1,\"function\":0,\"pci_bridge\":{\"devices\":[";
	size_t depth = 500, i, len = 64 + depth * (strlen(head) + 4);
	char *json = malloc(len), *p = json, *s;
	unsigned int lines = 0;

	assert_non_null(json);
	p += sprintf(p, "[{\"bus\":0,\"devices\":[");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "%s", head);
	for (i = 0; i < depth; i++)
		p += sprintf(p, "]}}");
	sprintf(p, "]}]");
	s = render(format_pci, json);
	assert_non_null(s);
	for (p = s; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + FORMAT_PCI_MAX_DEPTH + 1);
	assert_non_null(strstr(s, "nested deeper than 32 bridges"));
	free(s);
	/* The generic printer stops as well. */
	s = render(format_value, json);
	assert_non_null(strstr(s, "...\n"));
	free(s);
	free(json);
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
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_pci_tree),
		cmocka_unit_test(test_pci_deep),
		cmocka_unit_test(test_client_against_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
