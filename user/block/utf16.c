/* UTF-16 (LE/BE) to UTF-8 for image metadata strings (MS-VHDX 2.6.2.6, VHD parent
 * locators). Hostile input: surrogates must pair, control characters are refused. */
#include <errno.h>

#include "block/utf16.h"

static unsigned int utf16_unit(const uint8_t *p, bool be)
{
	return be ? (unsigned int)p[0] << 8 | p[1] : (unsigned int)p[1] << 8 | p[0];
}

int utf16_to_utf8(const uint8_t *in, size_t len, bool big_endian, char *out, size_t outlen)
{
	size_t o = 0;

	if (len % 2 || outlen == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t c = utf16_unit(in + i, big_endian);
		char enc[4];
		int n;

		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00) {
			uint32_t lo;

			if (i + 4 > len)
				return -EINVAL;
			lo = utf16_unit(in + i + 2, big_endian);
			if (lo < 0xdc00 || lo >= 0xe000)
				return -EINVAL;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if (c >= 0xdc00 && c < 0xe000) {
			return -EINVAL;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (c < 0x80) {
			enc[0] = c;
			n = 1;
		} else if (c < 0x800) {
			enc[0] = 0xc0 | c >> 6;
			enc[1] = 0x80 | (c & 0x3f);
			n = 2;
		} else if (c < 0x10000) {
			enc[0] = 0xe0 | c >> 12;
			enc[1] = 0x80 | ((c >> 6) & 0x3f);
			enc[2] = 0x80 | (c & 0x3f);
			n = 3;
		} else {
			enc[0] = 0xf0 | c >> 18;
			enc[1] = 0x80 | ((c >> 12) & 0x3f);
			enc[2] = 0x80 | ((c >> 6) & 0x3f);
			enc[3] = 0x80 | (c & 0x3f);
			n = 4;
		}
		if (o + n + 1 > outlen)
			return -ENAMETOOLONG;
		for (int k = 0; k < n; k++)
			out[o++] = enc[k];
	}
	out[o] = '\0';
	return (int)o;
}
