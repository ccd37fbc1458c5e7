/*
 * Unit tests for user/devices/device.c: the type registry and help, instances
 * from option lists (placement keys, properties, aliases, every error), the
 * bus tree, PCI placement on realize, hotplug and unplug on buses that allow
 * them, against the fake machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci/bus.h"
#include "fake_machine.h"
#include "lib/opts.h"

struct ctx {
	struct fake_machine fm;
	struct devices devs;
	struct pci_bus root;
	struct dev_bus *rootb;
	char err[256];
	int deleted;
	char deleted_id[DEVICE_ID_MAX];
	int plugged, unplug_requests;
};

static int bus_plugged(struct dev_bus *bus, struct device *dev, char *err, size_t errlen)
{
	struct ctx *c = bus->ops_opaque;

	c->plugged++;
	return 0;
}

static int bus_unplug(struct dev_bus *bus, struct device *dev, char *err, size_t errlen)
{
	struct ctx *c = bus->ops_opaque;

	c->unplug_requests++;
	return 0;
}

static const struct dev_bus_ops bus_ops = { .plugged = bus_plugged, .unplug_request = bus_unplug };

static void on_deleted(void *opaque, struct device *dev)
{
	struct ctx *c = opaque;

	c->deleted++;
	snprintf(c->deleted_id, sizeof(c->deleted_id), "%s", dev->id);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	fake_machine_init(&c->fm, 1 << 20);
	devices_init(&c->devs, &c->fm.ms);
	c->devs.deleted = on_deleted;
	c->devs.deleted_opaque = c;
	pci_bus_init(&c->root);
	c->rootb = device_bus_add(&c->devs, NULL, "pci.0", DEV_BUS_PCI, &c->root);
	c->rootb->ops = &bus_ops;
	c->rootb->ops_opaque = c;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	devices_fini(&c->devs);
	fake_machine_fini(&c->fm);
	free(c);
	return 0;
}

/* device_new from a --device string; returns its result, err in c->err. */
static int add(struct ctx *c, const char *spec, struct device **out)
{
	struct opts o;
	int ret;

	c->err[0] = '\0';
	ret = opts_parse(&o, spec, "driver", false, c->err, sizeof(c->err));
	if (!ret)
		ret = device_new(&c->devs, &o, out, c->err, sizeof(c->err));
	opts_free(&o);
	return ret;
}

static int hotplug(struct ctx *c, const char *spec)
{
	struct opts o;
	int ret;

	c->err[0] = '\0';
	ret = opts_parse(&o, spec, "driver", false, c->err, sizeof(c->err));
	if (!ret)
		ret = device_hotplug(&c->devs, &o, c->err, sizeof(c->err));
	opts_free(&o);
	return ret;
}

static void test_registry(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	unsigned int i;

	assert_non_null(device_type_find("virtio-blk-pci"));
	assert_ptr_equal(device_type_find("virtio-rng"), device_type_find("virtio-rng-pci"));
	assert_ptr_equal(device_type_find("virtio-serial"), device_type_find("virtio-serial-pci"));
	assert_null(device_type_find("e1000"));
	assert_null(device_type_find(NULL));
	/* Names are unique across names and aliases. */
	for (i = 0; device_types[i]; i++)
		assert_ptr_equal(device_type_find(device_types[i]->name), device_types[i]);
	f = open_memstream(&buf, &len);
	device_types_help(f);
	device_type_help(f, device_type_find("virtio-blk-pci"));
	fclose(f);
	assert_non_null(strstr(buf, "pvpanic-pci"));
	assert_non_null(strstr(buf, "num-queues"));
	assert_non_null(strstr(buf, "addr="));
	free(buf);
}

