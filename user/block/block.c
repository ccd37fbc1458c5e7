/* Block layer core: driver registry and probing, open/close with backing chains,
 * request checks, sync wrappers, options and iovec helpers (issue 3, "The block layer"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/aio/aio.h"
#include "block/block.h"
#include "lib/log.h"

extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_qcow2;
extern const struct block_driver block_driver_vhdx;
extern const struct block_driver block_driver_vpc;

/* Order matters only for equal probe scores. */
const struct block_driver *const block_drivers[] = {
	&block_driver_raw,
	&block_driver_qcow2,
	&block_driver_vhdx,
	&block_driver_vpc,
	NULL,
};

const char *block_op_name(enum block_op op)
{
	static const char *const names[] = {
		[BLOCK_OP_READ] = "read", [BLOCK_OP_WRITE] = "write",
		[BLOCK_OP_FLUSH] = "flush", [BLOCK_OP_DISCARD] = "discard",
		[BLOCK_OP_WRITE_ZEROES] = "write-zeroes",
	};

	return (unsigned int)op < BLOCK_OP__COUNT ? names[op] : "?";
}

/* ---- options ---- */

void block_opts_init(struct block_opts *o)
{
	memset(o, 0, sizeof(*o));
}

void block_opts_free(struct block_opts *o)
{
	int i;

	for (i = 0; i < o->n; i++) {
		free(o->kv[i].key);
		free(o->kv[i].val);
	}
	o->n = 0;
}

int block_opts_set(struct block_opts *o, const char *key, const char *val)
{
	char *k, *v;
	int i;

	for (i = 0; i < o->n; i++) {
		if (!strcmp(o->kv[i].key, key)) {
			v = strdup(val);
			if (!v)
				return -ENOMEM;
			free(o->kv[i].val);
			o->kv[i].val = v;
			return 0;
		}
	}
	if (o->n >= BLOCK_OPTS_MAX)
		return -E2BIG;
	k = strdup(key);
	v = strdup(val);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	o->kv[o->n].key = k;
	o->kv[o->n].val = v;
	o->kv[o->n].used = false;
	o->n++;
	return 0;
}

int block_opts_parse(struct block_opts *o, const char *str)
{
	size_t len = strlen(str);
	char *buf, *key, *val;
	size_t i, j;
	int ret = 0;

	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	i = 0;
	while (i < len && !ret) {
		/* key up to '=' */
		j = 0;
		key = buf;
		while (i < len && str[i] != '=' && str[i] != ',')
			buf[j++] = str[i++];
		buf[j++] = '\0';
		val = buf + j;
		if (i < len && str[i] == '=') {
			i++;
			while (i < len) {
				if (str[i] == ',') {
					if (i + 1 < len && str[i + 1] == ',') {
						buf[j++] = ',';
						i += 2;
						continue;
					}
					break;
				}
				buf[j++] = str[i++];
			}
			buf[j] = '\0';
		} else {
			/* a bare key means "on" */
			val = "on";
		}
		if (i < len)
			i++;	/* the separating comma */
		if (!*key) {
			if (!*val || !strcmp(val, "on"))
				continue;
			log_err("option without a name: '%s'", str);
			ret = -EINVAL;
			break;
		}
		ret = block_opts_set(o, key, val);
	}
	free(buf);
	return ret;
}

const char *block_opts_get(struct block_opts *o, const char *key)
{
	int i;

	if (!o)
		return NULL;
	for (i = 0; i < o->n; i++) {
		if (!strcmp(o->kv[i].key, key)) {
			o->kv[i].used = true;
			return o->kv[i].val;
		}
	}
	return NULL;
}

int block_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'b': case 'B':
		end++;
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	case 'p': case 'P':
		shift = 50;
		break;
	case 'e': case 'E':
		shift = 60;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int block_opts_get_size(struct block_opts *o, const char *key, uint64_t *out)
{
	const char *v = block_opts_get(o, key);

	if (!v)
		return 0;
	if (block_parse_size(v, out) < 0) {
		log_err("option %s: '%s' is not a size", key, v);
		return -EINVAL;
	}
	return 1;
}

int block_opts_get_bool(struct block_opts *o, const char *key, bool *out)
{
	const char *v = block_opts_get(o, key);

	if (!v)
		return 0;
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
	} else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") ||
		   !strcmp(v, "0")) {
		*out = false;
	} else {
		log_err("option %s: '%s' is not on/off", key, v);
		return -EINVAL;
	}
	return 1;
}

