/*
 * Unit tests for the microvm board (user/vmm/board_microvm.c): the machine
 * type, the virtio-mmio bus and its slots (user/devices/virtio/mmio.c), the
 * virtio-*-device types on it and their refusals (PCI types, hotplug, a full
 * bus), the ACPI tables through iasl (one LNRO0005 device per taken slot, no
 * PCI), and the argument checks of kvm_ioeventfd_dm (user/vmm/kvm.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "acpi_iasl.h"
#include "devices/virtio/mmio.h"
#include "fake_machine.h"
#include "lib/log.h"
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/table.h"
#include "vmm/board.h"
#include "vmm/kvm.h"
#include "vmm/machine_type.h"

#define MVM_BASE	0xFEB00000ULL

static void test_machine_type(void **state)
{
	const struct machine_type *t = machine_type_find("microvm");

	assert_non_null(t);
	assert_string_equal(t->name, "microvm-keel-1");
	assert_int_equal(t->version, 1);
	assert_ptr_equal(t->board, &board_microvm_ops);
	assert_ptr_equal(machine_type_find("microvm-keel-1"), t);
	assert_false(t->is_default);
	/* --disk and --rng make the virtio-mmio types there, the PCI ones elsewhere. */
	assert_string_equal(board_microvm_ops.disk_device, "virtio-blk-device");
	assert_string_equal(board_microvm_ops.rng_device, "virtio-rng-device");
	assert_null(board_pc_ops.disk_device);
	assert_null(board_q35_ops.rng_device);
	assert_non_null(device_type_find("virtio-blk-device"));
	assert_non_null(device_type_find("virtio-serial-device"));
}

/* The slot arithmetic on its own: first free, release, full, a bad index. */
static void test_bus_slots(void **state)
{
	struct virtio_mmio_bus b;
	uint64_t base;
	unsigned int gsi;

	virtio_mmio_bus_init(&b, MVM_BASE, 16, 100);
	assert_int_equal(b.nr_slots, VIRTIO_MMIO_BUS_MAX_SLOTS);
	virtio_mmio_bus_init(&b, MVM_BASE, 16, 8);
	assert_false(virtio_mmio_bus_slot(&b, 0, &base, &gsi));
	b.used = 1u << 3;
	assert_true(virtio_mmio_bus_slot(&b, 3, &base, &gsi));
	assert_int_equal(base, MVM_BASE + 3 * VIRTIO_MMIO_SIZE);
	assert_int_equal(gsi, 19);
	assert_false(virtio_mmio_bus_slot(&b, 8, &base, &gsi));
	assert_false(virtio_mmio_bus_slot(&b, ~0u, &base, &gsi));
}

struct board_ctx {
	struct cli_config cfg;
	struct machine *m;
	struct fake_machine fm;
	char err[256];
};

static int board_setup(void **state)
{
	struct board_ctx *c = calloc(1, sizeof(*c));

	c->cfg.cpus = 2;
	c->m = calloc(1, sizeof(*c->m));
	fake_machine_init(&c->fm, 1 << 20);
	c->m->cfg = &c->cfg;
	c->m->ms = c->fm.ms;
	bus_init(&c->m->pio, "pio");
	bus_init(&c->m->mmio, "mmio");
	devices_init(&c->m->devs, &c->m->ms);
	assert_int_equal(guest_mem_layout(&c->m->mem, 1ULL << 30), 0);
	assert_int_equal(board_microvm_ops.build(c->m), 0);
	*state = c;
	return 0;
}

static int board_teardown(void **state)
{
	struct board_ctx *c = *state;

	devices_unrealize(&c->m->devs);
	board_microvm_ops.teardown(c->m);
	assert_null(c->m->board);
	devices_fini(&c->m->devs);
	bus_fini(&c->m->pio);
	bus_fini(&c->m->mmio);
	fake_machine_fini(&c->fm);
	free(c->m);
	free(c);
	return 0;
}

static int add(struct board_ctx *c, const char *spec)
{
	struct opts o;
	int ret;

	c->err[0] = '\0';
	ret = opts_parse(&o, spec, "driver", false, c->err, sizeof(c->err));
	if (!ret)
		ret = device_new(&c->m->devs, &o, NULL, c->err, sizeof(c->err));
	opts_free(&o);
	return ret;
}

static uint32_t rd_reg(struct board_ctx *c, uint64_t addr)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(fake_mmio_read(&c->fm, addr, &v, 4), 0);
	return v;
}

