/* qcow2 internal snapshots: snapshot table parse/write, create, apply, delete,
 * tree refcount updates and COPIED flag upkeep (qcow2 spec "Snapshots"). */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

static uint32_t snap_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t snap_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static uint16_t snap_rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void snap_free_one(struct qcow2_snapshot *s)
{
	free(s->id);
	free(s->name);
	free(s->extra);
}

void qcow2_snapshot_free_all(struct qcow2 *q)
{
	for (unsigned i = 0; i < q->n_snaps; i++)
		snap_free_one(&q->snaps[i]);
	free(q->snaps);
	q->snaps = NULL;
	q->n_snaps = 0;
}

int qcow2_snapshot_load(struct qcow2 *q)
{
	uint64_t pos = q->h.snapshots_offset, start = pos;
	uint8_t hdr[40];
	int ret;

	q->n_snaps = 0;
	q->snap_table_len = 0;
	if (!q->h.nb_snapshots)
		return 0;
	q->snaps = calloc(q->h.nb_snapshots, sizeof(*q->snaps));
	if (!q->snaps)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->h.nb_snapshots; i++) {
		struct qcow2_snapshot *s = &q->snaps[i];
		uint16_t id_len, name_len;

		if (pos + 40 > q->file_size || pos - start > QCOW2_MAX_SNAP_TABLE) {
			log_err("%s: snapshot table entry %u lies outside the file", q->name, i);
			return -EINVAL;
		}
		ret = qcow2_pread_meta(q, pos, hdr, 40);
		if (ret < 0)
			return ret;
		s->l1_offset = snap_rd64(hdr);
		s->l1_size = snap_rd32(hdr + 8);
		id_len = snap_rd16(hdr + 12);
		name_len = snap_rd16(hdr + 14);
		s->date_sec = snap_rd32(hdr + 16);
		s->date_nsec = snap_rd32(hdr + 20);
		s->vm_clock_nsec = snap_rd64(hdr + 24);
		s->vm_state_size = snap_rd32(hdr + 32);
		s->extra_size = snap_rd32(hdr + 36);
		q->n_snaps++;
		if (s->extra_size > QCOW2_MAX_SNAP_EXTRA ||
		    (uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
		    (s->l1_size && (!qcow2_is_aligned(q, s->l1_offset) || !s->l1_offset ||
				    s->l1_offset + s->l1_size * 8ULL > q->file_size))) {
			log_err("%s: snapshot %u has an invalid L1 table or extra data size",
				q->name, i);
			return -EINVAL;
		}
		pos += 40;
		s->extra = malloc(s->extra_size ? s->extra_size : 1);
		s->id = calloc(1, id_len + 1u);
		s->name = calloc(1, name_len + 1u);
		if (!s->extra || !s->id || !s->name)
			return -ENOMEM;
		if (pos + s->extra_size + id_len + name_len > q->file_size) {
			log_err("%s: snapshot %u runs past the end of the file", q->name, i);
			return -EINVAL;
		}
		ret = qcow2_pread_meta(q, pos, s->extra, s->extra_size);
		if (ret == 0)
			ret = qcow2_pread_meta(q, pos + s->extra_size, s->id, id_len);
		if (ret == 0)
			ret = qcow2_pread_meta(q, pos + s->extra_size + id_len, s->name, name_len);
		if (ret < 0)
			return ret;
		s->disk_size = s->extra_size >= 16 ? snap_rd64(s->extra + 8) : q->h.size;
		pos = qcow2_align_up(pos + s->extra_size + id_len + name_len, 8);
	}
	q->snap_table_len = pos - start;
	return 0;
}

static size_t snap_entry_len(const struct qcow2_snapshot *s)
{
	return qcow2_align_up(40 + s->extra_size + strlen(s->id) + strlen(s->name), 8);
}

