/*
 * Fuzz target for the vhost-blk module's ring walker and memory table
 * (kmod/common/ring.c, memtable.c; VIRTIO 1.2 2.7), built in userspace with
 * tests/fuzz/kshim. The input is a memory table, ring placement and the guest
 * RAM itself. Invariants: every chain taken maps only registered memory, heads
 * are in range, segment counts stay bounded, and walking always terminates.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kmod/common/memtable.c"
#include "../../kmod/common/ring.c"

#define GMEM		(64 * 1024)
#define MAX_REGIONS	4

struct fuzz_hdr {
	uint8_t log2num;
	uint8_t features;
	uint8_t nregions;
	uint8_t pops;
	uint16_t desc_off, avail_off, used_off;
	uint16_t last_avail;
	struct {
		uint64_t gpa;
		uint32_t size;
		uint32_t uoff;
	} r[MAX_REGIONS];
} __attribute__((packed));

static uint8_t *gm;		/* the guest RAM, exactly GMEM bytes */
static const void *table;	/* the memory table being read */
static size_t table_len;

bool kshim_access_ok(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	if (table && a >= (uintptr_t)table && n <= table_len &&
	    a - (uintptr_t)table <= table_len - n)
		return true;
	return gm && a >= (uintptr_t)gm && n <= GMEM && a - (uintptr_t)gm <= GMEM - n;
}

void kv_vq_fail(struct kv_vq *vq, const char *fmt, ...)
{
	(void)fmt;
	vq->broken = true;
}

void kv_log_used(struct kv_vq *vq, u64 offset, u64 len)
{
	(void)vq;
	(void)offset;
	(void)len;
}

static struct kv_mem *fuzz_mem(const struct fuzz_hdr *h)
{
	unsigned int n = h->nregions % (MAX_REGIONS + 1), i;
	size_t len = sizeof(struct vhost_memory) + n * sizeof(struct vhost_memory_region);
	struct vhost_memory *um = calloc(1, len);
	struct kv_mem *mem;

	um->nregions = n;
	for (i = 0; i < n; i++) {
		um->regions[i].guest_phys_addr = h->r[i].gpa;
		um->regions[i].memory_size = h->r[i].size;
		um->regions[i].userspace_addr = (uintptr_t)gm + h->r[i].uoff;
	}
	table = um;
	table_len = len;
	mem = kv_mem_from_user(um);
	table = NULL;
	free(um);
	return IS_ERR(mem) ? NULL : mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_hdr h;
	struct kv_vq vq;
	struct kv_mem *mem;
	unsigned int i, k, pops;
	u16 head;
	int r;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	gm = calloc(1, GMEM);
	memcpy(gm, data + sizeof(h), size - sizeof(h) < GMEM ? size - sizeof(h) : GMEM);
	mem = fuzz_mem(&h);
	if (!mem)
		goto out;

	/* the ring placement checks kv_vq_set_addr makes */
	memset(&vq, 0, sizeof(vq));
	vq.num = 1u << (h.log2num % 11);
	vq.mem = mem;
	vq.features = ((h.features & 1) ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		      ((h.features & 2) ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0);
	vq.call_ctx = (struct eventfd_ctx *)1;
	vq.last_avail_idx = h.last_avail;
	vq.desc = (void *)(gm + (h.desc_off & ~15u));
	vq.avail = (void *)(gm + (h.avail_off & ~1u));
	vq.used = (void *)(gm + (h.used_off & ~3u));
	if (!access_ok(vq.desc, vq.num * 16) || !access_ok(vq.avail, 6 + 2 * vq.num) ||
	    !access_ok(vq.used, 6 + 8 * vq.num))
		goto out_mem;
	vq.segs = malloc(KV_MAX_SEGS * sizeof(*vq.segs));

	pops = 1 + h.pops % 16;
	for (i = 0; i < pops; i++) {
		r = kv_ring_pop(&vq, &head);
		if (r == 0 && kv_ring_arm(&vq))
			continue;
		if (r <= 0)
			break;
		assert(head < vq.num);
		assert(vq.nout + vq.nin <= KV_MAX_SEGS);
		for (k = 0; k < vq.nout + vq.nin; k++) {
			assert(vq.segs[k].iov.iov_len > 0);
			assert(access_ok(vq.segs[k].iov.iov_base, vq.segs[k].iov.iov_len));
		}
		if (kv_ring_push(&vq, head, vq.nin))
			break;
		kv_ring_signal(&vq);
	}
	/* a stopped queue gives nothing more */
	if (vq.broken)
		assert(kv_ring_pop(&vq, &head) < 0);
	free(vq.segs);
out_mem:
	kvfree(mem);
out:
	free(gm);
	gm = NULL;
	return 0;
}
