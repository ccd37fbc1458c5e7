/*
 * Machine services: what a device model may ask of the machine it is plugged
 * into. Declared here, implemented by user/vmm/ (and by a fake machine in
 * tests/unit), so that devices never include anything from user/vmm/.
 */
#ifndef KEEL_DEVICES_MACHINE_H
#define KEEL_DEVICES_MACHINE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct chardev;
struct block_dev;
struct blk_backend;

/*
 * A port-I/O or MMIO region's handlers. offset is relative to the region's
 * base; size is 1, 2, 4 or 8. Handlers run on a vCPU thread with the
 * device's own lock held by the caller's choice (the bus takes none).
 * A read handler must fill all size bytes of data.
 */
struct io_ops {
	void (*read)(void *dev, uint64_t offset, void *data, unsigned int size);
	void (*write)(void *dev, uint64_t offset, const void *data, unsigned int size);
};

/* Requests a device may make of the machine as a whole. */
enum machine_request {
	MACHINE_POWEROFF,	/* ACPI S5, or any "switch off" */
	MACHINE_RESET,		/* reset register, i8042 pulse, 0xCF9 */
	MACHINE_PAUSE,		/* stop the vCPUs as QMP stop does (werror=stop) */
};

/* One guest RAM region as the host maps it (for in-kernel backends: vhost). */
struct machine_ram_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

/* Who serves a disk's queues (accel=): Documentation/vhost-blk.md "keel's side". */
enum machine_block_accel {
	MACHINE_BLOCK_ACCEL_AUTO,	/* vhost when it can, else userspace */
	MACHINE_BLOCK_ACCEL_VHOST,	/* /dev/vhost-blk, or refuse to start */
	MACHINE_BLOCK_ACCEL_NONE,	/* keel's own data plane */
};

struct vhost_blk_stats;

/* What the machine may ask of the device serving a block node (QMP). */
struct machine_block_ops {
	unsigned int (*parked)(void *owner);	/* requests held by werror=stop */
	void (*resume)(void *owner);		/* QMP cont: submit them again */
	/* accel=vhost: the kernel's per-queue counters; -ENODEV without vhost. */
	int (*vhost_stats)(void *owner, struct vhost_blk_stats *st);
};

/* What a disk device asks of a block node. */
struct machine_block_req {
	const struct machine_block_ops *ops;
	void *owner;
	const char *node;		/* the node-name (drive=) */
	const char *device;		/* the device's name, for log lines */
	enum machine_block_accel accel;
	unsigned int num_queues;
	bool werror_stop;		/* needs keel's data plane */
	const char *iothread;		/* serve it on this I/O thread; NULL: main loop */
};

/* A claimed block node: the open image, and the in-kernel backend if any. */
struct machine_block {
	struct block_dev *bd;
	/*
	 * The block backend on the loop of req->iothread (werror from
	 * req->werror_stop), the node's for as long as the claim lasts.
	 */
	struct blk_backend *be;
	bool read_only;
	bool discard;			/* discard=unmap */
	int vhost_fd;			/* /dev/vhost-blk, or -1: served by keel */
	int vhost_backend_fd;		/* the image opened again for the kernel, or -1 */
};

struct machine_services {
	void *opaque;

	int (*pio_add)(void *opaque, uint16_t base, uint16_t len,
		       const struct io_ops *ops, void *dev);
	int (*mmio_add)(void *opaque, uint64_t base, uint64_t len,
			const struct io_ops *ops, void *dev);

	/* Drive an interrupt line (GSI) of the in-kernel irqchip. */
	void (*irq_set)(void *opaque, unsigned int gsi, int level);

	/*
	 * Bounds-checked guest-physical to host-virtual translation: returns
	 * NULL unless [gpa, gpa + len) lies entirely inside one RAM region.
	 */
	void *(*gpa_to_hva)(void *opaque, uint64_t gpa, uint64_t len);

