/* qcow2 cluster mapping: L1/L2 lookup, allocation and copy-on-write on write,
 * zero clusters, discard, compressed clusters (zlib/zstd) read and write
 * (qcow2 spec "Cluster mapping" and "Compressed Clusters Descriptor"). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "block/block.h"
#include "block/qcow2/qcow2.h"
#include "lib/log.h"

enum cluster_kind { K_UNALLOC, K_ZERO, K_DATA, K_COMP };

static int iov_slice(const struct iovec *src, int cnt, size_t off, size_t len,
		     struct iovec *dst, int max)
{
	int n = 0;

	for (int i = 0; i < cnt && len; i++) {
		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		size_t take = src[i].iov_len - off;

		if (take > len)
			take = len;
		if (n == max)
			return -E2BIG;
		dst[n].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return len ? -EINVAL : n;
}

/* Copy between iovec bytes [off, off+len) and buf (to_iov: buf -> iov). */
static void iov_copy(const struct iovec *iov, int cnt, size_t off, uint8_t *buf, size_t len,
		     bool to_iov)
{
	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - off;

		if (take > len)
			take = len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, buf, take);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + off, take);
		buf += take;
		len -= take;
		off = 0;
	}
}

static void iov_zero(const struct iovec *iov, int cnt, size_t off, size_t len)
{
	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - off;

		if (take > len)
			take = len;
		memset((uint8_t *)iov[i].iov_base + off, 0, take);
		len -= take;
		off = 0;
	}
}

static bool cluster_direct(const struct qcow2 *q)
{
	return q->file && q->file->direct;
}

