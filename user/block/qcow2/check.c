/* qcow2 consistency check: rebuild reference counts from every table (active
 * L1/L2, snapshots, refcount structures, bitmaps), compare with the stored
 * refcounts, repair leaks and errors, check COPIED flags (like qemu-img check). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

#define CHECK_MAX_CLUSTERS	(1ULL << 26)
#define CHECK_MAX_WORK		(1ULL << 31)	/* table entries visited */

struct check_ctx {
	struct qcow2 *q;
	uint32_t *refs;
	uint64_t n;
	struct qcow2_check_result *res;
	uint8_t *tbl;
	uint64_t work;
};

static int check_budget(struct check_ctx *c, uint64_t n)
{
	c->work += n;
	if (c->work <= CHECK_MAX_WORK)
		return 0;
	log_err("%s: metadata too large to check (more than %llu table entries)", c->q->name,
		(unsigned long long)CHECK_MAX_WORK);
	return -EFBIG;
}

static void check_inc(struct check_ctx *c, uint64_t off, uint64_t len, const char *what)
{
	uint64_t first, last;

	if (!len)
		return;
	first = off >> c->q->cluster_bits;
	last = (off + len - 1) >> c->q->cluster_bits;
	for (uint64_t i = first; i <= last; i++) {
		if (i >= c->n) {
			if (c->res->corruptions < 16)
				log_err("%s: %s at 0x%llx is past the end of the image", c->q->name,
					what, (unsigned long long)(i << c->q->cluster_bits));
			c->res->corruptions++;
			continue;
		}
		if (c->refs[i] < UINT32_MAX)
			c->refs[i]++;
	}
}

static int check_l2(struct check_ctx *c, uint64_t l2off, bool active)
{
	struct qcow2 *q = c->q;
	uint8_t *slot;
	int ret;

	/* Through the cache: it may hold a newer, not yet written copy. */
	ret = qcow2_cache_get(&q->l2_cache, l2off, true, &slot);
	if (ret < 0)
		return ret;
	memcpy(c->tbl, slot, q->cluster_size);
	for (uint64_t j = 0; j < q->l2_size; j++) {
		uint64_t e, off, len;

		memcpy(&e, c->tbl + 8 * j, 8);
		e = be64toh(e);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_desc(q, e, &off, &len);
			check_inc(c, off, len, "compressed cluster");
			if (active)
				c->res->compressed_clusters++;
		} else {
			off = e & QCOW2_L2E_OFFSET_MASK;
			if (!off)
				continue;
			if (!qcow2_is_aligned(q, off)) {
				log_err("%s: L2 entry 0x%llx is not cluster aligned", q->name,
					(unsigned long long)e);
				c->res->corruptions++;
				continue;
			}
			check_inc(c, off, q->cluster_size, "data cluster");
		}
		if (active)
			c->res->allocated_clusters++;
	}
	return 0;
}

