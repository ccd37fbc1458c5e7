/*
 * keel's one option grammar (Documentation/options.md): "word,key=value,..."
 * strings from the command line, QMP arguments turned into the same key/value
 * list, and typed property tables that fill a plain C struct from it. Every
 * option of every tool goes through here, so booleans, sizes and numbers read
 * the same everywhere.
 */
#ifndef KEEL_LIB_OPTS_H
#define KEEL_LIB_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_MAX_PAIRS	64
#define OPTS_KEY_MAX	64

/* One key=value pair; used marks a key some table or caller consumed. */
struct opt_pair {
	char *key;
	char *val;
	bool used;
};

/* An ordered key/value list; keys are unique (a repeated key is a parse error). */
struct opts {
	struct opt_pair pair[OPTS_MAX_PAIRS];
	unsigned int n;
};

/*
 * Parse "a=1,b=x,,y" (",," is a comma inside a value). When implied_key is
 * not NULL, a first element without '=' is the value of implied_key
 * ("virtio-blk-pci,drive=d0" with "driver"). An element without '=' elsewhere
 * is "key=on" only when bare_flags is true, else an error. Empty keys,
 * repeated keys and more than OPTS_MAX_PAIRS pairs are errors, and so are
 * an empty str (or NULL), empty elements (",a=1", "a=1,") and keys that are
 * longer than OPTS_KEY_MAX - 1 bytes or hold anything but letters, digits,
 * '-', '_' and '.'. 0, or -EINVAL (-ENOMEM) with one sentence in err naming
 * the element; the caller prefixes its own name ("--disk: "). o is
 * initialised here; opts_free() it whatever the result.
 */
int opts_parse(struct opts *o, const char *str, const char *implied_key, bool bare_flags,
	       char *err, size_t errlen);
void opts_init(struct opts *o);
void opts_free(struct opts *o);

/* The value of key, marking it used; NULL if absent. */
const char *opts_get(struct opts *o, const char *key);
/* Like opts_get but leaves the used mark alone. */
const char *opts_peek(const struct opts *o, const char *key);
/*
 * Add key=val, or replace the value of an existing key (its used mark is
 * cleared: the new value is not consumed yet). 0, -ENOMEM, -ENOSPC (already
 * OPTS_MAX_PAIRS keys) or -EINVAL (NULL val, a key opts_parse would refuse).
 */
int opts_set(struct opts *o, const char *key, const char *val);
/* Remove key if present. */
void opts_del(struct opts *o, const char *key);

/*
 * The first key nobody used: -EINVAL with "what: unknown key 'k'" (what is
 * e.g. "--disk" or "virtio-blk-pci"); 0 when every key was used.
 */
int opts_check_used(const struct opts *o, const char *what, char *err, size_t errlen);

/* The typed values of a property table. */
enum opt_type {
	OPT_STR,	/* char[size] at offset; too long is an error */
	OPT_BOOL,	/* bool at offset: on|off|yes|no|true|false */
	OPT_UINT,	/* unsigned of size 1, 2, 4 or 8 at offset: decimal or 0x hex, min..max */
	OPT_SIZE,	/* uint64_t at offset: bytes with K, M, G, T (binary) suffixes, min..max */
	OPT_ENUM,	/* int at offset: index of the value in choices (NULL-terminated) */
};

struct opt_desc {
	const char *name;		/* NULL ends a table */
	enum opt_type type;
	size_t offset;
	size_t size;			/* OPT_STR: buffer bytes; OPT_UINT: field bytes */
	const char *def;		/* default, in the option's own syntax; NULL: 0 / "" */
	uint64_t min, max;		/* OPT_UINT, OPT_SIZE; max 0: the field's maximum */
	const char *const *choices;	/* OPT_ENUM */
	const char *help;		/* one line for TYPE,help */
};

/* Table helpers: OPT_D_STR(struct foo, name, "key", "default", "help") etc. */
#define OPT_D_STR(st, field, key, def_, help_) \
	{ .name = (key), .type = OPT_STR, .offset = offsetof(st, field), \
	  .size = sizeof(((st *)0)->field), .def = (def_), .help = (help_) }
#define OPT_D_BOOL(st, field, key, def_, help_) \
	{ .name = (key), .type = OPT_BOOL, .offset = offsetof(st, field), \
	  .size = sizeof(bool), .def = (def_), .help = (help_) }
#define OPT_D_UINT(st, field, key, def_, min_, max_, help_) \
	{ .name = (key), .type = OPT_UINT, .offset = offsetof(st, field), \
	  .size = sizeof(((st *)0)->field), .def = (def_), .min = (min_), .max = (max_), \
	  .help = (help_) }
#define OPT_D_SIZE(st, field, key, def_, min_, max_, help_) \
	{ .name = (key), .type = OPT_SIZE, .offset = offsetof(st, field), \
	  .size = sizeof(uint64_t), .def = (def_), .min = (min_), .max = (max_), \
	  .help = (help_) }
#define OPT_D_ENUM(st, field, key, def_, choices_, help_) \
	{ .name = (key), .type = OPT_ENUM, .offset = offsetof(st, field), \
	  .size = sizeof(int), .def = (def_), .choices = (choices_), .help = (help_) }

/*
 * Fill obj from o through table: every entry first takes its default, then
 * the value of its key when present (marking it used). Keys not in the table
 * stay unused (callers check with opts_check_used()). A bad value: -EINVAL
 * (-ERANGE out of range) with "what: key 'k': why" in err.
 */
int opts_apply(struct opts *o, const struct opt_desc *table, void *obj, const char *what,
	       char *err, size_t errlen);
/* Only the defaults of table into obj (never fails for a well-formed table). */
void opts_defaults(const struct opt_desc *table, void *obj);

/*
 * Print one line per property: "  key=<type> (default D) - help", type being
 * string, on|off, number N..M, size (size N..M when bounded) or one of a|b|c.
 */
void opts_help(FILE *f, const struct opt_desc *table);

/* The value grammars on their own, for options parsed outside a table. */
int opt_parse_bool(const char *s, bool *out);			/* -EINVAL */
int opt_parse_uint(const char *s, uint64_t *out);		/* -EINVAL, -ERANGE */
int opt_parse_size(const char *s, uint64_t *out);		/* -EINVAL, -ERANGE */
/* Index of s in choices (NULL-terminated), or -EINVAL. */
int opt_parse_enum(const char *s, const char *const *choices);

#endif
