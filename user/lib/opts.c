/*
 * keel's option grammar (lib/opts.h, Documentation/options.md): splitting
 * "word,key=value,..." into pairs, the value grammars (booleans, sizes,
 * numbers, enums) and typed property tables filling a C struct.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errmsg.h"
#include "lib/opts.h"

/* Values quoted in messages are cut here so the reason still fits in err. */
#define OPTS_QUOTE_MAX	48

static const char *const opts_bool_words[] = { "on", "off", "yes", "no", "true", "false" };

/* s for a message: at most OPTS_QUOTE_MAX bytes, "..." when cut. */
static const char *opts_quote(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s);

	if (len <= OPTS_QUOTE_MAX || n < OPTS_QUOTE_MAX + 4)
		return s;
	memcpy(buf, s, OPTS_QUOTE_MAX);
	memcpy(buf + OPTS_QUOTE_MAX, "...", 4);
	return buf;
}

/* Keys are short words ("num-queues", "x-foo", "props.a"): no spaces, '=' or ','. */
static bool opts_key_ok(const char *key, size_t len)
{
	size_t i;

	if (!len || len >= OPTS_KEY_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
}

void opts_free(struct opts *o)
{
	unsigned int i;

	if (!o)
		return;
	for (i = 0; i < o->n && i < OPTS_MAX_PAIRS; i++) {
		free(o->pair[i].key);
		free(o->pair[i].val);
	}
	opts_init(o);
}

static struct opt_pair *opts_find(const struct opts *o, const char *key)
{
	unsigned int i;

	if (!o || !key)
		return NULL;
	for (i = 0; i < o->n && i < OPTS_MAX_PAIRS; i++)
		if (!strcmp(o->pair[i].key, key))
			return (struct opt_pair *)&o->pair[i];
	return NULL;
}

const char *opts_get(struct opts *o, const char *key)
{
	struct opt_pair *p = opts_find(o, key);

	if (!p)
		return NULL;
	p->used = true;
	return p->val;
}

const char *opts_peek(const struct opts *o, const char *key)
{
	struct opt_pair *p = opts_find(o, key);

	return p ? p->val : NULL;
}

/* Append a pair that owns key and val (freed here on failure). */
static int opts_append(struct opts *o, char *key, char *val)
{
	if (o->n >= OPTS_MAX_PAIRS) {
		free(key);
		free(val);
		return -ENOSPC;
	}
	o->pair[o->n].key = key;
	o->pair[o->n].val = val;
	o->pair[o->n].used = false;
	o->n++;
	return 0;
}

int opts_set(struct opts *o, const char *key, const char *val)
{
	struct opt_pair *p;
	char *k, *v;

	if (!o || !key || !val || !opts_key_ok(key, strlen(key)))
		return -EINVAL;
	v = strdup(val);
	if (!v)
		return -ENOMEM;
	p = opts_find(o, key);
	if (p) {
		free(p->val);
		p->val = v;
		p->used = false;
		return 0;
	}
	if (o->n >= OPTS_MAX_PAIRS) {
		free(v);
		return -ENOSPC;
	}
	k = strdup(key);
	if (!k) {
		free(v);
		return -ENOMEM;
	}
	return opts_append(o, k, v);
}

void opts_del(struct opts *o, const char *key)
{
	struct opt_pair *p = opts_find(o, key);
	unsigned int i;

	if (!p)
		return;
	i = (unsigned int)(p - o->pair);
	free(p->key);
	free(p->val);
	memmove(&o->pair[i], &o->pair[i + 1], (o->n - i - 1) * sizeof(o->pair[0]));
	o->n--;
	memset(&o->pair[o->n], 0, sizeof(o->pair[0]));
}

/*
 * One element from *pos up to the next lone ',' with ",," turned into ','.
 * *pos is left on the separator or the terminating NUL. NULL: out of memory.
 */
static char *opts_element(const char **pos)
{
	const char *s = *pos, *p;
	size_t len = 0;
	char *out, *q;

	for (p = s; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		len++;
	}
	out = malloc(len + 1);
	if (!out)
		return NULL;
	for (p = s, q = out; *p; p++) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		*q++ = *p;
	}
	*q = '\0';
	*pos = p;
	return out;
}

