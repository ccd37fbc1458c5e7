/*
 * The virtio-mmio transport, version 2 only (VIRTIO 1.2 ch. 4.2): the register
 * block, feature negotiation, device status and reset, queue setup, kicks
 * through ioeventfds on QueueNotify, a level-triggered interrupt line.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "lib/errmsg.h"
#include "lib/log.h"

/* Device configuration the register block has room for. */
#define VMIO_CONFIG_MAX		(VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)

/* Kinds of driver mistakes: each is logged once per device. */
enum vmio_mistake {
	VMIO_BAD_WIDTH,
	VMIO_BAD_OFFSET,
	VMIO_RO_WRITE,
	VMIO_WO_READ,
	VMIO_LATE_FEATURES,
	VMIO_BAD_FEATURES,
	VMIO_NO_VERSION_1,
	VMIO_BAD_STATUS,
	VMIO_STATUS_CLEARED,
	VMIO_NO_FEATURES_OK,
	VMIO_QUEUE_SELECT,
	VMIO_QUEUE_LIVE,
	VMIO_QUEUE_SIZE,
	VMIO_QUEUE_READY,
	VMIO_QUEUE_WITHDRAWN,
	VMIO_BAD_NOTIFY,
	VMIO_BAD_ACK,
	VMIO_MISTAKES
};

struct vmio_queue {
	uint16_t size;
	bool ready;
	uint64_t desc, driver, device;
	int kick_fd;
	struct virtq vq;
};

struct virtio_mmio {
	const struct machine_services *ms;
	struct virtio_dev *vdev;
	char name[32];
	uint64_t base;
	unsigned int gsi;
	/* Driver-visible state; the fields marked atomic are also used off the lock. */
	pthread_mutex_t lock;
	uint64_t host_features;
	uint64_t guest_features;
	bool guest_features_junk;	/* bits written in feature words >= 2 */
	uint32_t dfselect, gfselect;
	uint32_t queue_select;
	uint8_t status;			/* atomic (NEEDS_RESET comes from any thread) */
	uint32_t generation;		/* atomic */
	/* InterruptStatus and the line change together (see virtio-pci's ISR). */
	pthread_mutex_t isr_lock;
	uint32_t isr;
	bool running;			/* ops->start succeeded, ops->stop not yet called */
	struct vmio_queue *q;
	bool ioeventfd_ok;
	unsigned int mistakes;		/* bitmap of enum vmio_mistake already logged */
	bool broken_logged;
	struct virtio_mmio_bus *bus;	/* the slot's bus, or NULL (virtio_mmio_new) */
	unsigned int slot;
};

static const struct virtio_transport_ops vmio_transport_ops;

static bool vmio_first(struct virtio_mmio *vm, enum vmio_mistake m)
{
	unsigned int bit = 1u << m;

	return !(__atomic_fetch_or(&vm->mistakes, bit, __ATOMIC_RELAXED) & bit);
}

