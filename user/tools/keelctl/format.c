/*
 * keelctl's text side (Documentation/man/keelctl.1 "ARGUMENTS", "OUTPUT"):
 * arguments from key=value words, readable replies and event lines, the
 * device table and the PCI tree.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/keelctl/format.h"

static json_t *format_scalar(const char *s)
{
	char *end;
	long long v;

	if (!strcmp(s, "true"))
		return json_true();
	if (!strcmp(s, "false"))
		return json_false();
	if (*s && (*s == '-' || (*s >= '0' && *s <= '9'))) {
		v = strtoll(s, &end, 10);
		if (!*end && end != s && !(s[0] == '-' && !s[1]))
			return json_integer(v);
	}
	return json_string(s);
}

json_t *format_args(int argc, char *const argv[])
{
	json_t *args = json_object(), *v;
	json_error_t jerr;
	int i;

	for (i = 0; args && i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char *key;

		if (!eq || eq == argv[i]) {
			fprintf(stderr, "keelctl: argument '%s' is not key=value\n", argv[i]);
			json_decref(args);
			return NULL;
		}
		if (eq > argv[i] + 1 && eq[-1] == ':') {
			key = strndup(argv[i], (size_t)(eq - argv[i] - 1));
			v = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
			if (!v) {
				fprintf(stderr, "keelctl: '%s' is not JSON: %s\n", eq + 1,
					jerr.text);
				free(key);
				json_decref(args);
				return NULL;
			}
		} else {
			key = strndup(argv[i], (size_t)(eq - argv[i]));
			v = format_scalar(eq + 1);
		}
		if (!key || !v || json_object_set_new(args, key, v)) {
			free(key);
			json_decref(args);
			return NULL;
		}
		free(key);
	}
	return args;
}

static void format_scalar_out(FILE *f, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		fputs(json_string_value(v), f);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		fputs(s, f);
	free(s);
}

static void format_indent(FILE *f, int depth)
{
	int i;

	for (i = 0; i < depth; i++)
		fputs("  ", f);
}

#define FORMAT_TREE_MAX_DEPTH	64

static void format_tree(FILE *f, json_t *v, int depth)
{
	const char *key;
	json_t *m;
	size_t i;

	/* The reply came from a peer: its nesting is not ours to follow forever. */
	if (depth >= FORMAT_TREE_MAX_DEPTH) {
		format_indent(f, depth);
		fputs("...\n", f);
		return;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, m) {
			format_indent(f, depth);
			fprintf(f, "%s:", key);
			if ((json_is_object(m) && json_object_size(m)) ||
			    (json_is_array(m) && json_array_size(m))) {
				fputc('\n', f);
				format_tree(f, m, depth + 1);
			} else {
				fputc(' ', f);
				format_scalar_out(f, m);
				fputc('\n', f);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (json_is_object(m) || json_is_array(m)) {
				format_indent(f, depth);
				fprintf(f, "[%zu]\n", i);
				format_tree(f, m, depth + 1);
			} else {
				format_indent(f, depth);
				fputs("- ", f);
				format_scalar_out(f, m);
				fputc('\n', f);
			}
		}
	} else {
		format_indent(f, depth);
		format_scalar_out(f, v);
		fputc('\n', f);
	}
}

void format_value(FILE *f, json_t *v)
{
	if (!v || (json_is_object(v) && !json_object_size(v))) {
		fputs("ok\n", f);
		return;
	}
	if (json_is_array(v) && !json_array_size(v)) {
		fputs("(none)\n", f);
		return;
	}
	format_tree(f, v, 0);
}

void format_event(FILE *f, json_t *ev)
{
	json_t *ts = json_object_get(ev, "timestamp"), *data = json_object_get(ev, "data"), *m;
	time_t sec = (time_t)json_integer_value(json_object_get(ts, "seconds"));
	long usec = (long)json_integer_value(json_object_get(ts, "microseconds"));
	const char *key;
	struct tm tm;
	char when[32] = "?";

	if (localtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(f, "%s.%06ld %s", when, usec,
		json_string_value(json_object_get(ev, "event")) ?: "?");
	json_object_foreach(data, key, m) {
		fprintf(f, " %s=", key);
		format_scalar_out(f, m);
	}
	fputc('\n', f);
	fflush(f);
}

/* A string member, or "?" when it is missing or not a string. */
static const char *format_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

/* An integer member in 0..max, or -1 when it is missing, not an integer or outside. */
static long long format_int(json_t *o, const char *key, long long max)
{
	json_t *v = json_object_get(o, key);
	long long n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	return n < 0 || n > max ? -1 : n;
}

#define FORMAT_COL_MAX	32

static int format_width(json_t *list, const char *key, const char *title)
{
	size_t i, w = strlen(title);
	json_t *d;

	json_array_foreach(list, i, d) {
		size_t l = strlen(format_str(d, key));

		if (l > w)
			w = l;
	}
	return (int)(w > FORMAT_COL_MAX ? FORMAT_COL_MAX : w);
}

void format_devices(FILE *f, json_t *v)
{
	int wn, wi, wt, wb;
	json_t *d;
	size_t i;

	if (!json_is_array(v)) {
		fputs("keelctl: the reply is not a list of devices\n", f);
		return;
	}
	if (!json_array_size(v)) {
		fputs("(none)\n", f);
		return;
	}
	wn = format_width(v, "name", "NAME");
	wi = format_width(v, "id", "ID");
	wt = format_width(v, "type", "TYPE");
	wb = format_width(v, "bus", "BUS");
	fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wi, "ID", wt, "TYPE", wb, "BUS",
		"ADDR");
	json_array_foreach(v, i, d) {
		const char *id = format_str(d, "id");
		json_t *bus = json_object_get(d, "bus"), *addr = json_object_get(d, "addr");

		/* An unrealized device has no bus or address: "-", not "?". */
		fprintf(f, "%-*.*s  %-*.*s  %-*.*s  %-*.*s  %s", wn, FORMAT_COL_MAX,
			format_str(d, "name"), wi, FORMAT_COL_MAX, *id ? id : "-", wt,
			FORMAT_COL_MAX, format_str(d, "type"), wb, FORMAT_COL_MAX,
			bus ? format_str(d, "bus") : "-", addr ? format_str(d, "addr") : "-");
		if (json_is_true(json_object_get(d, "hotplugged")))
			fputs("  hotplugged", f);
		if (json_is_true(json_object_get(d, "unplug-pending")))
			fputs("  unplug-pending", f);
		fputc('\n', f);
	}
}

