/*
 * One human sentence for a caller's error buffer: the parsers of command-line
 * and QMP arguments fill err[errlen] and return a negative errno in one step.
 */
#ifndef KEEL_LIB_ERRMSG_H
#define KEEL_LIB_ERRMSG_H

#include <stddef.h>

/* Format into err (if errlen > 0) and return ret. */
int errmsg_set(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