/* Write the table to new clusters, switch the header to it, free the old one. */
static int snapshot_write_table(struct qcow2 *q)
{
	uint64_t len = 0, old_off = q->h.snapshots_offset, old_len = q->snap_table_len;
	uint8_t *buf, *p;
	int64_t off = 0;
	int ret;

	for (unsigned i = 0; i < q->n_snaps; i++)
		len += snap_entry_len(&q->snaps[i]);
	if (len > QCOW2_MAX_SNAP_TABLE)
		return -EFBIG;
	buf = calloc(1, len ? len : 1);
	if (!buf)
		return -ENOMEM;
	p = buf;
	for (unsigned i = 0; i < q->n_snaps; i++) {
		struct qcow2_snapshot *s = &q->snaps[i];
		uint64_t v64;
		uint32_t v32;
		uint16_t il = (uint16_t)strlen(s->id), nl = (uint16_t)strlen(s->name);

		v64 = htobe64(s->l1_offset);
		memcpy(p, &v64, 8);
		v32 = htobe32(s->l1_size);
		memcpy(p + 8, &v32, 4);
		p[12] = (uint8_t)(il >> 8);
		p[13] = (uint8_t)il;
		p[14] = (uint8_t)(nl >> 8);
		p[15] = (uint8_t)nl;
		v32 = htobe32(s->date_sec);
		memcpy(p + 16, &v32, 4);
		v32 = htobe32(s->date_nsec);
		memcpy(p + 20, &v32, 4);
		v64 = htobe64(s->vm_clock_nsec);
		memcpy(p + 24, &v64, 8);
		v32 = htobe32(s->vm_state_size);
		memcpy(p + 32, &v32, 4);
		v32 = htobe32(s->extra_size);
		memcpy(p + 36, &v32, 4);
		memcpy(p + 40, s->extra, s->extra_size);
		memcpy(p + 40 + s->extra_size, s->id, il);
		memcpy(p + 40 + s->extra_size + il, s->name, nl);
		p += snap_entry_len(s);
	}
	if (len) {
		off = qcow2_alloc_clusters(q, (len + q->cluster_size - 1) >> q->cluster_bits);
		ret = off < 0 ? (int)off : qcow2_pwrite_meta(q, (uint64_t)off, buf, len);
		if (ret == 0)
			ret = qcow2_refcount_flush(q);
		if (ret == 0)
			ret = qcow2_sync(q);
		if (ret < 0) {
			free(buf);
			return ret;
		}
	}
	free(buf);
	q->h.snapshots_offset = (uint64_t)off;
	q->h.nb_snapshots = q->n_snaps;
	ret = qcow2_header_update(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0)
		return ret;
	q->snap_table_len = len;
	if (old_len)
		ret = qcow2_refcount_update(q, old_off, old_len, -1);
	return ret;
}

static int snap_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One L1 table naming the same L2 table twice is corruption, and walking such a
 * table would cost time without bound: refuse it. */
int qcow2_l1_check_unique(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size)
{
	uint64_t *v = malloc((l1_size ? l1_size : 1) * sizeof(*v));
	uint32_t n = 0;
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < l1_size; i++)
		if (l1[i] & QCOW2_L1E_OFFSET_MASK)
			v[n++] = l1[i] & QCOW2_L1E_OFFSET_MASK;
	qsort(v, n, sizeof(*v), snap_cmp_u64);
	for (uint32_t i = 1; i < n; i++) {
		if (v[i] == v[i - 1]) {
			log_err("%s: L2 table 0x%llx appears twice in one L1 table", q->name,
				(unsigned long long)v[i]);
			ret = -EIO;
			break;
		}
	}
	free(v);
	return ret;
}

int qcow2_tree_update_refs(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size, int delta)
{
	uint8_t *tbl, *slot;
	int ret = qcow2_l1_check_unique(q, l1, l1_size);

	if (ret < 0)
		return ret;
	tbl = malloc(q->cluster_size);
	if (!tbl)
		return -ENOMEM;
	for (uint32_t i = 0; i < l1_size && ret == 0; i++) {
		uint64_t l2off = l1[i] & QCOW2_L1E_OFFSET_MASK;

		if (!l2off)
			continue;
		if (!qcow2_is_aligned(q, l2off)) {
			ret = -EIO;
			break;
		}
		ret = qcow2_cache_get(&q->l2_cache, l2off, true, &slot);
		if (ret < 0)
			break;
		memcpy(tbl, slot, q->cluster_size);
		for (uint64_t j = 0; j < q->l2_size && ret == 0; j++) {
			uint64_t e, ro, rl;

			memcpy(&e, tbl + 8 * j, 8);
			e = be64toh(e);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				qcow2_compressed_desc(q, e, &ro, &rl);
			} else {
				ro = e & QCOW2_L2E_OFFSET_MASK;
				rl = ro ? q->cluster_size : 0;
			}
			if (rl)
				ret = qcow2_refcount_update(q, ro, rl, delta);
		}
		if (ret == 0)
			ret = qcow2_refcount_update(q, l2off, q->cluster_size, delta);
	}
	free(tbl);
	return ret;
}

