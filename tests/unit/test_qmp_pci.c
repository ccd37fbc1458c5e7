/*
 * Unit tests for user/vmm/qmp/pci.c and query-pci in commands.c: the whole
 * PCI tree in QEMU's nested shape (bridges behind bridges, a bridge the guest
 * has not numbered yet), bus numbers as the guest programmed them, hostile
 * numbering (loops, overlaps) that must not change the nesting, truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/bridge.h"
#include "devices/pci/host.h"
#include "fake_machine.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/pci.h"

#define ECAM	0xE0000000ULL

static struct fake_machine fm;
static struct pci_host *host;
static struct pci_bridge br_a, br_b, br_c, br_u;
static struct pci_device r1, d1, d2, d3, d4;

static void fn_init(struct pci_device *d, const char *name, uint16_t devid, unsigned int pin)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	pci_config_init(&d->cfg, 0x1af4, devid, 0x00ff00, 0, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(&d->cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, 0x1af4);
	pci_config_set(&d->cfg, PCI_SUBSYSTEM_ID, 2, 0x0004);
	pci_config_set(&d->cfg, PCI_INTERRUPT_PIN, 1, pin);
	pci_config_set_bar(&d->cfg, 0, 0x1000, 0);
}

/*
 * 00:01.0 r1; 00:02.0 bridge A -> 03.0 d1, 05.0 bridge B -> 00.0 d2,
 * 01.0 bridge C -> 00.0 d3; 00:04.0 bridge U (never numbered) -> 02.0 d4.
 */
