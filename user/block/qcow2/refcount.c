/* qcow2 refcounts: refcount table and blocks of 1..64-bit entries, cluster
 * allocation, self-describing refcount block and table growth, deferred frees,
 * lazy-refcount dirty marking (qcow2 spec "Host cluster management"). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

uint64_t qcow2_refblock_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i)
{
	unsigned bits = q->refcount_bits;
	uint64_t v;

	switch (bits) {
	case 1:
	case 2:
	case 4:
		return (blk[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	case 8:
		return blk[i];
	case 16:
		return ((uint64_t)blk[2 * i] << 8) | blk[2 * i + 1];
	case 32: {
		uint32_t w;

		memcpy(&w, blk + 4 * i, 4);
		return be32toh(w);
	}
	default:
		memcpy(&v, blk + 8 * i, 8);
		return be64toh(v);
	}
}

void qcow2_refblock_set(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v)
{
	unsigned bits = q->refcount_bits;

	switch (bits) {
	case 1:
	case 2:
	case 4: {
		unsigned shift = i * bits % 8, mask = ((1u << bits) - 1) << shift;
		uint8_t *p = &blk[i * bits / 8];

		*p = (uint8_t)((*p & ~mask) | ((v << shift) & mask));
		break;
	}
	case 8:
		blk[i] = (uint8_t)v;
		break;
	case 16:
		blk[2 * i] = (uint8_t)(v >> 8);
		blk[2 * i + 1] = (uint8_t)v;
		break;
	case 32: {
		uint32_t w = htobe32((uint32_t)v);

		memcpy(blk + 4 * i, &w, 4);
		break;
	}
	default:
		v = htobe64(v);
		memcpy(blk + 8 * i, &v, 8);
	}
}

/* L2 tables may reach the disk only after the refcounts of what they point to. */
static int refcount_before_l2_writeback(struct qcow2 *q)
{
	int ret;

	if (q->lazy || !q->rb_cache.n_dirty)
		return 0;
	ret = qcow2_cache_flush(&q->rb_cache);
	if (ret < 0)
		return ret;
	return qcow2_sync(q);
}

int qcow2_refcount_init(struct qcow2 *q)
{
	uint64_t n = (uint64_t)q->h.refcount_table_clusters * q->cluster_size / 8;
	unsigned slots;
	int ret;

	q->reftable = malloc(n * 8);
	if (!q->reftable)
		return -ENOMEM;
	ret = qcow2_pread_meta(q, q->h.refcount_table_offset, q->reftable, n * 8);
	if (ret < 0)
		return ret;
	q->reftable_size = n;
	for (uint64_t i = 0; i < n; i++) {
		q->reftable[i] = be64toh(q->reftable[i]);
		if (q->reftable[i] & ~QCOW2_REFT_OFFSET_MASK || !qcow2_is_aligned(q, q->reftable[i])) {
			log_err("%s: refcount table entry %llu (0x%llx) is not cluster aligned",
				q->name, (unsigned long long)i, (unsigned long long)q->reftable[i]);
			return -EINVAL;
		}
	}
	slots = (4u << 20) >> q->cluster_bits;
	if (slots > 4096)
		slots = 4096;
	if (slots < 32)
		slots = 32;
	ret = qcow2_cache_init(&q->rb_cache, q, "refcount block", slots);
	if (ret < 0)
		return ret;
	q->l2_cache.before_writeback = refcount_before_l2_writeback;
	q->free_hint = 0;
	return 0;
}

static int refcount_block(struct qcow2 *q, uint64_t idx, uint8_t **blk)
{
	uint64_t off = q->reftable[idx];

	if (off >= q->file_size) {
		log_err("%s: refcount block %llu at 0x%llx is past the end of the file", q->name,
			(unsigned long long)idx, (unsigned long long)off);
		return -EINVAL;
	}
	return qcow2_cache_get(&q->rb_cache, off, true, blk);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	uint64_t idx = cluster >> q->refblock_bits;
	uint8_t *blk;
	int ret;

	if (idx >= q->reftable_size || !q->reftable[idx]) {
		*rc = 0;
		return 0;
	}
	ret = refcount_block(q, idx, &blk);
	if (ret < 0)
		return ret;
	*rc = qcow2_refblock_get(q, blk, cluster & ((1ULL << q->refblock_bits) - 1));
	return 0;
}

static int refcount_write_table_entry(struct qcow2 *q, uint64_t idx)
{
	uint64_t be = htobe64(q->reftable[idx]);

	return qcow2_pwrite_meta(q, q->h.refcount_table_offset + idx * 8, &be, 8);
}

