/* qcow2 image creation: a minimal v2/v3 image (header, refcount table and block),
 * then the L1 table allocated through the normal refcount path (qcow2 spec "Header"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "block/qcow2/qcow2.h"
#include "lib/log.h"

int qcow2_create_file(int fd, const struct qcow2_create_opts *o)
{
	unsigned cb = 0, order = 0;
	uint64_t cs = o->cluster_size ? o->cluster_size : 65536, l2cov;
	struct qcow2 *q = NULL;
	struct qcow2 tmp;
	uint8_t *buf;
	int ret;

	while ((1ULL << cb) < cs)
		cb++;
	if ((1ULL << cb) != cs || cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS) {
		log_err("qcow2: cluster size %llu must be a power of two from 512 to 2M",
			(unsigned long long)cs);
		return -EINVAL;
	}
	unsigned rb = o->refcount_bits ? o->refcount_bits : 16;

	while ((1u << order) < rb)
		order++;
	if ((1u << order) != rb || order > 6) {
		log_err("qcow2: refcount_bits %u must be a power of two up to 64", rb);
		return -EINVAL;
	}
	if (o->version == 2 && (order != 4 || o->lazy_refcounts ||
				o->compression != QCOW2_COMP_ZLIB)) {
		log_err("qcow2: compat=0.10 supports only refcount_bits=16, no lazy refcounts, zlib");
		return -EINVAL;
	}
	l2cov = cs * (cs / 8);
	if (o->size > QCOW2_MAX_SIZE || (o->size + l2cov - 1) / l2cov * 8 > QCOW2_MAX_L1_BYTES) {
		log_err("qcow2: size %llu is too large for cluster size %llu",
			(unsigned long long)o->size, (unsigned long long)cs);
		return -EFBIG;
	}

	/* Cluster 0 header, 1 refcount table, 2 refcount block. */
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.name, sizeof(tmp.name), "qcow2");
	tmp.fd = fd;
	tmp.writable = true;
	tmp.cluster_bits = cb;
	tmp.cluster_size = cs;
	tmp.refcount_bits = 1u << order;
	tmp.h.version = o->version == 2 ? 2 : 3;
	tmp.h.cluster_bits = cb;
	tmp.h.refcount_order = order;
	tmp.h.header_length = tmp.h.version == 3 ? QCOW2_HDR_LEN : QCOW2_V2_HDR_LEN;
	tmp.h.refcount_table_offset = cs;
	tmp.h.refcount_table_clusters = 1;
	if (o->lazy_refcounts)
		tmp.h.compatible_features |= QCOW2_COMPAT_LAZY;
	if (o->compression == QCOW2_COMP_ZSTD) {
		tmp.h.compression_type = QCOW2_COMP_ZSTD;
		tmp.h.incompatible_features |= QCOW2_INCOMPAT_COMPRESS;
	}
	ret = qcow2_header_set_backing(&tmp, o->backing_file, o->backing_fmt);
	buf = calloc(3, cs);
	if (ret == 0 && !buf)
		ret = -ENOMEM;
	if (ret == 0 && ftruncate(fd, 0) < 0)
		ret = -errno;
	if (ret == 0) {
		uint64_t be = htobe64(2 * cs);

		memcpy(buf + cs, &be, 8);
		for (int i = 0; i < 3; i++)
			qcow2_refblock_set(&tmp, buf + 2 * cs, i, 1);
		if (pwrite(fd, buf, 3 * cs, 0) != (ssize_t)(3 * cs))
			ret = -EIO;
	}
	if (ret == 0) {
		ret = qcow2_header_write(&tmp);
		if (ret == -ENOSPC)
			log_err("qcow2: backing file name does not fit in the header cluster");
	}
	qcow2_header_free(&tmp);
	free(buf);
	if (ret < 0)
		return ret;

	ret = qcow2_open_fd(&q, fd, "qcow2", QCOW2_OPEN_RW | QCOW2_OPEN_NO_SYNC);
	if (ret < 0)
		return ret;
	ret = qcow2_grow_l1(q, (o->size + l2cov - 1) / l2cov);
	if (ret == 0) {
		q->h.size = o->size;
		ret = qcow2_header_update(q);
	}
	int ret2 = qcow2_close_image(q);

	if (ret == 0)
		ret = ret2;
	if (ret == 0 && fdatasync(fd) < 0)
		ret = -errno;
	return ret;
}