/* Data transfer at host offset; reads past the end of the file give zeroes. */
static int cluster_host_io(struct qcow2 *q, bool wr, uint64_t host, const struct iovec *iov,
			   int iovcnt, size_t ioff, size_t len)
{
	int n = cluster_direct(q) ? -E2BIG :
		iov_slice(iov, iovcnt, ioff, len, q->iov_tmp, q->iov_tmp_max);
	int ret;

	if (n < 0) {
		for (size_t done = 0; done < len;) {
			size_t c = len - done > QCOW2_BOUNCE_SIZE ? QCOW2_BOUNCE_SIZE : len - done;

			if (wr) {
				iov_copy(iov, iovcnt, ioff + done, q->bounce, c, false);
				ret = qcow2_pwrite_meta(q, host + done, q->bounce, c);
			} else {
				ret = qcow2_pread_meta(q, host + done, q->bounce, c);
				if (ret == 0)
					iov_copy(iov, iovcnt, ioff + done, q->bounce, c, true);
			}
			if (ret < 0)
				return ret;
			done += c;
		}
		return 0;
	}
	struct iovec *v = q->iov_tmp;
	size_t done = 0;

	while (done < len) {
		ssize_t r = wr ? pwritev(q->fd, v, n, (off_t)(host + done)) :
				 preadv(q->fd, v, n, (off_t)(host + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			log_err("%s: %s of %zu bytes at 0x%llx failed: %s", q->name,
				wr ? "write" : "read", len, (unsigned long long)host, strerror(errno));
			return ret;
		}
		if (r == 0) {
			if (wr)
				return -EIO;
			iov_zero(iov, iovcnt, ioff + done, len - done);
			return 0;
		}
		done += (size_t)r;
		/* Advance the iovec past what was transferred. */
		while (n && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n && r) {
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int cluster_backing_read(struct qcow2 *q, uint64_t goff, const struct iovec *iov,
				int iovcnt, size_t ioff, size_t len)
{
	if (!q->bops) {
		iov_zero(iov, iovcnt, ioff, len);
		return 0;
	}
	for (size_t done = 0; done < len;) {
		size_t c = len - done > QCOW2_BOUNCE_SIZE ? QCOW2_BOUNCE_SIZE : len - done;
		uint64_t o = goff + done;
		int ret = 0;

		if (o >= q->backing_size) {
			memset(q->bounce, 0, c);
		} else {
			size_t in = c;

			if (q->backing_size - o < in)
				in = q->backing_size - o;
			ret = q->bops->read(q->backing, o, q->bounce, in);
			memset(q->bounce + in, 0, c - in);
		}
		if (ret < 0)
			return ret;
		iov_copy(iov, iovcnt, ioff + done, q->bounce, c, true);
		done += c;
	}
	return 0;
}

void qcow2_compressed_desc(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t nsec = ((e >> x) & ((1ULL << (q->cluster_bits - 8)) - 1)) + 1;

	*off = e & ((1ULL << x) - 1);
	*len = nsec * 512 - (*off & 511);
}

int qcow2_decompress(struct qcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out)
{
	size_t cs = q->cluster_size;

	if (q->h.compression_type == QCOW2_COMP_ZSTD) {
		ZSTD_inBuffer ib = { in, in_len, 0 };
		ZSTD_outBuffer ob = { out, cs, 0 };

		if (!q->zstd_dctx && !(q->zstd_dctx = ZSTD_createDCtx()))
			return -ENOMEM;
		ZSTD_DCtx_reset(q->zstd_dctx, ZSTD_reset_session_only);
		while (ob.pos < ob.size) {
			size_t r = ZSTD_decompressStream(q->zstd_dctx, &ob, &ib);

			if (ZSTD_isError(r) || (r == 0 && ob.pos < ob.size) ||
			    (ib.pos == ib.size && ob.pos < ob.size))
				return -EIO;
		}
		return 0;
	}
	z_stream *zs = q->zs;

	if (!zs) {
		zs = calloc(1, sizeof(*zs));
		if (!zs)
			return -ENOMEM;
		if (inflateInit2(zs, -12) != Z_OK) {
			free(zs);
			return -ENOMEM;
		}
		q->zs = zs;
	} else {
		inflateReset(zs);
	}
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)in_len;
	zs->next_out = out;
	zs->avail_out = (uInt)cs;
	int r = inflate(zs, Z_FINISH);

	if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || zs->avail_out)
		return -EIO;
	return 0;
}

/* Decompress the cluster of L2 entry e into q->dbuf (cached for the next read). */
static int cluster_load_compressed(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len;
	int ret;

	if (q->dbuf_entry == e)
		return 0;
	qcow2_compressed_desc(q, e, &off, &len);
	if (len > 2 * q->cluster_size)
		len = 2 * q->cluster_size;
	ret = qcow2_pread_meta(q, off, q->cbuf, len);
	if (ret < 0)
		return ret;
	ret = qcow2_decompress(q, q->cbuf, len, q->dbuf);
	if (ret < 0) {
		q->dbuf_entry = 0;
		log_err("%s: compressed cluster at 0x%llx does not decompress", q->name,
			(unsigned long long)off);
		return ret;
	}
	q->dbuf_entry = e;
	return 0;
}

static int cluster_check_l1e(struct qcow2 *q, unsigned l1i, uint64_t *l2off)
{
	uint64_t l1e = q->l1[l1i], off = l1e & QCOW2_L1E_OFFSET_MASK;

	if (off && (!qcow2_is_aligned(q, off) || off >= q->file_size)) {
		log_err("%s: L1 entry %u points at invalid L2 table offset 0x%llx", q->name, l1i,
			(unsigned long long)off);
		return -EIO;
	}
	*l2off = off;
	return 0;
}

/* The L2 entry for guest offset goff (0 when no L2 table). */
static int cluster_lookup(struct qcow2 *q, uint64_t goff, uint64_t *entry)
{
	uint64_t l1i = goff >> (q->cluster_bits + q->l2_bits), l2off, e;
	uint8_t *l2;
	int ret;

	*entry = 0;
	if (l1i >= q->l1_size)
		return 0;
	ret = cluster_check_l1e(q, (unsigned)l1i, &l2off);
	if (ret < 0 || !l2off)
		return ret;
	ret = qcow2_cache_get(&q->l2_cache, l2off, true, &l2);
	if (ret < 0)
		return ret;
	memcpy(&e, l2 + 8 * ((goff >> q->cluster_bits) & (q->l2_size - 1)), 8);
	*entry = be64toh(e);
	return 0;
}

static int cluster_classify(struct qcow2 *q, uint64_t e, uint64_t *host)
{
	*host = 0;
	if (e & QCOW2_OFLAG_COMPRESSED)
		return K_COMP;
	if ((e & QCOW2_OFLAG_ZERO) && q->h.version >= 3)
		return K_ZERO;
	*host = e & QCOW2_L2E_OFFSET_MASK;
	if (!*host)
		return K_UNALLOC;
	if (!qcow2_is_aligned(q, *host)) {
		log_err("%s: L2 entry 0x%llx points at an unaligned data cluster", q->name,
			(unsigned long long)e);
		return -EIO;
	}
	return K_DATA;
}

int qcow2_readv(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
	uint64_t cs = q->cluster_size;
	size_t done = 0;
	int ret;

	if (off > q->h.size || len > q->h.size - off)
		return -EINVAL;
	ret = qcow2_compress_drain(q);
	if (ret < 0)
		return ret;
	while (done < len) {
		uint64_t goff = off + done, e, host, nhost;
		size_t in = goff & (cs - 1), run = cs - in;
		int kind, nk;

		if (run > len - done)
			run = len - done;
		ret = cluster_lookup(q, goff, &e);
		if (ret < 0)
			return ret;
		kind = cluster_classify(q, e, &host);
		if (kind < 0)
			return kind;
		host += in;
		while (kind != K_COMP && done + run < len) {
			ret = cluster_lookup(q, goff + run, &e);
			if (ret < 0)
				return ret;
			nk = cluster_classify(q, e, &nhost);
			if (nk != kind || (kind == K_DATA && nhost != host + run))
				break;
			run += len - done - run > cs ? cs : len - done - run;
		}
		switch (kind) {
		case K_DATA:
			ret = cluster_host_io(q, false, host, iov, iovcnt, done, run);
			break;
		case K_ZERO:
			iov_zero(iov, iovcnt, done, run);
			ret = 0;
			break;
		case K_UNALLOC:
			ret = cluster_backing_read(q, goff, iov, iovcnt, done, run);
			break;
		default:
			ret = cluster_load_compressed(q, e);
			if (ret == 0)
				iov_copy(iov, iovcnt, done, q->dbuf + in, run, true);
		}
		if (ret < 0)
			return ret;
		done += run;
	}
	return 0;
}

static int cluster_write_l1_entry(struct qcow2 *q, unsigned l1i)
{
	uint64_t be = htobe64(q->l1[l1i]);

	return qcow2_pwrite_meta(q, q->h.l1_table_offset + 8ULL * l1i, &be, 8);
}

/* Host references held by an L2 entry: offset and length, len 0 when none. */
static void cluster_entry_ref(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_desc(q, e, off, len);
		return;
	}
	*off = e & QCOW2_L2E_OFFSET_MASK;
	*len = *off ? q->cluster_size : 0;
}

/* An L2 table we may modify: allocated, and not shared with a snapshot. */
int qcow2_l2_load(struct qcow2 *q, unsigned l1i, bool alloc, uint8_t **l2, uint64_t *l2_off)
{
	uint64_t old, cs = q->cluster_size;
	int64_t nw;
	uint8_t *slot;
	int ret;

	ret = cluster_check_l1e(q, l1i, &old);
	if (ret < 0)
		return ret;
	if (old && ((q->l1[l1i] & QCOW2_OFLAG_COPIED) || !alloc)) {
		*l2_off = old;
		return qcow2_cache_get(&q->l2_cache, old, true, l2);
	}
	if (!alloc) {
		*l2 = NULL;
		*l2_off = 0;
		return 0;
	}
	if (old) {
		ret = qcow2_cache_get(&q->l2_cache, old, true, &slot);
		if (ret < 0)
			return ret;
		memcpy(q->cow_buf, slot, cs);
		/* Data refcounts count L1 paths: the copy takes over this table's path,
		 * so they stay; only COPIED goes (the clusters remain shared). */
		for (uint64_t i = 0; i < q->l2_size; i++) {
			uint64_t e;

			memcpy(&e, q->cow_buf + 8 * i, 8);
			e = be64toh(e);
			e = htobe64(e & ~QCOW2_OFLAG_COPIED);
			memcpy(q->cow_buf + 8 * i, &e, 8);
		}
	} else {
		memset(q->cow_buf, 0, cs);
	}
	nw = qcow2_alloc_clusters(q, 1);
	if (nw < 0)
		return (int)nw;
	ret = qcow2_cache_get(&q->l2_cache, (uint64_t)nw, false, &slot);
	if (ret < 0)
		return ret;
	memcpy(slot, q->cow_buf, cs);
	/* refcounts, then the table, then the L1 entry pointing at it */
	ret = qcow2_refcount_flush(q);
	if (ret == 0 && !q->lazy)
		ret = qcow2_sync(q);
	if (ret == 0)
		ret = qcow2_pwrite_meta(q, (uint64_t)nw, slot, cs);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0)
		return ret;
	q->l1[l1i] = (uint64_t)nw | QCOW2_OFLAG_COPIED;
	ret = cluster_write_l1_entry(q, l1i);
	if (ret == 0 && old)
		ret = qcow2_free_later(q, old, cs);
	*l2 = slot;
	*l2_off = (uint64_t)nw;
	return ret;
}

