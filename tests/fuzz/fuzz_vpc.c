/* libFuzzer target for the VPC/VHD parser (footer, dynamic header, BAT, bitmaps,
 * parent locators): input (raw or sparse_image.h records) -> memfd -> open -> read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/vpc/vpc.h"
#include "lib/log.h"
#include "sparse_image.h"

static int fuzz_parent(void *opaque, void *buf, size_t len, uint64_t off)
{
	memset(buf, 0xee, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 20];
	struct vpc_image *p;
	uint64_t fsize;
	int fd;

	log_threshold = LOG_ERR;
	fd = sparse_image_make(data, size, &fsize);
	if (vpc_image_open(&p, "fuzz.vpc", sparse_image_pread, &fd, fsize) == 0) {
		uint64_t off;

		for (off = 0; off < p->virtual_size && off < (8u << 20); off += sizeof(buf)) {
			size_t n = p->virtual_size - off < sizeof(buf) ? p->virtual_size - off :
									  sizeof(buf);
			vpc_image_read(p, buf, n, off, fuzz_parent, NULL);
		}
		for (uint64_t b = 0; p->block_size && b < p->max_table_entries && b < 4096; b++) {
			off = b * p->block_size;
			if (off + 512 <= p->virtual_size)
				vpc_image_read(p, buf, 512, off, b & 1 ? fuzz_parent : NULL, NULL);
		}
		vpc_image_close(p);
	}
	close(fd);
	return 0;
}
