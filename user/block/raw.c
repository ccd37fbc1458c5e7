/* raw image driver: the file is the disk. Discard punches holes, write-zeroes uses
 * FALLOC_FL_ZERO_RANGE, status from SEEK_DATA/SEEK_HOLE (issue 3, "raw"). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "lib/log.h"

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
	return 1;	/* anything is a raw image; every real format scores higher */
}

static int raw_open(struct block_dev *bd, const struct block_open_opts *opts)
{
	int64_t size = block_file_size(bd->file);

	if (size < 0) {
		log_err("%s: cannot get the size: %s", bd->filename, strerror((int)-size));
		return (int)size;
	}
	bd->size = (uint64_t)size;
	return 0;
}

static void raw_close(struct block_dev *bd)
{
}

static void raw_submit(struct block_dev *bd, struct block_req *req)
{
	/* the request goes to the file as is: offsets are the same, no scratch needed */
	block_file_submit(bd->file, req);
}

static int raw_prealloc_full(int fd, uint64_t size)
{
	size_t chunk = 1 << 20;
	uint64_t off = 0;
	char *zero;
	ssize_t n;
	int ret = 0;

	zero = calloc(1, chunk);
	if (!zero)
		return -ENOMEM;
	while (off < size) {
		size_t len = size - off < chunk ? size - off : chunk;

		n = pwrite(fd, zero, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += n;
	}
	free(zero);
	return ret;
}

static int raw_create(const char *path, uint64_t size, struct block_opts *opts)
{
	const char *prealloc = block_opts_get(opts, "preallocation");
	int fd, ret = 0;

	if (prealloc && strcmp(prealloc, "off") && strcmp(prealloc, "falloc") &&
	    strcmp(prealloc, "full")) {
		log_err("%s: preallocation=%s: use off, falloc or full", path, prealloc);
		return -EINVAL;
	}
	if (size > INT64_MAX)
		return -EFBIG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: cannot create: %s", path, strerror(-ret));
		return ret;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
	} else if (prealloc && !strcmp(prealloc, "falloc") && size) {
		ret = posix_fallocate(fd, 0, (off_t)size);
		ret = -ret;
	} else if (prealloc && !strcmp(prealloc, "full")) {
		ret = raw_prealloc_full(fd, size);
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		log_err("%s: cannot create: %s", path, strerror(-ret));
	return ret;
}

static int raw_resize(struct block_dev *bd, uint64_t new_size)
{
	int ret = block_file_truncate(bd->file, new_size);

	if (ret < 0)
		log_err("%s: cannot resize to %llu bytes: %s", bd->filename,
			(unsigned long long)new_size, strerror(-ret));
	return ret;
}

static int raw_block_status(struct block_dev *bd, uint64_t offset, uint64_t len,
			    uint64_t *pnum, uint64_t *map)
{
	int fd = bd->file->fd;
	int64_t fsize = block_file_size(bd->file);
	off_t data, hole;

	if (map)
		*map = offset;
	if (fsize >= 0 && offset >= (uint64_t)fsize) {
		/* beyond the end of the file (block device bigger than file?) reads zeroes */
		*pnum = len;
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	}
	data = lseek(fd, (off_t)offset, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		*pnum = len;
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	}
	if (data < 0) {
		/* no SEEK_DATA support: everything is data */
		*pnum = len;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	}
	if ((uint64_t)data > offset) {
		*pnum = (uint64_t)data - offset < len ? (uint64_t)data - offset : len;
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
	}
	hole = lseek(fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= offset)
		*pnum = len;
	else
		*pnum = (uint64_t)hole - offset < len ? (uint64_t)hole - offset : len;
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
}

const struct block_driver block_driver_raw = {
	.name = "raw",
	.is_raw = true,
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.submit = raw_submit,
	.create = raw_create,
	.resize = raw_resize,
	.block_status = raw_block_status,
};