static void test_board_devices(void **state)
{
	struct board_ctx *c = *state;
	struct dev_bus *root = device_bus_find(&c->m->devs, "virtio-mmio-bus");
	struct virtio_mmio_bus *slots;
	struct opts o;

	assert_non_null(root);
	assert_int_equal(root->kind, DEV_BUS_VIRTIO_MMIO);
	assert_false(root->hotplug);
	assert_null(root->owner);
	assert_null(device_bus_find(&c->m->devs, "pci.0"));
	slots = root->impl;

	assert_int_equal(add(c, "virtio-rng-device,id=rng0"), 0);
	assert_int_equal(add(c, "virtio-serial-device,id=vs0"), 0);
	assert_int_equal(add(c, "virtio-rng-device,bus=virtio-mmio-bus"), 0);
	/* A PCI spelling has no PCI bus here, and addr= is PCI's. */
	assert_int_equal(add(c, "virtio-rng-device,addr=3"), -EINVAL);
	assert_non_null(strstr(c->err, "addr"));
	if (devices_realize(&c->m->devs, c->err, sizeof(c->err)))
		fail_msg("realize: %s", c->err);
	assert_int_equal(slots->used, 0x7);
	/* Slot order is creation order: the transports answer at their bases. */
	assert_int_equal(rd_reg(c, MVM_BASE + VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	assert_int_equal(rd_reg(c, MVM_BASE + VIRTIO_MMIO_DEVICE_ID), 4);	/* entropy */
	assert_int_equal(rd_reg(c, MVM_BASE + 0x200 + VIRTIO_MMIO_DEVICE_ID), 3);	/* console */
	assert_int_equal(rd_reg(c, MVM_BASE + 0x400 + VIRTIO_MMIO_DEVICE_ID), 4);

	/* No hotplug on microvm, as on QEMU's: refused with the reason. */
	assert_int_equal(opts_parse(&o, "virtio-rng-device,id=h0", "driver", false, c->err,
				    sizeof(c->err)), 0);
	assert_int_equal(device_hotplug(&c->m->devs, &o, c->err, sizeof(c->err)), -EINVAL);
	opts_free(&o);
	assert_non_null(strstr(c->err, "does not support hotplugging"));
	assert_null(device_find(&c->m->devs, "h0"));
	assert_int_equal(opts_parse(&o, "virtio-rng-pci,id=h1", "driver", false, c->err,
				    sizeof(c->err)), 0);
	assert_int_equal(device_hotplug(&c->m->devs, &o, c->err, sizeof(c->err)), -EINVAL);
	opts_free(&o);
	assert_non_null(strstr(c->err, "PCI"));

	/*
	 * The end of an incarnation gives every slot back (the board and its
	 * MMIO regions go with it: a reset builds both again).
	 */
	devices_unrealize(&c->m->devs);
	assert_int_equal(slots->used, 0);
}

static void test_board_wrong_bus(void **state)
{
	struct board_ctx *c = *state;

	assert_int_equal(add(c, "virtio-serial-device,id=vs0"), 0);
	assert_int_equal(add(c, "virtio-rng-device,bus=vs0.0"), 0);
	assert_int_equal(devices_realize(&c->m->devs, c->err, sizeof(c->err)), -EINVAL);
	assert_non_null(strstr(c->err, "not a virtio-mmio bus"));
}

static void test_board_pci_refused(void **state)
{
	struct board_ctx *c = *state;

	assert_int_equal(add(c, "virtio-rng-pci"), 0);
	assert_int_equal(devices_realize(&c->m->devs, c->err, sizeof(c->err)), -EINVAL);
	assert_non_null(strstr(c->err, "No 'PCI' bus"));
}

static void test_board_full(void **state)
{
	struct board_ctx *c = *state;
	unsigned int i;

	for (i = 0; i < 9; i++)
		assert_int_equal(add(c, "virtio-rng-device"), 0);
	assert_int_equal(devices_realize(&c->m->devs, c->err, sizeof(c->err)), -ENOSPC);
	assert_non_null(strstr(c->err, "all 8 virtio-mmio slots"));
}

/* ---- ACPI ---- */

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const uint8_t *at_gpa(const struct acpi_tables *t, uint64_t gpa)
{
	assert_true(gpa >= ACPI_TABLES_BASE && gpa - ACPI_TABLES_BASE < t->len);
	return t->buf + (gpa - ACPI_TABLES_BASE);
}

/* The table with signature sig, or NULL if the XSDT has none. */
static const uint8_t *find_table(const struct acpi_tables *t, const char *sig)
{
	const uint8_t *x = at_gpa(t, rd64(at_gpa(t, t->rsdp_addr) + 24));
	uint32_t i, n = (rd32(x + 4) - ACPI_HEADER_LEN) / 8;

	if (!memcmp(sig, "DSDT", 4))
		return at_gpa(t, rd64(find_table(t, "FACP") + 140));
	for (i = 0; i < n; i++) {
		const uint8_t *h = at_gpa(t, rd64(x + ACPI_HEADER_LEN + 8 * i));

		if (!memcmp(h, sig, 4)) {
			assert_int_equal(acpi_checksum(h, rd32(h + 4)), 0);
			return h;
		}
	}
	return NULL;
}

static char *squeeze(const char *dsl)
{
	char *out = malloc(strlen(dsl) + 1), *o = out;

	assert_non_null(out);
	for (; *dsl; dsl++)
		if (!isspace((unsigned char)*dsl))
			*o++ = *dsl;
	*o = 0;
	return out;
}

static void test_acpi_iasl(void **state)
{
	static const char *const tables[][2] = {
		{ "facp", "FACP" }, { "apic", "APIC" }, { "dsdt", "DSDT" },
	};
	static const char *const dsdt_must[] = {
		"Device(VR00)", "Device(VR01)", "Device(VR02)", "Name(_HID,\"LNRO0005\")",
		"Name(_UID,0x02)",
		"Memory32Fixed(ReadWrite,0xFEB00000,//AddressBase0x00000200,//AddressLength)",
		"Memory32Fixed(ReadWrite,0xFEB00A00,//AddressBase0x00000200,//AddressLength)",
		"Interrupt(ResourceConsumer,Level,ActiveHigh,Exclusive,,,){0x00000010,}",
		"Interrupt(ResourceConsumer,Level,ActiveHigh,Exclusive,,,){0x00000015,}",
		"Device(COM1)", "Device(RTC)", "Device(KBD)", "Device(PEVT)", "Name(\\_S5",
	};
	struct virtio_mmio_bus bus;
	struct acpi_config cfg;
	struct acpi_tables t;
	struct acpi_iasl ia;
	char *dsl, *sq;
	size_t i;

	/* Slots 0, 1 and 5 taken: three devices, the gap left out. */
	virtio_mmio_bus_init(&bus, MVM_BASE, 16, 8);
	bus.used = 0x23;
	microvm_acpi_config(&cfg, 2, &bus);
	assert_int_equal(cfg.nr_virtio_mmio, 3);
	assert_int_equal(cfg.virtio_mmio[2].base, MVM_BASE + 5 * 0x200);
	assert_int_equal(cfg.virtio_mmio[2].gsi, 21);
	assert_int_equal(cfg.pci_ecam_base, 0);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	assert_null(find_table(&t, "MCFG"));

	assert_int_equal(acpi_iasl_open(&ia), 0);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const uint8_t *tbl = find_table(&t, tables[i][1]);

		assert_non_null(tbl);
		dsl = acpi_iasl_decompile(&ia, tables[i][0], tbl, rd32(tbl + 4));
		assert_non_null(dsl);
		free(dsl);
		assert_int_equal(acpi_iasl_recompile(&ia, tables[i][0], tbl, rd32(tbl + 4),
						     strcmp(tables[i][0], "dsdt") != 0), 0);
	}
	dsl = acpi_iasl_decompile(&ia, "dsdt", find_table(&t, "DSDT"),
				  rd32(find_table(&t, "DSDT") + 4));
	assert_non_null(dsl);
	sq = squeeze(dsl);
	for (i = 0; i < sizeof(dsdt_must) / sizeof(dsdt_must[0]); i++)
		if (!strstr(sq, dsdt_must[i]))
			fail_msg("microvm DSDT lacks '%s':\n%s", dsdt_must[i], dsl);
	assert_null(strstr(sq, "Device(VR03)"));
	assert_null(strstr(sq, "PCI0"));
	assert_null(strstr(sq, "_PRT"));
	assert_null(strstr(sq, "_EJ0"));
	free(sq);
	free(dsl);
	acpi_iasl_close(&ia);
	acpi_tables_free(&t);

	/* More devices than the tables describe: refused, not truncated. */
	cfg.nr_virtio_mmio = ACPI_MAX_VIRTIO_MMIO + 1;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	cfg.nr_virtio_mmio = 1;
	cfg.virtio_mmio[0].base = 0x1ffffff00ULL;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
}

/* The checks before the ioctl: a bad width or a value no access can carry. */
static void test_ioeventfd_dm_args(void **state)
{
	struct kvm k = { .sys_fd = -1, .vm_fd = -1, .ioeventfd_any_length = true };

	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 3, false, 0, true), -EINVAL);
	/* Any-length registrations cannot match a value. */
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 0, false, 0, true), -EINVAL);
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 1, false, 0x100, true),
			 -EINVAL);
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 4, false, 1ULL << 32, true),
			 -EINVAL);
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, 0xfffe, 4, true, 1, true), -EINVAL);
	/* Well-formed: it reaches KVM (no VM here). */
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 4, false, 7, true), -EBADF);
	assert_int_equal(kvm_ioeventfd_dm(&k, 5, MVM_BASE + 0x50, 8, false, ~0ULL, false),
			 -EBADF);
	assert_int_equal(kvm_ioeventfd(&k, 5, MVM_BASE + 0x50, 0, false, true), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine_type),
		cmocka_unit_test(test_bus_slots),
		cmocka_unit_test_setup_teardown(test_board_devices, board_setup, board_teardown),
		cmocka_unit_test_setup_teardown(test_board_wrong_bus, board_setup, board_teardown),
		cmocka_unit_test_setup_teardown(test_board_pci_refused, board_setup,
						board_teardown),
		cmocka_unit_test_setup_teardown(test_board_full, board_setup, board_teardown),
		cmocka_unit_test(test_acpi_iasl),
		cmocka_unit_test(test_ioeventfd_dm_args),
	};

	log_threshold = LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
