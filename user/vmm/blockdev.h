/*
 * Block nodes (Documentation/keel-run.md "Guest disks", QMP blockdev-add): an
 * image opened once per keel run under a node-name, which one disk device
 * claims with drive=NODE. --disk makes a node and its virtio-blk-pci in one.
 */
#ifndef KEEL_VMM_BLOCKDEV_H
#define KEEL_VMM_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/machine.h"
#include "lib/opts.h"
#include "vmm/disk.h"

#define BLOCKDEV_NODE_MAX	64

struct blockdev {
	char node[BLOCKDEV_NODE_MAX];
	struct disk_conf conf;		/* the image's keys: path, format, read_only, ... */
	struct block_dev *bd;
	struct blk_backend *be;		/* while claimed: the device's backend */
	bool claimed;
	char device[64];		/* the claiming device's name */
	unsigned int num_queues;
	int vhost_fd, vhost_backend_fd;
	const struct machine_block_ops *ops;
	void *owner;
	struct blockdev *next;
};

struct blockdevs {
	struct blockdev *head;
};

/*
 * --blockdev / blockdev-add keys (QEMU's common subset): driver=raw|qcow2|
 * vhdx|vpc, node-name=N, file.driver=file, file.filename=PATH, read-only=,
 * discard=unmap|ignore, cache.direct=, cache.no-flush=, aio=io_uring|native|
 * threads. Fills node and conf; keys are marked used. 0 or -EINVAL with err.
 */
int blockdev_parse(struct opts *o, char *node, size_t nodelen, struct disk_conf *conf,
		   char *err, size_t errlen);
/* The same for a --blockdev string, opening nothing. */
int blockdev_check(const char *str, char *err, size_t errlen);

/* Open conf's image as node. -EEXIST, or the open's -errno (logged, err says which). */
int blockdevs_add(struct blockdevs *bs, const char *node, const struct disk_conf *conf,
		  char *err, size_t errlen);
/* Close an unclaimed node: -ENOENT, -EBUSY while a device holds it. */
int blockdevs_del(struct blockdevs *bs, const char *node, char *err, size_t errlen);
struct blockdev *blockdevs_find(const struct blockdevs *bs, const char *node);
/*
 * A device claims a node (machine_services.block_claim); its backend is made
 * on loop (an I/O thread's when iothread, else the main loop).
 */
int blockdevs_claim(struct blockdevs *bs, const struct machine_block_req *req,
		    struct loop *loop, bool iothread, struct machine_block *out, char *err,
		    size_t errlen);
void blockdevs_release(struct blockdevs *bs, const char *node);
/* At exit: every image closed (qcow2 metadata written back). */
void blockdevs_close(struct blockdevs *bs);

#endif