/* Store one element as a pair; elem is owned here. */
static int opts_add_element(struct opts *o, char *elem, bool first, const char *implied_key,
			    bool bare_flags, char *err, size_t errlen)
{
	char *eq = strchr(elem, '='), *key, *val, q[OPTS_QUOTE_MAX + 4];
	size_t klen;
	int ret;

	if (!*elem) {
		free(elem);
		return errmsg_set(err, errlen, -EINVAL, first ?
				  "an empty element at the start of the options" :
				  "an empty element after the last comma (a trailing comma)");
	}
	if (!eq && first && implied_key) {
		key = strdup(implied_key);
		val = elem;
	} else if (!eq && bare_flags) {
		key = elem;
		val = strdup("on");
	} else if (!eq) {
		ret = errmsg_set(err, errlen, -EINVAL, "'%s' is not key=value",
				 opts_quote(elem, q, sizeof(q)));
		free(elem);
		return ret;
	} else {
		klen = (size_t)(eq - elem);
		key = strndup(elem, klen);
		val = strdup(eq + 1);
		free(elem);
	}
	if (!key || !val) {
		free(key);
		free(val);
		return errmsg_set(err, errlen, -ENOMEM, "out of memory parsing options");
	}
	klen = strlen(key);
	if (!klen)
		ret = errmsg_set(err, errlen, -EINVAL, "an empty key in '=%s'",
				 opts_quote(val, q, sizeof(q)));
	else if (klen >= OPTS_KEY_MAX)
		ret = errmsg_set(err, errlen, -EINVAL, "key '%s' is longer than %d bytes",
				 opts_quote(key, q, sizeof(q)), OPTS_KEY_MAX - 1);
	else if (!opts_key_ok(key, klen))
		ret = errmsg_set(err, errlen, -EINVAL, "bad key '%s' (keys are letters, "
				 "digits, '-', '_' and '.')", opts_quote(key, q, sizeof(q)));
	else if (opts_find(o, key))
		ret = errmsg_set(err, errlen, -EINVAL, "key '%s' is given twice", key);
	else if (o->n >= OPTS_MAX_PAIRS)
		ret = errmsg_set(err, errlen, -EINVAL, "more than %d key=value pairs",
				 OPTS_MAX_PAIRS);
	else
		return opts_append(o, key, val);
	free(key);
	free(val);
	return ret;
}

int opts_parse(struct opts *o, const char *str, const char *implied_key, bool bare_flags,
	       char *err, size_t errlen)
{
	const char *pos = str;
	bool first = true;
	char *elem;
	int ret;

	opts_init(o);
	if (err && errlen)
		err[0] = '\0';
	if (!str || !*str)
		return errmsg_set(err, errlen, -EINVAL, "an empty option string");
	for (;;) {
		elem = opts_element(&pos);
		if (!elem)
			return errmsg_set(err, errlen, -ENOMEM, "out of memory parsing options");
		ret = opts_add_element(o, elem, first, implied_key, bare_flags, err, errlen);
		if (ret)
			return ret;
		first = false;
		if (!*pos)
			return 0;
		pos++;		/* the separating comma */
	}
}

int opts_check_used(const struct opts *o, const char *what, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; o && i < o->n && i < OPTS_MAX_PAIRS; i++)
		if (!o->pair[i].used)
			return errmsg_set(err, errlen, -EINVAL, "%s%sunknown key '%s'",
					  what ? what : "", what ? ": " : "", o->pair[i].key);
	return 0;
}

/* ---- the value grammars */

int opt_parse_bool(const char *s, bool *out)
{
	unsigned int i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(opts_bool_words) / sizeof(opts_bool_words[0]); i++)
		if (!strcmp(s, opts_bool_words[i])) {
			*out = !(i & 1);
			return 0;
		}
	return -EINVAL;
}

static int opts_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int opt_parse_uint(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	bool range = false;
	uint64_t v = 0;
	int d;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -EINVAL;
	}
	/* Read every digit before saying -ERANGE: "99999999999999999999x" is -EINVAL. */
	for (; *s; s++) {
		d = opts_hex_digit(*s);
		if (d < 0 || (unsigned int)d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			range = true;
		else
			v = v * base + (unsigned int)d;
	}
	if (range)
		return -ERANGE;
	*out = v;
	return 0;
}

