/*
 * libFuzzer target: --device / device_add option strings through the
 * registry (device_check: type lookup, placement keys, every type's typed
 * properties and consistency checks). Nothing is created.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	device_check(s, err, sizeof(err));
	free(s);
	return 0;
}
