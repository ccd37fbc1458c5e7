/*
 * MSI-X delivery (PCI Local Bus 3.0 ch. 6.8.2): the vector table and PBA in a
 * BAR, function and per-vector masks, pending bits, and one eventfd per vector
 * that is a machine irqfd while the vector may fire (see msix.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "lib/log.h"

/* Field offsets inside one table entry (ch. 6.8.2.6 - 6.8.2.9). */
#define MSIX_ENTRY_ADDR_LO	0
#define MSIX_ENTRY_ADDR_HI	4
#define MSIX_ENTRY_DATA		8
#define MSIX_ENTRY_CTRL		12

static const char *msix_name(const struct msix *m)
{
	return m->dev && m->dev->name ? m->dev->name : "msix";
}

static uint32_t msix_pba_len(const struct msix *m)
{
	return ((m->nr + 63) / 64) * 8;
}

/* May vector v fire now? Called with the lock held. */
static bool msix_deliverable(const struct msix *m, const struct msix_vector *v)
{
	return m->enabled && !m->masked_all && !(v->ctrl & MSIX_ENTRY_CTRL_MASKED);
}

static void msix_signal(int efd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already about to overflow: the event is there. */
	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("msix: cannot signal eventfd %d: %s", efd, strerror(errno));
}

/*
 * Take back what was signalled on efd while nobody listened; true if any.
 * The vector eventfds are non-blocking: an empty one fails the read with
 * EAGAIN, so no poll(2) is needed (the vCPU role's sandbox has none).
 */
static bool msix_drain(int efd)
{
	uint64_t cnt = 0;

	if (efd < 0)
		return false;
	return read(efd, &cnt, sizeof(cnt)) == sizeof(cnt) && cnt;
}

static int msix_vector_efd(struct msix *m, struct msix_vector *v)
{
	if (v->efd < 0) {
		v->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd < 0) {
			int ret = -errno;

			log_err("%s: cannot create an MSI-X eventfd: %s", msix_name(m),
				strerror(errno));
			return ret;
		}
	}
	return v->efd;
}

/* Send one message of a deliverable vector. Lock held. */
static void msix_fire(struct msix *m, struct msix_vector *v)
{
	if (v->route >= 0)
		msix_signal(v->efd);
	else
		machine_msi_send(m->ms, v->addr, v->data);
}

/*
 * Bring vector i's irqfd in line with its state: registered while it may
 * fire, detached otherwise (and what arrived meanwhile becomes a pending bit).
 * A pending vector that may fire again fires now. Lock held.
 */
static void msix_sync_vector(struct msix *m, unsigned int i)
{
	struct msix_vector *v = &m->v[i];
	int ret;

	if (msix_deliverable(m, v)) {
		if (v->route < 0 && msix_vector_efd(m, v) >= 0) {
			ret = machine_irqfd_add(m->ms, v->efd, v->addr, v->data);
			if (ret < 0)
				log_warn("%s: MSI-X vector %u: no irqfd (%s); sending from the device thread",
					 msix_name(m), i, strerror(-ret));
			v->route = ret < 0 ? -1 : ret;
		}
		if (v->pending) {
			v->pending = false;
			msix_fire(m, v);
		}
		return;
	}
	if (v->route >= 0) {
		machine_irqfd_del(m->ms, v->route, v->efd);
		v->route = -1;
	}
	/* A signal that raced with the mask (or came from vhost) stays pending. */
	if (msix_drain(v->efd) && m->enabled)
		v->pending = true;
}

static void msix_sync_all(struct msix *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++)
		msix_sync_vector(m, i);
}

int msix_init(struct msix *m, struct pci_device *dev, const struct machine_services *ms,
	      unsigned int nr, unsigned int bar, uint32_t table_off, uint32_t pba_off)
{
	unsigned int i;
	int cap;

	memset(m, 0, sizeof(*m));
	if (!dev || !ms || !nr || nr > PCI_MSIX_MAX_VECTORS || bar >= PCI_NR_BARS)
		return -EINVAL;
	/* Table and PBA must not overlap. */
	if ((uint64_t)table_off + nr * MSIX_ENTRY_SIZE > pba_off &&
	    (uint64_t)pba_off + ((nr + 63) / 64) * 8 > table_off)
		return -EINVAL;
	m->v = calloc(nr, sizeof(*m->v));
	if (!m->v)
		return -ENOMEM;
	cap = pci_msix_add(&dev->cfg, nr, bar, table_off, bar, pba_off);
	if (cap < 0) {
		free(m->v);
		m->v = NULL;
		return cap;
	}
	m->ms = ms;
	m->dev = dev;
	m->cap = (unsigned int)cap;
	m->nr = nr;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pthread_mutex_init(&m->lock, NULL);
	for (i = 0; i < nr; i++) {
		m->v[i].ctrl = MSIX_ENTRY_CTRL_MASKED;
		m->v[i].efd = -1;
		m->v[i].route = -1;
	}
	return 0;
}