static void test_check(void **state)
{
	char err[256];
	static const char *const bad[] = {
		"", "driver=", "frob", "virtio-rng-pci,frob=1", "virtio-rng-pci,max-bytes=x",
		"virtio-rng-pci,id=1abc", "virtio-rng-pci,id=a b", "virtio-rng-pci,addr=20",
		"virtio-rng-pci,addr=3.8", "virtio-rng-pci,addr=x", "virtio-rng-pci,addr=",
		"virtio-rng-pci,bus=", "virtio-blk-pci", "virtio-blk-pci,drive=d,serial=\x01",
		"virtserialport", "virtserialport,chardev=c,nr=31",
		"virtio-serial-pci,max_ports=2,max-ports=3", "virtio-rng-pci,id=x,id=y",
	};
	unsigned int i;

	assert_int_equal(device_check("virtio-rng-pci", err, sizeof(err)), 0);
	assert_int_equal(device_check("virtio-rng-pci,id=rng0,bus=br1,addr=1f.7,period=5,"
				      "max-bytes=7", err, sizeof(err)), 0);
	assert_int_equal(device_check("virtio-serial,max-ports=3", err, sizeof(err)), 0);
	assert_int_equal(device_check("driver=pvpanic-pci", err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(device_check(bad[i], err, sizeof(err)), 0);
		assert_true(strlen(err) > 0);
	}
	/* The message names the key. */
	device_check("virtio-blk-pci,drive=d,num-queues=99", err, sizeof(err));
	assert_non_null(strstr(err, "num-queues"));
	device_check("virtio-rng-pci,frob=1", err, sizeof(err));
	assert_non_null(strstr(err, "frob"));
}

static void test_pci_addr(void **state)
{
	int devfn;

	assert_int_equal(device_parse_pci_addr("5", &devfn), 0);
	assert_int_equal(devfn, PCI_DEVFN(5, 0));
	assert_int_equal(device_parse_pci_addr("1f.7", &devfn), 0);
	assert_int_equal(devfn, PCI_DEVFN(31, 7));
	assert_int_equal(device_parse_pci_addr("0a", &devfn), 0);
	assert_int_equal(devfn, PCI_DEVFN(10, 0));
	assert_int_not_equal(device_parse_pci_addr("20", &devfn), 0);
	assert_int_not_equal(device_parse_pci_addr("1.", &devfn), 0);
	assert_int_not_equal(device_parse_pci_addr(".1", &devfn), 0);
	assert_int_not_equal(device_parse_pci_addr("1.1x", &devfn), 0);
	assert_int_not_equal(device_parse_pci_addr(NULL, &devfn), 0);
}

static void test_instances_and_placement(void **state)
{
	struct ctx *c = *state;
	struct device *a, *b, *d;

	assert_int_equal(add(c, "pvpanic-pci", &a), 0);
	assert_string_equal(a->name, "pvpanic0");
	assert_int_equal(add(c, "pvpanic-pci,id=pp,addr=7", &b), 0);
	assert_string_equal(b->name, "pp");
	/* Duplicate ids, ids that clash with a bus, a taken address (at realize). */
	assert_int_not_equal(add(c, "pvpanic-pci,id=pp", NULL), 0);
	assert_non_null(strstr(c->err, "Duplicate"));
	assert_int_not_equal(add(c, "pvpanic-pci,id=pci.0", NULL), 0);
	assert_int_equal(add(c, "pvpanic-pci,id=clash,addr=7", &d), 0);
	assert_int_not_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), 0);
	assert_non_null(strstr(c->err, "in use"));
	devices_unrealize(&c->devs);
	assert_false(a->realized);
	assert_null(pci_bus_find(&c->root, PCI_DEVFN(7, 0)));
	assert_int_equal(device_unplug(&c->devs, "clash", c->err, sizeof(c->err)), -EOPNOTSUPP);
	/* Without the clash everything lands: slot 1 first (slot 0 is the host's). */
	devices_fini(&c->devs);
	c->rootb = device_bus_add(&c->devs, NULL, "pci.0", DEV_BUS_PCI, &c->root);
	assert_int_equal(add(c, "pvpanic-pci", &a), 0);
	assert_int_equal(add(c, "pvpanic-pci,addr=7", &b), 0);
	assert_int_equal(add(c, "pvpanic-pci", &d), 0);
	assert_int_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), 0);
	assert_ptr_equal(pci_bus_find(&c->root, PCI_DEVFN(1, 0)), a->pci);
	assert_ptr_equal(pci_bus_find(&c->root, PCI_DEVFN(7, 0)), b->pci);
	assert_ptr_equal(pci_bus_find(&c->root, PCI_DEVFN(2, 0)), d->pci);
	assert_ptr_equal(a->bus, c->rootb);
	/* A second realize after unrealize gives the same layout (a reset). */
	devices_unrealize(&c->devs);
	assert_null(pci_bus_find(&c->root, PCI_DEVFN(1, 0)));
	assert_int_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), 0);
	assert_ptr_equal(pci_bus_find(&c->root, PCI_DEVFN(2, 0)), d->pci);
}