/* The guest-visible contents of one whole cluster under entry e, into buf. */
static int cluster_read_old(struct qcow2 *q, uint64_t e, uint64_t goff, uint8_t *buf)
{
	struct iovec v = { buf, q->cluster_size };
	uint64_t host;
	int kind = cluster_classify(q, e, &host);

	switch (kind) {
	case K_DATA:
		return cluster_host_io(q, false, host, &v, 1, 0, q->cluster_size);
	case K_ZERO:
		memset(buf, 0, q->cluster_size);
		return 0;
	case K_UNALLOC:
		return cluster_backing_read(q, goff, &v, 1, 0, q->cluster_size);
	case K_COMP: {
		int ret = cluster_load_compressed(q, e);

		if (ret == 0)
			memcpy(buf, q->dbuf, q->cluster_size);
		return ret;
	}
	default:
		return kind;
	}
}

static bool cluster_reads_zero(struct qcow2 *q, uint64_t e)
{
	uint64_t host;
	int kind = cluster_classify(q, e, &host);

	return kind == K_ZERO || (kind == K_UNALLOC && !q->bops);
}

static bool cluster_in_place(const struct qcow2 *q, uint64_t e)
{
	return (e & QCOW2_OFLAG_COPIED) && !(e & QCOW2_OFLAG_COMPRESSED) &&
	       !(e & QCOW2_OFLAG_ZERO) && (e & QCOW2_L2E_OFFSET_MASK) &&
	       qcow2_is_aligned(q, e & QCOW2_L2E_OFFSET_MASK);
}

