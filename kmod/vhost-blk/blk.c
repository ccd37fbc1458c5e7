// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vhost-blk: virtio-blk request handling in the host kernel (VIRTIO 1.2
 * section 5.2) on a file or block device, with asynchronous direct I/O.
 * Rings, memory and workers come from kmod/common.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/llist.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <uapi/linux/vhost_blk.h>
#include "../common/kv.h"

#define VBLK_NAME		"vhost-blk"
#define VBLK_SECTOR_SHIFT	9
#define VBLK_BUDGET		64
#define VBLK_MAX_DWZ_SEGS	256

#define VBLK_FEATURES ((1ULL << VHOST_F_LOG_ALL) |			\
		       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |		\
		       (1ULL << VIRTIO_RING_F_EVENT_IDX) |		\
		       (1ULL << VIRTIO_F_VERSION_1) |			\
		       (1ULL << VIRTIO_BLK_F_SEG_MAX) |			\
		       (1ULL << VIRTIO_BLK_F_FLUSH) |			\
		       (1ULL << VIRTIO_BLK_F_MQ) |			\
		       (1ULL << VIRTIO_BLK_F_DISCARD) |			\
		       (1ULL << VIRTIO_BLK_F_WRITE_ZEROES))

/* What one queue's worker knows of the backend. */
struct vblk_queue {
	struct file *file;
	bool ro;
	u8 serial[VIRTIO_BLK_ID_BYTES];
	struct llist_head done;
	struct vhost_blk_queue_stats stats;
};

struct vblk {
	struct kv_dev dev;
	struct kv_vq vqs[VHOST_BLK_MAX_QUEUES];
	struct vblk_queue q[VHOST_BLK_MAX_QUEUES];
	struct file *file;		/* holds the backend reference */
};

struct vblk_req {
	struct kiocb iocb;
	struct llist_node node;
	struct kv_vq *vq;
	struct file *file;		/* own reference while in flight */
	long ret;
	u64 len;			/* data bytes asked for */
	u32 used_len;			/* bytes written into guest buffers */
	u16 head;
	u8 type;
	u8 status;
	bool async;
	bool queued;			/* the backend answered -EIOCBQUEUED */
	bool sb_write;			/* holds freeze protection */
	unsigned int nin;		/* writable segments, for the dirty log */
	struct kv_seg *in;
	unsigned int niov;
	struct iovec iov[];
};

/* Live objects, readable in /sys/module/vhost_blk/parameters: zero when idle. */
static atomic_t vblk_live_devices = ATOMIC_INIT(0);
static atomic_t vblk_live_requests = ATOMIC_INIT(0);

static int vblk_param_get_live(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read((atomic_t *)kp->arg));
}

static const struct kernel_param_ops vblk_live_ops = {
	.get = vblk_param_get_live,
};

module_param_cb(live_devices, &vblk_live_ops, &vblk_live_devices, 0444);
MODULE_PARM_DESC(live_devices, "open /dev/vhost-blk instances");
module_param_cb(live_requests, &vblk_live_ops, &vblk_live_requests, 0444);
MODULE_PARM_DESC(live_requests, "requests taken from a ring and not yet returned");

static struct vblk *vblk_of(struct kv_vq *vq)
{
	return container_of(vq->dev, struct vblk, dev);
}

/* Copy @len bytes at byte @skip of segments @segs into @buf; bytes copied. */
static size_t vblk_segs_read(struct kv_seg *segs, unsigned int n, size_t skip,
			     void *buf, size_t len)
{
	size_t done = 0, c;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (skip >= segs[i].iov.iov_len) {
			skip -= segs[i].iov.iov_len;
			continue;
		}
		c = min(segs[i].iov.iov_len - skip, len - done);
		if (copy_from_user(buf + done, segs[i].iov.iov_base + skip, c))
			break;
		done += c;
		skip = 0;
	}
	return done;
}

