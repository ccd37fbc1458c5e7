/*
 * The virtio-pci transport, modern interface only (VIRTIO 1.2 ch. 4.1): vendor
 * capabilities, common/ISR/device/notify structures in BAR 4, MSI-X in BAR 1,
 * the PCI configuration access capability, feature negotiation and reset, for
 * any device of device.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "devices/pci/pcie.h"
#include "devices/virtio/pci.h"
#include "lib/log.h"

#define VP_VENDOR		0x1af4
#define VP_DEVICE_BASE		0x1040
#define VP_REVISION		1

#define VP_MSIX_BAR		1
#define VP_MSIX_BAR_SIZE	0x1000
#define VP_MSIX_TABLE		0x000
#define VP_MSIX_PBA		0x800

#define VP_BAR			4
#define VP_BAR_SIZE		0x4000
#define VP_COMMON_OFF		0x0000
#define VP_COMMON_LEN		0x38
#define VP_ISR_OFF		0x1000
#define VP_ISR_LEN		1
#define VP_DEVICE_OFF		0x2000
#define VP_DEVICE_MAX		0x1000
#define VP_NOTIFY_OFF		0x3000
#define VP_NOTIFY_MULT		4

/* Vendor capability (ch. 4.1.4): cfg_type values and field offsets. */
#define PCI_CAP_ID_VNDR		0x09
#define VP_CAP_COMMON		1
#define VP_CAP_NOTIFY		2
#define VP_CAP_ISR		3
#define VP_CAP_DEVICE		4
#define VP_CAP_PCI		5
#define VP_CAP_LEN_OFF		2
#define VP_CAP_TYPE_OFF		3
#define VP_CAP_BAR_OFF		4
#define VP_CAP_OFFSET_OFF	8
#define VP_CAP_LENGTH_OFF	12
#define VP_CAP_MULT_OFF		16	/* notify capability only */
#define VP_CAP_DATA_OFF		16	/* PCI configuration access capability only */
#define VP_CAP_SIZE		16
#define VP_CAP_NOTIFY_SIZE	20
#define VP_CAP_PCI_SIZE		20

/* Common configuration structure (ch. 4.1.4.3). */
#define VP_DFSELECT		0x00
#define VP_DF			0x04
#define VP_GFSELECT		0x08
#define VP_GF			0x0c
#define VP_MSIX_CONFIG		0x10
#define VP_NUM_QUEUES		0x12
#define VP_STATUS		0x14
#define VP_CFG_GENERATION	0x15
#define VP_Q_SELECT		0x16
#define VP_Q_SIZE		0x18
#define VP_Q_MSIX_VECTOR	0x1a
#define VP_Q_ENABLE		0x1c
#define VP_Q_NOTIFY_OFF		0x1e
#define VP_Q_DESC		0x20
#define VP_Q_DRIVER		0x28
#define VP_Q_DEVICE		0x30

/* ISR status bits (ch. 4.1.4.5). */
#define VP_ISR_QUEUE		0x1
#define VP_ISR_CONFIG		0x2

/* Kinds of driver mistakes: each is logged once per device. */
enum vp_mistake {
	VP_BAD_WIDTH,
	VP_BAD_OFFSET,
	VP_LATE_FEATURES,
	VP_BAD_FEATURES,
	VP_NO_VERSION_1,
	VP_STATUS_CLEARED,
	VP_NO_FEATURES_OK,
	VP_QUEUE_LIVE,
	VP_QUEUE_SELECT,
	VP_QUEUE_SIZE,
	VP_QUEUE_DISABLE,
	VP_BAD_VECTOR,
	VP_BAD_NOTIFY,
	VP_PCI_CFG,
	VP_RO_WRITE,
	VP_MISTAKES
};

struct vp_queue {
	uint16_t size;
	uint16_t vector;	/* read by any thread: atomic */
	bool enabled;
	uint64_t desc, driver, device;
	int kick_fd;
	struct virtq vq;
};

struct virtio_pci {
	struct pci_device pdev;
	const struct machine_services *ms;
	struct virtio_dev *vdev;
	struct virtio_pci_info info;
	char name[32];
	struct msix msix;
	bool msix_ready;
	/* Driver-visible state; the fields marked atomic are also used off the lock. */
	pthread_mutex_t lock;
	uint64_t host_features;
	uint64_t guest_features;
	bool guest_features_junk;	/* bits written in feature words >= 2 */
	uint32_t dfselect, gfselect;
	uint16_t msix_config;		/* atomic */
	uint8_t status;			/* atomic (NEEDS_RESET comes from any thread) */
	uint8_t generation;		/* atomic */
	/*
	 * ISR and the INTx line change together under isr_lock: otherwise a read
	 * racing a new interrupt could lower the line with the bit still set.
	 */
	pthread_mutex_t isr_lock;
	uint8_t isr;
	uint16_t queue_select;
	bool running;			/* ops->start succeeded, ops->stop not yet called */
	struct vp_queue *q;
	unsigned int pci_cap;		/* offset of the PCI configuration access capability */
	uint64_t notify_base;		/* where BAR 4's notify area decodes, 0: nowhere */
	bool ioeventfd_ok;
	unsigned int mistakes;		/* bitmap of enum vp_mistake already logged */
	bool broken_logged;
};