static uint64_t l2_get(const uint8_t *l2, uint64_t i)
{
	uint64_t e;

	memcpy(&e, l2 + 8 * i, 8);
	return be64toh(e);
}

static void l2_set(uint8_t *l2, uint64_t i, uint64_t e)
{
	e = htobe64(e);
	memcpy(l2 + 8 * i, &e, 8);
}

static int cluster_drop_entry(struct qcow2 *q, uint64_t e)
{
	uint64_t ro, rl;

	cluster_entry_ref(q, e, &ro, &rl);
	if (q->dbuf_entry == e)
		q->dbuf_entry = 0;
	return rl ? qcow2_free_later(q, ro, rl) : 0;
}

int qcow2_writev(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len)
{
	uint64_t cs = q->cluster_size;
	size_t done = 0;
	int ret;

	if (off > q->h.size || len > q->h.size - off)
		return -EINVAL;
	ret = qcow2_compress_drain(q);
	if (ret == 0)
		ret = qcow2_begin_write(q);
	if (ret < 0)
		return ret;
	while (done < len) {
		uint64_t goff = off + done, l2off, e, l2i, l1i;
		size_t in = goff & (cs - 1), run = cs - in;
		uint8_t *l2;

		if (run > len - done)
			run = len - done;
		l1i = goff >> (q->cluster_bits + q->l2_bits);
		l2i = (goff >> q->cluster_bits) & (q->l2_size - 1);
		ret = qcow2_l2_load(q, (unsigned)l1i, true, &l2, &l2off);
		if (ret < 0)
			return ret;
		e = l2_get(l2, l2i);
		if (cluster_in_place(q, e)) {
			uint64_t base = e & QCOW2_L2E_OFFSET_MASK, host = base + in;

			while (done + run < len) {
				uint64_t ni = l2i + (in + run) / cs, ne;

				if (ni >= q->l2_size)
					break;
				ne = l2_get(l2, ni);
				if (!cluster_in_place(q, ne) ||
				    (ne & QCOW2_L2E_OFFSET_MASK) != base + in + run)
					break;
				run += len - done - run > cs ? cs : len - done - run;
			}
			ret = cluster_host_io(q, true, host, iov, iovcnt, done, run);
			if (ret < 0)
				return ret;
			done += run;
			continue;
		}
		/* Allocate m contiguous clusters for the run of clusters needing it. */
		uint64_t m = 1;
		size_t cover = run;

		while (done + cover < len && l2i + m < q->l2_size &&
		       !cluster_in_place(q, l2_get(l2, l2i + m)) && m < 4096) {
			cover += len - done - cover > cs ? cs : len - done - cover;
			m++;
		}
		/* Old contents of the partial head and tail clusters. */
		size_t tail_in = (in + cover) & (cs - 1);
		uint8_t *head = q->cow_buf, *tail = q->cow_buf + cs;
		uint64_t te = l2_get(l2, l2i + m - 1), old_end = q->file_size;
		bool head_zero = in && cluster_reads_zero(q, e);
		bool tail_zero = tail_in && cluster_reads_zero(q, te);

		if (in && !head_zero) {
			ret = cluster_read_old(q, e, goff - in, head);
			if (ret < 0)
				return ret;
		}
		if (tail_in && !tail_zero) {
			if (m == 1 && in && !head_zero) {
				tail = head;
			} else {
				ret = cluster_read_old(q, te, goff - in + (m - 1) * cs, tail);
				if (ret < 0)
					return ret;
			}
		}
		int64_t host = qcow2_alloc_clusters(q, m);

		if (host < 0)
			return (int)host;
		/* The allocation may have evicted our L2 table from the cache. */
		ret = qcow2_l2_load(q, (unsigned)l1i, true, &l2, &l2off);
		if (ret < 0)
			return ret;
		/* Past the old end of the file the clusters are holes: zero parts of
		 * the copy need no writing. Everything else goes in one pwritev. */
		bool fresh = (uint64_t)host >= old_end;
		struct iovec *cv = q->iov_cow;
		uint64_t wstart = in, wend = in + cover;
		int n = 0, n2;

		if (in && !(head_zero && fresh)) {
			cv[n].iov_base = head_zero ? q->zero_buf : head;
			cv[n++].iov_len = in;
			wstart = 0;
		}
		n2 = iov_slice(iov, iovcnt, done, cover, cv + n, q->iov_tmp_max - 2);
		if (n2 < 0) {
			/* Too many segments for one call: head, data, tail apart. */
			if (n)
				ret = cluster_host_io(q, true, (uint64_t)host, cv, 1, 0, in);
			if (ret == 0)
				ret = cluster_host_io(q, true, (uint64_t)host + in, iov, iovcnt,
						      done, cover);
			n = 0;
			wstart = wend = in + cover;
		} else {
			n += n2;
		}
		if (ret == 0 && tail_in && !(tail_zero && fresh)) {
			cv[n].iov_base = (tail_zero ? q->zero_buf : tail) + tail_in;
			cv[n++].iov_len = cs - tail_in;
			wend = m * cs;
		}
		if (ret == 0 && n)
			ret = cluster_host_io(q, true, (uint64_t)host + wstart, cv, n, 0,
					      wend - wstart);
		if (ret < 0)
			return ret;
		for (uint64_t k = 0; k < m; k++) {
			uint64_t old = l2_get(l2, l2i + k);

			l2_set(l2, l2i + k, ((uint64_t)host + k * cs) | QCOW2_OFLAG_COPIED);
			ret = cluster_drop_entry(q, old);
			if (ret < 0)
				return ret;
		}
		qcow2_cache_mark_dirty(&q->l2_cache, l2off);
		done += cover;
	}
	return qcow2_process_frees(q);
}