int opt_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned int shift = 0;
	bool range = false;
	const char *u;
	uint64_t v = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	/* "M", "MB", "MiB" all mean 2^20: a VM's memory is never decimal. */
	if (*s == 'b' || *s == 'B') {
		s++;
	} else if (*s) {
		u = strchr(units, *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
		if (!u)
			return -EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
		s++;
		if (*s == 'i' || *s == 'I') {
			s++;
			if (*s != 'b' && *s != 'B')
				return -EINVAL;
			s++;
		} else if (*s == 'b' || *s == 'B') {
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	if (range || v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int opt_parse_enum(const char *s, const char *const *choices)
{
	int i;

	if (!s || !choices)
		return -EINVAL;
	for (i = 0; choices[i] && i < INT_MAX; i++)
		if (!strcmp(s, choices[i]))
			return i;
	return -EINVAL;
}

/* ---- property tables */

static uint64_t opts_field_max(size_t size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

/* The effective upper bound of an OPT_UINT / OPT_SIZE entry. */
static uint64_t opts_desc_max(const struct opt_desc *d)
{
	uint64_t fmax = d->type == OPT_UINT ? opts_field_max(d->size) : UINT64_MAX;

	return d->max && d->max < fmax ? d->max : fmax;
}

/* A size the way a person writes it: "4K", "1G", "1536M", or plain bytes. */
static void opts_fmt_size(uint64_t v, char *buf, size_t n)
{
	static const char units[] = "TGMK";
	unsigned int i;

	for (i = 0; v && i < 4; i++) {
		unsigned int shift = 10 * (4 - i);

		if (!(v & ((1ULL << shift) - 1))) {
			snprintf(buf, n, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return;
		}
	}
	snprintf(buf, n, "%llu", (unsigned long long)v);
}

static void opts_fmt_choices(const char *const *choices, const char *sep, char *buf, size_t n)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; choices && choices[i] && len < n; i++) {
		int w = snprintf(buf + len, n - len, "%s%s", i ? sep : "", choices[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static void opts_store_uint(void *field, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1:
		memcpy(field, &u8, 1);
		break;
	case 2:
		memcpy(field, &u16, 2);
		break;
	case 4:
		memcpy(field, &u32, 4);
		break;
	default:
		memcpy(field, &v, 8);
		break;
	}
}

static int opts_range_err(const struct opt_desc *d, const char *what, const char *s,
			  char *err, size_t errlen)
{
	char q[OPTS_QUOTE_MAX + 4], lo[32], hi[32];
	uint64_t max = opts_desc_max(d);

	if (d->type == OPT_SIZE) {
		opts_fmt_size(d->min, lo, sizeof(lo));
		opts_fmt_size(max, hi, sizeof(hi));
	} else {
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)d->min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)max);
	}
	return errmsg_set(err, errlen, -ERANGE, "%s: key '%s': %s is out of range (%s..%s)",
			  what, d->name, opts_quote(s, q, sizeof(q)), lo, hi);
}

/* Parse s by d's type into obj. */
static int opts_store(const struct opt_desc *d, void *obj, const char *s, const char *what,
		      char *err, size_t errlen)
{
	char *field = (char *)obj + d->offset, q[OPTS_QUOTE_MAX + 4], list[256];
	uint64_t v;
	size_t len;
	bool b;
	int ret, idx;

	switch (d->type) {
	case OPT_STR:
		len = strlen(s);
		if (!d->size || len >= d->size)
			return errmsg_set(err, errlen, -EINVAL,
					  "%s: key '%s': the value is %zu bytes, at most %zu "
					  "are allowed", what, d->name, len,
					  d->size ? d->size - 1 : 0);
		memcpy(field, s, len + 1);
		return 0;
	case OPT_BOOL:
		if (opt_parse_bool(s, &b))
			return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': bad value '%s' "
					  "for a boolean (on, off, yes, no, true, false)",
					  what, d->name, opts_quote(s, q, sizeof(q)));
		memcpy(field, &b, sizeof(b));
		return 0;
	case OPT_UINT:
		if (d->size != 1 && d->size != 2 && d->size != 4 && d->size != 8)
			return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': a %zu-byte "
					  "number field is not supported", what, d->name, d->size);
		ret = opt_parse_uint(s, &v);
		if (ret == -EINVAL)
			return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': '%s' is not a "
					  "number (decimal or 0x hex)", what, d->name,
					  opts_quote(s, q, sizeof(q)));
		if (ret || v < d->min || v > opts_desc_max(d))
			return opts_range_err(d, what, s, err, errlen);
		opts_store_uint(field, d->size, v);
		return 0;
	case OPT_SIZE:
		ret = opt_parse_size(s, &v);
		if (ret == -EINVAL)
			return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': '%s' is not a "
					  "size (examples: 65536, 512M, 1G, 4KiB)", what, d->name,
					  opts_quote(s, q, sizeof(q)));
		if (ret || v < d->min || v > opts_desc_max(d))
			return opts_range_err(d, what, s, err, errlen);
		memcpy(field, &v, sizeof(v));
		return 0;
	case OPT_ENUM:
		idx = opt_parse_enum(s, d->choices);
		if (idx < 0) {
			opts_fmt_choices(d->choices, ", ", list, sizeof(list));
			return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': '%s' is not one "
					  "of %s", what, d->name, opts_quote(s, q, sizeof(q)),
					  list);
		}
		memcpy(field, &idx, sizeof(idx));
		return 0;
	}
	return errmsg_set(err, errlen, -EINVAL, "%s: key '%s': unknown property type %d",
			  what, d->name, (int)d->type);
}

