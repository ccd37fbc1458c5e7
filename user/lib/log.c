/* Logging: one line per message on stderr, written with a single write(2). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

enum log_level log_threshold = LOG_INFO;
static const char *log_program = "keel";

void log_set_program(const char *name)
{
	log_program = name;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error: ", "warning: ", "", "debug: " };
	char line[1024];
	va_list ap;
	int n;

	if (level > log_threshold)
		return;
	n = snprintf(line, sizeof(line), "%s: %s", log_program, names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