void msix_fini(struct msix *m)
{
	unsigned int i;

	if (!m->v)
		return;
	for (i = 0; i < m->nr; i++) {
		struct msix_vector *v = &m->v[i];

		if (v->route >= 0)
			machine_irqfd_del(m->ms, v->route, v->efd);
		if (v->efd >= 0)
			close(v->efd);
	}
	free(m->v);
	m->v = NULL;
	pthread_mutex_destroy(&m->lock);
}

static void msix_store(void *data, unsigned int size, uint64_t v)
{
	uint8_t *p = data;
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t msix_load(const void *data, unsigned int size)
{
	const uint8_t *p = data;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Does [offset, offset + size) start inside [base, base + len)? */
static bool msix_in(uint64_t offset, uint64_t base, uint64_t len)
{
	return offset >= base && offset - base < len;
}

/* A well-formed access: 4 or 8 bytes, aligned, wholly inside [base, base + len). */
static bool msix_access_ok(uint64_t offset, unsigned int size, uint64_t base, uint64_t len)
{
	return (size == 4 || size == 8) && !(offset & (size - 1)) &&
	       offset - base + size <= len;
}

static uint32_t msix_entry_dword(const struct msix_vector *v, unsigned int field)
{
	switch (field) {
	case MSIX_ENTRY_ADDR_LO:
		return (uint32_t)v->addr;
	case MSIX_ENTRY_ADDR_HI:
		return (uint32_t)(v->addr >> 32);
	case MSIX_ENTRY_DATA:
		return v->data;
	default:
		return v->ctrl;
	}
}

/* Vectors whose efd may hold signals nobody consumed: fold them into the PBA. */
static void msix_collect_pending(struct msix *m, unsigned int first, unsigned int n)
{
	unsigned int i;

	for (i = first; i < first + n && i < m->nr; i++) {
		struct msix_vector *v = &m->v[i];

		if (v->route < 0 && msix_drain(v->efd) && m->enabled) {
			if (msix_deliverable(m, v))
				msix_fire(m, v);
			else
				v->pending = true;
		}
	}
}

bool msix_bar_read(struct msix *m, uint64_t offset, void *data, unsigned int size)
{
	uint64_t tlen = (uint64_t)m->nr * MSIX_ENTRY_SIZE, val = UINT64_MAX;
	bool handled = true;

	if (!m->v)
		return false;
	pthread_mutex_lock(&m->lock);
	if (msix_in(offset, m->table_off, tlen)) {
		if (msix_access_ok(offset, size, m->table_off, tlen)) {
			uint64_t rel = offset - m->table_off;
			const struct msix_vector *v = &m->v[rel / MSIX_ENTRY_SIZE];
			unsigned int field = rel % MSIX_ENTRY_SIZE;

			val = msix_entry_dword(v, field);
			if (size == 8)
				val |= (uint64_t)msix_entry_dword(v, field + 4) << 32;
		}
	} else if (msix_in(offset, m->pba_off, msix_pba_len(m))) {
		if (msix_access_ok(offset, size, m->pba_off, msix_pba_len(m))) {
			unsigned int first = (unsigned int)(offset - m->pba_off) * 8, i;

			msix_collect_pending(m, first, size * 8);
			val = 0;
			for (i = 0; i < size * 8 && first + i < m->nr; i++)
				if (m->v[first + i].pending)
					val |= 1ULL << i;
		}
	} else {
		handled = false;
	}
	pthread_mutex_unlock(&m->lock);
	if (handled)
		msix_store(data, size, val);
	return handled;
}

/* One dword of an entry; the message or the mask may change. Lock held. */
static void msix_entry_write(struct msix *m, unsigned int i, unsigned int field, uint32_t val)
{
	struct msix_vector *v = &m->v[i];
	uint64_t addr = v->addr;
	uint32_t data = v->data;
	int ret;

	switch (field) {
	case MSIX_ENTRY_ADDR_LO:
		v->addr = (v->addr & ~0xffffffffULL) | val;
		break;
	case MSIX_ENTRY_ADDR_HI:
		v->addr = (v->addr & 0xffffffffULL) | (uint64_t)val << 32;
		break;
	case MSIX_ENTRY_DATA:
		v->data = val;
		break;
	default:
		/* Bits 31:1 are reserved: only the mask bit sticks. */
		v->ctrl = val & MSIX_ENTRY_CTRL_MASKED;
		msix_sync_vector(m, i);
		return;
	}
	/* Changing a live entry is undefined (ch. 6.8.2.9); follow the guest anyway. */
	if (v->route >= 0 && (v->addr != addr || v->data != data)) {
		ret = machine_irqfd_update(m->ms, v->route, v->addr, v->data);
		if (ret < 0)
			log_warn("%s: MSI-X vector %u: cannot update its route: %s",
				 msix_name(m), i, strerror(-ret));
	}
}

bool msix_bar_write(struct msix *m, uint64_t offset, const void *data, unsigned int size)
{
	uint64_t tlen = (uint64_t)m->nr * MSIX_ENTRY_SIZE;

	if (!m->v)
		return false;
	if (msix_in(offset, m->pba_off, msix_pba_len(m)))
		return true;	/* the PBA is read-only */
	if (!msix_in(offset, m->table_off, tlen))
		return false;
	if (msix_access_ok(offset, size, m->table_off, tlen)) {
		uint64_t rel = offset - m->table_off, val = msix_load(data, size);
		unsigned int i = (unsigned int)(rel / MSIX_ENTRY_SIZE);
		unsigned int field = rel % MSIX_ENTRY_SIZE;

		pthread_mutex_lock(&m->lock);
		msix_entry_write(m, i, field, (uint32_t)val);
		if (size == 8)
			msix_entry_write(m, i, field + 4, (uint32_t)(val >> 32));
		pthread_mutex_unlock(&m->lock);
	}
	return true;
}

void msix_cfg_written(struct msix *m, unsigned int off, unsigned int size)
{
	unsigned int ctl = m->cap + PCI_MSIX_FLAGS;
	bool enabled, masked;

	if (!m->v || off >= ctl + 2 || off + size <= ctl)
		return;
	pthread_mutex_lock(&m->lock);
	enabled = pci_msix_enabled(&m->dev->cfg, m->cap);
	masked = pci_msix_masked(&m->dev->cfg, m->cap);
	if (enabled != m->enabled || masked != m->masked_all) {
		if (!enabled) {
			unsigned int i;

			/* Disabled: pending bits have no meaning any more. */
			for (i = 0; i < m->nr; i++)
				m->v[i].pending = false;
		}
		m->enabled = enabled;
		m->masked_all = masked;
		msix_sync_all(m);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_notify(struct msix *m, unsigned int vector)
{
	struct msix_vector *v;

	if (!m->v || vector >= m->nr)
		return;
	v = &m->v[vector];
	pthread_mutex_lock(&m->lock);
	/* Disabled: the function is on INTx and the message is dropped. */
	if (m->enabled && !msix_deliverable(m, v))
		v->pending = true;
	else if (m->enabled)
		msix_fire(m, v);
	pthread_mutex_unlock(&m->lock);
}

int msix_vector_fd(struct msix *m, unsigned int vector)
{
	int ret;

	if (!m->v || vector >= m->nr)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	ret = msix_vector_efd(m, &m->v[vector]);
	if (ret >= 0)
		msix_sync_vector(m, vector);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void msix_reset(struct msix *m)
{
	unsigned int i, ctl = m->cap + PCI_MSIX_FLAGS;
	uint32_t flags;

	if (!m->v)
		return;
	pthread_mutex_lock(&m->lock);
	flags = pci_config_get(&m->dev->cfg, ctl, 2);
	pci_config_set(&m->dev->cfg, ctl, 2,
		       flags & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
	m->enabled = false;
	m->masked_all = false;
	for (i = 0; i < m->nr; i++) {
		struct msix_vector *v = &m->v[i];

		v->addr = 0;
		v->data = 0;
		v->ctrl = MSIX_ENTRY_CTRL_MASKED;
		msix_sync_vector(m, i);
		msix_drain(v->efd);
		v->pending = false;
	}
	pthread_mutex_unlock(&m->lock);
}
