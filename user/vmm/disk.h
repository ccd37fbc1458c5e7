/*
 * Guest disks on the command line (Documentation/keel-run.md "Guest disks"):
 * parsing --disk and --iothread option strings, and opening the images.
 */
#ifndef KEEL_VMM_DISK_H
#define KEEL_VMM_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "block/block.h"
#include "devices/virtio/blk.h"
#include "vmm/iothread.h"

#define DISK_PATH_MAX		4096

/* Who serves the queues (accel=): Documentation/vhost-blk.md "keel's side". */
enum disk_accel {
	DISK_ACCEL_AUTO,		/* vhost when it can, else userspace */
	DISK_ACCEL_VHOST,		/* /dev/vhost-blk, or refuse to start */
	DISK_ACCEL_NONE,		/* keel's own data plane */
};

#define DISK_VHOST_BLK_DEV	"/dev/vhost-blk"

struct disk_conf {
	char path[DISK_PATH_MAX];
	const char *format;		/* "raw", "qcow2", "vhdx", "vpc"; NULL: probe */
	bool read_only;
	char iothread[IOTHREAD_ID_MAX];	/* "": served on the main loop */
	enum block_aio aio;
	enum block_cache cache;
	bool discard;			/* discard=unmap */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	unsigned int num_queues;
	enum virtio_blk_werror werror;
	enum disk_accel accel;
	/* The placement keys every device has: id=, bus=, addr= ("" when not given). */
	char id[64];
	char bus[64];
	char addr[16];
};

/*
 * Parse "path=P[,format=F][,readonly=on][,iothread=ID][,aio=A][,cache=C]
 * [,discard=D][,serial=S][,num-queues=N][,werror=W]" (",," is a comma inside a
 * value). 0, or -EINVAL with one sentence in err. No file is touched.
 */
int disk_parse(const char *str, struct disk_conf *out, char *err, size_t errlen);
/* Parse "id=ID" into id (IOTHREAD_ID_MAX bytes). */
int disk_parse_iothread(const char *str, char *id, char *err, size_t errlen);
/*
 * Check a whole command line's disks and I/O threads: each parses, every
 * iothread= names a --iothread, no id is given twice.
 */
int disk_check_config(const char *const *disks, unsigned int nr_disks,
		      const char *const *iothreads, unsigned int nr_iothreads,
		      char *err, size_t errlen);

/*
 * Open the image of conf (probing its format if none was given): 0 and *out,
 * or -errno with one line logged naming the disk.
 */
int disk_open(const struct disk_conf *conf, struct block_dev **out);

/*
 * Decide (and log once) who serves disk name: vhost fills *vhost_fd (open
 * DISK_VHOST_BLK_DEV, or dev_path when not NULL) and *backend_fd (the image opened
 * again for the kernel), userspace leaves both -1. 0, or -errno when accel=vhost
 * cannot be honoured (logged: a command-line mistake).
 */
int disk_accel_open(const struct disk_conf *conf, const struct block_dev *bd,
		    const char *name, const char *dev_path, int *vhost_fd, int *backend_fd);

#endif