const char *block_opts_unused(const struct block_opts *o)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!o->kv[i].used)
			return o->kv[i].key;
	return NULL;
}

/* ---- info ---- */

static void *block_info_slot(struct block_info *info, const char *key,
			     enum block_info_type type)
{
	if (info->nspecific >= BLOCK_INFO_SPECIFIC_MAX)
		return NULL;
	snprintf(info->specific[info->nspecific].key, sizeof(info->specific[0].key), "%s", key);
	info->specific[info->nspecific].type = type;
	return &info->specific[info->nspecific++];
}

void block_info_add_str(struct block_info *info, const char *key, const char *val)
{
	typeof(&info->specific[0]) s = block_info_slot(info, key, BLOCK_INFO_STR);

	if (s)
		snprintf(s->str, sizeof(s->str), "%s", val);
}

void block_info_add_int(struct block_info *info, const char *key, int64_t val)
{
	typeof(&info->specific[0]) s = block_info_slot(info, key, BLOCK_INFO_INT);

	if (s)
		s->num = val;
}

void block_info_add_bool(struct block_info *info, const char *key, bool val)
{
	typeof(&info->specific[0]) s = block_info_slot(info, key, BLOCK_INFO_BOOL);

	if (s)
		s->num = val;
}

/* ---- iovec helpers ---- */

size_t block_iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int block_iov_slice(const struct iovec *src, int srccnt, size_t off, size_t len,
		    struct iovec *dst, int dstmax)
{
	int i, n = 0;
	size_t take;

	for (i = 0; i < srccnt && len; i++) {
		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		if (n >= dstmax)
			return -E2BIG;
		take = src[i].iov_len - off;
		if (take > len)
			take = len;
		dst[n].iov_base = (char *)src[i].iov_base + off;
		dst[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return len ? -EINVAL : n;
}

void block_iov_memset(const struct iovec *iov, int iovcnt, size_t off, int c, size_t len)
{
	size_t take;
	int i;

	for (i = 0; i < iovcnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		memset((char *)iov[i].iov_base + off, c, take);
		len -= take;
		off = 0;
	}
}

size_t block_iov_to_buf(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len)
{
	size_t take, done = 0;
	int i;

	for (i = 0; i < iovcnt && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len - done)
			take = len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t block_iov_from_buf(const struct iovec *iov, int iovcnt, size_t off, const void *buf,
			  size_t len)
{
	size_t take, done = 0;
	int i;

	for (i = 0; i < iovcnt && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len - done)
			take = len - done;
		memcpy((char *)iov[i].iov_base + off, (const char *)buf + done, take);
		done += take;
		off = 0;
	}
	return done;
}

bool block_buf_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len && i < 16; i++)
		if (p[i])
			return false;
	if (len <= 16)
		return true;
	return !memcmp(p, p + 16, len - 16);
}

/* ---- request pool ---- */

enum { BLOCK_POOL_NONE, BLOCK_POOL_IN, BLOCK_POOL_OVERFLOW };

int block_req_pool_init(struct block_req_pool *pool, unsigned int n)
{
	unsigned int i;

	memset(pool, 0, sizeof(*pool));
	pool->reqs = calloc(n ? n : 1, sizeof(*pool->reqs));
	if (!pool->reqs)
		return -ENOMEM;
	pool->n = n;
	for (i = 0; i < n; i++) {
		pool->reqs[i].pool_state = BLOCK_POOL_IN;
		pool->reqs[i].next = pool->free;
		pool->free = &pool->reqs[i];
	}
	return 0;
}

void block_req_pool_destroy(struct block_req_pool *pool)
{
	free(pool->reqs);
	memset(pool, 0, sizeof(*pool));
}

struct block_req *block_req_get(struct block_req_pool *pool)
{
	struct block_req *req = pool->free;

	if (req) {
		pool->free = req->next;
		req->next = NULL;
		return req;
	}
	req = calloc(1, sizeof(*req));
	if (req) {
		req->pool_state = BLOCK_POOL_OVERFLOW;
		pool->overflow++;
	}
	return req;
}

void block_req_put(struct block_req_pool *pool, struct block_req *req)
{
	if (req->pool_state == BLOCK_POOL_OVERFLOW) {
		free(req);
		return;
	}
	req->next = pool->free;
	pool->free = req;
}

/* ---- the image file ---- */