static bool vp_first(struct virtio_pci *vp, enum vp_mistake m)
{
	unsigned int bit = 1u << m;

	return !(__atomic_fetch_or(&vp->mistakes, bit, __ATOMIC_RELAXED) & bit);
}

#define vp_mistake(vp, m, fmt, ...)						\
	do {									\
		if (vp_first(vp, m))						\
			log_warn("%s: " fmt " (said once)", (vp)->name,		\
				 ##__VA_ARGS__);				\
	} while (0)

static uint64_t vp_get(const void *data, unsigned int size)
{
	const uint8_t *p = data;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void vp_put(void *data, unsigned int size, uint64_t v)
{
	uint8_t *p = data;
	unsigned int i;

	for (i = 0; i < size && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t vp_status(struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->status, __ATOMIC_ACQUIRE);
}

static const struct virtio_transport_ops vp_transport_ops;

/* The class other VMMs report for each device type, unless the caller chose one. */
static uint32_t vp_class(const struct virtio_pci *vp)
{
	if (vp->info.class_code)
		return vp->info.class_code;
	switch (vp->vdev->type) {
	case VIRTIO_ID_NET:
		return 0x020000;	/* network controller, Ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x010000;	/* mass storage, SCSI */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;	/* simple communication controller, other */
	default:
		return 0xff0000;	/* unclassified (virtio-rng and the rest) */
	}
}

/* ---- interrupts ---- */

static bool vp_msix_on(struct virtio_pci *vp)
{
	return vp->msix_ready && __atomic_load_n(&vp->msix.enabled, __ATOMIC_ACQUIRE);
}

static void vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (vp_msix_on(vp)) {
		/* With MSI-X on, NO_VECTOR means "no interrupt" (ch. 4.1.5.1.2). */
		if (vector != VIRTIO_MSI_NO_VECTOR && vector < vp->msix.nr)
			msix_notify(&vp->msix, vector);
		return;
	}
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= isr_bit;
	pci_device_intx(&vp->pdev, 1);
	pthread_mutex_unlock(&vp->isr_lock);
}

/* Read and clear ISR, lowering INTx (ch. 4.1.4.5.1). */
static uint8_t vp_isr_take(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->isr_lock);
	v = vp->isr;
	vp->isr = 0;
	pci_device_intx(&vp->pdev, 0);
	pthread_mutex_unlock(&vp->isr_lock);
	return v;
}

void virtio_pci_notify(struct virtio_pci *vp, unsigned int idx)
{
	struct vp_queue *q;

	if (idx >= vp->vdev->nr_queues)
		return;
	q = &vp->q[idx];
	if (!q->vq.started || !virtq_should_notify(&q->vq))
		return;
	vp_interrupt(vp, __atomic_load_n(&q->vector, __ATOMIC_ACQUIRE), VP_ISR_QUEUE);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	__atomic_fetch_add(&vp->generation, 1, __ATOMIC_ACQ_REL);
	vp_interrupt(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_ACQUIRE), VP_ISR_CONFIG);
}

void virtio_pci_set_broken(struct virtio_pci *vp, const char *why)
{
	uint8_t old = __atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!__atomic_exchange_n(&vp->broken_logged, true, __ATOMIC_ACQ_REL))
		log_err("%s: device needs reset: %s", vp->name, why);
	/* A device that never got DRIVER_OK has no driver listening yet. */
	if (old & VIRTIO_STATUS_DRIVER_OK)
		vp_interrupt(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_ACQUIRE),
			     VP_ISR_CONFIG);
}

/* ---- notifications ---- */

static uint64_t vp_notify_addr(struct virtio_pci *vp, unsigned int idx)
{
	return vp->notify_base + (uint64_t)VP_NOTIFY_MULT * idx;
}

/* Caller holds vp->lock. */
static void vp_ioeventfds(struct virtio_pci *vp, bool assign)
{
	unsigned int i;
	int ret;

	if (!vp->notify_base)
		return;
	for (i = 0; i < vp->vdev->nr_queues; i++) {
		if (!assign && !vp->ioeventfd_ok)
			break;
		ret = !vp->ms->ioeventfd ? -ENOSYS :
		      machine_ioeventfd(vp->ms, vp->q[i].kick_fd, vp_notify_addr(vp, i), 2,
					false, assign);
		if (ret && assign) {
			/* Kicks still arrive, through a vCPU exit and vp_notify_write(). */
			log_info("%s: no ioeventfd for queue kicks (%s); kicks exit to the VMM",
				 vp->name, strerror(-ret));
			while (i--)
				machine_ioeventfd(vp->ms, vp->q[i].kick_fd, vp_notify_addr(vp, i),
						  2, false, false);
			vp->ioeventfd_ok = false;
			return;
		}
	}
	vp->ioeventfd_ok = assign;
}

static void vp_bar_mapped(struct pci_device *pdev, unsigned int idx, uint64_t addr)
{
	struct virtio_pci *vp = pdev->opaque;

	if (idx != VP_BAR)
		return;
	pthread_mutex_lock(&vp->lock);
	vp_ioeventfds(vp, false);
	vp->notify_base = addr ? addr + VP_NOTIFY_OFF : 0;
	vp_ioeventfds(vp, true);
	pthread_mutex_unlock(&vp->lock);
}