/* Copy @len bytes from @buf into segments @segs starting at byte 0. */
static size_t vblk_segs_write(struct kv_seg *segs, unsigned int n, const void *buf,
			      size_t len)
{
	size_t done = 0, c;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		c = min(segs[i].iov.iov_len, len - done);
		if (copy_to_user(segs[i].iov.iov_base, buf + done, c))
			break;
		done += c;
	}
	return done;
}

/* Fill @iov with the bytes [skip, skip + len) of @segs; returns the count. */
static unsigned int vblk_segs_slice(struct kv_seg *segs, unsigned int n, size_t skip,
				    size_t len, struct iovec *iov)
{
	unsigned int i, k = 0;
	size_t c;

	for (i = 0; i < n && len; i++) {
		if (skip >= segs[i].iov.iov_len) {
			skip -= segs[i].iov.iov_len;
			continue;
		}
		c = min(segs[i].iov.iov_len - skip, len);
		iov[k].iov_base = segs[i].iov.iov_base + skip;
		iov[k].iov_len = c;
		k++;
		len -= c;
		skip = 0;
	}
	return k;
}

static size_t vblk_segs_len(struct kv_seg *segs, unsigned int n)
{
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		len += segs[i].iov.iov_len;
	return len;
}

/* Write the status byte, log guest writes, return the chain to the driver. */
static bool vblk_req_end(struct vblk_req *req)
{
	struct kv_vq *vq = req->vq;
	struct vblk_queue *q = &vblk_of(vq)->q[vq->index];
	struct kv_seg *last = &req->in[req->nin - 1];
	void __user *status = last->iov.iov_base + last->iov.iov_len - 1;
	size_t left = req->used_len;
	unsigned int i;
	bool pushed = false;

	if (req->sb_write)
		sb_end_write(file_inode(req->file)->i_sb);
	if (req->async) {
		if (req->ret < 0 || req->ret != req->len) {
			req->status = VIRTIO_BLK_S_IOERR;
		} else {
			req->status = VIRTIO_BLK_S_OK;
			if (req->type == VIRTIO_BLK_T_IN)
				req->used_len = req->len;
		}
		left = req->used_len;
	}
	q->stats.requests++;
	if (req->status != VIRTIO_BLK_S_OK)
		q->stats.errors++;
	else if (req->type == VIRTIO_BLK_T_IN)
		q->stats.read_bytes += req->len;
	else if (req->type == VIRTIO_BLK_T_OUT)
		q->stats.write_bytes += req->len;
	if (req->queued)
		q->stats.queued++;
	if (put_user(req->status, (u8 __user *)status)) {
		kv_vq_fail(vq, "status byte of head %u not writable", req->head);
	} else {
		/* data bytes first, then the status byte, in guest order */
		for (i = 0; i < req->nin && left; i++) {
			size_t c = min_t(size_t, left, req->in[i].iov.iov_len);

			kv_log_write(vq, req->in[i].gpa, c);
			left -= c;
		}
		kv_log_write(vq, last->gpa + last->iov.iov_len - 1, 1);
		pushed = !kv_ring_push(vq, req->head, req->used_len + 1);
	}
	if (req->async && atomic_dec_and_test(&vq->inflight))
		wake_up_all(&vq->drain_wq);
	if (req->file)
		fput(req->file);
	kvfree(req);
	atomic_dec(&vblk_live_requests);
	return pushed;
}

static void vblk_aio_done(struct kiocb *iocb, long ret)
{
	struct vblk_req *req = container_of(iocb, struct vblk_req, iocb);
	struct kv_vq *vq = req->vq;

	req->ret = ret;
	llist_add(&req->node, &vblk_of(vq)->q[vq->index].done);
	kv_worker_queue(vq);
}

static bool vblk_complete(struct kv_vq *vq)
{
	struct llist_node *list = llist_del_all(&vblk_of(vq)->q[vq->index].done);
	struct vblk_req *req, *tmp;
	bool pushed = false;

	list = llist_reverse_order(list);
	llist_for_each_entry_safe(req, tmp, list, node)
		pushed |= vblk_req_end(req);
	return pushed;
}

