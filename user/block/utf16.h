/* UTF-16 to UTF-8 conversion for names stored in disk images (VHDX parent locator
 * values, MS-VHDX 2.6.2.6; VHD parent name and W2ru/W2ku locators, VHD spec). */
#ifndef KEEL_BLOCK_UTF16_H
#define KEEL_BLOCK_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Convert len bytes of UTF-16 (little or big endian) to a NUL-terminated UTF-8
 * string in out[outlen]. Stops at the first NUL code unit. Returns the string length,
 * -EINVAL for an odd length, an unpaired surrogate or an embedded control character,
 * -ENAMETOOLONG when out is too small.
 */
int utf16_to_utf8(const uint8_t *in, size_t len, bool big_endian, char *out, size_t outlen);

#endif