/* COPIED must be set exactly where the refcount is 1 (active L1 and its L2 tables). */
int qcow2_fix_copied(struct qcow2 *q, bool fix, uint64_t *mismatch)
{
	uint64_t bad = 0, work = 0;
	int ret = qcow2_l1_check_unique(q, q->l1, q->l1_size);

	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2off = q->l1[i] & QCOW2_L1E_OFFSET_MASK, rc, ne;
		uint8_t *l2;
		bool dirty = false;

		if (!l2off || !qcow2_is_aligned(q, l2off))
			continue;
		ret = qcow2_refcount_get(q, l2off >> q->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		ne = rc == 1 ? q->l1[i] | QCOW2_OFLAG_COPIED : q->l1[i] & ~QCOW2_OFLAG_COPIED;
		if (ne != q->l1[i]) {
			bad++;
			if (fix) {
				uint64_t be = htobe64(ne);

				q->l1[i] = ne;
				ret = qcow2_pwrite_meta(q, q->h.l1_table_offset + 8ULL * i, &be, 8);
				if (ret < 0)
					return ret;
			}
		}
		/* Bounded time on hostile images (many L1 entries, one table). */
		work += q->l2_size;
		if (work > (1ULL << 31))
			return -EFBIG;
		ret = qcow2_cache_get(&q->l2_cache, l2off, true, &l2);
		if (ret < 0)
			return ret;
		for (uint64_t j = 0; j < q->l2_size; j++) {
			uint64_t e, want, host;

			memcpy(&e, l2 + 8 * j, 8);
			e = be64toh(e);
			host = e & QCOW2_L2E_OFFSET_MASK;
			if (e & QCOW2_OFLAG_COMPRESSED) {
				want = e & ~QCOW2_OFLAG_COPIED;
			} else if (!host) {
				want = e & ~QCOW2_OFLAG_COPIED;
			} else {
				ret = qcow2_refcount_get(q, host >> q->cluster_bits, &rc);
				if (ret < 0)
					return ret;
				/* The lookup may have evicted nothing from the L2 cache. */
				want = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
			}
			if (want != e) {
				bad++;
				if (fix) {
					want = htobe64(want);
					memcpy(l2 + 8 * j, &want, 8);
					dirty = true;
				}
			}
		}
		if (dirty)
			qcow2_cache_mark_dirty(&q->l2_cache, l2off);
	}
	if (mismatch)
		*mismatch = bad;
	return 0;
}

static int snapshot_find(struct qcow2 *q, const char *name)
{
	for (unsigned i = 0; i < q->n_snaps; i++)
		if (!strcmp(q->snaps[i].id, name))
			return (int)i;
	for (unsigned i = 0; i < q->n_snaps; i++)
		if (!strcmp(q->snaps[i].name, name))
			return (int)i;
	return -1;
}

