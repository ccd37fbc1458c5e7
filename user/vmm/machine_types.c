/*
 * The machine types keel builds (machine_type.h): one line per versioned
 * type. A new version of a board keeps the old line, so streams written by
 * the previous release still name a type this one knows.
 */
#include <string.h>

#include "vmm/board.h"
#include "vmm/cli.h"
#include "vmm/machine_type.h"

static const struct machine_type pc_keel_1 = {
	.name = "pc-keel-1",
	.alias = "pc",
	.desc = "PC: i440FX-style host bridge, PCI bus 0, ACPI, legacy I/O",
	.version = 1,
	.max_cpus = CLI_MAX_CPUS,
	.is_default = true,
	.board = &board_pc_ops,
};

static const struct machine_type q35_keel_1 = {
	.name = "q35-keel-1",
	.alias = "q35",
	.desc = "Q35: MCH host bridge with ECAM, ICH9 LPC, PCIe root bus, ACPI, legacy I/O",
	.version = 1,
	.max_cpus = CLI_MAX_CPUS,
	.board = &board_q35_ops,
};

static const struct machine_type microvm_keel_1 = {
	.name = "microvm-keel-1",
	.alias = "microvm",
	.desc = "microvm: virtio-mmio devices, no PCI, ACPI, COM1, RTC; the fastest start",
	.version = 1,
	.max_cpus = CLI_MAX_CPUS,
	.board = &board_microvm_ops,
};

const struct machine_type *const machine_types[] = {
	&pc_keel_1,
	&q35_keel_1,
	&microvm_keel_1,
	NULL,
};

const struct machine_type *machine_type_find(const char *name)
{
	unsigned int i;

	for (i = 0; machine_types[i]; i++)
		if (!strcmp(machine_types[i]->name, name) ||
		    (machine_types[i]->alias && !strcmp(machine_types[i]->alias, name)))
			return machine_types[i];
	return NULL;
}

const struct machine_type *machine_type_default(void)
{
	unsigned int i;

	for (i = 0; machine_types[i]; i++)
		if (machine_types[i]->is_default)
			return machine_types[i];
	return machine_types[0];
}

void machine_types_help(FILE *f)
{
	unsigned int i;

	fprintf(f, "machine types (--machine TYPE):\n");
	for (i = 0; machine_types[i]; i++) {
		const struct machine_type *t = machine_types[i];
		char alias[48] = "";

		if (t->alias)
			snprintf(alias, sizeof(alias), " (alias of %s)", t->name);
		fprintf(f, "  %-15s %s%s\n", t->alias ? t->alias : t->name, t->desc,
			t->is_default ? " (default)" : "");
		if (t->alias)
			fprintf(f, "  %-15s %s\n", t->name, "the same, by its versioned name");
	}
}