void *block_alloc_aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1))
		return NULL;
	return p;
}

int block_file_open(struct block_file **out, const char *path, bool read_only,
		    enum block_cache cache, struct aio_ctx *aio)
{
	struct block_file *f;
	struct stat st;
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int ret, ssz;

	if (cache == BLOCK_CACHE_NONE)
		flags |= O_DIRECT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = open(path, flags);
	if (f->fd < 0) {
		ret = -errno;
		if (ret == -EINVAL && (flags & O_DIRECT))
			log_err("%s: the filesystem does not support cache=none (O_DIRECT)",
				path);
		else
			log_err("%s: cannot open: %s", path, strerror(-ret));
		free(f);
		return ret;
	}
	if (fstat(f->fd, &st) < 0) {
		ret = -errno;
		close(f->fd);
		free(f);
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		log_err("%s: not a regular file or block device", path);
		close(f->fd);
		free(f);
		return -EINVAL;
	}
	f->path = strdup(path);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->aio = aio;
	f->read_only = read_only;
	f->direct = cache == BLOCK_CACHE_NONE;
	f->align = 1;
	if (f->direct) {
		struct statx sx;

		f->align = 512;
		if (S_ISBLK(st.st_mode) && ioctl(f->fd, BLKSSZGET, &ssz) == 0 && ssz > 512)
			f->align = ssz;
		/* the filesystem's own answer (Linux 6.1+), e.g. 4096 on 4Kn disks */
		if (S_ISREG(st.st_mode) &&
		    statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
			f->align = sx.stx_dio_offset_align;
			if (sx.stx_dio_mem_align > f->align)
				f->align = sx.stx_dio_mem_align;
		}
	}
	*out = f;
	return 0;
}

void block_file_close(struct block_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f->path);
	free(f);
}

static int block_file_pread_raw(int fd, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset((char *)buf + done, 0, len - done);
			break;
		}
		done += n;
	}
	return 0;
}

static int block_file_pwrite_raw(int fd, const void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, (const char *)buf + done, len - done, offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

static bool block_file_aligned(const struct block_file *f, const void *buf, size_t len,
			       uint64_t offset)
{
	uint64_t a = f->align;

	return !f->direct ||
	       (((uintptr_t)buf | len | offset) & (a - 1)) == 0;
}

int block_file_pread(struct block_file *f, void *buf, size_t len, uint64_t offset)
{
	uint64_t start, end;
	void *bounce;
	int ret;

	if (block_file_aligned(f, buf, len, offset))
		return block_file_pread_raw(f->fd, buf, len, offset);
	start = offset & ~(uint64_t)(f->align - 1);
	end = (offset + len + f->align - 1) & ~(uint64_t)(f->align - 1);
	bounce = block_alloc_aligned(end - start);
	if (!bounce)
		return -ENOMEM;
	ret = block_file_pread_raw(f->fd, bounce, end - start, start);
	if (!ret)
		memcpy(buf, (char *)bounce + (offset - start), len);
	free(bounce);
	return ret;
}

int block_file_pwrite(struct block_file *f, const void *buf, size_t len, uint64_t offset)
{
	uint64_t start, end;
	void *bounce;
	int ret;

	if (f->read_only)
		return -EROFS;
	if (block_file_aligned(f, buf, len, offset))
		return block_file_pwrite_raw(f->fd, buf, len, offset);
	/* read-modify-write of the aligned blocks around the range */
	start = offset & ~(uint64_t)(f->align - 1);
	end = (offset + len + f->align - 1) & ~(uint64_t)(f->align - 1);
	bounce = block_alloc_aligned(end - start);
	if (!bounce)
		return -ENOMEM;
	ret = block_file_pread_raw(f->fd, bounce, end - start, start);
	if (!ret) {
		memcpy((char *)bounce + (offset - start), buf, len);
		ret = block_file_pwrite_raw(f->fd, bounce, end - start, start);
	}
	free(bounce);
	return ret;
}

int block_file_flush(struct block_file *f)
{
	if (f->read_only)
		return 0;
	return fdatasync(f->fd) < 0 ? -errno : 0;
}

int64_t block_file_size(struct block_file *f)
{
	struct stat st;
	off_t end;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		end = lseek(f->fd, 0, SEEK_END);
		return end < 0 ? -errno : end;
	}
	return st.st_size;
}