static void vp_kick(struct virtio_pci *vp, unsigned int idx)
{
	uint64_t one = 1;

	if (write(vp->q[idx].kick_fd, &one, sizeof(one)) != sizeof(one))
		log_err("%s: cannot signal the kick of queue %u", vp->name, idx);
}

static void vp_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* ---- device status, start and reset ---- */

/* Caller holds vp->lock. */
static void vp_stop_queues(struct virtio_pci *vp)
{
	unsigned int i;

	if (vp->running) {
		vp->running = false;
		vp->vdev->ops->stop(vp->vdev);
	}
	for (i = 0; i < vp->vdev->nr_queues; i++)
		virtq_stop(&vp->q[i].vq);
}

/* Caller holds vp->lock. Device reset (ch. 2.4): back to the power-on state. */
static void vp_reset(struct virtio_pci *vp)
{
	unsigned int i;

	vp_stop_queues(vp);
	for (i = 0; i < vp->vdev->nr_queues; i++) {
		struct vp_queue *q = &vp->q[i];

		q->size = (uint16_t)vp->vdev->queue_size;
		__atomic_store_n(&q->vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		vp_drain(q->kick_fd);
	}
	vp->guest_features = 0;
	vp->guest_features_junk = false;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	__atomic_store_n(&vp->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
	__atomic_store_n(&vp->status, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&vp->broken_logged, false, __ATOMIC_RELEASE);
	vp_isr_take(vp);
}

/* Caller holds vp->lock. DRIVER_OK: make every enabled queue live, then the device. */
static void vp_start(struct virtio_pci *vp)
{
	uint64_t f = vp->guest_features;
	char qname[sizeof(((struct virtq *)0)->name)];
	struct virtq *vqs[VIRTIO_MAX_QUEUES];
	unsigned int i;
	int ret;

	for (i = 0; i < vp->vdev->nr_queues; i++) {
		struct vp_queue *q = &vp->q[i];
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
		if (!q->enabled)
			continue;
		snprintf(qname, sizeof(qname), "%.20s/%u", vp->name, (uint8_t)i);
		ret = virtq_start(&q->vq, vp->ms, qname, &cfg);
		if (ret) {
			virtq_stop(&q->vq);
			vp_stop_queues(vp);
			virtio_pci_set_broken(vp, "a queue the driver enabled cannot start");
			return;
		}
		vqs[i] = &q->vq;
	}
	ret = vp->vdev->ops->start(vp->vdev, f, vqs);
	if (ret) {
		vp_stop_queues(vp);
		virtio_pci_set_broken(vp, "the device refused to start");
		return;
	}
	vp->running = true;
}

static bool vp_features_ok(struct virtio_pci *vp)
{
	if (vp->guest_features_junk || (vp->guest_features & ~vp->host_features)) {
		vp_mistake(vp, VP_BAD_FEATURES,
			   "driver accepted features 0x%llx we did not offer (offered 0x%llx); FEATURES_OK refused",
			   (unsigned long long)(vp->guest_features & ~vp->host_features),
			   (unsigned long long)vp->host_features);
		return false;
	}
	if (!(vp->guest_features & (1ull << VIRTIO_F_VERSION_1))) {
		vp_mistake(vp, VP_NO_VERSION_1,
			   "driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not served); FEATURES_OK refused");
		return false;
	}
	return true;
}

/* Caller holds vp->lock. */
static void vp_status_write(struct virtio_pci *vp, uint8_t val)
{
	uint8_t cur = vp_status(vp);
	uint8_t added = val & ~cur;

	if (!val) {
		vp_reset(vp);
		return;
	}
	if (cur & ~val & ~VIRTIO_STATUS_NEEDS_RESET) {
		vp_mistake(vp, VP_STATUS_CLEARED,
			   "driver cleared device status bits (0x%02x -> 0x%02x) without a reset",
			   cur, val);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !vp_features_ok(vp))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK)) {
		vp_mistake(vp, VP_NO_FEATURES_OK, "driver set DRIVER_OK without FEATURES_OK");
		val &= ~VIRTIO_STATUS_DRIVER_OK;
		added &= ~VIRTIO_STATUS_DRIVER_OK;
		val |= VIRTIO_STATUS_NEEDS_RESET;
	}
	__atomic_fetch_or(&vp->status, val, __ATOMIC_ACQ_REL);
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(cur & VIRTIO_STATUS_NEEDS_RESET))
		vp_start(vp);
}

/* ---- common configuration ---- */

static struct vp_queue *vp_selected(struct virtio_pci *vp)
{
	if (vp->queue_select >= vp->vdev->nr_queues)
		return NULL;
	return &vp->q[vp->queue_select];
}

/* Natural width of the field at off, 0 for a hole; 64-bit fields also take halves. */
static unsigned int vp_common_width(uint64_t off)
{
	switch (off) {
	case VP_DFSELECT: case VP_DF: case VP_GFSELECT: case VP_GF:
		return 4;
	case VP_MSIX_CONFIG: case VP_NUM_QUEUES: case VP_Q_SELECT: case VP_Q_SIZE:
	case VP_Q_MSIX_VECTOR: case VP_Q_ENABLE: case VP_Q_NOTIFY_OFF:
		return 2;
	case VP_STATUS: case VP_CFG_GENERATION:
		return 1;
	case VP_Q_DESC: case VP_Q_DRIVER: case VP_Q_DEVICE:
		return 8;
	case VP_Q_DESC + 4: case VP_Q_DRIVER + 4: case VP_Q_DEVICE + 4:
		return 4;
	}
	return 0;
}