static void refcount_note_end(struct qcow2 *q, uint64_t end)
{
	if (end > q->file_size)
		q->file_size = end;
}

/* Grow the refcount table to at least @need entries; the new table and the
 * refcount blocks describing it go past everything the old table covers. */
static int refcount_grow_table(struct qcow2 *q, uint64_t need)
{
	uint64_t cs = q->cluster_size, per = cs / 8, rbb = q->refblock_bits;
	uint64_t entries, tc, p, k = 0, old_n = q->reftable_size;
	uint64_t *nt = NULL;
	uint8_t *blk = NULL;
	int ret;

	p = q->file_size >> q->cluster_bits;
	if (qcow2_align_up(q->file_size, cs) >> q->cluster_bits > p)
		p++;
	if ((old_n << rbb) > p)
		p = old_n << rbb;
	entries = need > 2 * old_n ? need : 2 * old_n;
	for (;;) {
		tc = (entries + per - 1) / per;
		entries = tc * per;
		for (;;) {
			uint64_t end = p + tc + k;
			uint64_t nk = ((end - 1) >> rbb) - (p >> rbb) + 1;

			if (nk == k)
				break;
			k = nk;
		}
		if (((p + tc + k - 1) >> rbb) < entries)
			break;
		entries = ((p + tc + k - 1) >> rbb) + 1;
	}
	if (tc * cs > QCOW2_MAX_REFTABLE_BYTES) {
		log_err("%s: refcount table would exceed %u bytes", q->name,
			QCOW2_MAX_REFTABLE_BYTES);
		return -EFBIG;
	}
	nt = calloc(entries, 8);
	blk = malloc(cs);
	if (!nt || !blk) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(nt, q->reftable, old_n * 8);
	for (uint64_t j = 0; j < k; j++) {
		uint64_t idx = (p >> rbb) + j, lo = idx << rbb;

		memset(blk, 0, cs);
		for (uint64_t c = p; c < p + tc + k; c++)
			if (c >= lo && c < lo + (1ULL << rbb))
				qcow2_refblock_set(q, blk, c - lo, 1);
		nt[idx] = (p + tc + j) << q->cluster_bits;
		ret = qcow2_pwrite_meta(q, nt[idx], blk, cs);
		if (ret < 0)
			goto out;
	}
	for (uint64_t i = 0; i < entries; i++)
		nt[i] = htobe64(nt[i]);
	ret = qcow2_pwrite_meta(q, p << q->cluster_bits, nt, entries * 8);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0)
		goto out;
	for (uint64_t i = 0; i < entries; i++)
		nt[i] = be64toh(nt[i]);
	refcount_note_end(q, (p + tc + k) << q->cluster_bits);

	uint64_t old_off = q->h.refcount_table_offset;
	uint32_t old_clusters = q->h.refcount_table_clusters;

	q->h.refcount_table_offset = p << q->cluster_bits;
	q->h.refcount_table_clusters = (uint32_t)tc;
	ret = qcow2_header_update(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0) {
		q->h.refcount_table_offset = old_off;
		q->h.refcount_table_clusters = old_clusters;
		goto out;
	}
	free(q->reftable);
	q->reftable = nt;
	q->reftable_size = entries;
	nt = NULL;
	ret = qcow2_refcount_update(q, old_off, (uint64_t)old_clusters * cs, -1);
out:
	free(nt);
	free(blk);
	return ret;
}

static int64_t refcount_alloc_from(struct qcow2 *q, uint64_t n, uint64_t min);

/* Give range @idx a refcount block, inside the range when possible so that it
 * describes itself; never inside [excl, excl + excl_n). */
static int refcount_new_block(struct qcow2 *q, uint64_t idx, uint64_t excl, uint64_t excl_n)
{
	uint64_t lo = idx << q->refblock_bits, hi = lo + (1ULL << q->refblock_bits), r;
	uint8_t *blk;
	int ret;

	if (idx >= q->reftable_size) {
		ret = refcount_grow_table(q, idx + 1);
		if (ret < 0)
			return ret;
		if (q->reftable[idx])
			return 0;
	}
	r = lo;
	if (q->append_only) {
		/* Repair: never reuse a cluster the on-disk refcounts call free. */
		uint64_t end = qcow2_align_up(q->file_size, q->cluster_size) >> q->cluster_bits;

		if (r < end)
			r = end;
	}
	if (r >= excl && r < excl + excl_n)
		r = excl + excl_n;
	if (r < hi) {
		ret = qcow2_cache_get(&q->rb_cache, r << q->cluster_bits, false, &blk);
		if (ret < 0)
			return ret;
		qcow2_refblock_set(q, blk, r - lo, 1);
		ret = qcow2_pwrite_meta(q, r << q->cluster_bits, blk, q->cluster_size);
	} else {
		int64_t a = refcount_alloc_from(q, 1, excl + excl_n > hi ? excl + excl_n : hi);

		if (a < 0)
			return (int)a;
		r = (uint64_t)a >> q->cluster_bits;
		ret = qcow2_cache_get(&q->rb_cache, r << q->cluster_bits, false, &blk);
		if (ret == 0)
			ret = qcow2_pwrite_meta(q, r << q->cluster_bits, blk, q->cluster_size);
		if (ret == 0)
			ret = qcow2_refcount_flush(q);
	}
	if (ret < 0)
		return ret;
	refcount_note_end(q, (r + 1) << q->cluster_bits);
	ret = qcow2_sync(q);
	if (ret < 0)
		return ret;
	q->reftable[idx] = r << q->cluster_bits;
	ret = refcount_write_table_entry(q, idx);
	if (ret == 0)
		ret = qcow2_sync(q);
	return ret;
}