static int setup(void **state)
{
	fake_machine_init(&fm, 1 << 20);
	host = pci_host_new_ecam(&fm.ms, ECAM, 8);
	assert_non_null(host);
	pci_bridge_init(&br_a, "br-a", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_b, "br-b", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_c, "br-c", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	pci_bridge_init(&br_u, "br-u", 0x1b36, 0x0001, PCI_CLASS_BRIDGE_PCI, 0);
	fn_init(&r1, "r1", 0x1041, 1);
	fn_init(&d1, "d1", 0x1042, 1);
	fn_init(&d2, "d2", 0x1043, 2);
	fn_init(&d3, "d3", 0x1044, 0);
	fn_init(&d4, "d4", 0x1045, 1);
	assert_int_equal(pci_host_plug(&br_c.sec, &d3, PCI_DEVFN(0, 0)), 0);
	assert_int_equal(pci_host_plug(&br_b.sec, &d2, PCI_DEVFN(0, 0)), 0);
	assert_int_equal(pci_host_plug(&br_b.sec, &br_c.pci, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_plug(&br_a.sec, &d1, PCI_DEVFN(3, 0)), 0);
	assert_int_equal(pci_host_plug(&br_a.sec, &br_b.pci, PCI_DEVFN(5, 0)), 0);
	assert_int_equal(pci_host_plug(&br_u.sec, &d4, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_register(host, &r1, PCI_DEVFN(1, 0)), 0);
	assert_int_equal(pci_host_register(host, &br_a.pci, PCI_DEVFN(2, 0)), 0);
	assert_int_equal(pci_host_register(host, &br_u.pci, PCI_DEVFN(4, 0)), 0);
	return 0;
}

static int teardown(void **state)
{
	pci_host_free(host);
	fake_machine_fini(&fm);
	return 0;
}

static void ecam_wr(unsigned int bus, unsigned int devfn, unsigned int reg, unsigned int size,
		    uint32_t v)
{
	uint64_t off = (uint64_t)bus << 20 | devfn << 12 | reg;

	assert_int_equal(fake_mmio_write(&fm, ECAM + off, &v, size), 0);
}

/* As Linux would: A 1..3, B 2..3, C 3..3; U left alone. */
static void number_buses(void)
{
	ecam_wr(0, PCI_DEVFN(2, 0), PCI_PRIMARY_BUS, 4, 0x00030100);
	ecam_wr(1, PCI_DEVFN(5, 0), PCI_PRIMARY_BUS, 4, 0x00030201);
	ecam_wr(2, PCI_DEVFN(1, 0), PCI_PRIMARY_BUS, 4, 0x00030302);
}

/* The index of the function named name in f[0..n), -1 if absent. */
static int find(const struct qmp_pci_function *f, unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return (int)i;
	return -1;
}

static void test_collect_tree(void **state)
{
	struct qmp_pci_function f[32];
	unsigned int n = qmp_pci_collect(host, NULL, NULL, 0);
	int a, b, c, u;

	/* host bridge, r1, A, d1, B, d2, C, d3, U, d4 */
	assert_int_equal(n, 10);
	assert_int_equal(qmp_pci_collect(host, NULL, f, 32), 10);
	assert_int_equal(f[0].parent, -1);
	a = find(f, n, "br-a");
	b = find(f, n, "br-b");
	c = find(f, n, "br-c");
	u = find(f, n, "br-u");
	assert_true(a >= 0 && b > a && c > b && u > c);
	assert_int_equal(f[a].parent, -1);
	assert_int_equal(f[find(f, n, "r1")].parent, -1);
	assert_int_equal(f[find(f, n, "d1")].parent, a);
	assert_int_equal(f[b].parent, a);
	assert_int_equal(f[find(f, n, "d2")].parent, b);
	assert_int_equal(f[c].parent, b);
	assert_int_equal(f[find(f, n, "d3")].parent, c);
	assert_int_equal(f[u].parent, -1);
	assert_int_equal(f[find(f, n, "d4")].parent, u);
	/* Not numbered yet: every bus reads as 0, and the tree is still whole. */
	assert_int_equal(f[find(f, n, "d3")].bus, 0);
	assert_true(f[a].bridge && !f[a].has_subsystem);
	assert_false(f[find(f, n, "d1")].bridge);
	assert_true(f[find(f, n, "d1")].has_subsystem);
	assert_int_equal(f[find(f, n, "d1")].subsystem, 4);
	assert_int_equal(f[find(f, n, "d4")].slot, 2);

	number_buses();
	assert_int_equal(qmp_pci_collect(host, NULL, f, 32), 10);
	assert_int_equal(f[find(f, n, "d1")].bus, 1);
	assert_int_equal(f[find(f, n, "d2")].bus, 2);
	assert_int_equal(f[find(f, n, "d3")].bus, 3);
	assert_int_equal(f[find(f, n, "d4")].bus, 0);
	assert_int_equal(f[b].primary, 1);
	assert_int_equal(f[b].secondary, 2);
	assert_int_equal(f[b].subordinate, 3);
	assert_int_equal(f[c].bus, 2);
}

static void test_collect_hostile_numbers(void **state)
{
	struct qmp_pci_function f[32];
	unsigned int n;

	number_buses();
	/* A loop and an overlap: B claims A's bus, C claims bus 0, A's range inverted. */
	br_a.pci.cfg.data[PCI_SECONDARY_BUS] = 2;
	br_a.pci.cfg.data[PCI_SUBORDINATE_BUS] = 1;
	br_b.pci.cfg.data[PCI_SECONDARY_BUS] = 1;
	br_b.pci.cfg.data[PCI_SUBORDINATE_BUS] = 255;
	br_c.pci.cfg.data[PCI_SECONDARY_BUS] = 0;
	br_c.pci.cfg.data[PCI_PRIMARY_BUS] = 3;
	n = qmp_pci_collect(host, NULL, f, 32);
	assert_int_equal(n, 10);
	/* The nesting follows the tree, only the reported numbers change. */
	assert_int_equal(f[find(f, n, "d3")].parent, find(f, n, "br-c"));
	assert_int_equal(f[find(f, n, "d3")].bus, 0);
	assert_int_equal(f[find(f, n, "d2")].bus, 1);
	assert_int_equal(f[find(f, n, "d1")].bus, 2);
	assert_int_equal(f[find(f, n, "br-c")].primary, 3);
}

static void test_collect_truncated(void **state)
{
	struct qmp_pci_function f[4];

	memset(f, 0xa5, sizeof(f));
	assert_int_equal(qmp_pci_collect(host, NULL, f, 3), 10);
	/* Only the first three are written; a parent still comes before its child. */
	assert_string_equal(f[2].name, "br-a");
	assert_int_equal(f[3].slot, 0xa5a5a5a5u);
	assert_int_equal(qmp_pci_collect(NULL, NULL, f, 3), 0);
}

/* query-pci itself over the real collector. */
static unsigned int ops_pci(void *o, struct qmp_pci_function *out, unsigned int max)
{
	return qmp_pci_collect(host, NULL, out, max);
}

static const struct qmp_machine_ops ops = { .pci_functions = ops_pci };

static json_t *run_query_pci(void)
{
	struct qmp_machine m = { .ops = &ops };
	struct qmp_error err = { 0 };
	json_t *ret = NULL;
	size_t i;

	for (i = 0; i < qmp_machine_nr_commands; i++)
		if (!strcmp(qmp_machine_commands[i].name, "query-pci"))
			break;
	assert_true(i < qmp_machine_nr_commands);
	assert_int_equal(qmp_machine_commands[i].fn(&m, NULL, &ret, &err), 0);
	assert_non_null(ret);
	return ret;
}

/* The entry of devs at slot (function 0). */
static json_t *at_slot(json_t *devs, int slot)
{
	json_t *d;
	size_t i;

	json_array_foreach(devs, i, d)
		if (json_integer_value(json_object_get(d, "slot")) == slot)
			return d;
	fail_msg("no function in slot %d", slot);
	return NULL;
}

static void test_query_pci_json(void **state)
{
	json_t *ret, *root, *a, *ab, *b, *c, *d3, *u, *r1j;

	number_buses();
	pci_bridge_set_window(&br_a.pci.cfg, PCI_BRIDGE_WIN_IO, 0x1000, 0x1000);
	pci_bridge_set_window(&br_a.pci.cfg, PCI_BRIDGE_WIN_MEM, 0xc0000000, 0x100000);
	pci_bridge_set_window(&br_a.pci.cfg, PCI_BRIDGE_WIN_PREF, 0, 0);
	ret = run_query_pci();
	assert_int_equal(json_array_size(ret), 1);
	root = json_array_get(ret, 0);
	assert_int_equal(json_integer_value(json_object_get(root, "bus")), 0);
	/* host bridge, r1, A, U on the root bus */
	assert_int_equal(json_array_size(json_object_get(root, "devices")), 4);
	r1j = at_slot(json_object_get(root, "devices"), 1);
	assert_int_equal(json_integer_value(json_object_get(r1j, "irq_pin")), 1);
	assert_non_null(json_object_get(r1j, "irq"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r1j, "id"),
							    "subsystem-vendor")), 0x1af4);
	assert_null(json_object_get(r1j, "pci_bridge"));

	a = at_slot(json_object_get(root, "devices"), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(a, "class_info"), "desc")), "PCI bridge");
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(a, "class_info"), "class")), 0x0604);
	assert_null(json_object_get(json_object_get(a, "id"), "subsystem"));
	assert_null(json_object_get(a, "irq"));
	ab = json_object_get(json_object_get(a, "pci_bridge"), "bus");
	assert_int_equal(json_integer_value(json_object_get(ab, "number")), 0);
	assert_int_equal(json_integer_value(json_object_get(ab, "secondary")), 1);
	assert_int_equal(json_integer_value(json_object_get(ab, "subordinate")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ab, "io_range"),
							    "base")), 0x1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ab, "io_range"),
							    "limit")), 0x1fff);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(ab, "memory_range"), "limit")), 0xc00fffff);
	/* A closed window reads base > limit, as QEMU reports it. */
	assert_true(json_integer_value(json_object_get(json_object_get(ab,
		"prefetchable_range"), "base")) > json_integer_value(json_object_get(
		json_object_get(ab, "prefetchable_range"), "limit")));

	a = json_object_get(json_object_get(a, "pci_bridge"), "devices");
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(json_integer_value(json_object_get(at_slot(a, 3), "bus")), 1);
	b = at_slot(a, 5);
	b = json_object_get(json_object_get(b, "pci_bridge"), "devices");
	assert_int_equal(json_array_size(b), 2);
	assert_int_equal(json_integer_value(json_object_get(at_slot(b, 0), "bus")), 2);
	c = json_object_get(json_object_get(at_slot(b, 1), "pci_bridge"), "devices");
	assert_int_equal(json_array_size(c), 1);
	d3 = json_array_get(c, 0);
	assert_int_equal(json_integer_value(json_object_get(d3, "bus")), 3);
	assert_string_equal(json_string_value(json_object_get(d3, "qdev_id")), "d3");
	assert_null(json_object_get(d3, "irq"));	/* no pin */

	/* The unnumbered bridge is listed with its devices on "bus 0". */
	u = at_slot(json_object_get(root, "devices"), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(u, "pci_bridge"), "bus"), "secondary")), 0);
	u = json_object_get(json_object_get(u, "pci_bridge"), "devices");
	assert_int_equal(json_array_size(u), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(u, 0), "slot")), 2);
	json_decref(ret);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collect_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_hostile_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_pci_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