int block_file_truncate(struct block_file *f, uint64_t size)
{
	if (f->read_only)
		return -EROFS;
	if (size > INT64_MAX)
		return -EFBIG;
	return ftruncate(f->fd, (off_t)size) < 0 ? -errno : 0;
}

int block_file_discard(struct block_file *f, uint64_t offset, uint64_t len)
{
	if (f->read_only)
		return -EROFS;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) < 0)
		return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
	return 0;
}

int block_file_zero_range(struct block_file *f, uint64_t offset, uint64_t len)
{
	if (f->read_only)
		return -EROFS;
	if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE, offset, len) < 0)
		return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
	return 0;
}

int64_t block_file_allocated(struct block_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	return (int64_t)st.st_blocks * 512;
}

/* Write zeroes the slow way, for filesystems without FALLOC_FL_ZERO_RANGE. */
static int block_file_write_zeroes_slow(struct block_file *f, uint64_t offset, uint64_t len)
{
	size_t chunk = 1 << 20;
	void *zero;
	int ret = 0;

	zero = block_alloc_aligned(chunk);
	if (!zero)
		return -ENOMEM;
	memset(zero, 0, chunk);
	while (len && !ret) {
		size_t n = len < chunk ? len : chunk;

		ret = block_file_pwrite(f, zero, n, offset);
		offset += n;
		len -= n;
	}
	free(zero);
	return ret;
}

static int block_file_zeroes(struct block_file *f, struct block_req *req)
{
	int ret;

	if (req->flags & BLOCK_REQ_MAY_UNMAP) {
		/* a hole reads as zeroes, and beyond EOF punching is a no-op that still
		 * reads as zeroes */
		ret = block_file_discard(f, req->offset, req->len);
		if (!ret)
			return 0;
	}
	ret = block_file_zero_range(f, req->offset, req->len);
	if (ret != -ENOTSUP && ret != -EINVAL)
		return ret;
	if (req->flags & BLOCK_REQ_NO_FALLBACK)
		return -ENOTSUP;
	return block_file_write_zeroes_slow(f, req->offset, req->len);
}

static bool block_req_aligned(const struct block_file *f, const struct block_req *req)
{
	uintptr_t acc = req->offset;
	int i;

	if (!f->direct)
		return true;
	for (i = 0; i < req->iovcnt; i++)
		acc |= (uintptr_t)req->iov[i].iov_base | req->iov[i].iov_len;
	return (acc & (f->align - 1)) == 0;
}

/* O_DIRECT with a buffer the caller did not align: bounce, synchronously. */
static int block_file_bounce(struct block_file *f, struct block_req *req)
{
	size_t len = block_iov_size(req->iov, req->iovcnt);
	void *buf = block_alloc_aligned(len);
	int ret;

	if (!buf)
		return -ENOMEM;
	if (req->op == BLOCK_OP_READ) {
		ret = block_file_pread(f, buf, len, req->offset);
		if (!ret)
			block_iov_from_buf(req->iov, req->iovcnt, 0, buf, len);
	} else {
		block_iov_to_buf(req->iov, req->iovcnt, 0, buf, len);
		ret = block_file_pwrite(f, buf, len, req->offset);
		if (!ret && (req->flags & BLOCK_REQ_FUA))
			ret = block_file_flush(f);
	}
	free(buf);
	return ret;
}

void block_file_submit(struct block_file *f, struct block_req *req)
{
	int ret;

	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
		if (req->op == BLOCK_OP_WRITE && f->read_only) {
			aio_ctx_defer(f->aio, req, -EROFS);
			return;
		}
		if (!block_req_aligned(f, req)) {
			aio_ctx_defer(f->aio, req, block_file_bounce(f, req));
			return;
		}
		aio_ctx_submit(f->aio, f->fd, req);
		return;
	case BLOCK_OP_FLUSH:
		if (f->read_only) {
			aio_ctx_defer(f->aio, req, 0);
			return;
		}
		aio_ctx_submit(f->aio, f->fd, req);
		return;
	case BLOCK_OP_DISCARD:
	case BLOCK_OP_WRITE_ZEROES:
		if (f->read_only) {
			aio_ctx_defer(f->aio, req, -EROFS);
			return;
		}
		if (aio_ctx_can_fallocate(f->aio)) {
			aio_ctx_submit(f->aio, f->fd, req);
			return;
		}
		/* libaio has no fallocate: do it here, it only touches extent metadata */
		if (req->op == BLOCK_OP_DISCARD)
			ret = block_file_discard(f, req->offset, req->len);
		else
			ret = block_file_zeroes(f, req);
		aio_ctx_defer(f->aio, req, ret);
		return;
	default:
		aio_ctx_defer(f->aio, req, -EINVAL);
		return;
	}
}

