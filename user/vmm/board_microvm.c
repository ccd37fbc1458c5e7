/*
 * The "microvm" board (machine type microvm-keel-N): no PCI at all; the
 * user's virtio devices sit in virtio-mmio slots (the "virtio-mmio-bus",
 * VIRTIO 1.2 ch. 4.2) that the DSDT describes as LNRO0005 devices, beside
 * the PC legacy devices Linux wants for a quick, quiet boot: COM1, the
 * i8042 (reset, and no probe of absent ports), the CMOS RTC (without it
 * rtc_cmos waits ~3 s), the ACPI PM block (power button, S5, reset
 * register) and pvpanic at 0x505. Documentation/machine-types.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/pc_io.h"
#include "devices/virtio/mmio.h"
#include "lib/log.h"
#include "vmm/acpi/acpi.h"
#include "vmm/board.h"

/*
 * QEMU's microvm layout: eight 0x200-byte transports from 0xFEB00000, in the
 * hole below the I/O APIC, on GSIs 16-23 (the I/O APIC pins above the ISA
 * IRQs, so no slot shares a line with COM1 or the RTC).
 */
#define MICROVM_VIRTIO_MMIO_BASE	0xFEB00000ULL
#define MICROVM_VIRTIO_MMIO_SLOTS	8
#define MICROVM_VIRTIO_GSI_BASE		16

struct microvm_board {
	struct pc_legacy legacy;
	struct virtio_mmio_bus slots;
	struct dev_bus *root;		/* "virtio-mmio-bus" in the device tree */
};

static int microvm_build(struct machine *m)
{
	struct microvm_board *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	m->board = b;
	virtio_mmio_bus_init(&b->slots, MICROVM_VIRTIO_MMIO_BASE, MICROVM_VIRTIO_GSI_BASE,
			     MICROVM_VIRTIO_MMIO_SLOTS);
	b->root = device_bus_add(&m->devs, NULL, "virtio-mmio-bus", DEV_BUS_VIRTIO_MMIO,
				 &b->slots);
	if (!b->root)
		return -ENOMEM;
	/* As QEMU's microvm: the slots are described once, at boot. */
	b->root->hotplug = false;
	/* No host bridge: acpi_pm's 0xCF9 is a port of its own. */
	return pc_legacy_new(m, &b->legacy);
}

/* The ACPI description for nr_cpus and the taken slots of bus (unit tests too). */
void microvm_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus,
			 const struct virtio_mmio_bus *bus)
{
	unsigned int i;

	pc_acpi_config(cfg, nr_cpus);
	for (i = 0; i < bus->nr_slots && cfg->nr_virtio_mmio < ACPI_MAX_VIRTIO_MMIO; i++) {
		struct acpi_virtio_mmio *v = &cfg->virtio_mmio[cfg->nr_virtio_mmio];

		/* Only taken slots: an empty one would read all-ones, a bad magic. */
		if (virtio_mmio_bus_slot(bus, i, &v->base, &v->gsi))
			cfg->nr_virtio_mmio++;
	}
}

static int microvm_finish(struct machine *m, uint64_t *rsdp)
{
	struct microvm_board *b = m->board;
	struct acpi_config cfg;

	microvm_acpi_config(&cfg, m->cfg->cpus, &b->slots);
	return pc_acpi_write(m, &cfg, rsdp);
}

static void microvm_teardown(struct machine *m)
{
	struct microvm_board *b = m->board;

	if (!b)
		return;
	pc_legacy_free(&b->legacy);
	device_bus_del(&m->devs, b->root);
	free(b);
	m->board = NULL;
}

static int microvm_powerdown(struct machine *m)
{
	struct microvm_board *b = m->board;

	return b ? pc_legacy_powerdown(&b->legacy) : -ENODEV;
}

/* query-pci: there is no PCI bus. */
static unsigned int microvm_pci_functions(struct machine *m, struct qmp_pci_function *out,
					  unsigned int max)
{
	return 0;
}

const struct board_ops board_microvm_ops = {
	.build = microvm_build,
	.finish = microvm_finish,
	.teardown = microvm_teardown,
	.powerdown = microvm_powerdown,
	.pci_functions = microvm_pci_functions,
	.disk_device = "virtio-blk-device",
	.rng_device = "virtio-rng-device",
};
