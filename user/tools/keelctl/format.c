/*
 * keelctl's text side (Documentation/man/keelctl.1 "ARGUMENTS", "OUTPUT"):
 * arguments from key=value words, readable replies and event lines.
 */
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

static void format_tree(FILE *f, json_t *v, int depth)
{
	const char *key;
	json_t *m;
	size_t i;

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

void format_json(FILE *f, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s)
		fprintf(f, "%s\n", s);
	free(s);
	fflush(f);
}
