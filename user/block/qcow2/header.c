/* qcow2 header: parse, validate and write the v2/v3 header and its extensions
 * (qcow2 spec "Header" and "Header extensions"); unknown extensions kept byte for byte. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static bool header_range_ok(uint64_t off, uint64_t len, uint64_t file_size)
{
	return off + len >= off && off + len <= file_size;
}

static int header_parse_exts(struct qcow2 *q, const uint8_t *buf, size_t len)
{
	size_t pos = q->h.version >= 3 ? q->h.header_length : QCOW2_V2_HDR_LEN;
	size_t end = len;

	/* The backing file name, if any, ends the extension area. */
	if (q->h.backing_file_offset && q->h.backing_file_offset < end)
		end = q->h.backing_file_offset;
	while (pos + 8 <= end) {
		uint32_t type = rd32(buf + pos), elen = rd32(buf + pos + 4);
		size_t padded = ((size_t)elen + 7) & ~(size_t)7;

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (elen > end - pos || padded > end - pos) {
			log_err("%s: header extension 0x%08x length %u runs past the header cluster",
				q->name, type, elen);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_CRYPTO || type == QCOW2_EXT_DATAFILE) {
			log_err("%s: encrypted images and external data files are not supported",
				q->name);
			return -ENOTSUP;
		}
		if (type == QCOW2_EXT_BACKING_FMT) {
			free(q->backing_fmt);
			q->backing_fmt = strndup((const char *)buf + pos, elen);
			if (!q->backing_fmt)
				return -ENOMEM;
		} else {
			struct qcow2_ext *e;

			if (q->n_exts >= QCOW2_MAX_EXTS) {
				log_err("%s: more than %d header extensions", q->name,
					QCOW2_MAX_EXTS);
				return -EINVAL;
			}
			e = realloc(q->exts, (q->n_exts + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			q->exts = e;
			e = &q->exts[q->n_exts];
			e->type = type;
			e->len = elen;
			e->data = malloc(elen ? elen : 1);
			if (!e->data)
				return -ENOMEM;
			memcpy(e->data, buf + pos, elen);
			q->n_exts++;
		}
		pos += padded;
	}
	return 0;
}

/* Name an incompatible feature from the image's own feature table if it has one. */
static void header_report_features(struct qcow2 *q, uint64_t unknown)
{
	for (int bit = 0; bit < 64; bit++) {
		const char *name = NULL;
		int name_len = 0;

		if (!(unknown & (1ULL << bit)))
			continue;
		for (unsigned i = 0; i < q->n_exts; i++) {
			struct qcow2_ext *e = &q->exts[i];

			if (e->type != QCOW2_EXT_FEATURES)
				continue;
			for (uint32_t p = 0; p + 48 <= e->len; p += 48) {
				if (e->data[p] == 0 && e->data[p + 1] == bit) {
					name = (const char *)e->data + p + 2;
					name_len = (int)strnlen(name, 46);
				}
			}
		}
		log_err("%s: unsupported incompatible feature bit %d%s%.*s", q->name, bit,
			name ? ": " : "", name_len, name ? name : "");
	}
}

int qcow2_header_parse(struct qcow2 *q, const uint8_t *buf, size_t len, uint64_t file_size)
{
	struct qcow2_header *h = &q->h;
	uint64_t cs, l2e, need_l1;
	uint32_t min_len;

	if (len < QCOW2_V2_HDR_LEN || rd32(buf) != QCOW2_MAGIC) {
		log_err("%s: not a qcow2 image", q->name);
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	h->version = rd32(buf + 4);
	h->backing_file_offset = rd64(buf + 8);
	h->backing_file_size = rd32(buf + 16);
	h->cluster_bits = rd32(buf + 20);
	h->size = rd64(buf + 24);
	h->crypt_method = rd32(buf + 32);
	h->l1_size = rd32(buf + 36);
	h->l1_table_offset = rd64(buf + 40);
	h->refcount_table_offset = rd64(buf + 48);
	h->refcount_table_clusters = rd32(buf + 56);
	h->nb_snapshots = rd32(buf + 60);
	h->snapshots_offset = rd64(buf + 64);
	if (h->version != 2 && h->version != 3) {
		log_err("%s: qcow2 version %u is not supported", q->name, h->version);
		return -ENOTSUP;
	}
	if (h->version == 2) {
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HDR_LEN;
	} else {
		if (len < QCOW2_V3_HDR_LEN) {
			log_err("%s: truncated v3 header", q->name);
			return -EINVAL;
		}
		h->incompatible_features = rd64(buf + 72);
		h->compatible_features = rd64(buf + 80);
		h->autoclear_features = rd64(buf + 88);
		h->refcount_order = rd32(buf + 96);
		h->header_length = rd32(buf + 100);
	}
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		log_err("%s: cluster_bits %u outside %d..%d", q->name, h->cluster_bits,
			QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		return -EINVAL;
	}
	cs = 1ULL << h->cluster_bits;
	min_len = h->version == 2 ? QCOW2_V2_HDR_LEN : QCOW2_V3_HDR_LEN;
	if (h->header_length < min_len || h->header_length > cs || h->header_length > len) {
		log_err("%s: header_length %u is invalid", q->name, h->header_length);
		return -EINVAL;
	}
	if (h->header_length > QCOW2_V3_HDR_LEN)
		h->compression_type = buf[104];
	if (h->refcount_order > 6) {
		log_err("%s: refcount_order %u is greater than 6", q->name, h->refcount_order);
		return -EINVAL;
	}
	if (h->crypt_method) {
		log_err("%s: encrypted qcow2 images are not supported", q->name);
		return -ENOTSUP;
	}
	q->cluster_bits = h->cluster_bits;
	q->cluster_size = cs;
	q->l2_bits = h->cluster_bits - 3;
	q->l2_size = cs / 8;
	q->refcount_bits = 1u << h->refcount_order;
	q->refblock_bits = h->cluster_bits + 3 - h->refcount_order;
	q->refcount_max = q->refcount_bits == 64 ? UINT64_MAX : (1ULL << q->refcount_bits) - 1;

	/* Extensions first: the feature table names the bits we refuse. */
	if (h->backing_file_offset) {
		if (h->backing_file_size == 0 || h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
		    h->backing_file_offset >= len ||
		    h->backing_file_size > len - h->backing_file_offset) {
			log_err("%s: backing file name (offset %llu, %u bytes) is outside the header cluster",
				q->name, (unsigned long long)h->backing_file_offset,
				h->backing_file_size);
			return -EINVAL;
		}
	}
	int ret = header_parse_exts(q, buf, len);

	if (ret < 0)
		return ret;
	if (h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN) {
		header_report_features(q, h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN);
		return -ENOTSUP;
	}
	if (h->compression_type > QCOW2_COMP_ZSTD) {
		log_err("%s: unknown compression type %u", q->name, h->compression_type);
		return -ENOTSUP;
	}
	if (!(h->incompatible_features & QCOW2_INCOMPAT_COMPRESS) &&
	    h->compression_type != QCOW2_COMP_ZLIB) {
		log_err("%s: compression type %u without its incompatible feature bit", q->name,
			h->compression_type);
		return -EINVAL;
	}
	if (h->backing_file_offset) {
		q->backing_file = strndup((const char *)buf + h->backing_file_offset,
					  h->backing_file_size);
		if (!q->backing_file)
			return -ENOMEM;
	}

	if (h->size > QCOW2_MAX_SIZE) {
		log_err("%s: virtual size %llu is too large", q->name,
			(unsigned long long)h->size);
		return -EINVAL;
	}
	l2e = cs * q->l2_size;
	need_l1 = (h->size + l2e - 1) / l2e;
	if (h->l1_size < need_l1 || (uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		log_err("%s: L1 table size %u does not fit virtual size %llu", q->name,
			h->l1_size, (unsigned long long)h->size);
		return -EINVAL;
	}
	if (h->l1_size && (!h->l1_table_offset || (h->l1_table_offset & (cs - 1)) ||
			   !header_range_ok(h->l1_table_offset, h->l1_size * 8ULL, file_size))) {
		log_err("%s: L1 table offset 0x%llx is invalid", q->name,
			(unsigned long long)h->l1_table_offset);
		return -EINVAL;
	}
	if (!h->refcount_table_offset || (h->refcount_table_offset & (cs - 1)) ||
	    h->refcount_table_clusters == 0 ||
	    (uint64_t)h->refcount_table_clusters * cs > QCOW2_MAX_REFTABLE_BYTES ||
	    !header_range_ok(h->refcount_table_offset, h->refcount_table_clusters * cs,
			     file_size)) {
		log_err("%s: refcount table (offset 0x%llx, %u clusters) is invalid", q->name,
			(unsigned long long)h->refcount_table_offset,
			h->refcount_table_clusters);
		return -EINVAL;
	}
	if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS ||
	    (h->nb_snapshots && (!h->snapshots_offset || (h->snapshots_offset & (cs - 1)) ||
				 h->snapshots_offset >= file_size))) {
		log_err("%s: snapshot table (%u entries at 0x%llx) is invalid", q->name,
			h->nb_snapshots, (unsigned long long)h->snapshots_offset);
		return -EINVAL;
	}
	q->lazy = h->compatible_features & QCOW2_COMPAT_LAZY;
	return 0;
}

/* Lay out header, extensions and backing file name into cluster 0. */
static int header_build(struct qcow2 *q, uint8_t *buf, size_t cap, size_t *out_len)
{
	struct qcow2_header *h = &q->h;
	size_t hlen = h->version >= 3 ? h->header_length : QCOW2_V2_HDR_LEN;
	size_t pos, blen = q->backing_file ? strlen(q->backing_file) : 0;

	if (hlen > cap)
		return -EINVAL;
	memset(buf, 0, cap);
	wr32(buf, QCOW2_MAGIC);
	wr32(buf + 4, h->version);
	wr32(buf + 20, h->cluster_bits);
	wr64(buf + 24, h->size);
	wr32(buf + 32, h->crypt_method);
	wr32(buf + 36, h->l1_size);
	wr64(buf + 40, h->l1_table_offset);
	wr64(buf + 48, h->refcount_table_offset);
	wr32(buf + 56, h->refcount_table_clusters);
	wr32(buf + 60, h->nb_snapshots);
	wr64(buf + 64, h->snapshots_offset);
	if (h->version >= 3) {
		wr64(buf + 72, h->incompatible_features);
		wr64(buf + 80, h->compatible_features);
		wr64(buf + 88, h->autoclear_features);
		wr32(buf + 96, h->refcount_order);
		wr32(buf + 100, h->header_length);
		if (h->header_length > QCOW2_V3_HDR_LEN)
			buf[104] = h->compression_type;
	}
	pos = hlen;
	if (q->backing_fmt) {
		size_t fl = strlen(q->backing_fmt);

		if (pos + 8 + ((fl + 7) & ~7ul) > cap)
			return -ENOSPC;
		wr32(buf + pos, QCOW2_EXT_BACKING_FMT);
		wr32(buf + pos + 4, fl);
		memcpy(buf + pos + 8, q->backing_fmt, fl);
		pos += 8 + ((fl + 7) & ~7ul);
	}
	for (unsigned i = 0; i < q->n_exts; i++) {
		struct qcow2_ext *e = &q->exts[i];
		size_t padded = ((size_t)e->len + 7) & ~(size_t)7;

		if (pos + 8 + padded > cap)
			return -ENOSPC;
		wr32(buf + pos, e->type);
		wr32(buf + pos + 4, e->len);
		memcpy(buf + pos + 8, e->data, e->len);
		pos += 8 + padded;
	}
	if (h->version >= 3 || blen) {
		if (pos + 8 > cap)
			return -ENOSPC;
		pos += 8;	/* end of extensions */
	}
	if (blen) {
		if (blen > QCOW2_MAX_BACKING_NAME || pos + blen > cap)
			return -ENOSPC;
		memcpy(buf + pos, q->backing_file, blen);
		h->backing_file_offset = pos;
		h->backing_file_size = blen;
		pos += blen;
	} else {
		h->backing_file_offset = 0;
		h->backing_file_size = 0;
	}
	wr64(buf + 8, h->backing_file_offset);
	wr32(buf + 16, h->backing_file_size);
	*out_len = pos;
	return 0;
}

/* Rewrite the whole header cluster (used on create and when extensions change). */
int qcow2_header_write(struct qcow2 *q)
{
	uint8_t *buf = calloc(1, q->cluster_size);
	size_t len;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = header_build(q, buf, q->cluster_size, &len);
	if (ret == 0)
		ret = qcow2_pwrite_meta(q, 0, buf, len);
	free(buf);
	return ret;
}

/* Rewrite only the fixed fields (one sector, so the update is atomic on disk). */
int qcow2_header_update(struct qcow2 *q)
{
	uint8_t *buf = calloc(1, q->cluster_size);
	size_t len;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = header_build(q, buf, q->cluster_size, &len);
	if (ret == 0)
		ret = qcow2_pwrite_meta(q, 0, buf, q->h.version >= 3 ?
					q->h.header_length : QCOW2_V2_HDR_LEN);
	free(buf);
	return ret;
}

int qcow2_header_set_backing(struct qcow2 *q, const char *file, const char *fmt)
{
	free(q->backing_file);
	free(q->backing_fmt);
	q->backing_file = file ? strdup(file) : NULL;
	q->backing_fmt = fmt ? strdup(fmt) : NULL;
	if ((file && !q->backing_file) || (fmt && !q->backing_fmt))
		return -ENOMEM;
	return 0;
}

void qcow2_header_free(struct qcow2 *q)
{
	for (unsigned i = 0; i < q->n_exts; i++)
		free(q->exts[i].data);
	free(q->exts);
	q->exts = NULL;
	q->n_exts = 0;
	free(q->backing_file);
	free(q->backing_fmt);
	q->backing_file = NULL;
	q->backing_fmt = NULL;
}
