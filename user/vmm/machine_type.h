/*
 * Machine types (Documentation/machine-types.md): a versioned name, the
 * board it builds (board devices, buses, ACPI tables, defaults), and the
 * alias that names the newest version. The version goes into the migration
 * stream so a destination can refuse a board it does not build the same way.
 */
#ifndef KEEL_VMM_MACHINE_TYPE_H
#define KEEL_VMM_MACHINE_TYPE_H

#include <stdbool.h>
#include <stdio.h>

struct board_ops;

struct machine_type {
	const char *name;		/* "pc-keel-1" */
	const char *alias;		/* "pc": the newest version of the family */
	const char *desc;
	unsigned int version;
	unsigned int max_cpus;
	bool is_default;
	const struct board_ops *board;
};

/* Every machine type, NULL-terminated. */
extern const struct machine_type *const machine_types[];

/* By name or alias; NULL if none. */
const struct machine_type *machine_type_find(const char *name);
const struct machine_type *machine_type_default(void);
void machine_types_help(FILE *f);

#endif