static bool vp_common_ok(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	unsigned int w = vp_common_width(off);

	if (w && (size == w || (w == 8 && size == 4)))
		return true;
	vp_mistake(vp, VP_BAD_WIDTH, "%u-byte access at common config offset 0x%llx", size,
		   (unsigned long long)off);
	return false;
}

static uint64_t vp_common_read(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	struct vp_queue *q = vp_selected(vp);
	uint64_t v;

	if (!vp_common_ok(vp, off, size))
		return 0;
	switch (off & ~7ull) {
	case VP_Q_DESC:
		v = q ? q->desc : 0;
		return off & 4 ? v >> 32 : (size == 4 ? (uint32_t)v : v);
	case VP_Q_DRIVER:
		v = q ? q->driver : 0;
		return off & 4 ? v >> 32 : (size == 4 ? (uint32_t)v : v);
	case VP_Q_DEVICE:
		v = q ? q->device : 0;
		return off & 4 ? v >> 32 : (size == 4 ? (uint32_t)v : v);
	}
	switch (off) {
	case VP_DFSELECT:
		return vp->dfselect;
	case VP_DF:
		return vp->dfselect < 2 ? (uint32_t)(vp->host_features >> (32 * vp->dfselect)) : 0;
	case VP_GFSELECT:
		return vp->gfselect;
	case VP_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->guest_features >> (32 * vp->gfselect)) : 0;
	case VP_MSIX_CONFIG:
		return __atomic_load_n(&vp->msix_config, __ATOMIC_ACQUIRE);
	case VP_NUM_QUEUES:
		return vp->vdev->nr_queues;
	case VP_STATUS:
		return vp_status(vp);
	case VP_CFG_GENERATION:
		return __atomic_load_n(&vp->generation, __ATOMIC_ACQUIRE);
	case VP_Q_SELECT:
		return vp->queue_select;
	case VP_Q_SIZE:
		return q ? q->size : 0;
	case VP_Q_MSIX_VECTOR:
		return q ? __atomic_load_n(&q->vector, __ATOMIC_ACQUIRE) : VIRTIO_MSI_NO_VECTOR;
	case VP_Q_ENABLE:
		return q ? q->enabled : 0;
	case VP_Q_NOTIFY_OFF:
		return q ? vp->queue_select : 0;
	}
	return 0;
}

/* A vector the driver asks for: NO_VECTOR when we have no such vector (ch. 4.1.5.1.2). */
static uint16_t vp_vector(struct virtio_pci *vp, uint64_t val)
{
	if (val == VIRTIO_MSI_NO_VECTOR || val < vp->msix.nr)
		return (uint16_t)val;
	vp_mistake(vp, VP_BAD_VECTOR, "driver asked for MSI-X vector %llu of %u",
		   (unsigned long long)val, vp->msix.nr);
	return VIRTIO_MSI_NO_VECTOR;
}

static void vp_set_half(uint64_t *field, uint64_t off, unsigned int size, uint64_t val)
{
	if (size == 8)
		*field = val;
	else if (off & 4)
		*field = (*field & 0xffffffffull) | (val << 32);
	else
		*field = (*field & ~0xffffffffull) | (uint32_t)val;
}

/* Writes to the selected queue's registers; caller holds vp->lock. */
static void vp_queue_write(struct virtio_pci *vp, uint64_t off, unsigned int size, uint64_t val)
{
	struct vp_queue *q = vp_selected(vp);
	bool packed = vp->guest_features & (1ull << VIRTIO_F_RING_PACKED);

	if (!q) {
		vp_mistake(vp, VP_QUEUE_SELECT, "driver configures queue %u of %u",
			   vp->queue_select, vp->vdev->nr_queues);
		return;
	}
	if (off == VP_Q_MSIX_VECTOR) {
		__atomic_store_n(&q->vector, vp_vector(vp, val), __ATOMIC_RELEASE);
		return;
	}
	if (q->enabled || (vp_status(vp) & VIRTIO_STATUS_DRIVER_OK)) {
		vp_mistake(vp, VP_QUEUE_LIVE,
			   "driver rewrites queue %u (register 0x%llx) after enabling it",
			   vp->queue_select, (unsigned long long)off);
		return;
	}
	switch (off & ~7ull) {
	case VP_Q_DESC:
		vp_set_half(&q->desc, off, size, val);
		return;
	case VP_Q_DRIVER:
		vp_set_half(&q->driver, off, size, val);
		return;
	case VP_Q_DEVICE:
		vp_set_half(&q->device, off, size, val);
		return;
	}
	switch (off) {
	case VP_Q_SIZE:
		if (!val || val > vp->vdev->queue_size || (!packed && (val & (val - 1)))) {
			vp_mistake(vp, VP_QUEUE_SIZE,
				   "driver sets queue %u size %llu (largest %u%s)",
				   vp->queue_select, (unsigned long long)val,
				   vp->vdev->queue_size, packed ? "" : ", a power of two");
			return;
		}
		q->size = (uint16_t)val;
		return;
	case VP_Q_ENABLE:
		if (val != 1) {
			vp_mistake(vp, VP_QUEUE_DISABLE, "driver writes %llu to queue_enable",
				   (unsigned long long)val);
			return;
		}
		q->enabled = true;
		return;
	}
}