	/* Ask for power-off or reset; acted on by the main loop, not inline. */
	void (*request)(void *opaque, enum machine_request req);

	/* The main thread's event loop, for chardevs and timers. */
	struct loop *loop;

	/*
	 * Message-signalled interrupts (PCI 3.0 ch. 6.8; x86 address/data format:
	 * Intel SDM vol. 3 ch. 11.11). msi_send delivers one message now
	 * (KVM_SIGNAL_MSI); callable from any thread. 0 or -errno.
	 */
	int (*msi_send)(void *opaque, uint64_t addr, uint32_t data);

	/*
	 * irqfd (KVM_IRQFD over a KVM_SET_GSI_ROUTING MSI entry): after this, a
	 * write of 1 to efd delivers the message inside the kernel, without any
	 * exit or keel thread. Returns a route handle >= 0 or -errno.
	 * irqfd_update changes the message of a live route (the guest rewrote an
	 * MSI-X entry); irqfd_del detaches efd and frees the route.
	 */
	int (*irqfd_add)(void *opaque, int efd, uint64_t addr, uint32_t data);
	int (*irqfd_update)(void *opaque, int route, uint64_t addr, uint32_t data);
	void (*irqfd_del)(void *opaque, int route, int efd);

	/*
	 * ioeventfd (KVM_IOEVENTFD): a guest write of len bytes (1, 2, 4 or 8) at
	 * addr in port I/O (pio) or MMIO space signals efd instead of exiting to a
	 * vCPU thread. assign false removes a registration made with the same
	 * arguments. 0 or -errno.
	 */
	int (*ioeventfd)(void *opaque, int efd, uint64_t addr, unsigned int len, bool pio,
			 bool assign);

	/*
	 * The event loop of I/O thread id (--iothread id=ID), running on its own
	 * thread; NULL if no such thread was configured.
	 */
	struct loop *(*iothread)(void *opaque, const char *id);

	/*
	 * Guest RAM regions (vhost's memory table): fills up to max entries and
	 * returns how many regions there are, or -errno. May be NULL.
	 */
	int (*ram_regions)(void *opaque, struct machine_ram_region *out, unsigned int max);

	/*
	 * A guest panic report (pvpanic, ISA or PCI): PVPANIC_* bits, on the
	 * reporting vCPU's thread; the machine acts on it (--on-panic). May be NULL.
	 */
	void (*guest_panic)(void *opaque, unsigned int events);

	/*
	 * Named chardevs (--chardev, chardev-add): a device takes one by id for
	 * itself and gives it back. NULL with a sentence in err (-ENOENT, -EBUSY
	 * in *ret). Main loop only. May be NULL: no chardevs.
	 */
	struct chardev *(*chardev_claim)(void *opaque, const char *id, int *ret, char *err,
					 size_t errlen);
	void (*chardev_release)(void *opaque, struct chardev *cd);

	/*
	 * Block nodes (--blockdev, --disk, blockdev-add): a disk device takes the
	 * node by name for itself (one device per node) and decides who serves
	 * it (req: the device's accel= and queue needs). 0 and *out, or -errno
	 * with a sentence in err. Main loop only. May be NULL: no disks.
	 */
	int (*block_claim)(void *opaque, const struct machine_block_req *req,
			   struct machine_block *out, char *err, size_t errlen);
	void (*block_release)(void *opaque, const char *node);
	/*
	 * werror=stop parked a failed request of device on node: the machine has
	 * been asked to pause; it tells QMP clients (BLOCK_IO_ERROR). Any thread.
	 */
	void (*block_io_error)(void *opaque, const char *node, const char *device, bool write,
			       int err);