static int check_l1(struct check_ctx *c, const uint64_t *l1, uint32_t size, bool active)
{
	int ret = check_budget(c, size);

	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = l1[i] & QCOW2_L1E_OFFSET_MASK;

		if (!off)
			continue;
		if (!qcow2_is_aligned(c->q, off)) {
			log_err("%s: L1 entry %u (0x%llx) is not cluster aligned", c->q->name, i,
				(unsigned long long)l1[i]);
			c->res->corruptions++;
			continue;
		}
		check_inc(c, off, c->q->cluster_size, "L2 table");
		if ((off >> c->q->cluster_bits) >= c->n)
			continue;
		/* An L2 table has at most one reference per L1 table: walking it more
		 * often only burns time (the refcount comparison reports it). */
		if (c->refs[off >> c->q->cluster_bits] > c->q->n_snaps + 1)
			continue;
		ret = check_budget(c, c->q->l2_size);
		if (ret == 0)
			ret = check_l2(c, off, active);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int check_snapshots(struct check_ctx *c)
{
	struct qcow2 *q = c->q;

	check_inc(c, q->h.snapshots_offset, q->snap_table_len, "snapshot table");
	for (unsigned i = 0; i < q->n_snaps; i++) {
		struct qcow2_snapshot *s = &q->snaps[i];
		uint64_t *l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
		int ret;

		if (!l1)
			return -ENOMEM;
		ret = qcow2_pread_meta(q, s->l1_offset, l1, s->l1_size * 8ULL);
		for (uint32_t j = 0; j < s->l1_size; j++)
			l1[j] = be64toh(l1[j]);
		check_inc(c, s->l1_offset, s->l1_size * 8ULL, "snapshot L1 table");
		if (ret == 0)
			ret = check_l1(c, l1, s->l1_size, false);
		free(l1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static uint32_t chk_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t chk_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* Clusters owned by persistent dirty bitmaps (only while their extension is valid). */
static int check_bitmaps(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint8_t *dir = NULL;
	int ret = 0;

	if (!(q->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	for (unsigned i = 0; i < q->n_exts; i++) {
		struct qcow2_ext *e = &q->exts[i];
		uint64_t dsize, doff;
		uint32_t nb;

		if (e->type != QCOW2_EXT_BITMAPS || e->len < 24)
			continue;
		nb = chk_rd32(e->data);
		dsize = chk_rd64(e->data + 8);
		doff = chk_rd64(e->data + 16);
		if (dsize > (64u << 20) || nb > 65535 || doff + dsize > q->file_size) {
			c->res->corruptions++;
			continue;
		}
		check_inc(c, doff, dsize, "bitmap directory");
		dir = malloc(dsize ? dsize : 1);
		if (!dir)
			return -ENOMEM;
		ret = qcow2_pread_meta(q, doff, dir, dsize);
		for (uint64_t p = 0; ret == 0 && nb-- && p + 24 <= dsize;) {
			uint64_t toff = chk_rd64(dir + p) & ~511ULL;
			uint32_t tsize = chk_rd32(dir + p + 8);
			uint16_t nlen = (uint16_t)((dir[p + 16] << 8) | dir[p + 17]);
			uint32_t extra = chk_rd32(dir + p + 20);

			if ((uint64_t)tsize * 8 > (64u << 20) || toff + tsize * 8ULL > q->file_size) {
				c->res->corruptions++;
				break;
			}
			check_inc(c, toff, tsize * 8ULL, "bitmap table");
			uint64_t *bt = malloc(tsize * 8ULL + 8);

			if (!bt) {
				ret = -ENOMEM;
				break;
			}
			ret = qcow2_pread_meta(q, toff, bt, tsize * 8ULL);
			for (uint32_t k = 0; ret == 0 && k < tsize; k++) {
				uint64_t be = be64toh(bt[k]) & 0x00fffffffffffe00ULL;

				if (be)
					check_inc(c, be, q->cluster_size, "bitmap data");
			}
			free(bt);
			p = qcow2_align_up(p + 24 + extra + nlen, 8);
		}
		free(dir);
		dir = NULL;
	}
	return ret;
}

static int check_compare(struct check_ctx *c, int fix)
{
	struct qcow2 *q = c->q;
	uint64_t end_used = 0;
	int ret;

	/* Stored refcounts past the end of the file are leaks. */
	for (uint64_t idx = 0; idx < q->reftable_size; idx++) {
		uint64_t lo = idx << q->refblock_bits, hi = lo + (1ULL << q->refblock_bits);

		if (!q->reftable[idx] || hi <= c->n)
			continue;
		ret = check_budget(c, hi - lo);
		if (ret < 0)
			return ret;
		for (uint64_t i = lo > c->n ? lo : c->n; i < hi; i++) {
			uint64_t rc;

			ret = qcow2_refcount_get(q, i, &rc);
			if (ret < 0)
				return ret;
			if (!rc)
				continue;
			c->res->leaks++;
			if (fix & QCOW2_FIX_LEAKS) {
				ret = qcow2_refcount_set_raw(q, i, 0);
				if (ret < 0)
					return ret;
				c->res->leaks--;
				c->res->leaks_fixed++;
			}
		}
	}
	q->append_only = true;
	for (uint64_t i = 0; i < c->n; i++) {
		uint64_t rc;

		ret = qcow2_refcount_get(q, i, &rc);
		if (ret < 0)
			goto out;
		if (rc || c->refs[i])
			end_used = i + 1;
		if (rc == c->refs[i])
			continue;
		if (rc > c->refs[i]) {
			if (c->res->leaks < 16)
				log_info("%s: leaked cluster %llu refcount=%llu reference=%u",
					 q->name, (unsigned long long)i, (unsigned long long)rc,
					 c->refs[i]);
			c->res->leaks++;
			if (!(fix & QCOW2_FIX_LEAKS))
				continue;
		} else {
			log_err("%s: cluster %llu refcount=%llu reference=%u", q->name,
				(unsigned long long)i, (unsigned long long)rc, c->refs[i]);
			c->res->corruptions++;
			if (!(fix & QCOW2_FIX_ERRORS))
				continue;
		}
		ret = qcow2_refcount_set_raw(q, i, c->refs[i]);
		if (ret < 0) {
			c->res->check_errors++;
			goto out;
		}
		if (rc > c->refs[i]) {
			c->res->leaks--;
			c->res->leaks_fixed++;
		} else {
			c->res->corruptions--;
			c->res->corruptions_fixed++;
		}
	}
	ret = 0;
out:
	q->append_only = false;
	c->res->image_end_offset = end_used << q->cluster_bits;
	return ret;
}

int qcow2_check(struct qcow2 *q, int fix, struct qcow2_check_result *res)
{
	struct check_ctx c = { .q = q, .res = res };
	uint64_t copied_bad = 0;
	int ret;

	memset(res, 0, sizeof(*res));
	if (fix && !q->writable)
		return -EROFS;
	ret = qcow2_flush_meta(q);
	if (ret < 0)
		return ret;
	c.n = qcow2_align_up(q->file_size, q->cluster_size) >> q->cluster_bits;
	if (c.n > CHECK_MAX_CLUSTERS) {
		log_err("%s: image too large to check (%llu clusters)", q->name,
			(unsigned long long)c.n);
		return -EFBIG;
	}
	c.refs = calloc(c.n ? c.n : 1, sizeof(*c.refs));
	c.tbl = malloc(q->cluster_size);
	if (!c.refs || !c.tbl) {
		ret = -ENOMEM;
		goto out;
	}
	res->total_clusters = (q->h.size + q->cluster_size - 1) >> q->cluster_bits;
	check_inc(&c, 0, q->cluster_size, "header");
	check_inc(&c, q->h.l1_table_offset, q->l1_size * 8ULL, "L1 table");
	ret = check_l1(&c, q->l1, q->l1_size, true);
	if (ret == 0)
		ret = check_snapshots(&c);
	if (ret == 0)
		ret = check_bitmaps(&c);
	if (ret < 0)
		goto out;
	check_inc(&c, q->h.refcount_table_offset,
		  (uint64_t)q->h.refcount_table_clusters * q->cluster_size, "refcount table");
	for (uint64_t i = 0; i < q->reftable_size; i++)
		if (q->reftable[i])
			check_inc(&c, q->reftable[i], q->cluster_size, "refcount block");
	if (fix && res->corruptions) {
		log_err("%s: references outside the image cannot be repaired", q->name);
		fix &= ~QCOW2_FIX_ERRORS;
	}
	ret = check_compare(&c, fix);
	if (ret < 0)
		goto out;
	ret = qcow2_l1_check_unique(q, q->l1, q->l1_size);
	if (ret == -EIO) {
		res->corruptions++;
		ret = 0;
	} else if (ret == 0) {
		ret = qcow2_fix_copied(q, fix & QCOW2_FIX_ERRORS, &copied_bad);
	}
	if (ret < 0)
		goto out;
	if (copied_bad) {
		log_err("%s: %llu entries with a wrong COPIED flag", q->name,
			(unsigned long long)copied_bad);
		if (fix & QCOW2_FIX_ERRORS)
			res->corruptions_fixed += copied_bad;
		else
			res->corruptions += copied_bad;
	}
	if (fix) {
		ret = qcow2_flush_meta(q);
		if (ret == 0)
			ret = qcow2_sync(q);
	}
out:
	free(c.refs);
	free(c.tbl);
	return ret;
}