int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero)
{
	uint64_t cs = q->cluster_size, end = off + len;
	bool backing = q->bops != NULL;
	int ret;

	if (off > q->h.size || len > q->h.size - off)
		return -EINVAL;
	ret = qcow2_compress_drain(q);
	if (ret == 0)
		ret = qcow2_begin_write(q);
	if (ret < 0)
		return ret;
	while (off < end) {
		uint64_t cend = (off & ~(cs - 1)) + cs, n = (cend < end ? cend : end) - off;
		uint64_t l1i = off >> (q->cluster_bits + q->l2_bits), e, target, l2off;
		uint8_t *l2;

		if (n < cs && off + n < q->h.size) {
			/* Partial cluster: discard may ignore it, zeroing must write. */
			if (zero) {
				struct iovec zv = { q->zero_buf, n };

				ret = qcow2_writev(q, off, &zv, 1, n);
				if (ret < 0)
					return ret;
			}
			off += n;
			continue;
		}
		if (q->h.version < 3 && backing) {
			if (zero) {
				struct iovec zv = { q->zero_buf, n };

				ret = qcow2_writev(q, off, &zv, 1, n);
				if (ret < 0)
					return ret;
			}
			off += n;
			continue;
		}
		target = backing ? QCOW2_OFLAG_ZERO : 0;
		ret = cluster_lookup(q, off, &e);
		if (ret < 0)
			return ret;
		if (e == target || (!backing && (e & QCOW2_OFLAG_ZERO) && q->h.version >= 3 &&
				    !(e & QCOW2_L2E_OFFSET_MASK))) {
			off += n;
			continue;
		}
		ret = qcow2_l2_load(q, (unsigned)l1i, true, &l2, &l2off);
		if (ret < 0)
			return ret;
		uint64_t l2i = (off >> q->cluster_bits) & (q->l2_size - 1);

		e = l2_get(l2, l2i);
		l2_set(l2, l2i, target);
		qcow2_cache_mark_dirty(&q->l2_cache, l2off);
		ret = cluster_drop_entry(q, e);
		if (ret < 0)
			return ret;
		off += n;
	}
	return qcow2_process_frees(q);
}