static void vp_common_write(struct virtio_pci *vp, uint64_t off, unsigned int size, uint64_t val)
{
	if (!vp_common_ok(vp, off, size))
		return;
	switch (off) {
	case VP_DFSELECT:
		vp->dfselect = (uint32_t)val;
		return;
	case VP_GFSELECT:
		vp->gfselect = (uint32_t)val;
		return;
	case VP_GF:
		if (vp_status(vp) & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) {
			vp_mistake(vp, VP_LATE_FEATURES,
				   "driver writes its features after FEATURES_OK");
			return;
		}
		if (vp->gfselect >= 2) {
			if (val)
				vp->guest_features_junk = true;
			return;
		}
		vp->guest_features &= ~(0xffffffffull << (32 * vp->gfselect));
		vp->guest_features |= (uint64_t)(uint32_t)val << (32 * vp->gfselect);
		return;
	case VP_MSIX_CONFIG:
		__atomic_store_n(&vp->msix_config, vp_vector(vp, val), __ATOMIC_RELEASE);
		return;
	case VP_STATUS:
		vp_status_write(vp, (uint8_t)val);
		return;
	case VP_Q_SELECT:
		vp->queue_select = (uint16_t)val;
		return;
	case VP_DF: case VP_NUM_QUEUES: case VP_CFG_GENERATION: case VP_Q_NOTIFY_OFF:
		vp_mistake(vp, VP_RO_WRITE, "driver writes read-only common config offset 0x%llx",
			   (unsigned long long)off);
		return;
	}
	vp_queue_write(vp, off, size, val);
}

/* ---- BAR 4 ---- */

static bool vp_size_ok(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Caller holds vp->lock. */
static void vp_bar4_read(struct virtio_pci *vp, uint64_t off, void *data, unsigned int size)
{
	uint64_t v = 0;

	if (off < VP_COMMON_OFF + VP_COMMON_LEN) {
		v = vp_common_read(vp, off - VP_COMMON_OFF, size);
	} else if (off == VP_ISR_OFF && size == 1) {
		/* Reading ISR acknowledges it and lowers INTx (ch. 4.1.4.5). */
		v = vp_isr_take(vp);
	} else if (off >= VP_DEVICE_OFF && off - VP_DEVICE_OFF < vp->vdev->config_size &&
		   size <= vp->vdev->config_size - (off - VP_DEVICE_OFF)) {
		if (vp->vdev->ops->config_read) {
			vp->vdev->ops->config_read(vp->vdev, (uint32_t)(off - VP_DEVICE_OFF),
						  data, size);
			return;
		}
	} else if (off >= VP_NOTIFY_OFF &&
		   off < VP_NOTIFY_OFF + (uint64_t)VP_NOTIFY_MULT * vp->vdev->nr_queues) {
		/* Notify registers are write-only: reads give 0. */
	} else {
		vp_mistake(vp, VP_BAD_OFFSET, "%u-byte read at BAR 4 offset 0x%llx", size,
			   (unsigned long long)off);
	}
	vp_put(data, size, v);
}

/* Caller holds vp->lock. */
static void vp_bar4_write(struct virtio_pci *vp, uint64_t off, const void *data,
			  unsigned int size)
{
	uint64_t v = vp_get(data, size);

	if (off < VP_COMMON_OFF + VP_COMMON_LEN) {
		vp_common_write(vp, off - VP_COMMON_OFF, size, v);
	} else if (off >= VP_DEVICE_OFF && off - VP_DEVICE_OFF < vp->vdev->config_size &&
		   size <= vp->vdev->config_size - (off - VP_DEVICE_OFF)) {
		if (vp->vdev->ops->config_write)
			vp->vdev->ops->config_write(vp->vdev, (uint32_t)(off - VP_DEVICE_OFF),
						   data, size);
	} else if (off >= VP_NOTIFY_OFF &&
		   off < VP_NOTIFY_OFF + (uint64_t)VP_NOTIFY_MULT * vp->vdev->nr_queues) {
		unsigned int idx = (unsigned int)((off - VP_NOTIFY_OFF) / VP_NOTIFY_MULT);

		if ((off - VP_NOTIFY_OFF) % VP_NOTIFY_MULT || v != idx)
			vp_mistake(vp, VP_BAD_NOTIFY,
				   "notify write of %llu at BAR 4 offset 0x%llx (queue %u's register)",
				   (unsigned long long)v, (unsigned long long)off, idx);
		/* Whatever was written, this is the register of queue idx: kick it. */
		vp_kick(vp, idx);
	} else {
		vp_mistake(vp, VP_BAD_OFFSET, "%u-byte write at BAR 4 offset 0x%llx", size,
			   (unsigned long long)off);
	}
}

static void vp_bar4_io_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct virtio_pci *vp = opaque;

	if (!vp_size_ok(size)) {
		memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	vp_bar4_read(vp, off, data, size);
	pthread_mutex_unlock(&vp->lock);
}

static void vp_bar4_io_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct virtio_pci *vp = opaque;

	if (!vp_size_ok(size))
		return;
	pthread_mutex_lock(&vp->lock);
	vp_bar4_write(vp, off, data, size);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- BAR 1: MSI-X ---- */

static void vp_bar1_read(struct virtio_pci *vp, uint64_t off, void *data, unsigned int size)
{
	if (!msix_bar_read(&vp->msix, off, data, size))
		memset(data, 0xff, size);
}

static void vp_bar1_write(struct virtio_pci *vp, uint64_t off, const void *data,
			  unsigned int size)
{
	if (!msix_bar_write(&vp->msix, off, data, size))
		vp_mistake(vp, VP_BAD_OFFSET, "%u-byte write at BAR 1 offset 0x%llx", size,
			   (unsigned long long)off);
}

static void vp_bar1_io_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	vp_bar1_read(opaque, off, data, size);
}

