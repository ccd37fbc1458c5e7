// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory table (VHOST_SET_MEM_TABLE): guest physical ranges mapped to
 * the owner's virtual addresses, and translation of descriptor buffers.
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kv.h"

struct kv_mem *kv_mem_from_user(struct vhost_memory __user *um)
{
	struct vhost_memory hdr;
	struct kv_mem *mem;
	unsigned int i;

	if (copy_from_user(&hdr, um, sizeof(hdr)))
		return ERR_PTR(-EFAULT);
	if (hdr.padding || hdr.nregions > KV_MAX_REGIONS)
		return ERR_PTR(-EINVAL);
	mem = kvzalloc(struct_size(mem, regions, hdr.nregions), GFP_KERNEL);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	mem->nregions = hdr.nregions;
	if (copy_from_user(mem->regions, um->regions,
			   hdr.nregions * sizeof(mem->regions[0]))) {
		kvfree(mem);
		return ERR_PTR(-EFAULT);
	}
	for (i = 0; i < mem->nregions; i++) {
		struct vhost_memory_region *r = &mem->regions[i];
		u64 end;

		if (!r->memory_size || r->flags_padding ||
		    check_add_overflow(r->guest_phys_addr, r->memory_size - 1, &end) ||
		    check_add_overflow(r->userspace_addr, r->memory_size - 1, &end) ||
		    r->userspace_addr != (unsigned long)r->userspace_addr ||
		    !access_ok((void __user *)(unsigned long)r->userspace_addr,
			       r->memory_size)) {
			kvfree(mem);
			return ERR_PTR(-EINVAL);
		}
	}
	return mem;
}

static const struct vhost_memory_region *kv_mem_find(const struct kv_mem *mem,
						     u64 gpa)
{
	unsigned int i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_memory_region *r = &mem->regions[i];

		if (gpa >= r->guest_phys_addr &&
		    gpa - r->guest_phys_addr < r->memory_size)
			return r;
	}
	return NULL;
}

/*
 * Map [gpa, gpa + len) to at most @max segments. Returns the number used,
 * -EFAULT when some byte lies outside every region, -E2BIG when @max is
 * too small.
 */
int kv_mem_map(struct kv_vq *vq, u64 gpa, u32 len, struct kv_seg *segs,
	       unsigned int max)
{
	const struct vhost_memory_region *r;
	unsigned int n = 0;
	u64 off, chunk;

	if (!vq->mem)
		return -EFAULT;
	while (len) {
		r = kv_mem_find(vq->mem, gpa);
		if (!r)
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		off = gpa - r->guest_phys_addr;
		chunk = min_t(u64, len, r->memory_size - off);
		segs[n].iov.iov_base = (void __user *)(unsigned long)(r->userspace_addr + off);
		segs[n].iov.iov_len = chunk;
		segs[n].gpa = gpa;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}