static u8 vblk_rw(struct vblk_queue *q, struct vblk_req *req, u64 sector)
{
	struct kv_vq *vq = req->vq;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct kv_seg *segs = write ? vq->segs : vq->segs + vq->nout;
	unsigned int n = write ? vq->nout : vq->nin;
	size_t skip = write ? sizeof(struct virtio_blk_outhdr) : 0;
	size_t total = vblk_segs_len(segs, n);
	struct iov_iter iter;
	struct inode *inode;
	loff_t size;
	ssize_t ret;

	if (total < skip + (write ? 0 : 1))
		return VIRTIO_BLK_S_IOERR;
	req->len = write ? total - skip : total - 1;
	/* the used length the driver gets back is 32 bits */
	if (req->len % (1 << VBLK_SECTOR_SHIFT) || req->len >= U32_MAX || (write && q->ro))
		return VIRTIO_BLK_S_IOERR;
	size = i_size_read(req->file->f_mapping->host);
	if (sector > (U64_MAX >> VBLK_SECTOR_SHIFT) ||
	    (sector << VBLK_SECTOR_SHIFT) > size ||
	    req->len > size - (sector << VBLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (!req->len)
		return VIRTIO_BLK_S_OK;
	req->niov = vblk_segs_slice(segs, n, skip, req->len, req->iov);
	iov_iter_init(&iter, write ? WRITE : READ, req->iov, req->niov, req->len);
	init_sync_kiocb(&req->iocb, req->file);
	req->iocb.ki_pos = sector << VBLK_SECTOR_SHIFT;
	req->iocb.ki_complete = vblk_aio_done;
	req->async = true;
	atomic_inc(&vq->inflight);
	if (write) {
		inode = file_inode(req->file);
		if (S_ISREG(inode->i_mode)) {
			sb_start_write(inode->i_sb);
			req->sb_write = true;
		}
		req->iocb.ki_flags |= IOCB_WRITE;
		ret = call_write_iter(req->file, &req->iocb, &iter);
	} else {
		ret = call_read_iter(req->file, &req->iocb, &iter);
	}
	if (ret == -EIOCBQUEUED)
		req->queued = true;
	else
		vblk_aio_done(&req->iocb, ret);
	return VIRTIO_BLK_S_OK;
}

static u8 vblk_discard(struct vblk_queue *q, struct vblk_req *req)
{
	struct kv_vq *vq = req->vq;
	size_t skip = sizeof(struct virtio_blk_outhdr);
	size_t len = vblk_segs_len(vq->segs, vq->nout) - skip;
	struct virtio_blk_discard_write_zeroes d;
	loff_t size = i_size_read(req->file->f_mapping->host);
	unsigned int i;
	u64 sector, bytes;
	u32 flags;
	int r, mode;

	if (q->ro || !len || len % sizeof(d) || len / sizeof(d) > VBLK_MAX_DWZ_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < len / sizeof(d); i++) {
		if (vblk_segs_read(vq->segs, vq->nout, skip + i * sizeof(d), &d,
				   sizeof(d)) != sizeof(d))
			return VIRTIO_BLK_S_IOERR;
		sector = le64_to_cpu(d.sector);
		bytes = (u64)le32_to_cpu(d.num_sectors) << VBLK_SECTOR_SHIFT;
		flags = le32_to_cpu(d.flags);
		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (req->type == VIRTIO_BLK_T_DISCARD && flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (sector > (U64_MAX >> VBLK_SECTOR_SHIFT) ||
		    (sector << VBLK_SECTOR_SHIFT) > size ||
		    bytes > size - (sector << VBLK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		if (!bytes)
			continue;
		sector <<= VBLK_SECTOR_SHIFT;
		if (req->type == VIRTIO_BLK_T_DISCARD) {
			r = vfs_fallocate(req->file, FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE, sector, bytes);
			/* discarding is advice: a backend without it is fine */
			if (r && r != -EOPNOTSUPP)
				return VIRTIO_BLK_S_IOERR;
			continue;
		}
		mode = flags ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;
		r = vfs_fallocate(req->file, mode | FALLOC_FL_KEEP_SIZE, sector, bytes);
		if (r == -EOPNOTSUPP && mode == FALLOC_FL_ZERO_RANGE)
			r = vfs_fallocate(req->file, FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE, sector, bytes);
		if (r)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static void vblk_submit(struct kv_vq *vq, u16 head)
{
	struct vblk_queue *q = &vblk_of(vq)->q[vq->index];
	struct virtio_blk_outhdr hdr;
	struct vblk_req *req;
	size_t sz;

	if (!vq->nin) {
		kv_vq_fail(vq, "request at head %u has no writable status byte", head);
		return;
	}
	sz = struct_size(req, iov, vq->nout + vq->nin);
	req = kvzalloc(sz + vq->nin * sizeof(struct kv_seg), GFP_KERNEL);
	if (!req) {
		kv_vq_fail(vq, "out of memory for the request at head %u", head);
		return;
	}
	atomic_inc(&vblk_live_requests);
	req->vq = vq;
	req->head = head;
	req->in = (struct kv_seg *)((char *)req + sz);
	req->nin = vq->nin;
	memcpy(req->in, vq->segs + vq->nout, vq->nin * sizeof(struct kv_seg));
	req->file = get_file(q->file);
	req->status = VIRTIO_BLK_S_IOERR;
	if (vblk_segs_read(vq->segs, vq->nout, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		goto end;
	req->type = le32_to_cpu(hdr.type);
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		req->status = vblk_rw(q, req, le64_to_cpu(hdr.sector));
		if (req->async)
			return;
		break;
	case VIRTIO_BLK_T_FLUSH:
		req->status = vfs_fsync(req->file, 0) ? VIRTIO_BLK_S_IOERR :
							VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (vblk_segs_len(req->in, req->nin) < VIRTIO_BLK_ID_BYTES + 1)
			break;
		req->used_len = vblk_segs_write(req->in, req->nin, q->serial,
						VIRTIO_BLK_ID_BYTES);
		if (req->used_len == VIRTIO_BLK_ID_BYTES)
			req->status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		req->status = vblk_discard(q, req);
		break;
	default:
		req->status = VIRTIO_BLK_S_UNSUPP;
	}
end:
	llist_add(&req->node, &q->done);
}

static void vblk_handle(struct kv_vq *vq)
{
	struct vblk_queue *q = &vblk_of(vq)->q[vq->index];
	unsigned int n = 0;
	bool pushed;
	u16 head;
	int r;

	pushed = vblk_complete(vq);
	/* re-arming counts too: a guest flipping avail->idx cannot pin us here */
	for (n = 0; n < VBLK_BUDGET && kv_vq_ready(vq) && q->file; n++) {
		r = kv_ring_pop(vq, &head);
		if (r < 0)
			break;
		if (r == 0) {
			if (kv_ring_arm(vq))
				continue;
			break;
		}
		vblk_submit(vq, head);
	}
	/* let other queues' workers and completions run, then go on */
	if (n == VBLK_BUDGET)
		kv_worker_queue(vq);
	pushed |= vblk_complete(vq);
	if (pushed)
		kv_ring_signal(vq);
}

static long vblk_set_backend(struct vblk *b, struct vhost_blk_backend __user *argp)
{
	struct vhost_blk_backend be;
	struct file *file = NULL, *old;
	umode_t mode;
	unsigned int i;

	if (copy_from_user(&be, argp, sizeof(be)))
		return -EFAULT;
	if ((be.flags & ~VHOST_BLK_BACKEND_F_RO) || be.reserved[0] ||
	    be.reserved[1] || be.reserved[2])
		return -EINVAL;
	if (be.fd != -1) {
		file = fget(be.fd);
		if (!file)
			return -EBADF;
		mode = file_inode(file)->i_mode;
		/* O_APPEND would send every write to the end of the file */
		if ((!S_ISREG(mode) && !S_ISBLK(mode)) || !(file->f_mode & FMODE_READ) ||
		    (file->f_flags & O_APPEND) ||
		    !file->f_op->read_iter ||
		    (!(be.flags & VHOST_BLK_BACKEND_F_RO) &&
		     (!(file->f_mode & FMODE_WRITE) || !file->f_op->write_iter))) {
			fput(file);
			return -EINVAL;
		}
	}
	old = b->file;
	b->file = file;
	for (i = 0; i < b->dev.nvqs; i++) {
		mutex_lock(&b->vqs[i].mutex);
		b->q[i].file = file;
		b->q[i].ro = be.flags & VHOST_BLK_BACKEND_F_RO;
		memcpy(b->q[i].serial, be.serial, sizeof(be.serial));
		mutex_unlock(&b->vqs[i].mutex);
		/* requests already queued in the ring start now */
		if (file && b->vqs[i].worker)
			kv_worker_queue(&b->vqs[i]);
	}
	/* the caller learns no request still uses the old backend */
	kv_dev_drain(&b->dev);
	if (old)
		fput(old);
	return 0;
}

static long vblk_get_stats(struct vblk *b, struct vhost_blk_stats __user *argp)
{
	struct vhost_blk_stats *st;
	unsigned int i;
	long r = 0;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->nvqs = b->dev.nvqs;
	for (i = 0; i < b->dev.nvqs; i++) {
		mutex_lock(&b->vqs[i].mutex);
		st->q[i] = b->q[i].stats;
		st->q[i].inflight = atomic_read(&b->vqs[i].inflight);
		st->q[i].broken = b->vqs[i].broken;
		mutex_unlock(&b->vqs[i].mutex);
	}
	if (copy_to_user(argp, st, sizeof(*st)))
		r = -EFAULT;
	kfree(st);
	return r;
}

static void vblk_reset(struct vblk *b)
{
	unsigned int i;

	kv_dev_cleanup(&b->dev);
	for (i = 0; i < b->dev.nvqs; i++) {
		b->q[i].file = NULL;
		memset(&b->q[i].stats, 0, sizeof(b->q[i].stats));
	}
	if (b->file)
		fput(b->file);
	b->file = NULL;
}

static long vblk_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct vblk *b = f->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	mutex_lock(&b->dev.mutex);
	switch (cmd) {
	case VHOST_BLK_SET_BACKEND:
		r = kv_dev_check_owner(&b->dev);
		if (!r)
			r = vblk_set_backend(b, argp);
		break;
	case VHOST_BLK_GET_STATS:
		r = vblk_get_stats(b, argp);
		break;
	case VHOST_RESET_OWNER:
		r = kv_dev_check_owner(&b->dev);
		if (!r)
			vblk_reset(b);
		break;
	default:
		r = kv_dev_ioctl(&b->dev, cmd, argp);
	}
	mutex_unlock(&b->dev.mutex);
	return r;
}

static int vblk_open(struct inode *inode, struct file *f)
{
	struct vblk *b;
	int r;

	b = kvzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	r = kv_dev_init(&b->dev, VBLK_NAME, b->vqs, VHOST_BLK_MAX_QUEUES,
			VBLK_FEATURES, vblk_handle);
	if (r) {
		kvfree(b);
		return r;
	}
	f->private_data = b;
	atomic_inc(&vblk_live_devices);
	return nonseekable_open(inode, f);
}

static int vblk_release(struct inode *inode, struct file *f)
{
	struct vblk *b = f->private_data;
	unsigned int i;

	vblk_reset(b);
	for (i = 0; i < b->dev.nvqs; i++)
		kvfree(b->vqs[i].segs);
	kvfree(b);
	atomic_dec(&vblk_live_devices);
	return 0;
}

static const struct file_operations vblk_fops = {
	.owner		= THIS_MODULE,
	.open		= vblk_open,
	.release	= vblk_release,
	.unlocked_ioctl	= vblk_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vblk_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VBLK_NAME,
	.fops	= &vblk_fops,
};

module_misc_device(vblk_misc);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtio-blk host backend for keel (vhost protocol)");