static void vp_bar1_io_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	vp_bar1_write(opaque, off, data, size);
}

static const struct io_ops vp_bar1_ops = {
	.read = vp_bar1_io_read,
	.write = vp_bar1_io_write,
};

static const struct io_ops vp_bar4_ops = {
	.read = vp_bar4_io_read,
	.write = vp_bar4_io_write,
};

/* ---- PCI configuration access capability (ch. 4.1.4.9) ---- */

/*
 * The window's target: BAR, offset and length as the driver set them. False
 * (and logged) unless they name 1, 2 or 4 aligned bytes inside BAR 1 or 4.
 */
static bool vp_pci_cfg_target(struct virtio_pci *vp, unsigned int *bar, uint32_t *off,
			      uint32_t *len)
{
	const struct pci_config *cfg = &vp->pdev.cfg;
	uint64_t bar_size;

	*bar = pci_config_get(cfg, vp->pci_cap + VP_CAP_BAR_OFF, 1);
	*off = pci_config_get(cfg, vp->pci_cap + VP_CAP_OFFSET_OFF, 4);
	*len = pci_config_get(cfg, vp->pci_cap + VP_CAP_LENGTH_OFF, 4);
	bar_size = *bar == VP_BAR ? VP_BAR_SIZE : *bar == VP_MSIX_BAR ? VP_MSIX_BAR_SIZE : 0;
	if ((*len == 1 || *len == 2 || *len == 4) && !(*off % *len) && bar_size &&
	    *off < bar_size && *len <= bar_size - *off)
		return true;
	/* Length 0 is the reset state: a config dump reads the window unset. */
	if (*len)
		vp_mistake(vp, VP_PCI_CFG,
			   "PCI config access window on BAR %u offset 0x%x length %u",
			   *bar, *off, *len);
	return false;
}

static bool vp_touches(unsigned int off, unsigned int size, unsigned int start,
		       unsigned int len)
{
	return off < start + len && start < off + size;
}

static void vp_cfg_read(struct pci_device *pdev, unsigned int off, unsigned int size)
{
	struct virtio_pci *vp = pdev->opaque;
	unsigned int data = vp->pci_cap + VP_CAP_DATA_OFF, bar;
	uint32_t boff, len;
	uint8_t buf[4] = { 0 };

	if (!vp->pci_cap || !vp_touches(off, size, data, 4))
		return;
	if (!vp_pci_cfg_target(vp, &bar, &boff, &len))
		return;
	if (bar == VP_BAR) {
		pthread_mutex_lock(&vp->lock);
		vp_bar4_read(vp, boff, buf, len);
		pthread_mutex_unlock(&vp->lock);
	} else {
		vp_bar1_read(vp, boff, buf, len);
	}
	pci_config_set(&pdev->cfg, data, 4, (uint32_t)vp_get(buf, 4));
}

static void vp_cfg_written(struct pci_device *pdev, unsigned int off, unsigned int size)
{
	struct virtio_pci *vp = pdev->opaque;
	unsigned int data = vp->pci_cap + VP_CAP_DATA_OFF, bar;
	uint32_t boff, len;
	uint8_t buf[4];

	if (vp->msix_ready)
		msix_cfg_written(&vp->msix, off, size);
	if (!vp->pci_cap || !vp_touches(off, size, data, 4))
		return;
	if (!vp_pci_cfg_target(vp, &bar, &boff, &len))
		return;
	vp_put(buf, 4, pci_config_get(&pdev->cfg, data, 4));
	if (bar == VP_BAR) {
		pthread_mutex_lock(&vp->lock);
		vp_bar4_write(vp, boff, buf, len);
		pthread_mutex_unlock(&vp->lock);
	} else {
		vp_bar1_write(vp, boff, buf, len);
	}
}

/* ---- creation ---- */

