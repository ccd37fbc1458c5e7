/* libFuzzer target for the VHDX parser (MS-VHDX: headers, regions, log replay,
 * metadata, BAT): input (raw or sparse_image.h records) -> memfd -> open -> read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/vhdx/vhdx.h"
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
	struct vhdx_image *v;
	uint64_t fsize;
	int fd;

	log_threshold = LOG_ERR;
	fd = sparse_image_make(data, size, &fsize);
	if (vhdx_image_open(&v, "fuzz.vhdx", sparse_image_pread, &fd, fsize) == 0) {
		/* bounded: the first 8 MiB, then one sector of every block (at most 4096) */
		uint64_t off;

		for (off = 0; off < v->virtual_size && off < (8u << 20); off += sizeof(buf)) {
			size_t n = v->virtual_size - off < sizeof(buf) ? v->virtual_size - off :
									  sizeof(buf);
			vhdx_image_read(v, buf, n, off, fuzz_parent, NULL);
		}
		for (uint64_t b = 0; b < v->payload_blocks && b < 4096; b++) {
			off = b * v->block_size + (b % 7) * 512;
			if (off + 1024 <= v->virtual_size)
				vhdx_image_read(v, buf, 1024, off, b & 1 ? fuzz_parent : NULL,
						NULL);
		}
		vhdx_image_close(v);
	}
	close(fd);
	return 0;
}