/* ---- drivers ---- */

const struct block_driver *block_driver_find(const char *name)
{
	int i;

	for (i = 0; block_drivers[i]; i++)
		if (!strcmp(block_drivers[i]->name, name))
			return block_drivers[i];
	return NULL;
}

const struct block_driver *block_probe(const uint8_t *buf, size_t len, const char *filename)
{
	const struct block_driver *best = NULL;
	int i, score, best_score = 0;

	for (i = 0; block_drivers[i]; i++) {
		if (!block_drivers[i]->probe)
			continue;
		score = block_drivers[i]->probe(buf, len, filename);
		if (score > best_score) {
			best_score = score;
			best = block_drivers[i];
		}
	}
	return best;
}

static int block_open_chain(struct block_dev **out, const char *path,
			    const struct block_open_opts *opts, struct block_dev *parent)
{
	const struct block_driver *drv = NULL;
	struct block_dev *bd;
	uint8_t *probe = NULL;
	int ret;

	bd = calloc(1, sizeof(*bd));
	if (!bd)
		return -ENOMEM;
	bd->filename = strdup(path);
	bd->read_only = opts->read_only;
	bd->cache = opts->cache;
	bd->aio_engine = opts->aio;
	bd->no_backing = opts->no_backing;
	bd->parent = parent;
	bd->backing_depth = parent ? parent->backing_depth + 1 : 0;
	bd->max_backing_depth = opts->max_backing_depth > 0 ? opts->max_backing_depth
							     : BLOCK_MAX_BACKING_DEPTH;
	if (!bd->filename) {
		ret = -ENOMEM;
		goto fail;
	}
	if (opts->ctx) {
		bd->aio = opts->ctx;
	} else {
		ret = aio_ctx_new(&bd->aio, opts->aio, opts->queue_depth);
		if (ret < 0)
			goto fail;
		bd->own_aio = true;
	}
	bd->home_aio = bd->aio;

	if (opts->format && *opts->format) {
		drv = block_driver_find(opts->format);
		if (!drv) {
			log_err("%s: unknown image format '%s'", path, opts->format);
			ret = -EINVAL;
			goto fail;
		}
	}
	if (drv && drv->read_only && !opts->read_only) {
		log_err("%s: format %s is read-only in keel; open it read-only", path,
			drv->name);
		ret = -EROFS;
		goto fail;
	}
	ret = block_file_open(&bd->file, path, opts->read_only, opts->cache, bd->aio);
	if (ret < 0)
		goto fail;
	if (!drv) {
		probe = block_alloc_aligned(BLOCK_PROBE_SIZE);
		if (!probe) {
			ret = -ENOMEM;
			goto fail;
		}
		ret = block_file_pread(bd->file, probe, BLOCK_PROBE_SIZE, 0);
		if (ret < 0) {
			log_err("%s: cannot read the header: %s", path, strerror(-ret));
			goto fail;
		}
		drv = block_probe(probe, BLOCK_PROBE_SIZE, path);
		free(probe);
		probe = NULL;
		if (!drv) {
			log_err("%s: unknown image format", path);
			ret = -EINVAL;
			goto fail;
		}
		if (drv->read_only && !opts->read_only) {
			log_err("%s: format %s is read-only in keel; open it read-only", path,
				drv->name);
			ret = -EROFS;
			goto fail;
		}
	}
	bd->drv = drv;
	ret = drv->open(bd, opts);
	if (ret < 0) {
		bd->drv = NULL;
		if (bd->backing) {
			block_close(bd->backing);
			bd->backing = NULL;
		}
		goto fail;
	}
	*out = bd;
	return 0;
fail:
	free(probe);
	block_file_close(bd->file);
	if (bd->own_aio)
		aio_ctx_free(bd->aio);
	free(bd->filename);
	free(bd);
	return ret;
}

int block_open(struct block_dev **out, const char *path, const struct block_open_opts *opts)
{
	static const struct block_open_opts defaults = { .read_only = true };

	return block_open_chain(out, path, opts ? opts : &defaults, NULL);
}