int qcow2_refcount_set_raw(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
	uint64_t idx = cluster >> q->refblock_bits;
	uint8_t *blk;
	int ret;

	if (value > q->refcount_max)
		return -ERANGE;
	if (idx >= q->reftable_size || !q->reftable[idx]) {
		if (!value)
			return 0;
		ret = refcount_new_block(q, idx, cluster, 1);
		if (ret < 0)
			return ret;
	}
	ret = refcount_block(q, idx, &blk);
	if (ret < 0)
		return ret;
	qcow2_refblock_set(q, blk, cluster & ((1ULL << q->refblock_bits) - 1), value);
	qcow2_cache_mark_dirty(&q->rb_cache, q->reftable[idx]);
	if (!value && cluster < q->free_hint)
		q->free_hint = cluster;
	return 0;
}

int qcow2_refcount_update(struct qcow2 *q, uint64_t offset, uint64_t len, int64_t delta)
{
	uint64_t first = offset >> q->cluster_bits;
	uint64_t last = (offset + len - 1) >> q->cluster_bits;
	int ret;

	if (!len)
		return 0;
	for (uint64_t c = first; c <= last; c++) {
		uint64_t rc;

		ret = qcow2_refcount_get(q, c, &rc);
		if (ret < 0)
			return ret;
		if ((delta < 0 && rc < (uint64_t)-delta) ||
		    (delta > 0 && q->refcount_max - rc < (uint64_t)delta)) {
			log_err("%s: refcount of cluster 0x%llx would leave 0..%llu (is %llu)",
				q->name, (unsigned long long)(c << q->cluster_bits),
				(unsigned long long)q->refcount_max, (unsigned long long)rc);
			return -ERANGE;
		}
		ret = qcow2_refcount_set_raw(q, c, rc + delta);
		if (ret < 0)
			return ret;
		if (rc + delta == 0) {
			qcow2_cache_discard(&q->l2_cache, c << q->cluster_bits);
			if (q->comp_cursor >> q->cluster_bits == c)
				q->comp_cursor = 0;
			if (q->writable)
				fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  (off_t)(c << q->cluster_bits), (off_t)q->cluster_size);
		}
	}
	return 0;
}

static int64_t refcount_alloc_from(struct qcow2 *q, uint64_t n, uint64_t min)
{
	uint64_t per = 1ULL << q->refblock_bits;
	int ret;

	if (!n)
		return -EINVAL;
	for (int attempt = 0; attempt < 64; attempt++) {
		uint64_t c = min, run = 0, start = min, first_free = UINT64_MAX;

		if (q->append_only) {
			uint64_t end = qcow2_align_up(q->file_size, q->cluster_size) >>
				       q->cluster_bits;

			if (c < end)
				c = start = end;
		}
		uint64_t fend = qcow2_align_up(q->file_size, q->cluster_size) >> q->cluster_bits;

		while (run < n) {
			uint64_t idx = c >> q->refblock_bits, rc;

			if (c >= fend) {
				/* Nothing lives past the end of the file: a stale refcount
				 * there is a leak, and reusing the cluster fixes it. */
				if (!run)
					start = c;
				if (first_free == UINT64_MAX)
					first_free = start;
				run = n;
				break;
			}
			if ((idx >= q->reftable_size || !q->reftable[idx]) && (c & (per - 1)) == 0) {
				/* Whole uncovered range is free. */
				if (!run)
					start = c;
				run += per;
				c += per;
				if (first_free == UINT64_MAX)
					first_free = start;
				continue;
			}
			ret = qcow2_refcount_get(q, c, &rc);
			if (ret < 0)
				return ret;
			if (rc) {
				run = 0;
			} else {
				if (!run)
					start = c;
				run++;
				if (first_free == UINT64_MAX)
					first_free = c;
			}
			c++;
			if (c > (1ULL << (56 - q->cluster_bits)))
				return -ENOSPC;
		}
		/* Make sure every range of the run has a refcount block. */
		bool moved = false;

		for (uint64_t idx = start >> q->refblock_bits;
		     idx <= (start + n - 1) >> q->refblock_bits; idx++) {
			if (idx < q->reftable_size && q->reftable[idx])
				continue;
			ret = refcount_new_block(q, idx, start, n);
			if (ret < 0)
				return ret;
			moved = true;
		}
		/* New blocks may sit where the run was (past the old end of file,
		 * or a grown table): scan again, they are described now. */
		if (moved)
			continue;
		for (uint64_t x = start; x < start + n; x++) {
			ret = qcow2_refcount_set_raw(q, x, 1);
			if (ret < 0)
				return ret;
		}
		if (min == q->free_hint && !q->append_only)
			q->free_hint = first_free == start ? start + n : first_free;
		refcount_note_end(q, (start + n) << q->cluster_bits);
		return (int64_t)(start << q->cluster_bits);
	}
	log_err("%s: cluster allocation does not converge", q->name);
	return -EIO;
}

