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
/* The message as one compact JSON line. */
void format_json(FILE *f, json_t *msg);

#endif