/* "1af4:1042 SCSI controller" and the qdev_id: one function's line after its address. */
static void format_pci_function(FILE *f, json_t *d)
{
	json_t *id = json_object_get(d, "id"), *cls = json_object_get(d, "class_info");
	long long vendor = format_int(id, "vendor", 0xffff);
	long long device = format_int(id, "device", 0xffff);
	long long class = format_int(cls, "class", 0xffff);
	const char *desc = json_string_value(json_object_get(cls, "desc"));
	const char *qdev = json_string_value(json_object_get(d, "qdev_id"));

	if (vendor < 0 || device < 0)
		fputs(" ????:????", f);
	else
		fprintf(f, " %04llx:%04llx", vendor, device);
	if (desc)
		fprintf(f, " %s", desc);
	else if (class >= 0)
		fprintf(f, " class %04llx", class);
	else
		fputs(" class ?", f);
	if (qdev && *qdev)
		fprintf(f, " (%s)", qdev);
}

static void format_pci_bus(FILE *f, json_t *devs, char *prefix, size_t plen, int depth);

/* "02:05.0", the function, and a bridge's bus range with what is behind it. */
static void format_pci_entry(FILE *f, json_t *d, char *prefix, size_t plen, int depth,
			     bool last)
{
	long long bus = format_int(d, "bus", 255), slot = format_int(d, "slot", 31);
	long long fn = format_int(d, "function", 7);
	json_t *br = json_object_get(d, "pci_bridge"), *bb = json_object_get(br, "bus");

	fprintf(f, "%s%s", prefix, last ? "\\-" : "+-");
	if (bus < 0 || slot < 0 || fn < 0)
		fputs("??:??.?", f);
	else
		fprintf(f, "%02llx:%02llx.%llx", bus, slot, fn);
	if (!json_is_object(d)) {
		fputs(" ?\n", f);
		return;
	}
	format_pci_function(f, d);
	if (json_is_object(br)) {
		long long sec = format_int(bb, "secondary", 255);
		long long sub = format_int(bb, "subordinate", 255);

		if (sec == 0)
			fputs(" [bus not numbered yet]", f);
		else if (sec > 0 && sub >= 0)
			fprintf(f, " [bus %02llx-%02llx]", sec, sub);
		else
			fputs(" [bus ?]", f);
	}
	fputc('\n', f);
	if (json_is_object(br)) {
		/* Children are drawn under the bridge: "| " while it has siblings below. */
		if (plen + 3 >= 3 * (FORMAT_PCI_MAX_DEPTH + 2))
			return;
		strcpy(prefix + plen, last ? "  " : "| ");
		format_pci_bus(f, json_object_get(br, "devices"), prefix, plen + 2, depth + 1);
		prefix[plen] = '\0';
	}
}

static void format_pci_bus(FILE *f, json_t *devs, char *prefix, size_t plen, int depth)
{
	size_t i, n;
	json_t *d;

	if (!devs || json_is_null(devs))
		return;
	if (!json_is_array(devs)) {
		fprintf(f, "%s\\-? (devices is not a list)\n", prefix);
		return;
	}
	n = json_array_size(devs);
	if (n && depth >= FORMAT_PCI_MAX_DEPTH) {
		fprintf(f, "%s\\-... (nested deeper than %d bridges, not shown)\n", prefix,
			FORMAT_PCI_MAX_DEPTH);
		return;
	}
	json_array_foreach(devs, i, d)
		format_pci_entry(f, d, prefix, plen, depth, i + 1 == n);
}

void format_pci(FILE *f, json_t *v)
{
	char prefix[3 * (FORMAT_PCI_MAX_DEPTH + 2)] = "";
	json_t *b;
	size_t i;

	if (!json_is_array(v)) {
		fputs("keelctl: the reply is not a list of PCI buses\n", f);
		return;
	}
	if (!json_array_size(v)) {
		fputs("(no PCI bus)\n", f);
		return;
	}
	json_array_foreach(v, i, b) {
		long long bus = format_int(b, "bus", 255);

		if (bus < 0)
			fputs("bus ??\n", f);
		else
			fprintf(f, "bus %02llx\n", bus);
		format_pci_bus(f, json_object_get(b, "devices"), prefix, 0, 0);
	}
}

void format_json(FILE *f, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s)
		fprintf(f, "%s\n", s);
	free(s);
	fflush(f);
}
