/*
 * Fuzz target for user/devices/virtio/blk.c (VIRTIO 1.2 ch. 5.2): hostile request
 * headers, discard segments and descriptor chains on a split ring in fake guest
 * RAM, served through the real block layer on a small raw image.
 *
 * Input: 4-byte header, then descriptor table, avail heads and RAM contents.
 *   [0]    bit 0 read-only, bit 1 discard=unmap, bit 2 indirect, bit 3 event_idx,
 *          bit 4 negotiate no optional feature
 *   [1]    chains made available: 1 + [1] % 16
 *   [2..3] reserved
 *   then 16 descriptors of 16 bytes: addresses below 0x80000000 are folded into
 *          the data area (so most point at real buffers), others stay as given;
 *          lengths are taken modulo 64 KiB unless bit 31 is set
 *   then 16 le16 avail ring heads, then the data area's first bytes (headers,
 *   segments, indirect tables).
 */
#include <endian.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_machine.h"
#include "fake_transport.h"
#include "block/block.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtqueue.h"
#include "devices/virtio/virtqueue_ring.h"
#include "lib/log.h"

#define FUZZ_RAM	0x100000u
#define FUZZ_QSIZE	16
#define FUZZ_DESC	0x1000u
#define FUZZ_AVAIL	0x2000u
#define FUZZ_USED	0x3000u
#define FUZZ_DATA	0x10000u
#define FUZZ_DATA_SIZE	(FUZZ_RAM - FUZZ_DATA)
#define FUZZ_DISK	(1u << 20)

static struct block_dev *fuzz_bd, *fuzz_bd_ro;

static struct block_dev *fuzz_open(const char *path, bool ro)
{
	struct block_open_opts o = { .format = "raw", .read_only = ro,
				     .aio = BLOCK_AIO_THREADS };
	struct block_dev *bd;

	if (block_open(&bd, path, &o))
		abort();
	return bd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/keel-fuzz-vblk-XXXXXX";
	int fd = mkstemp(path);

	log_threshold = LOG_ERR;
	if (fd < 0 || ftruncate(fd, FUZZ_DISK) < 0)
		abort();
	close(fd);
	fuzz_bd = fuzz_open(path, false);
	fuzz_bd_ro = fuzz_open(path, true);
	unlink(path);	/* the open descriptors keep it */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_machine fm;
	struct virtq vq = { 0 };
	struct virtq_config cfg = { 0 };
	struct virtio_blk_conf conf = { .name = "fuzz-blk", .num_queues = 1,
					.serial = "fuzz-serial" };
	struct virtio_blk *blk;
	struct fake_transport ft;
	struct virtq *vqs[1] = { &vq };
	unsigned int i, nr;
	uint64_t features;
	uint16_t idx;

	if (size < 4 + 16 * 16 + 2 * 16)
		return 0;
	fake_machine_init(&fm, FUZZ_RAM);
	conf.read_only = data[0] & 1;
	conf.discard = data[0] & 2;
	conf.bd = conf.read_only ? fuzz_bd_ro : fuzz_bd;
	nr = 1 + data[1] % FUZZ_QSIZE;
	for (i = 0; i < FUZZ_QSIZE; i++) {
		struct virtq_split_desc d;
		uint64_t addr;
		uint32_t len;

		memcpy(&d, data + 4 + 16 * i, sizeof(d));
		addr = le64toh(d.addr);
		len = le32toh(d.len);
		if (addr < 0x80000000ull)
			addr = FUZZ_DATA + addr % FUZZ_DATA_SIZE;
		if (!(len & 0x80000000u))
			len %= 0x10000u;
		d.addr = htole64(addr);
		d.len = htole32(len);
		d.next = htole16(le16toh(d.next) % (FUZZ_QSIZE + 1));
		memcpy(fm.ram + FUZZ_DESC + 16 * i, &d, sizeof(d));
	}
	memcpy(fm.ram + FUZZ_AVAIL + 4, data + 4 + 256, 2 * FUZZ_QSIZE);
	idx = htole16((uint16_t)nr);
	memcpy(fm.ram + FUZZ_AVAIL + 2, &idx, 2);
	i = 4 + 256 + 2 * FUZZ_QSIZE;
	if (size > i)
		memcpy(fm.ram + FUZZ_DATA, data + i,
		       size - i < FUZZ_DATA_SIZE ? size - i : FUZZ_DATA_SIZE);

	cfg.size = FUZZ_QSIZE;
	cfg.indirect = data[0] & 4;
	cfg.event_idx = data[0] & 8;
	cfg.desc_gpa = FUZZ_DESC;
	cfg.driver_gpa = FUZZ_AVAIL;
	cfg.device_gpa = FUZZ_USED;
	blk = virtio_blk_create(&fm.ms, &conf);
	if (!blk)
		abort();
	features = data[0] & 16 ? 0 : virtio_blk_features(blk);
	if (virtq_start(&vq, &fm.ms, "fuzz/0", &cfg) == 0 &&
	    fake_transport_bind(&ft, virtio_blk_vdev(blk)) == 0 &&
	    fake_transport_start(&ft, features, vqs, 1) == 0) {
		virtio_blk_kick(blk, 0);
		virtio_blk_wait(blk);
		virtio_blk_resume(blk);
		virtio_blk_wait(blk);
	}
	virtio_blk_free(blk);
	virtq_stop(&vq);
	fake_machine_fini(&fm);
	return 0;
}