/* Store one cluster: compressed when that saves space, else as normal data. */
int qcow2_place_compressed(struct qcow2 *q, uint64_t off, const void *raw, const uint8_t *comp,
			   size_t clen)
{
	uint64_t cs = q->cluster_size, l1i, l2i, l2off, e;
	uint8_t *l2;
	int ret;

	if (!comp || clen == 0 || clen >= cs) {
		struct iovec v = { (void *)raw, cs };

		return qcow2_writev(q, off, &v, 1, cs);
	}
	l1i = off >> (q->cluster_bits + q->l2_bits);
	l2i = (off >> q->cluster_bits) & (q->l2_size - 1);
	ret = qcow2_l2_load(q, (unsigned)l1i, true, &l2, &l2off);
	if (ret < 0)
		return ret;
	int64_t host = qcow2_alloc_bytes(q, clen);

	if (host < 0)
		return (int)host;
	ret = qcow2_pwrite_meta(q, (uint64_t)host, comp, clen);
	if (ret < 0)
		return ret;
	ret = qcow2_l2_load(q, (unsigned)l1i, true, &l2, &l2off);
	if (ret < 0)
		return ret;
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t nsec = (qcow2_align_up((uint64_t)host + clen, 512) - ((uint64_t)host & ~511ULL)) / 512;

	e = l2_get(l2, l2i);
	l2_set(l2, l2i, QCOW2_OFLAG_COMPRESSED | ((nsec - 1) << x) | (uint64_t)host);
	qcow2_cache_mark_dirty(&q->l2_cache, l2off);
	ret = cluster_drop_entry(q, e);
	if (ret < 0)
		return ret;
	return qcow2_process_frees(q);
}