static int vp_add_cap(struct virtio_pci *vp, uint8_t type, unsigned int len, uint8_t bar,
		      uint32_t off, uint32_t length)
{
	struct pci_config *cfg = &vp->pdev.cfg;
	int cap = pci_config_add_cap(cfg, PCI_CAP_ID_VNDR, len);

	if (cap < 0)
		return cap;
	pci_config_set(cfg, cap + VP_CAP_LEN_OFF, 1, len);
	pci_config_set(cfg, cap + VP_CAP_TYPE_OFF, 1, type);
	pci_config_set(cfg, cap + VP_CAP_BAR_OFF, 1, bar);
	pci_config_set(cfg, cap + VP_CAP_OFFSET_OFF, 4, off);
	pci_config_set(cfg, cap + VP_CAP_LENGTH_OFF, 4, length);
	return cap;
}

static int vp_config_space(struct virtio_pci *vp)
{
	struct pci_config *cfg = &vp->pdev.cfg;
	const struct virtio_dev *vdev = vp->vdev;
	int cap, ret;

	pci_config_init(cfg, VP_VENDOR, VP_DEVICE_BASE + vdev->type, vp_class(vp),
			VP_REVISION, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, VP_VENDOR);
	pci_config_set(cfg, PCI_SUBSYSTEM_ID, 2, vdev->type);
	pci_config_set(cfg, PCI_INTERRUPT_PIN, 1, 1);	/* INTA# */
	ret = pci_config_set_bar(cfg, VP_MSIX_BAR, VP_MSIX_BAR_SIZE, 0);
	if (!ret)
		ret = pci_config_set_bar(cfg, VP_BAR, VP_BAR_SIZE,
					 PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	if (ret)
		return ret;

	cap = vp_add_cap(vp, VP_CAP_COMMON, VP_CAP_SIZE, VP_BAR, VP_COMMON_OFF, VP_COMMON_LEN);
	if (cap >= 0)
		cap = vp_add_cap(vp, VP_CAP_NOTIFY, VP_CAP_NOTIFY_SIZE, VP_BAR, VP_NOTIFY_OFF,
				 VP_NOTIFY_MULT * vdev->nr_queues);
	if (cap >= 0)
		pci_config_set(cfg, cap + VP_CAP_MULT_OFF, 4, VP_NOTIFY_MULT);
	if (cap >= 0)
		cap = vp_add_cap(vp, VP_CAP_ISR, VP_CAP_SIZE, VP_BAR, VP_ISR_OFF, VP_ISR_LEN);
	if (cap >= 0 && vdev->config_size)
		cap = vp_add_cap(vp, VP_CAP_DEVICE, VP_CAP_SIZE, VP_BAR, VP_DEVICE_OFF,
				 vdev->config_size);
	if (cap >= 0)
		cap = vp_add_cap(vp, VP_CAP_PCI, VP_CAP_PCI_SIZE, 0, 0, 0);
	if (cap < 0)
		return cap;
	vp->pci_cap = (unsigned int)cap;
	/* The window: bar, offset, length and data are the driver's to write. */
	pci_config_set_wmask(cfg, cap + VP_CAP_BAR_OFF, 1, 0xff);
	pci_config_set_wmask(cfg, cap + VP_CAP_OFFSET_OFF, 4, 0xffffffff);
	pci_config_set_wmask(cfg, cap + VP_CAP_LENGTH_OFF, 4, 0xffffffff);
	pci_config_set_wmask(cfg, cap + VP_CAP_DATA_OFF, 4, 0xffffffff);
	return 0;
}

struct virtio_pci *virtio_pci_new(const struct machine_services *ms, struct virtio_dev *vdev,
				  const struct virtio_pci_info *info)
{
	struct virtio_pci *vp;
	unsigned int i;
	int ret;

	if (!virtio_dev_valid(vdev, VP_DEVICE_MAX)) {
		log_err("%s: bad virtio device description (queues %u, size %u, config %u)",
			vdev && vdev->name ? vdev->name : "virtio", vdev ? vdev->nr_queues : 0,
			vdev ? vdev->queue_size : 0, vdev ? vdev->config_size : 0);
		return NULL;
	}
	if (vdev->trans_ops) {
		log_err("%s: the device is bound to another transport already", vdev->name);
		return NULL;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		goto oom;
	vp->q = calloc(vdev->nr_queues, sizeof(*vp->q));
	if (!vp->q) {
		free(vp);
		goto oom;
	}
	vp->ms = ms;
	vp->vdev = vdev;
	if (info)
		vp->info = *info;
	snprintf(vp->name, sizeof(vp->name), "%s", vdev->name);
	vp->host_features = virtio_dev_offered(vdev);
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->isr_lock, NULL);
	for (i = 0; i < vdev->nr_queues; i++)
		vp->q[i].kick_fd = -1;
	for (i = 0; i < vdev->nr_queues; i++) {
		vp->q[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vp->q[i].kick_fd < 0) {
			log_err("%s: cannot create the kick eventfd of queue %u: %m", vp->name, i);
			goto fail;
		}
	}

	vp->pdev.name = vp->name;
	vp->pdev.opaque = vp;
	vp->pdev.cfg_written = vp_cfg_written;
	vp->pdev.cfg_read = vp_cfg_read;
	vp->pdev.bar_mapped = vp_bar_mapped;
	vp->pdev.bar_ops[VP_MSIX_BAR] = &vp_bar1_ops;
	vp->pdev.bar_ops[VP_BAR] = &vp_bar4_ops;
	ret = vp_config_space(vp);
	if (ret) {
		log_err("%s: cannot lay out PCI config space: %s", vp->name, strerror(-ret));
		goto fail;
	}
	if (vp->info.pcie_caps || vp->info.pcie) {
		/* On a PCIe bus the function is a PCIe endpoint (Linux then uses ECAM space). */
		ret = vp->info.pcie_caps ? vp->info.pcie_caps(&vp->pdev, vp->info.pcie_opaque) :
		      pcie_endpoint_cap_add(&vp->pdev.cfg);
		if (ret < 0) {
			log_err("%s: cannot add the PCI Express capability: %s", vp->name,
				strerror(-ret));
			goto fail;
		}
	}
	/* One vector per queue, one for configuration changes. */
	ret = msix_init(&vp->msix, &vp->pdev, ms, vdev->nr_queues + 1, VP_MSIX_BAR,
			VP_MSIX_TABLE, VP_MSIX_PBA);
	if (ret) {
		log_err("%s: cannot set up MSI-X: %s", vp->name, strerror(-ret));
		goto fail;
	}
	vp->msix_ready = true;
	ret = virtio_dev_bind(vdev, &vp_transport_ops, vp);
	if (ret) {
		log_err("%s: the device is bound to another transport already", vp->name);
		msix_fini(&vp->msix);
		goto fail;
	}
	pthread_mutex_lock(&vp->lock);
	vp_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	return vp;

fail:
	for (i = 0; i < vdev->nr_queues; i++)
		if (vp->q[i].kick_fd >= 0)
			close(vp->q[i].kick_fd);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp->q);
	free(vp);
	return NULL;
oom:
	log_err("%s: out of memory", vdev->name);
	return NULL;
}