int block_open_backing(struct block_dev *bd, const char *path, const char *fmt)
{
	struct block_open_opts opts = {
		.format = fmt && *fmt ? fmt : NULL,
		.read_only = true,
		.cache = bd->cache,
		.aio = bd->aio_engine,
		.ctx = bd->aio,
		.max_backing_depth = bd->max_backing_depth,
	};
	struct block_dev *p;
	char *full = NULL;
	struct stat st;
	int ret;

	if (bd->no_backing)
		return 0;
	if (!path || !*path) {
		log_err("%s: empty backing file name", bd->filename);
		return -EINVAL;
	}
	if (bd->backing_depth + 1 > bd->max_backing_depth) {
		log_err("%s: backing chain deeper than %d images, refused", bd->filename,
			bd->max_backing_depth);
		return -ELOOP;
	}
	if (path[0] == '/') {
		full = strdup(path);
	} else {
		const char *slash = strrchr(bd->filename, '/');
		int dirlen = slash ? (int)(slash - bd->filename) : 0;

		if (slash && asprintf(&full, "%.*s/%s", dirlen ? dirlen : 1,
				      dirlen ? bd->filename : "/", path) < 0)
			full = NULL;
		else if (!slash)
			full = strdup(path);
	}
	if (!full)
		return -ENOMEM;
	if (stat(full, &st) < 0) {
		ret = -errno;
		log_err("%s: backing file %s: %s", bd->filename, full, strerror(-ret));
		free(full);
		return ret;
	}
	for (p = bd; p; p = p->parent) {
		if (p->file && p->file->dev == st.st_dev && p->file->ino == st.st_ino) {
			log_err("%s: backing file %s is already in the chain (loop), refused",
				bd->filename, full);
			free(full);
			return -ELOOP;
		}
	}
	ret = block_open_chain(&bd->backing, full, &opts, bd);
	if (ret < 0)
		log_err("%s: cannot open backing file %s", bd->filename, full);
	free(full);
	return ret;
}

void block_close(struct block_dev *bd)
{
	if (!bd)
		return;
	block_drain(bd);
	if (bd->drv && bd->drv->close)
		bd->drv->close(bd);
	if (bd->backing)
		block_close(bd->backing);
	block_file_close(bd->file);
	if (bd->own_aio)
		aio_ctx_free(bd->home_aio);
	free(bd->filename);
	free(bd);
}

int block_set_aio(struct block_dev *bd, struct aio_ctx *ctx)
{
	struct block_dev *b;

	for (b = bd; b; b = b->backing)
		if (b->inflight)
			return -EBUSY;
	for (b = bd; b; b = b->backing) {
		b->aio = ctx ? ctx : b->home_aio;
		if (b->file)
			b->file->aio = b->aio;
	}
	return 0;
}

int block_create(const char *fmt, const char *path, uint64_t size, struct block_opts *opts)
{
	const struct block_driver *drv = block_driver_find(fmt);
	struct block_opts empty;
	const char *unused;
	int ret;

	if (!drv) {
		log_err("unknown image format '%s'", fmt);
		return -EINVAL;
	}
	if (!drv->create || drv->read_only) {
		log_err("format %s does not support image creation", fmt);
		return -ENOTSUP;
	}
	if (!opts) {
		block_opts_init(&empty);
		opts = &empty;
	}
	ret = drv->create(path, size, opts);
	if (ret < 0)
		return ret;
	unused = block_opts_unused(opts);
	if (unused) {
		log_err("%s: invalid option '%s' for format %s", path, unused, fmt);
		unlink(path);
		return -EINVAL;
	}
	return 0;
}

/* ---- requests ---- */

void block_req_complete(struct block_req *req, int ret)
{
	req->result = ret;
	req->done(req, ret);
}

void block_submit_read_only_sync(struct block_dev *bd, struct block_req *req,
				 block_sync_read_fn read)
{
	uint64_t off = req->offset;
	int ret = 0;

	switch (req->op) {
	case BLOCK_OP_READ:
		for (int i = 0; i < req->iovcnt && !ret; i++) {
			ret = read(bd, req->iov[i].iov_base, req->iov[i].iov_len, off);
			off += req->iov[i].iov_len;
		}
		break;
	case BLOCK_OP_FLUSH:
		break;
	default:
		ret = -EROFS;
	}
	block_req_complete(req, ret);
}

/* Counts the device's requests in flight (block_drain); gives the request back to the
 * caller exactly as submitted before calling its done(). */