int qcow2_flush_meta(struct qcow2 *q)
{
	int ret = qcow2_compress_drain(q);

	if (ret == 0)
		ret = qcow2_process_frees(q);

	if (ret == 0)
		ret = qcow2_cache_flush(&q->l2_cache);
	if (ret == 0)
		ret = qcow2_refcount_flush(q);
	return ret;
}

int qcow2_block_status(struct qcow2 *q, uint64_t off, uint64_t *len, int *kind_out,
		       uint64_t *map)
{
	uint64_t cs = q->cluster_size, e, host, nhost, run;
	int kind, nk, ret;

	ret = qcow2_compress_drain(q);
	if (ret < 0)
		return ret;
	ret = cluster_lookup(q, off, &e);
	if (ret < 0)
		return ret;
	kind = cluster_classify(q, e, &host);
	if (kind < 0)
		return kind;
	run = cs - (off & (cs - 1));
	host += off & (cs - 1);
	while (run < *len) {
		ret = cluster_lookup(q, off + run, &e);
		if (ret < 0)
			return ret;
		nk = cluster_classify(q, e, &nhost);
		if (nk != kind || (kind == K_DATA && nhost != host + run))
			break;
		run += cs;
	}
	if (run > *len)
		run = *len;
	*len = run;
	*kind_out = kind;
	*map = host;
	return 0;
}

int qcow2_grow_l1(struct qcow2 *q, uint64_t min_size)
{
	uint64_t cs = q->cluster_size, bytes = min_size * 8, ncl = (bytes + cs - 1) / cs;
	uint64_t old_off = q->h.l1_table_offset, old_size = q->l1_size;
	uint64_t *nl1, *be;
	int64_t nw;
	int ret;

	if (min_size <= q->l1_size)
		return 0;
	if (bytes > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	nl1 = calloc(ncl * cs / 8, 8);
	be = calloc(ncl * cs / 8, 8);
	if (!nl1 || !be) {
		free(nl1);
		free(be);
		return -ENOMEM;
	}
	memcpy(nl1, q->l1, old_size * 8);
	for (uint64_t i = 0; i < min_size; i++)
		be[i] = htobe64(nl1[i]);
	nw = qcow2_alloc_clusters(q, ncl);
	ret = nw < 0 ? (int)nw : qcow2_refcount_flush(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret == 0)
		ret = qcow2_pwrite_meta(q, (uint64_t)nw, be, ncl * cs);
	if (ret == 0)
		ret = qcow2_sync(q);
	free(be);
	if (ret < 0) {
		free(nl1);
		return ret;
	}
	q->h.l1_table_offset = (uint64_t)nw;
	q->h.l1_size = (uint32_t)min_size;
	ret = qcow2_header_update(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	if (ret < 0) {
		q->h.l1_table_offset = old_off;
		q->h.l1_size = (uint32_t)old_size;
		free(nl1);
		return ret;
	}
	free(q->l1);
	q->l1 = nl1;
	q->l1_size = (uint32_t)min_size;
	if (old_size)
		ret = qcow2_refcount_update(q, old_off, old_size * 8, -1);
	return ret;
}
