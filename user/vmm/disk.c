/*
 * Guest disks on the command line (Documentation/keel-run.md "Guest disks"):
 * the --disk / --iothread option strings, checked before anything starts, and
 * opening each image once per keel run with the engine and cache it asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vhost_blk.h>

#include "lib/errmsg.h"
#include "block/aio/aio.h"
#include "lib/log.h"
#include "lib/opts.h"
#include "vmm/disk.h"

/* One sentence into err, -EINVAL. */
#define disk_err(err, errlen, ...) errmsg_set(err, errlen, -EINVAL, __VA_ARGS__)

static bool disk_valid_id(const char *id)
{
	const char *c;

	if (!*id || strlen(id) >= IOTHREAD_ID_MAX)
		return false;
	for (c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

enum disk_key {
	DK_PATH, DK_FORMAT, DK_READONLY, DK_IOTHREAD, DK_AIO, DK_CACHE, DK_DISCARD,
	DK_SERIAL, DK_NUM_QUEUES, DK_WERROR, DK_ACCEL, DK_ID, DK_BUS, DK_ADDR, DK__COUNT
};

static const char *const disk_keys[DK__COUNT] = {
	"path", "format", "readonly", "iothread", "aio", "cache", "discard", "serial",
	"num-queues", "werror", "accel", "id", "bus", "addr",
};

static int disk_set(struct disk_conf *c, enum disk_key k, const char *v, const char *str,
		    char *err, size_t errlen)
{
	static const char *const formats[] = { "raw", "qcow2", "vhdx", "vpc" };
	unsigned int i;
	uint64_t n;

	switch (k) {
	case DK_PATH:
		if (!*v)
			return disk_err(err, errlen, "--disk '%s': path is empty", str);
		snprintf(c->path, sizeof(c->path), "%s", v);
		return 0;
	case DK_FORMAT:
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (!strcmp(v, formats[i])) {
				c->format = formats[i];
				return 0;
			}
		return disk_err(err, errlen,
				"--disk '%s': format '%s' is not raw, qcow2, vhdx or vpc", str, v);
	case DK_READONLY:
		if (opt_parse_bool(v, &c->read_only))
			return disk_err(err, errlen, "--disk '%s': readonly is on or off", str);
		return 0;
	case DK_IOTHREAD:
		if (!disk_valid_id(v))
			return disk_err(err, errlen, "--disk '%s': iothread '%s' is not a valid id "
					"(letters, digits, '-', '_', '.'; at most %d)", str, v,
					IOTHREAD_ID_MAX - 1);
		memcpy(c->iothread, v, strlen(v) + 1);	/* a valid id fits */
		return 0;
	case DK_AIO:
		if (aio_engine_parse(v, &c->aio) < 0)
			return disk_err(err, errlen,
					"--disk '%s': aio '%s' is not io_uring, native or threads",
					str, v);
		return 0;
	case DK_CACHE:
		if (!strcmp(v, "none"))
			c->cache = BLOCK_CACHE_NONE;
		else if (!strcmp(v, "writeback"))
			c->cache = BLOCK_CACHE_WRITEBACK;
		else if (!strcmp(v, "unsafe"))
			c->cache = BLOCK_CACHE_UNSAFE;
		else
			return disk_err(err, errlen,
					"--disk '%s': cache '%s' is not none, writeback or unsafe",
					str, v);
		return 0;
	case DK_DISCARD:
		if (!strcmp(v, "unmap") || !strcmp(v, "on"))
			c->discard = true;
		else if (!strcmp(v, "ignore") || !strcmp(v, "off"))
			c->discard = false;
		else
			return disk_err(err, errlen, "--disk '%s': discard '%s' is not unmap or "
					"ignore", str, v);
		return 0;
	case DK_SERIAL:
		if (strlen(v) > VIRTIO_BLK_ID_BYTES)
			return disk_err(err, errlen, "--disk '%s': serial is longer than %d bytes",
					str, VIRTIO_BLK_ID_BYTES);
		for (i = 0; v[i]; i++)
			if (v[i] < 0x20 || v[i] > 0x7e)
				return disk_err(err, errlen, "--disk '%s': serial must be printable "
						"ASCII", str);
		snprintf(c->serial, sizeof(c->serial), "%s", v);
		return 0;
	case DK_NUM_QUEUES:
		if (opt_parse_uint(v, &n) || n < 1 || n > VIRTIO_BLK_MAX_QUEUES)
			return disk_err(err, errlen, "--disk '%s': num-queues '%s' is not a number "
					"in 1..%d", str, v, VIRTIO_BLK_MAX_QUEUES);
		c->num_queues = (unsigned int)n;
		return 0;
	case DK_WERROR:
		if (!strcmp(v, "report"))
			c->werror = VIRTIO_BLK_WERROR_REPORT;
		else if (!strcmp(v, "stop"))
			c->werror = VIRTIO_BLK_WERROR_STOP;
		else
			return disk_err(err, errlen, "--disk '%s': werror '%s' is not report or "
					"stop", str, v);
		return 0;
	case DK_ACCEL:
		if (!strcmp(v, "auto"))
			c->accel = DISK_ACCEL_AUTO;
		else if (!strcmp(v, "vhost"))
			c->accel = DISK_ACCEL_VHOST;
		else if (!strcmp(v, "none"))
			c->accel = DISK_ACCEL_NONE;
		else
			return disk_err(err, errlen, "--disk '%s': accel '%s' is not auto, vhost "
					"or none", str, v);
		return 0;
	case DK_ID:
	case DK_BUS:
	case DK_ADDR: {
		char *dst = k == DK_ID ? c->id : k == DK_BUS ? c->bus : c->addr;
		size_t cap = k == DK_ID ? sizeof(c->id) : k == DK_BUS ? sizeof(c->bus) :
			     sizeof(c->addr);

		if (!*v || strlen(v) >= cap)
			return disk_err(err, errlen, "--disk '%s': %s '%s' is empty or too long",
					str, disk_keys[k], v);
		snprintf(dst, cap, "%s", v);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int disk_parse(const char *str, struct disk_conf *out, char *err, size_t errlen)
{
	char why[160];
	struct opts o;
	unsigned int i, k;
	const char *v;
	int ret;

	memset(out, 0, sizeof(*out));
	out->aio = BLOCK_AIO_URING;
	out->cache = BLOCK_CACHE_WRITEBACK;
	out->num_queues = 1;
	out->werror = VIRTIO_BLK_WERROR_REPORT;
	if (!str || !*str)
		return disk_err(err, errlen, "--disk needs path=FILE");
	/* The grammar every option shares (lib/opts.h): ",," escapes, one key once. */
	ret = opts_parse(&o, str, NULL, false, why, sizeof(why));
	if (ret) {
		opts_free(&o);
		if (ret == -ENOMEM)
			return disk_err(err, errlen, "out of memory");
		return disk_err(err, errlen, "--disk '%s' is not key=value[,key=value...]: %s",
				str, why);
	}
	for (i = 0; i < o.n; i++) {
		for (k = 0; k < DK__COUNT; k++)
			if (!strcmp(o.pair[i].key, disk_keys[k]))
				break;
		if (k == DK__COUNT) {
			ret = disk_err(err, errlen, "--disk '%s': unknown key '%s' (path, format, "
				       "readonly, iothread, aio, cache, discard, serial, num-queues, "
				       "werror, accel, id, bus, addr)", str, o.pair[i].key);
			goto out;
		}
	}
	for (k = 0; k < DK__COUNT; k++) {
		v = opts_get(&o, disk_keys[k]);
		if (!v)
			continue;
		if (strlen(v) >= DISK_PATH_MAX) {
			ret = disk_err(err, errlen, "--disk: a value is longer than %d bytes",
				       DISK_PATH_MAX - 1);
			goto out;
		}
		ret = disk_set(out, k, v, str, err, errlen);
		if (ret)
			goto out;
	}
	if (!out->path[0]) {
		ret = disk_err(err, errlen, "--disk '%s' needs path=FILE", str);
		goto out;
	}
	if (out->format && (!strcmp(out->format, "vhdx") || !strcmp(out->format, "vpc")) &&
	    !out->read_only) {
		ret = disk_err(err, errlen, "--disk '%s': %s images are read-only in keel; add "
			       "readonly=on", str, out->format);
		goto out;
	}
	ret = 0;
out:
	opts_free(&o);
	return ret;
}

int disk_parse_iothread(const char *str, char *id, char *err, size_t errlen)
{
	if (!str || strncmp(str, "id=", 3) || strchr(str + 3, ','))
		return disk_err(err, errlen, "--iothread '%s' is not id=ID", str ? str : "");
	if (!disk_valid_id(str + 3))
		return disk_err(err, errlen, "--iothread '%s': '%s' is not a valid id (letters, "
				"digits, '-', '_', '.'; at most %d)", str, str + 3,
				IOTHREAD_ID_MAX - 1);
	snprintf(id, IOTHREAD_ID_MAX, "%s", str + 3);
	return 0;
}

int disk_check_config(const char *const *disks, unsigned int nr_disks,
		      const char *const *iothreads, unsigned int nr_iothreads,
		      char *err, size_t errlen)
{
	char (*ids)[IOTHREAD_ID_MAX] = NULL;
	struct disk_conf *c = NULL;
	unsigned int i, j;
	int ret = 0;

	if (!nr_disks && !nr_iothreads)
		return 0;
	ids = calloc(nr_iothreads ? nr_iothreads : 1, sizeof(*ids));
	c = malloc(sizeof(*c));
	if (!ids || !c) {
		ret = disk_err(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < nr_iothreads; i++) {
		ret = disk_parse_iothread(iothreads[i], ids[i], err, errlen);
		if (ret)
			goto out;
		for (j = 0; j < i; j++)
			if (!strcmp(ids[i], ids[j])) {
				ret = disk_err(err, errlen, "--iothread id=%s given twice", ids[i]);
				goto out;
			}
	}
	for (i = 0; i < nr_disks; i++) {
		ret = disk_parse(disks[i], c, err, errlen);
		if (ret)
			goto out;
		if (!c->iothread[0])
			continue;
		for (j = 0; j < nr_iothreads; j++)
			if (!strcmp(c->iothread, ids[j]))
				break;
		if (j == nr_iothreads) {
			ret = disk_err(err, errlen, "--disk '%s': there is no --iothread id=%s",
				       disks[i], c->iothread);
			goto out;
		}
	}
out:
	free(ids);
	free(c);
	return ret;
}

int disk_open(const struct disk_conf *conf, struct block_dev **out)
{
	struct block_open_opts o = {
		.format = conf->format,
		.read_only = conf->read_only,
		.cache = conf->cache,
		.aio = conf->aio,
	};
	const struct block_driver *drv;
	uint8_t buf[BLOCK_PROBE_SIZE];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(conf->path, (conf->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("--disk path=%s: cannot open it%s: %s", conf->path,
			conf->read_only ? "" : " for writing", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		log_err("--disk path=%s: not a regular file or block device", conf->path);
		close(fd);
		return -EINVAL;
	}
	if (!o.format) {
		memset(buf, 0, sizeof(buf));
		n = pread(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			ret = -errno;
			log_err("--disk path=%s: cannot read it: %s", conf->path, strerror(-ret));
			close(fd);
			return ret;
		}
		drv = block_probe(buf, (size_t)n, conf->path);
		if (!drv) {
			log_err("--disk path=%s: unknown image format", conf->path);
			close(fd);
			return -EINVAL;
		}
		if (drv->read_only && !conf->read_only) {
			log_err("--disk path=%s: %s images are read-only in keel; add readonly=on",
				conf->path, drv->name);
			close(fd);
			return -EROFS;
		}
		o.format = drv->name;
		if (drv->is_raw && !conf->read_only)
			log_warn("--disk path=%s: format probed as raw; give format=raw so a "
				 "guest cannot change what keel sees next time", conf->path);
	}
	close(fd);
	ret = block_open(out, conf->path, &o);
	/* The format driver has said why, naming the file: one line is enough. */
	if (ret < 0)
		log_debug("--disk path=%s: cannot open the %s image: %s", conf->path, o.format,
			strerror(-ret));
	return ret;
}

_Static_assert(VHOST_BLK_MAX_QUEUES == 8, "the message below names the limit");

/* Why vhost cannot serve conf, or NULL when it can (the image is not touched). */
static const char *disk_vhost_unfit(const struct disk_conf *conf, const struct block_dev *bd)
{
	if (!bd->drv || !bd->drv->is_raw)
		return "the image is not raw (vhost-blk takes a plain file or block device)";
	if (conf->num_queues > VHOST_BLK_MAX_QUEUES)
		return "vhost-blk serves at most 8 queues (num-queues)";
	if (conf->werror == VIRTIO_BLK_WERROR_STOP)
		return "werror=stop needs keel's own data plane";
	return NULL;
}

int disk_accel_open(const struct disk_conf *conf, const struct block_dev *bd,
		    const char *name, const char *dev_path, int *vhost_fd, int *backend_fd)
{
	const char *why;
	int flags, ret;

	*vhost_fd = *backend_fd = -1;
	if (!dev_path)
		dev_path = DISK_VHOST_BLK_DEV;
	if (conf->accel == DISK_ACCEL_NONE) {
		log_info("%s: served by keel (accel=none)", name);
		return 0;
	}
	why = disk_vhost_unfit(conf, bd);
	if (why) {
		if (conf->accel == DISK_ACCEL_VHOST) {
			log_err("--disk path=%s: accel=vhost is not possible: %s", conf->path, why);
			return -EINVAL;
		}
		log_info("%s: served by keel (accel=auto: %s)", name, why);
		return 0;
	}
	*vhost_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (*vhost_fd < 0) {
		ret = -errno;
		if (conf->accel == DISK_ACCEL_VHOST) {
			log_err("--disk path=%s: accel=vhost is not possible: cannot open %s: %s "
				"(is vhost-blk.ko loaded?)", conf->path, dev_path, strerror(-ret));
			return ret;
		}
		log_info("%s: served by keel (accel=auto: no %s)", name, dev_path);
		return 0;
	}
	flags = (conf->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if (conf->cache == BLOCK_CACHE_NONE)
		flags |= O_DIRECT;
	*backend_fd = open(conf->path, flags);
	if (*backend_fd < 0) {
		ret = -errno;
		log_err("--disk path=%s: cannot open it for vhost-blk: %s", conf->path,
			strerror(-ret));
		close(*vhost_fd);
		*vhost_fd = -1;
		return ret;
	}
	log_info("%s: served by vhost-blk in the kernel (accel=%s, %s I/O)", name,
		 conf->accel == DISK_ACCEL_VHOST ? "vhost" : "auto",
		 (flags & O_DIRECT) ? "direct" : "buffered");
	return 0;
}