static void block_req_done(struct block_req *req, int ret)
{
	struct block_dev *bd = req->bd;

	req->done = req->caller_done;
	req->opaque = req->caller_opaque;
	bd->inflight--;
	req->done(req, ret);
}

void block_submit(struct block_dev *bd, struct block_req *req)
{
	int ret = 0;

	if (req->done == block_req_done) {
		/* in flight already (a driver passing on a request it was given: it must
		 * use a child): it will complete once, through its first submission */
		log_err("%s: a request in flight was submitted again, ignored", bd->filename);
		return;
	}
	req->bd = bd;
	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
		if (req->iovcnt < 0 || (req->iovcnt && !req->iov)) {
			ret = -EINVAL;
			break;
		}
		req->len = block_iov_size(req->iov, req->iovcnt);
		/* fall through */
	case BLOCK_OP_DISCARD:
	case BLOCK_OP_WRITE_ZEROES:
		if (req->op != BLOCK_OP_READ && bd->read_only) {
			ret = -EROFS;
			break;
		}
		if (req->offset > bd->size || req->len > bd->size - req->offset) {
			ret = -ERANGE;
			break;
		}
		if (!req->len) {
			block_req_complete(req, 0);
			return;
		}
		break;
	case BLOCK_OP_FLUSH:
		if (bd->read_only || bd->cache == BLOCK_CACHE_UNSAFE) {
			block_req_complete(req, 0);
			return;
		}
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret) {
		block_req_complete(req, ret);
		return;
	}
	req->caller_done = req->done;
	req->caller_opaque = req->opaque;
	req->done = block_req_done;
	bd->inflight++;
	bd->drv->submit(bd, req);
}

int block_event_fd(struct block_dev *bd)
{
	return aio_ctx_fd(bd->aio);
}

int block_poll(struct block_dev *bd)
{
	return aio_ctx_poll(bd->aio);
}

struct block_sync {
	bool done;
	int ret;
};

static void block_sync_done(struct block_req *req, int ret)
{
	struct block_sync *s = req->opaque;

	s->ret = ret;
	s->done = true;
}

static int block_sync_run(struct block_dev *bd, struct block_req *req)
{
	struct block_sync s = { 0 };
	int n;

	req->done = block_sync_done;
	req->opaque = &s;
	block_submit(bd, req);
	while (!s.done) {
		n = aio_ctx_wait(bd->aio);
		if (n < 0)
			return n;
		if (n == 0 && !s.done) {
			log_err("%s: %s request lost by driver %s", bd->filename,
				block_op_name(req->op), bd->drv->name);
			return -EIO;
		}
	}
	return s.ret;
}

int block_preadv(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt)
{
	struct block_req req = { .op = BLOCK_OP_READ, .offset = offset, .iov = iov,
				 .iovcnt = iovcnt };

	return block_sync_run(bd, &req);
}

int block_pwritev(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt,
		  uint32_t flags)
{
	struct block_req req = { .op = BLOCK_OP_WRITE, .offset = offset, .iov = iov,
				 .iovcnt = iovcnt, .flags = flags };

	return block_sync_run(bd, &req);
}

int block_pread(struct block_dev *bd, uint64_t offset, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return block_preadv(bd, offset, &iov, 1);
}

int block_pwrite(struct block_dev *bd, uint64_t offset, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return block_pwritev(bd, offset, &iov, 1, 0);
}

int block_flush(struct block_dev *bd)
{
	struct block_req req = { .op = BLOCK_OP_FLUSH };

	return block_sync_run(bd, &req);
}

int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len)
{
	struct block_req req = { .op = BLOCK_OP_DISCARD, .offset = offset, .len = len };

	return block_sync_run(bd, &req);
}

int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len, uint32_t flags)
{
	struct block_req req = { .op = BLOCK_OP_WRITE_ZEROES, .offset = offset, .len = len,
				 .flags = flags };

	return block_sync_run(bd, &req);
}

int block_read_backing(struct block_dev *backing, uint64_t offset, void *buf, size_t len)
{
	size_t n = 0;
	int ret;

	if (backing && offset < backing->size) {
		n = len;
		if (n > backing->size - offset)
			n = backing->size - offset;
		ret = block_pread(backing, offset, buf, n);
		if (ret < 0)
			return ret;
	}
	memset((char *)buf + n, 0, len - n);
	return 0;
}

