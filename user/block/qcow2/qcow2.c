/* qcow2 driver glue: open/close of the image state and the block_driver ops
 * (block/block.h) mapped onto the qcow2 internals (qcow2 spec, issue 3). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "block/block.h"
#include "block/qcow2/qcow2.h"
#include "lib/log.h"

int qcow2_pread_meta(struct qcow2 *q, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	if (q->file)
		return block_file_pread(q->file, buf, len, off);
	while (done < len) {
		ssize_t r = pread(q->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			memset((uint8_t *)buf + done, 0, len - done);
			break;
		}
		done += (size_t)r;
	}
	return 0;
}

int qcow2_pwrite_meta(struct qcow2 *q, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;

	if (!q->writable && q->h.version)
		return -EROFS;
	if (q->file)
		return block_file_pwrite(q->file, buf, len, off);
	while (done < len) {
		ssize_t r = pwrite(q->fd, (const uint8_t *)buf + done, len - done,
				   (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)r;
	}
	return 0;
}

int qcow2_sync(struct qcow2 *q)
{
	if (q->no_sync)
		return 0;
	if (q->file)
		return block_file_flush(q->file);
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

static int qcow2_load_l1(struct qcow2 *q)
{
	q->l1_size = q->h.l1_size;
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	if (!q->l1)
		return -ENOMEM;
	int ret = qcow2_pread_meta(q, q->h.l1_table_offset, q->l1, q->l1_size * 8ULL);

	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = be64toh(q->l1[i]);
	return 0;
}

static void qcow2_free_state(struct qcow2 *q)
{
	qcow2_compress_stop(q);
	qcow2_snapshot_free_all(q);
	qcow2_cache_destroy(&q->l2_cache);
	qcow2_cache_destroy(&q->rb_cache);
	qcow2_header_free(q);
	if (q->zs) {
		inflateEnd(q->zs);
		free(q->zs);
	}
	ZSTD_freeDCtx(q->zstd_dctx);
	ZSTD_freeCCtx(q->zstd_cctx);
	if (q->zs_def) {
		deflateEnd(q->zs_def);
		free(q->zs_def);
	}
	if (q->bops && q->bops->close)
		q->bops->close(q->backing);
	free(q->l1);
	free(q->reftable);
	free(q->frees);
	free(q->cbuf);
	free(q->cow_buf);
	free(q->dbuf);
	free(q->bounce);
	free(q->zero_buf);
	free(q->iov_tmp);
	free(q->iov_cow);
	free(q);
}

static int qcow2_open_state(struct qcow2 *q, unsigned flags)
{
	uint8_t *hdr;
	struct stat st;
	unsigned cb;
	int ret;

	if (q->file) {
		int64_t sz = block_file_size(q->file);

		if (sz < 0)
			return (int)sz;
		q->file_size = (uint64_t)sz;
	} else {
		if (fstat(q->fd, &st) < 0)
			return -errno;
		q->file_size = (uint64_t)st.st_size;
	}
	hdr = calloc(1, 1u << QCOW2_MAX_CLUSTER_BITS);
	if (!hdr)
		return -ENOMEM;
	ret = qcow2_pread_meta(q, 0, hdr, QCOW2_HDR_LEN);
	cb = ((unsigned)hdr[20] << 24) | (hdr[21] << 16) | (hdr[22] << 8) | hdr[23];
	if (cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS)
		cb = QCOW2_MIN_CLUSTER_BITS;	/* the parser reports it */
	if (ret == 0)
		ret = qcow2_pread_meta(q, 0, hdr, 1u << cb);
	if (ret == 0)
		ret = qcow2_header_parse(q, hdr, 1u << cb, q->file_size);
	free(hdr);
	if (ret < 0)
		return ret;
	if (q->writable && (q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
		log_err("%s: image is marked corrupt; open it read-only or repair it", q->name);
		return -EIO;
	}
	size_t cs = q->cluster_size;

	q->cow_buf = malloc(2 * cs);
	q->cbuf = malloc(2 * cs);
	q->dbuf = malloc(cs);
	q->bounce = malloc(QCOW2_BOUNCE_SIZE);
	q->zero_buf = calloc(1, cs);
	q->iov_tmp_max = IOV_MAX + 4;
	q->iov_tmp = calloc(q->iov_tmp_max, sizeof(*q->iov_tmp));
	q->iov_cow = calloc(q->iov_tmp_max, sizeof(*q->iov_cow));
	if (!q->cow_buf || !q->cbuf || !q->dbuf || !q->bounce || !q->zero_buf || !q->iov_tmp ||
	    !q->iov_cow)
		return -ENOMEM;
	ret = qcow2_load_l1(q);
	if (ret < 0)
		return ret;
	unsigned slots = (32u << 20) >> q->cluster_bits;

	if (slots > q->l1_size + 16)
		slots = q->l1_size + 16;
	ret = qcow2_cache_init(&q->l2_cache, q, "L2", slots);
	if (ret == 0)
		ret = qcow2_refcount_init(q);
	if (ret == 0)
		ret = qcow2_snapshot_load(q);
	if (ret < 0)
		return ret;
	if (q->writable && (q->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
	    !(flags & QCOW2_OPEN_NO_REPAIR)) {
		struct qcow2_check_result res;

		log_info("%s: image was not closed cleanly, repairing refcounts", q->name);
		ret = qcow2_check(q, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &res);
		if (ret < 0)
			return ret;
		if (res.corruptions) {
			log_err("%s: %llu refcount errors remain after repair", q->name,
				(unsigned long long)res.corruptions);
			return -EIO;
		}
		q->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
		ret = qcow2_header_update(q);
		if (ret == 0)
			ret = qcow2_sync(q);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int qcow2_open_fd(struct qcow2 **out, int fd, const char *name, unsigned flags)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->fd = fd;
	q->writable = flags & QCOW2_OPEN_RW;
	q->no_sync = flags & QCOW2_OPEN_NO_SYNC;
	ret = qcow2_open_state(q, flags);
	if (ret < 0) {
		qcow2_free_state(q);
		return ret;
	}
	*out = q;
	return 0;
}

void qcow2_attach_backing(struct qcow2 *q, const struct qcow2_backing_ops *ops, void *opaque,
			  uint64_t size)
{
	q->bops = ops;
	q->backing = opaque;
	q->backing_size = size;
}

/* Bits of the header that change on the first modification of the image. */
int qcow2_begin_write(struct qcow2 *q)
{
	int ret;

	if (q->meta_dirty)
		return 0;
	if (!q->writable)
		return -EROFS;

	if (q->h.autoclear_features) {
		/* We do not maintain bitmaps: tell their readers they are stale. */
		q->h.autoclear_features = 0;
		ret = qcow2_header_update(q);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_set_dirty(q);
	if (ret == 0)
		q->meta_dirty = true;
	return ret;
}

int qcow2_close_image(struct qcow2 *q)
{
	int ret = 0;

	if (!q)
		return 0;
	if (q->writable) {
		ret = qcow2_flush_meta(q);
		if (ret == 0)
			ret = qcow2_sync(q);
		if (ret == 0 && q->dirty_marked) {
			q->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
			ret = qcow2_header_update(q);
			if (ret == 0)
				ret = qcow2_sync(q);
		}
	}
	qcow2_free_state(q);
	return ret;
}

int qcow2_resize(struct qcow2 *q, uint64_t new_size)
{
	uint64_t l2cov = q->cluster_size * q->l2_size;
	int ret;

	if (new_size < q->h.size) {
		log_err("%s: shrinking a qcow2 image is not supported", q->name);
		return -ENOTSUP;
	}
	if (new_size > QCOW2_MAX_SIZE)
		return -EFBIG;
	ret = qcow2_begin_write(q);
	if (ret == 0)
		ret = qcow2_flush_meta(q);
	if (ret == 0)
		ret = qcow2_grow_l1(q, (new_size + l2cov - 1) / l2cov);
	if (ret < 0)
		return ret;
	q->h.size = new_size;
	ret = qcow2_header_update(q);
	if (ret == 0)
		ret = qcow2_sync(q);
	return ret;
}

/* ---- block_driver ops ---- */

static int qcow2_backing_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	return block_read_backing(opaque, off, buf, len);
}

static const struct qcow2_backing_ops qcow2_block_backing_ops = {
	.read = qcow2_backing_read,
};

static int qcow2_drv_probe(const uint8_t *buf, size_t len, const char *filename)
{
	if (len >= 8 && buf[0] == 'Q' && buf[1] == 'F' && buf[2] == 'I' && buf[3] == 0xfb) {
		uint32_t v = ((uint32_t)buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7];

		return v == 2 || v == 3 ? 100 : 0;
	}
	return 0;
}

static int qcow2_drv_open(struct block_dev *bd, const struct block_open_opts *opts)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	snprintf(q->name, sizeof(q->name), "%s", bd->filename ? bd->filename : "qcow2");
	q->file = bd->file;
	q->fd = bd->file->fd;
	q->writable = !bd->read_only;
	q->no_sync = bd->cache == BLOCK_CACHE_UNSAFE;
	ret = qcow2_open_state(q, 0);
	q->backing_missing = q->backing_file && bd->no_backing;
	if (ret == 0 && q->backing_file && !bd->no_backing) {
		ret = block_open_backing(bd, q->backing_file, q->backing_fmt);
		if (ret == 0 && bd->backing)
			qcow2_attach_backing(q, &qcow2_block_backing_ops, bd->backing,
					     bd->backing->size);
	}
	if (ret < 0) {
		qcow2_free_state(q);
		return ret;
	}
	bd->opaque = q;
	bd->size = q->h.size;
	return 0;
}

static void qcow2_drv_close(struct block_dev *bd)
{
	struct qcow2 *q = bd->opaque;
	int ret = qcow2_close_image(q);

	if (ret < 0)
		log_err("%s: closing the image failed: %s", bd->filename, strerror(-ret));
	bd->opaque = NULL;
}

static void qcow2_drv_submit(struct block_dev *bd, struct block_req *req)
{
	struct qcow2 *q = bd->opaque;
	int ret = 0;

	if (q->backing_missing && req->op != BLOCK_OP_READ && req->op != BLOCK_OP_FLUSH) {
		/* Copy-on-write would copy zeroes instead of the backing data;
		 * metadata-only work (snapshots, check, resize) stays possible. */
		log_err("%s: data writes need the backing file, which is not open", q->name);
		block_req_complete(req, -EROFS);
		return;
	}
	switch (req->op) {
	case BLOCK_OP_READ:
		ret = qcow2_readv(q, req->offset, req->iov, req->iovcnt, req->len);
		break;
	case BLOCK_OP_WRITE:
		ret = qcow2_begin_write(q);
		if (ret == 0)
			ret = qcow2_writev(q, req->offset, req->iov, req->iovcnt, req->len);
		if (ret == 0 && (req->flags & BLOCK_REQ_FUA)) {
			ret = qcow2_flush_meta(q);
			if (ret == 0)
				ret = qcow2_sync(q);
		}
		break;
	case BLOCK_OP_FLUSH:
		if (!q->writable)
			break;
		ret = qcow2_flush_meta(q);
		if (ret == 0)
			ret = qcow2_sync(q);
		break;
	case BLOCK_OP_WRITE_ZEROES:
		/* Zero clusters cover whole clusters only (and need version 3 over a
		 * backing file); anything else means writing zeroes. */
		if ((req->flags & BLOCK_REQ_NO_FALLBACK) &&
		    ((req->offset & (q->cluster_size - 1)) ||
		     ((req->len & (q->cluster_size - 1)) && req->offset + req->len != q->h.size) ||
		     (q->h.version < 3 && q->bops))) {
			ret = -ENOTSUP;
			break;
		}
		/* fall through */
	case BLOCK_OP_DISCARD:
		ret = qcow2_begin_write(q);
		if (ret == 0)
			ret = qcow2_discard(q, req->offset, req->len,
					    req->op == BLOCK_OP_WRITE_ZEROES);
		break;
	default:
		ret = -ENOTSUP;
	}
	block_req_complete(req, ret);
}

static int qcow2_backing_size(const char *path, const char *backing, const char *fmt,
			      uint64_t *size)
{
	struct block_open_opts o = { .format = fmt && *fmt ? fmt : NULL, .read_only = true,
				     .no_backing = true };
	char full[PATH_MAX], *dup = strdup(path);
	struct block_dev *bd;
	int ret;

	if (!dup)
		return -ENOMEM;
	if (backing[0] == '/')
		snprintf(full, sizeof(full), "%s", backing);
	else
		snprintf(full, sizeof(full), "%s/%s", dirname(dup), backing);
	free(dup);
	ret = block_open(&bd, full, &o);
	if (ret < 0) {
		log_err("%s: cannot open backing file %s to take its size", path, full);
		return ret;
	}
	*size = bd->size;
	block_close(bd);
	return 0;
}

static int qcow2_drv_create(const char *path, uint64_t size, struct block_opts *opts)
{
	struct qcow2_create_opts o = { .size = size, .cluster_size = 65536,
				       .refcount_bits = 16, .version = 3 };
	uint64_t v;
	bool b;
	const char *s;
	int ret, fd;

	if ((ret = block_opts_get_size(opts, "cluster_size", &v)) < 0)
		return ret;
	if (ret)
		o.cluster_size = (unsigned)v;
	if ((ret = block_opts_get_size(opts, "refcount_bits", &v)) < 0)
		return ret;
	if (ret)
		o.refcount_bits = (unsigned)v;
	if ((ret = block_opts_get_bool(opts, "lazy_refcounts", &b)) < 0)
		return ret;
	if (ret)
		o.lazy_refcounts = b;
	s = block_opts_get(opts, "compat");
	if (s) {
		if (!strcmp(s, "0.10") || !strcmp(s, "v2"))
			o.version = 2;
		else if (strcmp(s, "1.1") && strcmp(s, "v3")) {
			log_err("%s: unknown compat level '%s'", path, s);
			return -EINVAL;
		}
	}
	s = block_opts_get(opts, "compression_type");
	if (s) {
		if (!strcmp(s, "zstd"))
			o.compression = QCOW2_COMP_ZSTD;
		else if (strcmp(s, "zlib")) {
			log_err("%s: unknown compression type '%s'", path, s);
			return -EINVAL;
		}
	}
	s = block_opts_get(opts, "preallocation");
	if (s && strcmp(s, "off")) {
		log_err("%s: preallocation=%s is not supported", path, s);
		return -ENOTSUP;
	}
	o.backing_file = block_opts_get(opts, "backing_file");
	o.backing_fmt = block_opts_get(opts, "backing_fmt");
	if (o.backing_fmt && !*o.backing_fmt)
		o.backing_fmt = NULL;
	if (o.backing_file && !size) {
		ret = qcow2_backing_size(path, o.backing_file, o.backing_fmt, &o.size);
		if (ret < 0)
			return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: cannot create: %s", path, strerror(errno));
		return ret;
	}
	ret = qcow2_create_file(fd, &o);
	close(fd);
	if (ret < 0)
		unlink(path);
	return ret;
}

static int qcow2_drv_info(struct block_dev *bd, struct block_info *info)
{
	struct qcow2 *q = bd->opaque;

	info->cluster_size = (uint32_t)q->cluster_size;
	info->dirty = q->h.incompatible_features & QCOW2_INCOMPAT_DIRTY;
	if (q->backing_file)
		snprintf(info->backing_file, sizeof(info->backing_file), "%s", q->backing_file);
	if (q->backing_fmt)
		snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s", q->backing_fmt);
	block_info_add_str(info, "compat", q->h.version >= 3 ? "1.1" : "0.10");
	if (q->h.version >= 3) {
		block_info_add_str(info, "compression type",
				   q->h.compression_type == QCOW2_COMP_ZSTD ? "zstd" : "zlib");
		block_info_add_bool(info, "lazy refcounts", q->lazy);
	}
	block_info_add_int(info, "refcount bits", q->refcount_bits);
	if (q->h.version >= 3) {
		block_info_add_bool(info, "corrupt",
				    q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT);
		block_info_add_bool(info, "extended l2", false);
	}
	return 0;
}

static int qcow2_drv_check(struct block_dev *bd, struct block_check_result *res,
			   unsigned int fix)
{
	struct qcow2 *q = bd->opaque;
	struct qcow2_check_result r;
	int f = 0, ret;

	if (fix & BLOCK_FIX_LEAKS)
		f |= QCOW2_FIX_LEAKS;
	if (fix & BLOCK_FIX_ERRORS)
		f |= QCOW2_FIX_ERRORS;
	if (f && !q->writable)
		return -EROFS;
	ret = qcow2_check(q, f, &r);
	if (ret < 0)
		return ret;
	res->corruptions = (int)r.corruptions;
	res->leaks = (int)r.leaks;
	res->check_errors = (int)r.check_errors;
	res->corruptions_fixed = (int)r.corruptions_fixed;
	res->leaks_fixed = (int)r.leaks_fixed;
	res->image_end_offset = r.image_end_offset;
	res->total_clusters = r.total_clusters;
	res->allocated_clusters = r.allocated_clusters;
	res->fragmented_clusters = r.fragmented_clusters;
	res->compressed_clusters = r.compressed_clusters;
	return 0;
}

static int qcow2_drv_resize(struct block_dev *bd, uint64_t new_size)
{
	int ret = qcow2_resize(bd->opaque, new_size);

	if (ret == 0)
		bd->size = new_size;
	return ret;
}

static int qcow2_drv_block_status(struct block_dev *bd, uint64_t offset, uint64_t len,
				  uint64_t *pnum, uint64_t *map)
{
	struct qcow2 *q = bd->opaque;
	uint64_t host = 0;
	int kind, ret;

	ret = qcow2_block_status(q, offset, &len, &kind, &host);
	if (ret < 0)
		return ret;
	*pnum = len;
	switch (kind) {
	case QCOW2_DATA:
		if (map)
			*map = host;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	case QCOW2_COMPRESSED:
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	case QCOW2_ZERO:
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
	default:
		return bd->backing ? 0 : BLOCK_STATUS_ZERO;
	}
}

static int qcow2_drv_snapshot_list(struct block_dev *bd, struct block_snapshot_info **list,
				   int *count)
{
	struct qcow2 *q = bd->opaque;
	struct block_snapshot_info *l = calloc(q->n_snaps ? q->n_snaps : 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	for (unsigned i = 0; i < q->n_snaps; i++) {
		struct qcow2_snapshot *s = &q->snaps[i];

		snprintf(l[i].id, sizeof(l[i].id), "%s", s->id);
		snprintf(l[i].name, sizeof(l[i].name), "%s", s->name);
		l[i].vm_state_size = s->vm_state_size;
		l[i].date_sec = s->date_sec;
		l[i].date_nsec = s->date_nsec;
		l[i].vm_clock_nsec = s->vm_clock_nsec;
		l[i].disk_size = s->disk_size;
		l[i].icount = UINT64_MAX;
		if (s->extra_size >= 24) {
			uint64_t v;

			memcpy(&v, s->extra + 16, 8);
			l[i].icount = be64toh(v);
		}
	}
	*list = l;
	*count = (int)q->n_snaps;
	return 0;
}

static int qcow2_drv_snapshot_create(struct block_dev *bd, const char *name)
{
	return qcow2_snapshot_create(bd->opaque, name);
}

static int qcow2_drv_snapshot_apply(struct block_dev *bd, const char *name)
{
	return qcow2_snapshot_apply(bd->opaque, name);
}

static int qcow2_drv_snapshot_delete(struct block_dev *bd, const char *name)
{
	return qcow2_snapshot_delete(bd->opaque, name);
}

static int qcow2_drv_write_compressed(struct block_dev *bd, uint64_t offset, const void *buf,
				      size_t len)
{
	struct qcow2 *q = bd->opaque;
	int ret = q->backing_missing ? -EROFS : qcow2_begin_write(q);

	if (ret < 0)
		return ret;
	if (len > q->cluster_size)
		return -EINVAL;
	if (len < q->cluster_size) {
		q->dbuf_entry = 0;
		memcpy(q->dbuf, buf, len);
		memset(q->dbuf + len, 0, q->cluster_size - len);
		buf = q->dbuf;
	}
	return qcow2_write_compressed(q, offset, buf);
}

const struct block_driver block_driver_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_drv_probe,
	.open = qcow2_drv_open,
	.close = qcow2_drv_close,
	.submit = qcow2_drv_submit,
	.create = qcow2_drv_create,
	.info = qcow2_drv_info,
	.check = qcow2_drv_check,
	.resize = qcow2_drv_resize,
	.block_status = qcow2_drv_block_status,
	.snapshot_list = qcow2_drv_snapshot_list,
	.snapshot_create = qcow2_drv_snapshot_create,
	.snapshot_apply = qcow2_drv_snapshot_apply,
	.snapshot_delete = qcow2_drv_snapshot_delete,
	.write_compressed = qcow2_drv_write_compressed,
};