int64_t qcow2_alloc_clusters(struct qcow2 *q, uint64_t n)
{
	int ret = qcow2_set_dirty(q);

	if (ret < 0)
		return ret;
	return refcount_alloc_from(q, n, q->free_hint);
}

/* Byte allocation for compressed clusters: pack into a partly used cluster;
 * every host cluster touched gets one reference per compressed cluster. */
int64_t qcow2_alloc_bytes(struct qcow2 *q, uint64_t size)
{
	uint64_t cs = q->cluster_size, off = q->comp_cursor;
	int ret;

	if (size > cs)
		return -EINVAL;
	if (off && (off & (cs - 1)) && cs - (off & (cs - 1)) >= size) {
		ret = qcow2_refcount_update(q, off & ~(cs - 1), 1, 1);
		if (ret < 0)
			return ret;
		q->comp_cursor = off + size;
		if (!(q->comp_cursor & (cs - 1)))
			q->comp_cursor = 0;
		return (int64_t)off;
	}
	if (off && (off & (cs - 1))) {
		/* Spill into the next cluster when it is free. */
		uint64_t next = (off & ~(cs - 1)) + cs, rc;

		ret = qcow2_refcount_get(q, next >> q->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		if (!rc) {
			ret = qcow2_refcount_update(q, off & ~(cs - 1), 1, 1);
			if (ret == 0)
				ret = qcow2_refcount_set_raw(q, next >> q->cluster_bits, 1);
			if (ret < 0)
				return ret;
			refcount_note_end(q, next + cs);
			q->comp_cursor = off + size;
			if (!(q->comp_cursor & (cs - 1)))
				q->comp_cursor = 0;
			return (int64_t)off;
		}
	}
	int64_t a = qcow2_alloc_clusters(q, 1);

	if (a < 0)
		return a;
	q->comp_cursor = (uint64_t)a + size;
	if (!(q->comp_cursor & (cs - 1)))
		q->comp_cursor = 0;
	return a;
}

int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	if (q->n_frees == q->cap_frees) {
		size_t cap = q->cap_frees ? 2 * q->cap_frees : 64;
		struct qcow2_free *f = realloc(q->frees, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		q->frees = f;
		q->cap_frees = cap;
	}
	q->frees[q->n_frees].offset = offset;
	q->frees[q->n_frees].len = len;
	q->n_frees++;
	return 0;
}

/* Drop references only once no table on disk points at them any more. */
int qcow2_process_frees(struct qcow2 *q)
{
	int ret;

	if (!q->n_frees)
		return 0;
	ret = qcow2_cache_flush(&q->l2_cache);
	if (ret == 0)
		ret = qcow2_sync(q);
	for (size_t i = 0; ret == 0 && i < q->n_frees; i++)
		ret = qcow2_refcount_update(q, q->frees[i].offset, q->frees[i].len, -1);
	q->n_frees = 0;
	return ret;
}

int qcow2_refcount_flush(struct qcow2 *q)
{
	return qcow2_cache_flush(&q->rb_cache);
}

int qcow2_set_dirty(struct qcow2 *q)
{
	int ret;

	if (!q->lazy || q->dirty_marked || q->h.version < 3)
		return 0;
	q->h.incompatible_features |= QCOW2_INCOMPAT_DIRTY;
	ret = qcow2_header_update(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret == 0)
		q->dirty_marked = true;
	return ret;
}