	/*
	 * ioeventfd with a value (KVM_IOEVENTFD_FLAG_DATAMATCH): as ioeventfd,
	 * but only a write of exactly datamatch (len bytes, little-endian)
	 * signals efd, so several eventfds can share one register (virtio-mmio's
	 * QueueNotify takes the queue index). Registrations with different
	 * values at one address coexist; one without a value collides with all.
	 * May be NULL (a machine without it, such as a test fake): the register
	 * handler then sees the write on the vCPU thread. 0 or -errno.
	 */
	int (*ioeventfd_dm)(void *opaque, int efd, uint64_t addr, unsigned int len, bool pio,
			    uint64_t datamatch, bool assign);

	/*
	 * A device wrote [gpa, gpa + len) of guest RAM from the host side (a
	 * used ring, data read from a disk): KVM's dirty log does not see
	 * such writes, so a migration in progress learns of them here. Any
	 * thread; cheap when no migration runs. May be NULL.
	 */
	void (*dirty_mark)(void *opaque, uint64_t gpa, uint64_t len);
};

/* Convenience wrappers so device code reads naturally. */
static inline int machine_pio_add(const struct machine_services *ms, uint16_t base,
				  uint16_t len, const struct io_ops *ops, void *dev)
{
	return ms->pio_add(ms->opaque, base, len, ops, dev);
}

static inline int machine_mmio_add(const struct machine_services *ms, uint64_t base,
				   uint64_t len, const struct io_ops *ops, void *dev)
{
	return ms->mmio_add(ms->opaque, base, len, ops, dev);
}

static inline void machine_irq_set(const struct machine_services *ms, unsigned int gsi,
				   int level)
{
	ms->irq_set(ms->opaque, gsi, level);
}

static inline void *machine_gpa_to_hva(const struct machine_services *ms, uint64_t gpa,
				       uint64_t len)
{
	return ms->gpa_to_hva(ms->opaque, gpa, len);
}

static inline void machine_dirty_mark(const struct machine_services *ms, uint64_t gpa,
				      uint64_t len)
{
	if (ms->dirty_mark)
		ms->dirty_mark(ms->opaque, gpa, len);
}

static inline void machine_request(const struct machine_services *ms,
				   enum machine_request req)
{
	ms->request(ms->opaque, req);
}

static inline int machine_msi_send(const struct machine_services *ms, uint64_t addr,
				   uint32_t data)
{
	return ms->msi_send(ms->opaque, addr, data);
}

static inline int machine_irqfd_add(const struct machine_services *ms, int efd,
				    uint64_t addr, uint32_t data)
{
	return ms->irqfd_add(ms->opaque, efd, addr, data);
}

static inline int machine_irqfd_update(const struct machine_services *ms, int route,
				       uint64_t addr, uint32_t data)
{
	return ms->irqfd_update(ms->opaque, route, addr, data);
}

static inline void machine_irqfd_del(const struct machine_services *ms, int route, int efd)
{
	ms->irqfd_del(ms->opaque, route, efd);
}

static inline int machine_ioeventfd(const struct machine_services *ms, int efd,
				    uint64_t addr, unsigned int len, bool pio, bool assign)
{
	return ms->ioeventfd(ms->opaque, efd, addr, len, pio, assign);
}

static inline int machine_ioeventfd_dm(const struct machine_services *ms, int efd,
				       uint64_t addr, unsigned int len, bool pio,
				       uint64_t datamatch, bool assign)
{
	if (!ms->ioeventfd_dm)
		return -EOPNOTSUPP;
	return ms->ioeventfd_dm(ms->opaque, efd, addr, len, pio, datamatch, assign);
}

static inline struct loop *machine_iothread(const struct machine_services *ms,
					    const char *id)
{
	return ms->iothread ? ms->iothread(ms->opaque, id) : NULL;
}

static inline int machine_ram_regions(const struct machine_services *ms,
				      struct machine_ram_region *out, unsigned int max)
{
	return ms->ram_regions ? ms->ram_regions(ms->opaque, out, max) : -EOPNOTSUPP;
}

static inline void machine_guest_panic(const struct machine_services *ms, unsigned int ev)
{
	if (ms->guest_panic)
		ms->guest_panic(ms->opaque, ev);
}

#endif
