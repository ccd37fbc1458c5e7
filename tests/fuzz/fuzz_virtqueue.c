/*
 * Fuzz target for user/devices/virtio/virtqueue.c, split.c, packed.c: the input
 * is a ring configuration and a guest RAM image; the device pops, touches every
 * segment, and pushes until the ring is empty or broken (VIRTIO 1.2 §2.7, §2.8).
 *
 * Input: 16-byte header, then RAM contents from guest address 0.
 *   [0]     bit 0 packed, bit 1 indirect, bit 2 event_idx
 *   [1]     split queue size: 1 << ([1] % 9)
 *   [2..3]  packed queue size: 1 + le16 % 512
 *   [4..5]  descriptor area: le16 * 16, modulo 128 KiB (RAM is 64 KiB)
 *   [6..7]  driver area: le16 * 2, modulo 128 KiB
 *   [8..9]  device area: le16 * 4, modulo 128 KiB
 *   [10..13] le32 bit pattern choosing, per step, push-now vs hold, notify calls
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_machine.h"
#include "devices/virtio/virtqueue.h"
#include "lib/log.h"

#define FUZZ_RAM	0x10000u
#define FUZZ_HDR	16
#define FUZZ_HOLD	4
#define FUZZ_STEPS	2048

static struct virtq_elem fuzz_elems[FUZZ_HOLD];

static uint16_t fuzz_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

/* Read and write the ends of every segment: ASan catches one outside RAM. */
static uint32_t fuzz_touch(struct virtq_elem *elem)
{
	volatile uint8_t *b;
	uint32_t sum = 0;
	unsigned int i;

	for (i = 0; i < elem->out_num + elem->in_num; i++) {
		b = elem->iov[i].iov_base;
		sum += b[0] + b[elem->iov[i].iov_len - 1];
		if (i >= elem->out_num) {
			b[0] = 0xa5;
			b[elem->iov[i].iov_len - 1] = 0x5a;
		}
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_machine fm;
	struct virtq vq = { 0 };
	struct virtq_config cfg = { 0 };
	unsigned int held = 0, step, i;
	uint32_t pattern, bit;
	int ret;

	if (size < FUZZ_HDR)
		return 0;
	log_threshold = LOG_ERR;	/* a hostile input logs one line */
	fake_machine_init(&fm, FUZZ_RAM);
	memcpy(fm.ram, data + FUZZ_HDR,
	       size - FUZZ_HDR < FUZZ_RAM ? size - FUZZ_HDR : FUZZ_RAM);

	cfg.packed = data[0] & 1;
	cfg.indirect = data[0] & 2;
	cfg.event_idx = data[0] & 4;
	cfg.size = cfg.packed ? 1u + fuzz_le16(data + 2) % 512 : 1u << (data[1] % 9);
	cfg.desc_gpa = (fuzz_le16(data + 4) * 16u) % (2 * FUZZ_RAM);
	cfg.driver_gpa = (fuzz_le16(data + 6) * 2u) % (2 * FUZZ_RAM);
	cfg.device_gpa = (fuzz_le16(data + 8) * 4u) % (2 * FUZZ_RAM);
	pattern = data[10] | data[11] << 8 | data[12] << 16 | (uint32_t)data[13] << 24;

	if (virtq_start(&vq, &fm.ms, "fuzz0/0", &cfg))
		goto out;
	for (step = 0; step < FUZZ_STEPS; step++) {
		bit = pattern >> (step % 29);
		if (bit & 8)
			virtq_disable_notify(&vq);
		ret = virtq_pop(&vq, &fuzz_elems[held]);
		if (ret < 0)
			break;
		if (ret == 0) {
			if (!virtq_enable_notify(&vq))
				break;
			continue;
		}
		fuzz_touch(&fuzz_elems[held]);
		held++;
		/* Complete now, or keep a few in flight and complete out of order. */
		if (held == FUZZ_HOLD || (bit & 1)) {
			for (i = held; i-- > 0;) {
				struct virtq_elem *e = &fuzz_elems[(i + (bit >> 1)) % held];

				virtq_push(&vq, e, (bit & 4) ? e->in_len : e->in_len / 2);
			}
			held = 0;
			virtq_should_notify(&vq);
		}
	}
	for (i = 0; i < held; i++)
		virtq_push(&vq, &fuzz_elems[i], 0);
	virtq_should_notify(&vq);
out:
	virtq_stop(&vq);
	fake_machine_fini(&fm);
	return 0;
}
