/* Fuzz input -> image file in a memfd, for image-format targets (fuzz_vhdx, fuzz_vpc).
 * Images are mostly zeroes over megabytes; seeds must stay small, so an input that
 * starts with "SPRS" is a list of records [u32 le page][u16 le len][len bytes]
 * written at page * 4096 (len <= 4096); any other input is the image file itself. */
#ifndef KEEL_TESTS_FUZZ_SPARSE_IMAGE_H
#define KEEL_TESTS_FUZZ_SPARSE_IMAGE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPARSE_IMAGE_MAX_SIZE	(1ull << 32)

/* Returns a memfd holding the image and its size in *size_out, or -1. */
static int sparse_image_make(const uint8_t *data, size_t size, uint64_t *size_out)
{
	uint64_t end = 0;
	int fd = memfd_create("fuzz_image", 0);

	if (fd < 0)
		abort();
	if (size < 4 || memcmp(data, "SPRS", 4)) {
		if (write(fd, data, size) != (ssize_t)size)
			abort();
		*size_out = size;
		return fd;
	}
	data += 4;
	size -= 4;
	while (size >= 6) {
		uint64_t page = (uint32_t)(data[0] | data[1] << 8 | data[2] << 16 |
					   (uint32_t)data[3] << 24);
		size_t len = data[4] | data[5] << 8;
		uint64_t off = page * 4096;

		data += 6;
		size -= 6;
		if (len > 4096)
			len = 4096;
		if (len > size)
			len = size;
		if (off + len > SPARSE_IMAGE_MAX_SIZE)
			break;
		if (pwrite(fd, data, len, off) != (ssize_t)len)
			abort();
		if (off + len > end)
			end = off + len;
		data += len;
		size -= len;
	}
	*size_out = end;
	return fd;
}

static int sparse_image_pread(void *opaque, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(*(int *)opaque, buf, len, off);

	if (n < 0)
		return -1;
	memset((char *)buf + n, 0, len - n);
	return 0;
}

#endif