int block_drain(struct block_dev *bd)
{
	int n;

	while (bd->inflight) {
		n = aio_ctx_wait(bd->aio);
		if (n < 0)
			return n;
		if (n == 0 && bd->inflight) {
			log_err("%s: %u requests lost by driver %s", bd->filename, bd->inflight,
				bd->drv ? bd->drv->name : "?");
			return -EIO;
		}
	}
	return 0;
}

/* ---- metadata operations ---- */

int block_get_info(struct block_dev *bd, struct block_info *info)
{
	int64_t alloc;

	memset(info, 0, sizeof(*info));
	info->format = bd->drv->name;
	info->virtual_size = bd->size;
	alloc = bd->file ? block_file_allocated(bd->file) : 0;
	info->actual_size = alloc > 0 ? (uint64_t)alloc : 0;
	if (!bd->drv->info)
		return 0;
	return bd->drv->info(bd, info);
}

int block_check(struct block_dev *bd, struct block_check_result *res, unsigned int fix)
{
	memset(res, 0, sizeof(*res));
	if (!bd->drv->check)
		return -ENOTSUP;
	if (fix && bd->read_only)
		return -EROFS;
	return bd->drv->check(bd, res, fix);
}

int block_resize(struct block_dev *bd, uint64_t new_size)
{
	int ret;

	if (bd->read_only)
		return -EROFS;
	if (!bd->drv->resize)
		return -ENOTSUP;
	ret = block_drain(bd);
	if (ret < 0)
		return ret;
	ret = bd->drv->resize(bd, new_size);
	if (!ret)
		bd->size = new_size;
	return ret;
}

int block_status(struct block_dev *bd, uint64_t offset, uint64_t len, uint64_t *pnum,
		 uint64_t *map)
{
	int ret;

	if (offset >= bd->size || !len)
		return -ERANGE;
	if (len > bd->size - offset)
		len = bd->size - offset;
	if (map)
		*map = UINT64_MAX;
	if (!bd->drv->block_status) {
		*pnum = len;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	}
	*pnum = 0;
	ret = bd->drv->block_status(bd, offset, len, pnum, map);
	if (ret >= 0 && (*pnum == 0 || *pnum > len)) {
		log_err("%s: driver %s returned a bad status length", bd->filename,
			bd->drv->name);
		return -EIO;
	}
	return ret;
}

int block_snapshot_list(struct block_dev *bd, struct block_snapshot_info **list, int *count)
{
	*list = NULL;
	*count = 0;
	if (!bd->drv->snapshot_list)
		return 0;
	return bd->drv->snapshot_list(bd, list, count);
}

int block_snapshot_create(struct block_dev *bd, const char *name)
{
	if (!bd->drv->snapshot_create)
		return -ENOTSUP;
	if (bd->read_only)
		return -EROFS;
	return bd->drv->snapshot_create(bd, name);
}

int block_snapshot_apply(struct block_dev *bd, const char *name_or_id)
{
	if (!bd->drv->snapshot_apply)
		return -ENOTSUP;
	if (bd->read_only)
		return -EROFS;
	return bd->drv->snapshot_apply(bd, name_or_id);
}

int block_snapshot_delete(struct block_dev *bd, const char *name_or_id)
{
	if (!bd->drv->snapshot_delete)
		return -ENOTSUP;
	if (bd->read_only)
		return -EROFS;
	return bd->drv->snapshot_delete(bd, name_or_id);
}

int block_write_compressed(struct block_dev *bd, uint64_t offset, const void *buf, size_t len)
{
	if (!bd->drv->write_compressed)
		return -ENOTSUP;
	if (bd->read_only)
		return -EROFS;
	if (offset > bd->size || len > bd->size - offset)
		return -ERANGE;
	return bd->drv->write_compressed(bd, offset, buf, len);
}

bool block_can_compress_parallel(struct block_dev *bd)
{
	return bd->drv->compress && bd->drv->write_precompressed;
}

long block_compress(struct block_dev *bd, const void *buf, size_t len, void *out, size_t outlen)
{
	if (!bd->drv->compress)
		return -ENOTSUP;
	return bd->drv->compress(bd, buf, len, out, outlen);
}

int block_write_precompressed(struct block_dev *bd, uint64_t offset, const void *cbuf,
			      size_t clen)
{
	if (!bd->drv->write_precompressed)
		return -ENOTSUP;
	if (bd->read_only)
		return -EROFS;
	if (offset >= bd->size)
		return -ERANGE;
	return bd->drv->write_precompressed(bd, offset, cbuf, clen);
}
