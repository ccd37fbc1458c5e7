/*
 * keelctl's text side: key=value words to QMP arguments, and replies and
 * events printed for people (Documentation/man/keelctl.1 "OUTPUT").
 */
#ifndef KEEL_TOOLS_KEELCTL_FORMAT_H
#define KEEL_TOOLS_KEELCTL_FORMAT_H

#include <jansson.h>
#include <stdio.h>

/*
 * key=value (true/false and integers typed, the rest a string) and key:=JSON.
 * Returns an object (new reference), or NULL with a message on stderr.
 */
json_t *format_args(int argc, char *const argv[]);

/* A "return" value as indented key: value lines; {} prints "ok". */
void format_value(FILE *f, json_t *v);
/* One event line: time, name, then the data as key=value. */
void format_event(FILE *f, json_t *ev);
/*
 * x-query-devices as a table (name, id, type, bus, address, state) and
 * query-pci as a tree of buses behind bridges. Both take whatever JSON came
 * back: a member of the wrong type or missing prints as "?", and a tree nested
 * deeper than FORMAT_PCI_MAX_DEPTH bridges is cut off with a note.
 */
#define FORMAT_PCI_MAX_DEPTH	32
void format_devices(FILE *f, json_t *v);
void format_pci(FILE *f, json_t *v);
/* The message as one compact JSON line. */
void format_json(FILE *f, json_t *msg);

#endif