static void test_bus_errors(void **state)
{
	struct ctx *c = *state;
	struct device *a;
	unsigned int i;
	char spec[64];

	assert_int_equal(add(c, "pvpanic-pci,bus=nowhere", &a), 0);
	assert_int_not_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), 0);
	assert_non_null(strstr(c->err, "nowhere"));
	devices_fini(&c->devs);
	c->rootb = device_bus_add(&c->devs, NULL, "pci.0", DEV_BUS_PCI, &c->root);
	/* A virtio-serial port on a PCI bus: the kinds differ. */
	assert_int_not_equal(hotplug(c, "virtserialport,chardev=c,bus=pci.0"), 0);
	/* 31 free slots, then the bus is full. */
	for (i = 0; i < 31; i++)
		assert_int_equal(add(c, "pvpanic-pci", NULL), 0);
	assert_int_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), 0);
	assert_int_equal(add(c, "pvpanic-pci", NULL), 0);
	assert_int_equal(devices_realize(&c->devs, c->err, sizeof(c->err)), -ENOSPC);
	snprintf(spec, sizeof(spec), "pvpanic-pci,addr=0");
	assert_int_equal(add(c, spec, NULL), 0);
}

static void test_hotplug_unplug(void **state)
{
	struct ctx *c = *state;
	struct device *d;

	/* A type that cannot be hot-plugged, and a bus that does not take it. */
	assert_int_not_equal(hotplug(c, "pvpanic-pci"), 0);
	assert_non_null(strstr(c->err, "hotplug"));
	assert_int_not_equal(hotplug(c, "virtio-rng-pci,id=r0"), 0);
	assert_non_null(strstr(c->err, "pci.0"));
	assert_null(device_find(&c->devs, "r0"));
	c->rootb->hotplug = true;
	assert_int_equal(hotplug(c, "virtio-rng-pci,id=r0,addr=4"), 0);
	assert_int_equal(c->plugged, 1);
	d = device_find(&c->devs, "r0");
	assert_non_null(d);
	assert_true(d->hotplugged && d->realized);
	assert_ptr_equal(pci_bus_find(&c->root, PCI_DEVFN(4, 0)), d->pci);
	/* A failed hotplug leaves nothing behind. */
	assert_int_not_equal(hotplug(c, "virtio-rng-pci,id=r1,addr=4"), 0);
	assert_null(device_find(&c->devs, "r1"));
	assert_int_not_equal(hotplug(c, "virtio-rng-pci,id=r1,source=/nonexistent/x"), 0);
	assert_null(device_find(&c->devs, "r1"));
	/* Unplug: a request, then the guest's answer; twice is refused; a missing id too. */
	assert_int_equal(device_unplug(&c->devs, "nope", c->err, sizeof(c->err)), -ENOENT);
	assert_int_equal(device_unplug(&c->devs, "r0", c->err, sizeof(c->err)), 0);
	assert_int_equal(c->unplug_requests, 1);
	assert_true(d->unplug_pending);
	assert_int_equal(device_unplug(&c->devs, "r0", c->err, sizeof(c->err)), -EBUSY);
	assert_int_equal(c->deleted, 0);
	device_unplug_done(d);
	assert_int_equal(c->deleted, 1);
	assert_string_equal(c->deleted_id, "r0");
	assert_null(device_find(&c->devs, "r0"));
	assert_null(pci_bus_find(&c->root, PCI_DEVFN(4, 0)));
	/* The id and the slot can be used again. */
	assert_int_equal(hotplug(c, "virtio-rng-pci,id=r0,addr=4"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_pci_addr),
		cmocka_unit_test_setup_teardown(test_instances_and_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug_unplug, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
