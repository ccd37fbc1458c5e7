// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page log (VHOST_SET_LOG_BASE, VHOST_F_LOG_ALL): one bit per 4 KiB
 * guest page in a bitmap in the owner's memory, set for every guest write.
 */
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/bitops.h>
#include "kv.h"

#define KV_LOG_PAGE_SHIFT	12

/* Set one bit at bit offset @bit of the user bitmap at @base. */
static int kv_log_set_bit(u64 base, u64 bit)
{
	unsigned long addr = base + bit / 8;
	unsigned long off = addr & ~PAGE_MASK;
	struct page *page;
	unsigned long *word;
	void *kaddr;
	int r;

	r = pin_user_pages_fast(addr & PAGE_MASK, 1, FOLL_WRITE, &page);
	if (r != 1)
		return r < 0 ? r : -EFAULT;
	kaddr = kmap_local_page(page);
	word = (unsigned long *)((char *)kaddr + (off & ~(sizeof(long) - 1)));
	set_bit((off & (sizeof(long) - 1)) * 8 + bit % 8, word);
	kunmap_local(kaddr);
	unpin_user_pages_dirty_lock(&page, 1, true);
	return 0;
}

void kv_log_write(struct kv_vq *vq, u64 gpa, u64 len)
{
	u64 pfn, last;

	if (!len || !kv_has_feature(vq, VHOST_F_LOG_ALL) || !vq->log_base)
		return;
	last = (gpa + len - 1) >> KV_LOG_PAGE_SHIFT;
	for (pfn = gpa >> KV_LOG_PAGE_SHIFT; pfn <= last; pfn++) {
		if (kv_log_set_bit(vq->log_base, pfn)) {
			kv_vq_fail(vq, "dirty log bitmap at 0x%llx not writable",
				   vq->log_base);
			return;
		}
	}
	if (vq->log_ctx)
		eventfd_signal(vq->log_ctx, 1);
}

/* The used ring changed at byte @offset: log it when the VMM asked to. */
void kv_log_used(struct kv_vq *vq, u64 offset, u64 len)
{
	if (vq->log_used)
		kv_log_write(vq, vq->log_guest_addr + offset, len);
}