/* The zero value of d's type, for a NULL default or a table mistake. */
static void opts_zero(const struct opt_desc *d, void *obj)
{
	char *field = (char *)obj + d->offset;

	switch (d->type) {
	case OPT_STR:
		if (d->size)
			field[0] = '\0';
		break;
	case OPT_BOOL:
		memset(field, 0, sizeof(bool));
		break;
	case OPT_UINT:
		if (d->size == 1 || d->size == 2 || d->size == 4 || d->size == 8)
			memset(field, 0, d->size);
		break;
	case OPT_SIZE:
		memset(field, 0, sizeof(uint64_t));
		break;
	case OPT_ENUM:
		memset(field, 0, sizeof(int));
		break;
	}
}

static int opts_default(const struct opt_desc *d, void *obj, const char *what, char *err,
			size_t errlen)
{
	int ret;

	if (!d->def) {
		opts_zero(d, obj);
		return 0;
	}
	ret = opts_store(d, obj, d->def, what, err, errlen);
	if (ret)
		opts_zero(d, obj);
	return ret;
}

void opts_defaults(const struct opt_desc *table, void *obj)
{
	const struct opt_desc *d;

	for (d = table; d && d->name; d++)
		opts_default(d, obj, "", NULL, 0);
}

int opts_apply(struct opts *o, const struct opt_desc *table, void *obj, const char *what,
	       char *err, size_t errlen)
{
	const struct opt_desc *d;
	const char *val;
	int ret;

	if (!what)
		what = "options";
	for (d = table; d && d->name; d++) {
		ret = opts_default(d, obj, what, err, errlen);
		if (ret)
			return ret;
	}
	for (d = table; d && d->name; d++) {
		val = opts_get(o, d->name);
		if (!val)
			continue;
		ret = opts_store(d, obj, val, what, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

void opts_help(FILE *f, const struct opt_desc *table)
{
	const struct opt_desc *d;
	char type[300], def[64], lo[32], hi[32];

	for (d = table; d && d->name; d++) {
		def[0] = '\0';
		switch (d->type) {
		case OPT_STR:
			snprintf(type, sizeof(type), "string");
			if (d->def && *d->def)
				snprintf(def, sizeof(def), "%s", d->def);
			break;
		case OPT_BOOL:
			snprintf(type, sizeof(type), "on|off");
			snprintf(def, sizeof(def), "%s", d->def ? d->def : "off");
			break;
		case OPT_UINT:
			snprintf(type, sizeof(type), "number %llu..%llu",
				 (unsigned long long)d->min,
				 (unsigned long long)opts_desc_max(d));
			snprintf(def, sizeof(def), "%s", d->def ? d->def : "0");
			break;
		case OPT_SIZE:
			opts_fmt_size(d->min, lo, sizeof(lo));
			opts_fmt_size(opts_desc_max(d), hi, sizeof(hi));
			if (d->min || d->max)
				snprintf(type, sizeof(type), "size %s..%s", lo, hi);
			else
				snprintf(type, sizeof(type), "size");
			snprintf(def, sizeof(def), "%s", d->def ? d->def : "0");
			break;
		case OPT_ENUM:
			memcpy(type, "one of ", 8);
			opts_fmt_choices(d->choices, "|", type + 7, sizeof(type) - 7);
			snprintf(def, sizeof(def), "%s", d->def ? d->def :
				 d->choices && d->choices[0] ? d->choices[0] : "");
			break;
		default:
			snprintf(type, sizeof(type), "?");
			break;
		}
		fprintf(f, "  %s=<%s>", d->name, type);
		if (def[0])
			fprintf(f, " (default %s)", def);
		if (d->help)
			fprintf(f, " - %s", d->help);
		fputc('\n', f);
	}
}
