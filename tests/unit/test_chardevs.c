/*
 * Unit tests for user/vmm/chardevs.c and the F27 QMP commands of
 * user/vmm/qmp/devices.c (chardev-add/remove, device_add/del of serial ports),
 * plus --chardev / --device virtio-serial on the command line (user/vmm/cli.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/console.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "vmm/chardevs.h"
#include "vmm/cli.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"
#include "devices/device.h"
#include "lib/opts.h"
#include "fake_machine.h"

static void test_parse(void **state)
{
	struct chardevs_spec s;
	char err[256];

	log_threshold = LOG_ERR;
	assert_int_equal(chardevs_parse("id=c1,backend=unix,path=/tmp/x.sock", &s, err,
					sizeof(err)), 0);
	assert_string_equal(s.id, "c1");
	assert_int_equal(s.backend, CHARDEVS_UNIX);
	assert_string_equal(s.path, "/tmp/x.sock");
	assert_true(s.server);		/* the default for unix */
	assert_int_equal(chardevs_parse("backend=file,path=/tmp/out,id=f", &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.backend, CHARDEVS_FILE);
	assert_int_equal(chardevs_parse("id=p,backend=pty", &s, err, sizeof(err)), 0);
	assert_int_equal(s.backend, CHARDEVS_PTY);
	assert_int_equal(chardevs_parse("id=n.1-x_y,backend=null", &s, err, sizeof(err)), 0);

	assert_int_equal(chardevs_parse("backend=null", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "id="));
	assert_int_equal(chardevs_parse("id=a", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "backend"));
	assert_int_equal(chardevs_parse("id=a,backend=tcp", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=unix", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=unix,path=/x,server=off", &s, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "server"));
	assert_int_equal(chardevs_parse("id=a,backend=unix,path=/x,server=maybe", &s, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=file", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=null,path=/x", &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(chardevs_parse("id=a/b,backend=null", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=,backend=null", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=null,color=red", &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=null,junk", &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(chardevs_parse(
		"id=a,backend=unix,path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		&s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse(NULL, &s, err, sizeof(err)), -EINVAL);

	/* The option grammar's rules and messages (Documentation/options.md). */
	assert_int_equal(chardevs_parse("id=a,backend=unix,path=/tmp/a,,b.sock,server=yes", &s,
					err, sizeof(err)), 0);
	assert_string_equal(s.path, "/tmp/a,b.sock");
	assert_true(s.server);
	assert_int_equal(chardevs_parse("id=a,backend=tcp", &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--chardev: key 'backend': 'tcp' is not one of null, unix, "
			    "file, pty");
	assert_int_equal(chardevs_parse("id=a,backend=null,color=red", &s, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "--chardev: unknown key 'color'");
	assert_int_equal(chardevs_parse("id=a,backend=null,junk", &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--chardev: "));
	assert_non_null(strstr(err, "junk"));
	assert_int_equal(chardevs_parse("id=a,id=b,backend=null", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=null,", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(chardevs_parse("id=a,backend=unix,path=/x,server=maybe", &s, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'server'"));
}

static void test_registry(void **state)
{
	struct loop *loop = loop_new();
	struct chardevs *reg = chardevs_new(loop);
	struct chardevs_spec s;
	struct chardev *cd;
	char err[256], pty[64], path[64];
	struct stat st;
	int ret;

	assert_int_equal(chardevs_parse("id=c0,backend=null", &s, err, sizeof(err)), 0);
	assert_int_equal(chardevs_add(reg, &s, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(chardevs_add(reg, &s, NULL, 0, err, sizeof(err)), -EEXIST);
	cd = chardevs_claim(reg, "c0", &ret, err, sizeof(err));
	assert_non_null(cd);
	assert_null(chardevs_claim(reg, "c0", &ret, err, sizeof(err)));
	assert_int_equal(ret, -EBUSY);
	assert_null(chardevs_claim(reg, "nope", &ret, err, sizeof(err)));
	assert_int_equal(ret, -ENOENT);
	assert_int_equal(chardevs_remove(reg, "c0", err, sizeof(err)), -EBUSY);
	chardevs_release(reg, cd);
	assert_int_equal(chardevs_remove(reg, "c0", err, sizeof(err)), 0);
	assert_int_equal(chardevs_remove(reg, "c0", err, sizeof(err)), -ENOENT);

	/* unix: the socket exists while registered, and is gone after remove. */
	snprintf(path, sizeof(path), "/tmp/keel-test-chardevs-%d.sock", getpid());
	snprintf(err, sizeof(err), "id=u,backend=unix,path=%s", path);
	assert_int_equal(chardevs_parse(err, &s, err, sizeof(err)), 0);
	assert_int_equal(chardevs_add(reg, &s, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(chardevs_remove(reg, "u", err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), -1);

	/* file that cannot be opened: an error, nothing registered */
	assert_int_equal(chardevs_parse("id=f,backend=file,path=/nonexistent-dir/x", &s, err,
					sizeof(err)), 0);
	assert_int_equal(chardevs_add(reg, &s, NULL, 0, err, sizeof(err)), -EIO);
	assert_int_equal(chardevs_remove(reg, "f", err, sizeof(err)), -ENOENT);

	/* pty: its /dev/pts path comes back (when the host has ptys) */
	assert_int_equal(chardevs_parse("id=p,backend=pty", &s, err, sizeof(err)), 0);
	pty[0] = 'x';
	if (!chardevs_add(reg, &s, pty, sizeof(pty), err, sizeof(err)))
		assert_memory_equal(pty, "/dev/pts/", 9);
	chardevs_free(reg);
	loop_free(loop);
}

/* ---- QMP handlers ---- */

struct qctx {
	struct loop *loop;
	struct chardevs *reg;
	struct fake_machine fm;
	struct devices devs;
	struct qmp_devices dev;
	struct qmp_machine m;
	char gone[64];
	int nr_gone;
};

static struct chardev *q_claim(void *opaque, const char *id, int *ret, char *err,
			       size_t errlen)
{
	struct qctx *q = opaque;

	return chardevs_claim(q->reg, id, ret, err, errlen);
}

static void q_release(void *opaque, struct chardev *cd)
{
	struct qctx *q = opaque;

	chardevs_release(q->reg, cd);
}

/* The device model's DEVICE_DELETED: the port went and gave its chardev back. */
static void q_gone(void *opaque, struct device *dev)
{
	struct qctx *q = opaque;

	snprintf(q->gone, sizeof(q->gone), "%s", dev->id);
	q->nr_gone++;
}

static int q_run(struct qctx *q, qmp_handler_fn fn, const char *json, json_t **ret,
		 struct qmp_error *err)
{
	json_t *args = json_loads(json, 0, NULL);
	int r;

	assert_non_null(args);
	*ret = NULL;
	memset(err, 0, sizeof(*err));
	r = fn(&q->m, args, ret, err);
	json_decref(args);
	return r;
}

static struct device *q_port(struct qctx *q, const char *id)
{
	struct device *d = device_find(&q->devs, id);

	return d && !strcmp(d->type->name, "virtserialport") ? d : NULL;
}

static void test_qmp_commands(void **state)
{
	struct qctx q = { 0 };
	struct qmp_error err;
	char json[512], path[64];
	struct opts o;
	struct stat st;
	json_t *ret;

	fake_machine_init(&q.fm, 1 << 20);
	q.loop = q.fm.ms.loop;
	q.reg = chardevs_new(q.loop);
	q.fm.ms.opaque = &q;
	q.fm.ms.chardev_claim = q_claim;
	q.fm.ms.chardev_release = q_release;
	devices_init(&q.devs, &q.fm.ms);
	q.devs.deleted = q_gone;
	q.devs.deleted_opaque = &q;
	q.dev.chardevs = q.reg;
	q.dev.devs = &q.devs;
	q.m.devices = &q.dev;

	/* No virtio-serial: device_add says which bus is missing. */
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"chardev\":\"c1\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "virtio-serial"));
	assert_int_equal(opts_parse(&o, "virtio-serial-pci,max_ports=4", "driver", false, NULL,
				    0), 0);
	assert_int_equal(device_new(&q.devs, &o, NULL, err.desc, sizeof(err.desc)), 0);
	opts_free(&o);

	snprintf(path, sizeof(path), "/tmp/keel-test-qmpdev-%d.sock", getpid());
	snprintf(json, sizeof(json), "{\"id\":\"c1\",\"backend\":{\"type\":\"socket\",\"data\":"
		 "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"%s\"}},\"server\":true,"
		 "\"wait\":false}}}", path);
	assert_int_equal(q_run(&q, qmp_cmd_chardev_add, json, &ret, &err), 0);
	assert_null(ret);
	assert_int_equal(stat(path, &st), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, json, &ret, &err), 0);
	assert_non_null(strstr(err.desc, "exists"));
	/* QEMU's default socket is a client: refused with a reason. */
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
				   "\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":"
				   "{\"path\":\"/tmp/x\"}}}}}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "server"));
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
				   "\"socket\",\"data\":{\"addr\":{\"type\":\"inet\"},\"server\":"
				   "true}}}", &ret, &err), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
				   "\"spice\"}}", &ret, &err), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{}}",
				   &ret, &err), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
				   "\"file\",\"data\":{}}}", &ret, &err), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
				   "\"null\",\"data\":5}}", &ret, &err), 0);
	assert_int_equal(q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"c2\",\"backend\":{\"type\":"
			       "\"null\",\"data\":{}}}", &ret, &err), 0);
	if (!q_run(&q, qmp_cmd_chardev_add, "{\"id\":\"p\",\"backend\":{\"type\":\"pty\","
		   "\"data\":{}}}", &ret, &err)) {
		assert_non_null(ret);
		assert_memory_equal(json_string_value(json_object_get(ret, "pty")), "/dev/pts/", 9);
		json_decref(ret);
	}

	/* device_add: the registry's types, QMP values never re-parsed as options. */
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"e1000\",\"id\":\"n\"}",
				   &ret, &err), 0);
	assert_non_null(strstr(err.desc, "not a valid device model"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtio-serial-pci\","
				   "\"id\":\"vs2\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "hotplug"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\",\"chardev\":\"zz\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "not found"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "chardev"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\",\"chardev\":\"c1\",\"nr\":-1}", &ret, &err), 0);
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\",\"chardev\":\"c1\",\"frob\":1}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "frob"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\",\"chardev\":\"c1\",\"name\":{}}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "name"));
	/* A comma in a value stays in the value: no key can be smuggled in. */
	assert_int_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
			       "\"id\":\"pz\",\"chardev\":\"c1\",\"name\":\"a,chardev=c2\"}",
			       &ret, &err), 0);
	assert_non_null(q_port(&q, "pz"));
	assert_int_equal(q_run(&q, qmp_cmd_device_del, "{\"id\":\"pz\"}", &ret, &err), 0);
	assert_int_equal(q.nr_gone, 1);
	assert_null(q_port(&q, "pz"));
	assert_int_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
			       "\"id\":\"p1\",\"chardev\":\"c1\",\"name\":\"keel.test.0\"}",
			       &ret, &err), 0);
	assert_non_null(q_port(&q, "p1"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p1\",\"chardev\":\"c2\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "Duplicate"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p2\",\"chardev\":\"c1\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "in use"));
	/* A failed port add gives the chardev back. */
	assert_int_not_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
				   "\"id\":\"p3\",\"chardev\":\"c2\",\"name\":\"keel.test.0\"}",
				   &ret, &err), 0);
	assert_null(q_port(&q, "p3"));
	assert_int_equal(q_run(&q, qmp_cmd_device_add, "{\"driver\":\"virtserialport\","
			       "\"id\":\"p3\",\"chardev\":\"c2\",\"nr\":3}", &ret, &err), 0);

	/* The listing names every device, its type and bus. */
	assert_int_equal(q_run(&q, qmp_cmd_query_devices, "{}", &ret, &err), 0);
	assert_int_equal(json_array_size(ret), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ret, 1), "type")),
			    "virtserialport");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ret, 1), "bus")),
			    "virtio-serial0.0");
	json_decref(ret);

	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_remove, "{\"id\":\"c1\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "busy"));
	assert_int_not_equal(q_run(&q, qmp_cmd_device_del, "{\"id\":\"zz\"}", &ret, &err), 0);
	assert_string_equal(err.cls, "DeviceNotFound");
	/* The controller cannot be unplugged. */
	assert_int_not_equal(q_run(&q, qmp_cmd_device_del, "{\"id\":\"virtio-serial0\"}", &ret,
				   &err), 0);
	/* No driver running: the port goes at once, and its chardev is free. */
	assert_int_equal(q_run(&q, qmp_cmd_device_del, "{\"id\":\"p1\"}", &ret, &err), 0);
	assert_int_equal(q.nr_gone, 2);
	assert_string_equal(q.gone, "p1");
	assert_int_equal(q_run(&q, qmp_cmd_chardev_remove, "{\"id\":\"c1\"}", &ret, &err), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_not_equal(q_run(&q, qmp_cmd_chardev_remove, "{\"id\":\"c1\"}", &ret, &err), 0);
	assert_non_null(strstr(err.desc, "not found"));

	devices_fini(&q.devs);
	chardevs_free(q.reg);
	fake_machine_fini(&q.fm);	/* frees the loop */
}