void virtio_pci_free(struct virtio_pci *vp)
{
	unsigned int i;

	if (!vp)
		return;
	pthread_mutex_lock(&vp->lock);
	vp_stop_queues(vp);
	vp_ioeventfds(vp, false);
	vp->notify_base = 0;
	pthread_mutex_unlock(&vp->lock);
	msix_fini(&vp->msix);
	if (vp->vdev->transport == vp)
		virtio_dev_unbind(vp->vdev);
	for (i = 0; i < vp->vdev->nr_queues; i++)
		close(vp->q[i].kick_fd);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp->q);
	free(vp);
}

struct pci_device *virtio_pci_device(struct virtio_pci *vp)
{
	return &vp->pdev;
}

struct pci_device *virtio_pci_function(struct virtio_dev *vdev)
{
	if (vdev->trans_ops != &vp_transport_ops)
		return NULL;
	return &((struct virtio_pci *)vdev->transport)->pdev;
}

struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned int idx)
{
	if (idx >= vp->vdev->nr_queues || !vp->q[idx].vq.started)
		return NULL;
	return &vp->q[idx].vq;
}

int virtio_pci_kick_fd(struct virtio_pci *vp, unsigned int idx)
{
	if (idx >= vp->vdev->nr_queues)
		return -1;
	return vp->q[idx].kick_fd;
}

int virtio_pci_call_fd(struct virtio_pci *vp, unsigned int idx)
{
	uint16_t vector;
	int fd;

	if (idx >= vp->vdev->nr_queues || !vp_msix_on(vp))
		return -1;
	vector = __atomic_load_n(&vp->q[idx].vector, __ATOMIC_ACQUIRE);
	if (vector == VIRTIO_MSI_NO_VECTOR || vector >= vp->msix.nr)
		return -1;
	fd = msix_vector_fd(&vp->msix, vector);
	return fd < 0 ? -1 : fd;
}

void virtio_pci_interrupt(struct virtio_pci *vp, unsigned int idx)
{
	if (idx < vp->vdev->nr_queues)
		vp_interrupt(vp, __atomic_load_n(&vp->q[idx].vector, __ATOMIC_ACQUIRE),
			     VP_ISR_QUEUE);
}

/* ---- the transport side of device.h ---- */

static struct virtq *vp_t_queue(void *t, unsigned int idx)
{
	return virtio_pci_queue(t, idx);
}

static int vp_t_kick_fd(void *t, unsigned int idx)
{
	return virtio_pci_kick_fd(t, idx);
}

static int vp_t_call_fd(void *t, unsigned int idx)
{
	return virtio_pci_call_fd(t, idx);
}

static void vp_t_notify(void *t, unsigned int idx)
{
	virtio_pci_notify(t, idx);
}

static void vp_t_interrupt(void *t, unsigned int idx)
{
	virtio_pci_interrupt(t, idx);
}

static void vp_t_config_changed(void *t)
{
	virtio_pci_config_changed(t);
}

static void vp_t_set_broken(void *t, const char *why)
{
	virtio_pci_set_broken(t, why);
}

static void vp_t_free(void *t)
{
	virtio_pci_free(t);
}

static const struct virtio_transport_ops vp_transport_ops = {
	.queue = vp_t_queue,
	.kick_fd = vp_t_kick_fd,
	.call_fd = vp_t_call_fd,
	.notify = vp_t_notify,
	.interrupt = vp_t_interrupt,
	.config_changed = vp_t_config_changed,
	.set_broken = vp_t_set_broken,
	.free = vp_t_free,
};