static int snapshot_read_l1(struct qcow2 *q, const struct qcow2_snapshot *s, uint64_t **out)
{
	uint64_t *l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	int ret;

	if (!l1)
		return -ENOMEM;
	ret = qcow2_pread_meta(q, s->l1_offset, l1, s->l1_size * 8ULL);
	if (ret < 0) {
		free(l1);
		return ret;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		l1[i] = be64toh(l1[i]);
	*out = l1;
	return 0;
}

int qcow2_snapshot_create(struct qcow2 *q, const char *name)
{
	uint64_t cs = q->cluster_size, ncl = (q->l1_size * 8ULL + cs - 1) / cs, max_id = 0;
	struct qcow2_snapshot *s, *ns;
	struct timespec ts;
	uint64_t *be = NULL;
	int64_t l1off = 0;
	char idbuf[24];
	int ret;

	if (!name || !*name || strlen(name) > 65535)
		return -EINVAL;
	if (snapshot_find(q, name) >= 0) {
		log_err("%s: a snapshot named '%s' already exists", q->name, name);
		return -EEXIST;
	}
	if (q->n_snaps >= QCOW2_MAX_SNAPSHOTS)
		return -EFBIG;
	ret = qcow2_begin_write(q);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < q->n_snaps; i++) {
		uint64_t v = strtoull(q->snaps[i].id, NULL, 10);

		if (v > max_id)
			max_id = v;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)max_id + 1);

	/* References first: a crash before the table is written leaves leaks only. */
	ret = qcow2_tree_update_refs(q, q->l1, q->l1_size, 1);
	if (ret < 0)
		return ret;
	if (ncl) {
		be = calloc(ncl * cs / 8, 8);
		if (!be)
			return -ENOMEM;
		for (uint32_t i = 0; i < q->l1_size; i++)
			be[i] = htobe64(q->l1[i] & ~QCOW2_OFLAG_COPIED);
		l1off = qcow2_alloc_clusters(q, ncl);
		ret = l1off < 0 ? (int)l1off : qcow2_pwrite_meta(q, (uint64_t)l1off, be,
								  q->l1_size * 8ULL);
		free(be);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_refcount_flush(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0)
		return ret;
	ns = realloc(q->snaps, (q->n_snaps + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	q->snaps = ns;
	s = &q->snaps[q->n_snaps];
	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &ts);
	s->l1_offset = (uint64_t)l1off;
	s->l1_size = q->l1_size;
	s->id = strdup(idbuf);
	s->name = strdup(name);
	s->date_sec = (uint32_t)ts.tv_sec;
	s->date_nsec = (uint32_t)ts.tv_nsec;
	s->disk_size = q->h.size;
	s->extra_size = 24;
	s->extra = calloc(1, 24);
	if (!s->id || !s->name || !s->extra) {
		snap_free_one(s);
		return -ENOMEM;
	}
	uint64_t v = htobe64(q->h.size), icount = UINT64_MAX;

	memcpy(s->extra + 8, &v, 8);
	memcpy(s->extra + 16, &icount, 8);
	q->n_snaps++;
	ret = snapshot_write_table(q);
	if (ret < 0)
		return ret;
	ret = qcow2_fix_copied(q, true, NULL);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	return ret;
}

int qcow2_snapshot_apply(struct qcow2 *q, const char *name)
{
	int idx = snapshot_find(q, name), ret;
	struct qcow2_snapshot *s;
	uint64_t *sl1 = NULL, *old = NULL, *be = NULL;
	uint32_t old_size = q->l1_size;

	if (idx < 0) {
		log_err("%s: no snapshot '%s'", q->name, name);
		return -ENOENT;
	}
	s = &q->snaps[idx];
	ret = qcow2_begin_write(q);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = snapshot_read_l1(q, s, &sl1);
	if (ret < 0)
		return ret;
	ret = qcow2_tree_update_refs(q, sl1, s->l1_size, 1);
	if (ret == 0)
		ret = qcow2_refcount_flush(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret == 0 && s->l1_size > q->l1_size)
		ret = qcow2_grow_l1(q, s->l1_size);
	if (ret < 0)
		goto out;
	old = malloc(old_size * 8ULL + 8);
	be = calloc(q->l1_size + 1ULL, 8);
	if (!old || !be) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(old, q->l1, old_size * 8ULL);
	ret = qcow2_cache_flush(&q->l2_cache);
	if (ret < 0)
		goto out;
	qcow2_cache_drop_all(&q->l2_cache);
	for (uint32_t i = 0; i < q->l1_size; i++) {
		q->l1[i] = i < s->l1_size ? sl1[i] & ~QCOW2_OFLAG_COPIED : 0;
		be[i] = htobe64(q->l1[i]);
	}
	ret = qcow2_pwrite_meta(q, q->h.l1_table_offset, be, q->l1_size * 8ULL);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret == 0 && s->disk_size && s->disk_size != q->h.size) {
		q->h.size = s->disk_size;
		ret = qcow2_header_update(q);
		if (ret == 0)
			ret = qcow2_sync(q);
	}
	if (ret == 0)
		ret = qcow2_tree_update_refs(q, old, old_size, -1);
	if (ret == 0)
		ret = qcow2_fix_copied(q, true, NULL);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = qcow2_sync(q);
out:
	free(sl1);
	free(old);
	free(be);
	return ret;
}

int qcow2_snapshot_delete(struct qcow2 *q, const char *name)
{
	int idx = snapshot_find(q, name), ret;
	struct qcow2_snapshot s;
	uint64_t *sl1 = NULL;

	if (idx < 0) {
		log_err("%s: no snapshot '%s'", q->name, name);
		return -ENOENT;
	}
	ret = qcow2_begin_write(q);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = snapshot_read_l1(q, &q->snaps[idx], &sl1);
	if (ret < 0)
		return ret;
	s = q->snaps[idx];
	memmove(&q->snaps[idx], &q->snaps[idx + 1], (q->n_snaps - idx - 1) * sizeof(s));
	q->n_snaps--;
	/* Unlink first: a crash after this point leaves leaks only. */
	ret = snapshot_write_table(q);
	if (ret == 0)
		ret = qcow2_tree_update_refs(q, sl1, s.l1_size, -1);
	if (ret == 0 && s.l1_size)
		ret = qcow2_refcount_update(q, s.l1_offset, s.l1_size * 8ULL, -1);
	if (ret == 0)
		ret = qcow2_fix_copied(q, true, NULL);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	snap_free_one(&s);
	free(sl1);
	return ret;
}