static void test_cli(void **state)
{
	char *ok[] = { "keel", "run", "--kernel", "k", "--chardev", "id=c1,backend=null",
		       "--chardev=id=c2,backend=unix,path=/tmp/s", "--device",
		       "virtio-serial,max-ports=4", "--device",
		       "virtserialport,chardev=c1,name=keel.test.0,id=p1", NULL };
	struct cli_config cfg;
	char err[CLI_ERR_MAX];
	static const char *const bad[][2] = {
		{ "--chardev", "backend=null" },
		{ "--chardev", "id=c,backend=unix,path=/x,server=off" },
		{ "--device", "virtio-serial,max-ports=0" },
		{ "--device", "virtio-serial,max-ports=32" },
		{ "--device", "virtio-serial,max-ports=4,max_ports=4" },
		{ "--device", "virtio-serial,ports=3" },
		{ "--device", "virtserialport,name=x" },
		{ "--device", "virtserialport,chardev=c1,nr=99" },
		{ "--device", "virtio-serialx" },
	};
	unsigned int i;

	assert_int_equal(cli_parse(11, ok, &cfg, err, sizeof(err)), CLI_RUN);
	assert_int_equal(cfg.nr_chardevs, 2);
	assert_int_equal(cfg.nr_devices, 2);
	assert_int_equal(cfg.devices[0].kind, CLI_DEV_DEVICE);
	assert_string_equal(cfg.devices[0].str, "virtio-serial,max-ports=4");
	assert_string_equal(cfg.devices[1].str, "virtserialport,chardev=c1,name=keel.test.0,id=p1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "keel", "run", "--kernel", "k", (char *)bad[i][0],
				 (char *)bad[i][1], NULL };

		assert_int_equal(cli_parse(6, argv, &cfg, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
	}
	{
		char *dup[] = { "keel", "run", "--kernel", "k", "--chardev", "id=c,backend=null",
				"--chardev", "id=c,backend=pty", NULL };
		char *twice[] = { "keel", "run", "--kernel", "k", "--device", "virtio-serial",
				  "--device", "virtio-serial-pci", NULL };

		assert_int_equal(cli_parse(8, dup, &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "twice"));
		/* Two controllers, as QEMU allows: each gets its own bus. */
		assert_int_equal(cli_parse(8, twice, &cfg, err, sizeof(err)), CLI_RUN);
		assert_int_equal(cfg.nr_devices, 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_qmp_commands),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