#define vmio_mistake(vm, m, fmt, ...)						\
	do {									\
		if (vmio_first(vm, m))						\
			log_warn("%s: " fmt " (said once)", (vm)->name,		\
				 ##__VA_ARGS__);				\
	} while (0)

static uint64_t vmio_get(const void *data, unsigned int size)
{
	const uint8_t *p = data;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void vmio_put(void *data, unsigned int size, uint64_t v)
{
	uint8_t *p = data;
	unsigned int i;

	for (i = 0; i < size && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t vmio_status(struct virtio_mmio *vm)
{
	return __atomic_load_n(&vm->status, __ATOMIC_ACQUIRE);
}

/* ---- interrupts ---- */

static void vmio_interrupt(struct virtio_mmio *vm, uint32_t bit)
{
	pthread_mutex_lock(&vm->isr_lock);
	vm->isr |= bit;
	machine_irq_set(vm->ms, vm->gsi, 1);
	pthread_mutex_unlock(&vm->isr_lock);
}

/* InterruptACK (ch. 4.2.2): the line stays up while any event is unacknowledged. */
static void vmio_ack(struct virtio_mmio *vm, uint32_t bits)
{
	pthread_mutex_lock(&vm->isr_lock);
	vm->isr &= ~bits;
	if (!vm->isr)
		machine_irq_set(vm->ms, vm->gsi, 0);
	pthread_mutex_unlock(&vm->isr_lock);
}

static uint32_t vmio_isr(struct virtio_mmio *vm)
{
	uint32_t v;

	pthread_mutex_lock(&vm->isr_lock);
	v = vm->isr;
	pthread_mutex_unlock(&vm->isr_lock);
	return v;
}

void virtio_mmio_notify(struct virtio_mmio *vm, unsigned int idx)
{
	struct vmio_queue *q;

	if (idx >= vm->vdev->nr_queues)
		return;
	q = &vm->q[idx];
	if (!q->vq.started || !virtq_should_notify(&q->vq))
		return;
	vmio_interrupt(vm, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_interrupt(struct virtio_mmio *vm, unsigned int idx)
{
	if (idx < vm->vdev->nr_queues)
		vmio_interrupt(vm, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio *vm)
{
	__atomic_fetch_add(&vm->generation, 1, __ATOMIC_ACQ_REL);
	vmio_interrupt(vm, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_set_broken(struct virtio_mmio *vm, const char *why)
{
	uint8_t old = __atomic_fetch_or(&vm->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!__atomic_exchange_n(&vm->broken_logged, true, __ATOMIC_ACQ_REL))
		log_err("%s: device needs reset: %s", vm->name, why);
	/* A device that never got DRIVER_OK has no driver listening yet. */
	if (old & VIRTIO_STATUS_DRIVER_OK)
		vmio_interrupt(vm, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- kicks ---- */

static uint64_t vmio_notify_addr(struct virtio_mmio *vm)
{
	return vm->base + VIRTIO_MMIO_QUEUE_NOTIFY;
}

/*
 * One ioeventfd per queue on the one QueueNotify register, told apart by the
 * value written (the queue index). Without them a kick exits to the vCPU
 * thread and vmio_kick() signals the same eventfd.
 */
static void vmio_ioeventfds(struct virtio_mmio *vm, bool assign)
{
	unsigned int i;
	int ret;

	if (!assign && !vm->ioeventfd_ok)
		return;
	for (i = 0; i < vm->vdev->nr_queues; i++) {
		ret = machine_ioeventfd_dm(vm->ms, vm->q[i].kick_fd, vmio_notify_addr(vm), 4,
					   false, i, assign);
		if (ret && assign) {
			log_info("%s: no ioeventfd for queue kicks (%s); kicks exit to the VMM",
				 vm->name, strerror(-ret));
			while (i--)
				machine_ioeventfd_dm(vm->ms, vm->q[i].kick_fd,
						     vmio_notify_addr(vm), 4, false, i, false);
			vm->ioeventfd_ok = false;
			return;
		}
	}
	vm->ioeventfd_ok = assign;
}

static void vmio_kick(struct virtio_mmio *vm, uint64_t idx)
{
	uint64_t one = 1;

	if (idx >= vm->vdev->nr_queues) {
		vmio_mistake(vm, VMIO_BAD_NOTIFY, "driver notifies queue %" PRIu64 " of %u", idx,
			     vm->vdev->nr_queues);
		return;
	}
	if (write(vm->q[idx].kick_fd, &one, sizeof(one)) != sizeof(one))
		log_err("%s: cannot signal the kick of queue %" PRIu64, vm->name, idx);
}

static void vmio_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* ---- device status, start and reset ---- */

/* Caller holds vm->lock. */
static void vmio_stop_queues(struct virtio_mmio *vm)
{
	unsigned int i;

	if (vm->running) {
		vm->running = false;
		vm->vdev->ops->stop(vm->vdev);
	}
	for (i = 0; i < vm->vdev->nr_queues; i++)
		virtq_stop(&vm->q[i].vq);
}

/* Caller holds vm->lock. Device reset (ch. 2.4, 4.2.3.1): the power-on state. */
static void vmio_reset(struct virtio_mmio *vm)
{
	unsigned int i;

	vmio_stop_queues(vm);
	for (i = 0; i < vm->vdev->nr_queues; i++) {
		struct vmio_queue *q = &vm->q[i];

		q->size = (uint16_t)vm->vdev->queue_size;
		q->ready = false;
		q->desc = q->driver = q->device = 0;
		vmio_drain(q->kick_fd);
	}
	vm->guest_features = 0;
	vm->guest_features_junk = false;
	vm->dfselect = vm->gfselect = 0;
	vm->queue_select = 0;
	__atomic_store_n(&vm->status, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&vm->broken_logged, false, __ATOMIC_RELEASE);
	vmio_ack(vm, ~0u);
}

/* Caller holds vm->lock. DRIVER_OK: make every ready queue live, then the device. */
static void vmio_start(struct virtio_mmio *vm)
{
	uint64_t f = vm->guest_features;
	char qname[sizeof(((struct virtq *)0)->name)];
	struct virtq *vqs[VIRTIO_MAX_QUEUES];
	unsigned int i;
	int ret;

	for (i = 0; i < vm->vdev->nr_queues; i++) {
		struct vmio_queue *q = &vm->q[i];
		struct virtq_config cfg = {
			.size = q->size,
			.packed = f & (1ull << VIRTIO_F_RING_PACKED),
			.indirect = f & (1ull << VIRTIO_F_INDIRECT_DESC),
			.event_idx = f & (1ull << VIRTIO_F_EVENT_IDX),
			.desc_gpa = q->desc,
			.driver_gpa = q->driver,
			.device_gpa = q->device,
		};

		vqs[i] = NULL;
		if (!q->ready)
			continue;
		snprintf(qname, sizeof(qname), "%.20s/%u", vm->name, (uint8_t)i);
		ret = virtq_start(&q->vq, vm->ms, qname, &cfg);
		if (ret) {
			virtq_stop(&q->vq);
			vmio_stop_queues(vm);
			virtio_mmio_set_broken(vm, "a queue the driver made ready cannot start");
			return;
		}
		vqs[i] = &q->vq;
	}
	ret = vm->vdev->ops->start(vm->vdev, f, vqs);
	if (ret) {
		vmio_stop_queues(vm);
		virtio_mmio_set_broken(vm, "the device refused to start");
		return;
	}
	vm->running = true;
}

static bool vmio_features_ok(struct virtio_mmio *vm)
{
	if (vm->guest_features_junk || (vm->guest_features & ~vm->host_features)) {
		vmio_mistake(vm, VMIO_BAD_FEATURES,
			     "driver accepted features 0x%" PRIx64 " we did not offer (offered 0x%"
			     PRIx64 "); FEATURES_OK refused",
			     vm->guest_features & ~vm->host_features, vm->host_features);
		return false;
	}
	if (!(vm->guest_features & (1ull << VIRTIO_F_VERSION_1))) {
		vmio_mistake(vm, VMIO_NO_VERSION_1,
			     "driver did not accept VIRTIO_F_VERSION_1; FEATURES_OK refused");
		return false;
	}
	return true;
}

/* Caller holds vm->lock. */
static void vmio_status_write(struct virtio_mmio *vm, uint32_t val32)
{
	uint8_t cur = vmio_status(vm), val = (uint8_t)val32;
	uint8_t added = val & ~cur;

	if (val32 > 0xff) {
		vmio_mistake(vm, VMIO_BAD_STATUS, "driver writes status 0x%x", val32);
		return;
	}
	if (!val) {
		vmio_reset(vm);
		return;
	}
	if (cur & ~val & ~VIRTIO_STATUS_NEEDS_RESET) {
		vmio_mistake(vm, VMIO_STATUS_CLEARED,
			     "driver cleared device status bits (0x%02x -> 0x%02x) without a reset",
			     cur, val);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !vmio_features_ok(vm))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK)) {
		vmio_mistake(vm, VMIO_NO_FEATURES_OK, "driver set DRIVER_OK without FEATURES_OK");
		val &= ~VIRTIO_STATUS_DRIVER_OK;
		added &= ~VIRTIO_STATUS_DRIVER_OK;
		val |= VIRTIO_STATUS_NEEDS_RESET;
	}
	__atomic_fetch_or(&vm->status, val, __ATOMIC_ACQ_REL);
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(cur & VIRTIO_STATUS_NEEDS_RESET))
		vmio_start(vm);
}

/* ---- queue registers ---- */

static struct vmio_queue *vmio_selected(struct virtio_mmio *vm)
{
	if (vm->queue_select >= vm->vdev->nr_queues)
		return NULL;
	return &vm->q[vm->queue_select];
}

static void vmio_set_half(uint64_t *reg, bool high, uint32_t val)
{
	if (high)
		*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
	else
		*reg = (*reg & ~0xffffffffull) | val;
}

/*
 * QueueReady 0 on a live queue: the driver takes it back, and nothing may
 * touch it again (ch. 4.2.2.1). Without VIRTIO_F_RING_RESET a device cannot
 * go on without one of its queues: stop it and ask for a reset.
 */
static void vmio_withdraw(struct virtio_mmio *vm, struct vmio_queue *q)
{
	vmio_mistake(vm, VMIO_QUEUE_WITHDRAWN, "driver takes queue %u back while running",
		     vm->queue_select);
	vmio_stop_queues(vm);
	q->ready = false;
	virtio_mmio_set_broken(vm, "the driver took back a live queue");
}

/* Caller holds vm->lock. */
static void vmio_queue_write(struct virtio_mmio *vm, uint64_t off, uint32_t val)
{
	struct vmio_queue *q = vmio_selected(vm);
	bool packed = vm->guest_features & (1ull << VIRTIO_F_RING_PACKED);
	bool live = vmio_status(vm) & VIRTIO_STATUS_DRIVER_OK;

	if (!q) {
		vmio_mistake(vm, VMIO_QUEUE_SELECT, "driver configures queue %u of %u",
			     vm->queue_select, vm->vdev->nr_queues);
		return;
	}
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		if (val > 1) {
			vmio_mistake(vm, VMIO_QUEUE_READY, "driver writes %u to QueueReady", val);
		} else if (!val) {
			if (q->ready && live && q->vq.started)
				vmio_withdraw(vm, q);
			q->ready = false;
		} else if (live) {
			vmio_mistake(vm, VMIO_QUEUE_LIVE,
				     "driver readies queue %u after DRIVER_OK", vm->queue_select);
		} else {
			q->ready = true;
		}
		return;
	}
	if (q->ready || live) {
		vmio_mistake(vm, VMIO_QUEUE_LIVE,
			     "driver rewrites queue %u (register 0x%" PRIx64 ") while it is ready",
			     vm->queue_select, off);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (!val || val > vm->vdev->queue_size || (!packed && (val & (val - 1)))) {
			vmio_mistake(vm, VMIO_QUEUE_SIZE,
				     "driver sets queue %u size %u (largest %u%s)",
				     vm->queue_select, val, vm->vdev->queue_size,
				     packed ? "" : ", a power of two");
			return;
		}
		q->size = (uint16_t)val;
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vmio_set_half(&q->desc, off & 4, val);
		return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		vmio_set_half(&q->driver, off & 4, val);
		return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		vmio_set_half(&q->device, off & 4, val);
		return;
	}
}

/* ---- the register block ---- */

/* Caller holds vm->lock. off is a 4-byte aligned control register. */
static uint32_t vmio_reg_read(struct virtio_mmio *vm, uint64_t off)
{
	struct vmio_queue *q = vmio_selected(vm);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return vm->vdev->type;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return vm->dfselect < 2 ? (uint32_t)(vm->host_features >> (32 * vm->dfselect)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0: no such queue (ch. 4.2.2) */
		return q ? vm->vdev->queue_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return vmio_isr(vm);
	case VIRTIO_MMIO_STATUS:
		return vmio_status(vm);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&vm->generation, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: the length of a missing one reads -1. */
		return 0xffffffff;
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: case VIRTIO_MMIO_DRIVER_FEATURES:
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: case VIRTIO_MMIO_QUEUE_SEL:
	case VIRTIO_MMIO_QUEUE_NUM: case VIRTIO_MMIO_QUEUE_NOTIFY:
	case VIRTIO_MMIO_INTERRUPT_ACK: case VIRTIO_MMIO_SHM_SEL:
	case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		vmio_mistake(vm, VMIO_WO_READ, "driver reads write-only register 0x%03" PRIx64,
			     off);
		return 0;
	}
	vmio_mistake(vm, VMIO_BAD_OFFSET, "read of register 0x%03" PRIx64 ", which is none",
		     off);
	return 0;
}

/* Caller holds vm->lock. off is a 4-byte aligned control register. */
static void vmio_reg_write(struct virtio_mmio *vm, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vm->dfselect = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vm->gfselect = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (vmio_status(vm) & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) {
			vmio_mistake(vm, VMIO_LATE_FEATURES,
				     "driver writes its features after FEATURES_OK");
			return;
		}
		if (vm->gfselect >= 2) {
			if (val)
				vm->guest_features_junk = true;
			return;
		}
		vm->guest_features &= ~(0xffffffffull << (32 * vm->gfselect));
		vm->guest_features |= (uint64_t)val << (32 * vm->gfselect);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		vm->queue_select = val;
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* No NOTIFICATION_DATA: the value is the queue index. */
		vmio_kick(vm, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		if (val & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
			vmio_mistake(vm, VMIO_BAD_ACK, "driver acknowledges interrupt bits 0x%x",
				     val);
		vmio_ack(vm, val);
		return;
	case VIRTIO_MMIO_STATUS:
		vmio_status_write(vm, val);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return;
	case VIRTIO_MMIO_QUEUE_NUM: case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		vmio_queue_write(vm, off, val);
		return;
	case VIRTIO_MMIO_MAGIC_VALUE: case VIRTIO_MMIO_VERSION_REG:
	case VIRTIO_MMIO_DEVICE_ID: case VIRTIO_MMIO_VENDOR_ID:
	case VIRTIO_MMIO_DEVICE_FEATURES: case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_INTERRUPT_STATUS: case VIRTIO_MMIO_CONFIG_GENERATION:
	case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
		vmio_mistake(vm, VMIO_RO_WRITE, "driver writes read-only register 0x%03" PRIx64,
			     off);
		return;
	}
	vmio_mistake(vm, VMIO_BAD_OFFSET, "write of register 0x%03" PRIx64 ", which is none",
		     off);
}

/*
 * Control registers take aligned 32-bit accesses only (ch. 4.2.2.2); the
 * configuration space any 1, 2, 4 or 8 bytes inside config_size.
 */
static bool vmio_access_ok(struct virtio_mmio *vm, uint64_t off, unsigned int size,
			   bool *config)
{
	*config = off >= VIRTIO_MMIO_CONFIG;
	if (*config) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if ((size == 1 || size == 2 || size == 4 || size == 8) &&
		    coff < vm->vdev->config_size && size <= vm->vdev->config_size - coff)
			return true;
		vmio_mistake(vm, VMIO_BAD_OFFSET,
			     "%u-byte access at configuration offset 0x%" PRIx64 " (%u bytes)",
			     size, coff, vm->vdev->config_size);
		return false;
	}
	if (size == 4 && !(off & 3))
		return true;
	vmio_mistake(vm, VMIO_BAD_WIDTH, "%u-byte access at register 0x%03" PRIx64
		     " (32-bit aligned only)", size, off);
	return false;
}

static void vmio_io_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct virtio_mmio *vm = opaque;
	bool config;

	memset(data, 0, size);
	pthread_mutex_lock(&vm->lock);
	if (vmio_access_ok(vm, off, size, &config)) {
		if (!config)
			vmio_put(data, size, vmio_reg_read(vm, off));
		else if (vm->vdev->ops->config_read)
			vm->vdev->ops->config_read(vm->vdev, (uint32_t)(off - VIRTIO_MMIO_CONFIG),
						   data, size);
	}
	pthread_mutex_unlock(&vm->lock);
}

static void vmio_io_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct virtio_mmio *vm = opaque;
	bool config;

	pthread_mutex_lock(&vm->lock);
	if (vmio_access_ok(vm, off, size, &config)) {
		if (!config)
			vmio_reg_write(vm, off, (uint32_t)vmio_get(data, size));
		else if (vm->vdev->ops->config_write)
			vm->vdev->ops->config_write(vm->vdev, (uint32_t)(off - VIRTIO_MMIO_CONFIG),
						    data, size);
	}
	pthread_mutex_unlock(&vm->lock);
}

static const struct io_ops vmio_io_ops = {
	.read = vmio_io_read,
	.write = vmio_io_write,
};

/* ---- creation ---- */

struct virtio_mmio *virtio_mmio_new(const struct machine_services *ms, struct virtio_dev *vdev,
				    uint64_t base, unsigned int gsi)
{
	struct virtio_mmio *vm;
	unsigned int i;
	int ret;

	if (!virtio_dev_valid(vdev, VMIO_CONFIG_MAX)) {
		log_err("%s: bad virtio device description (queues %u, size %u, config %u)",
			vdev && vdev->name ? vdev->name : "virtio", vdev ? vdev->nr_queues : 0,
			vdev ? vdev->queue_size : 0, vdev ? vdev->config_size : 0);
		return NULL;
	}
	if (vdev->trans_ops) {
		log_err("%s: the device is bound to another transport already", vdev->name);
		return NULL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		goto oom;
	vm->q = calloc(vdev->nr_queues, sizeof(*vm->q));
	if (!vm->q) {
		free(vm);
		goto oom;
	}
	vm->ms = ms;
	vm->vdev = vdev;
	vm->base = base;
	vm->gsi = gsi;
	snprintf(vm->name, sizeof(vm->name), "%s", vdev->name);
	vm->host_features = virtio_dev_offered(vdev);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->isr_lock, NULL);
	for (i = 0; i < vdev->nr_queues; i++)
		vm->q[i].kick_fd = -1;
	for (i = 0; i < vdev->nr_queues; i++) {
		vm->q[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vm->q[i].kick_fd < 0) {
			log_err("%s: cannot create the kick eventfd of queue %u: %m", vm->name, i);
			goto fail;
		}
	}
	ret = machine_mmio_add(ms, base, VIRTIO_MMIO_SIZE, &vmio_io_ops, vm);
	if (ret) {
		log_err("%s: cannot register MMIO 0x%" PRIx64 "+0x%x: %s", vm->name, base,
			VIRTIO_MMIO_SIZE, strerror(ret < 0 ? -ret : EBUSY));
		goto fail;
	}
	virtio_dev_bind(vdev, &vmio_transport_ops, vm);
	pthread_mutex_lock(&vm->lock);
	vmio_reset(vm);
	vmio_ioeventfds(vm, true);
	pthread_mutex_unlock(&vm->lock);
	return vm;

fail:
	for (i = 0; i < vdev->nr_queues; i++)
		if (vm->q[i].kick_fd >= 0)
			close(vm->q[i].kick_fd);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->isr_lock);
	free(vm->q);
	free(vm);
	return NULL;
oom:
	log_err("%s: out of memory", vdev->name);
	return NULL;
}

void virtio_mmio_free(struct virtio_mmio *vm)
{
	unsigned int i;

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	vmio_stop_queues(vm);
	vmio_ioeventfds(vm, false);
	pthread_mutex_unlock(&vm->lock);
	vmio_ack(vm, ~0u);
	if (vm->vdev->transport == vm)
		virtio_dev_unbind(vm->vdev);
	if (vm->bus)
		vm->bus->used &= ~(1u << vm->slot);
	for (i = 0; i < vm->vdev->nr_queues; i++)
		close(vm->q[i].kick_fd);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->isr_lock);
	free(vm->q);
	free(vm);
}

/* ---- the bus of slots ---- */

void virtio_mmio_bus_init(struct virtio_mmio_bus *bus, uint64_t base, unsigned int gsi_base,
			  unsigned int nr_slots)
{
	bus->base = base;
	bus->gsi_base = gsi_base;
	bus->nr_slots = nr_slots < VIRTIO_MMIO_BUS_MAX_SLOTS ? nr_slots :
			VIRTIO_MMIO_BUS_MAX_SLOTS;
	bus->used = 0;
}

bool virtio_mmio_bus_slot(const struct virtio_mmio_bus *bus, unsigned int i, uint64_t *base,
			  unsigned int *gsi)
{
	if (i >= bus->nr_slots || !(bus->used & (1u << i)))
		return false;
	*base = bus->base + (uint64_t)i * VIRTIO_MMIO_SIZE;
	*gsi = bus->gsi_base + i;
	return true;
}

struct virtio_mmio *virtio_mmio_bus_plug(struct virtio_mmio_bus *bus,
					 const struct machine_services *ms,
					 struct virtio_dev *vdev, int *ret, char *err,
					 size_t errlen)
{
	struct virtio_mmio *vm;
	unsigned int i;

	for (i = 0; i < bus->nr_slots; i++)
		if (!(bus->used & (1u << i)))
			break;
	if (i == bus->nr_slots) {
		*ret = errmsg_set(err, errlen, -ENOSPC, "%s: all %u virtio-mmio slots are taken",
				  vdev->name, bus->nr_slots);
		return NULL;
	}
	vm = virtio_mmio_new(ms, vdev, bus->base + (uint64_t)i * VIRTIO_MMIO_SIZE,
			     bus->gsi_base + i);
	if (!vm) {
		*ret = errmsg_set(err, errlen, -ENOMEM, "%s: cannot make its virtio-mmio "
				  "transport in slot %u", vdev->name, i);
		return NULL;
	}
	bus->used |= 1u << i;
	vm->bus = bus;
	vm->slot = i;
	return vm;
}

int virtio_mmio_cmdline(const struct virtio_mmio *vm, char *buf, size_t len)
{
	return snprintf(buf, len, "virtio_mmio.device=%u@0x%" PRIx64 ":%u", VIRTIO_MMIO_SIZE,
			vm->base, vm->gsi);
}

uint64_t virtio_mmio_base(const struct virtio_mmio *vm)
{
	return vm->base;
}

unsigned int virtio_mmio_gsi(const struct virtio_mmio *vm)
{
	return vm->gsi;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned int idx)
{
	if (idx >= vm->vdev->nr_queues || !vm->q[idx].vq.started)
		return NULL;
	return &vm->q[idx].vq;
}

int virtio_mmio_kick_fd(struct virtio_mmio *vm, unsigned int idx)
{
	if (idx >= vm->vdev->nr_queues)
		return -1;
	return vm->q[idx].kick_fd;
}

/* ---- the transport side of device.h ---- */

static struct virtq *vmio_t_queue(void *t, unsigned int idx)
{
	return virtio_mmio_queue(t, idx);
}

static int vmio_t_kick_fd(void *t, unsigned int idx)
{
	return virtio_mmio_kick_fd(t, idx);
}

/* No irqfd on a level-triggered line: vhost falls back to an eventfd of its own. */
static int vmio_t_call_fd(void *t, unsigned int idx)
{
	return -1;
}

static void vmio_t_notify(void *t, unsigned int idx)
{
	virtio_mmio_notify(t, idx);
}

static void vmio_t_interrupt(void *t, unsigned int idx)
{
	virtio_mmio_interrupt(t, idx);
}

static void vmio_t_config_changed(void *t)
{
	virtio_mmio_config_changed(t);
}

static void vmio_t_set_broken(void *t, const char *why)
{
	virtio_mmio_set_broken(t, why);
}

static void vmio_t_free(void *t)
{
	virtio_mmio_free(t);
}

static const struct virtio_transport_ops vmio_transport_ops = {
	.queue = vmio_t_queue,
	.kick_fd = vmio_t_kick_fd,
	.call_fd = vmio_t_call_fd,
	.notify = vmio_t_notify,
	.interrupt = vmio_t_interrupt,
	.config_changed = vmio_t_config_changed,
	.set_broken = vmio_t_set_broken,
	.free = vmio_t_free,
};
