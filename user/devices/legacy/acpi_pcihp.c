/*
 * ACPI PCI hotplug register block of the pc machine's root bus (QEMU PIIX4
 * layout at 0xae00; see acpi_pcihp.h) raising GPE0 bit 1 through acpi_pm.
 * Everything the guest writes here is untrusted: only aligned 32-bit
 * accesses to the four registers do anything, and an eject the host never
 * asked for changes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/acpi_pcihp.h"
#include "devices/legacy/acpi_pm.h"
#include "lib/log.h"

struct acpi_pcihp {
	const struct machine_services *ms;
	struct acpi_pm *pm;
	acpi_pcihp_eject_fn eject_cb;
	void *opaque;
	pthread_mutex_t lock;
	uint32_t up;		/* plugged, not yet read by the guest's _E01 */
	uint32_t down;		/* unplug requested, not yet ejected */
	uint32_t rmv;		/* removable */
	/* A guest looping on bad accesses must not flood the log: once each. */
	uint32_t eject_warned;
	bool access_warned;
};

static bool acpi_pcihp_slot_ok(unsigned int slot)
{
	return slot < ACPI_PCIHP_SLOTS && (ACPI_PCIHP_SLOT_MASK & (1u << slot));
}

/* Only whole aligned registers: the DSDT's Field is DWordAcc. */
static bool acpi_pcihp_access_ok(struct acpi_pcihp *h, uint64_t offset, unsigned int size,
				 bool write)
{
	if (size == 4 && offset < ACPI_PCIHP_LEN && !(offset & 3))
		return true;
	if (!h->access_warned) {
		h->access_warned = true;
		log_warn("acpi-pcihp: guest %s %u bytes at offset 0x%llx: ignored (only "
			 "aligned 32-bit accesses)", write ? "wrote" : "read", size,
			 (unsigned long long)offset);
	}
	return false;
}

static void acpi_pcihp_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct acpi_pcihp *h = dev;
	uint32_t v = 0;

	memset(data, 0xff, size);
	pthread_mutex_lock(&h->lock);
	if (!acpi_pcihp_access_ok(h, offset, size, false))
		goto out;
	switch (offset) {
	case ACPI_PCIHP_UP:
		/* Read once per GPE; a plug after this read raises the GPE again. */
		v = h->up;
		h->up = 0;
		break;
	case ACPI_PCIHP_DOWN:
		v = h->down;
		break;
	case ACPI_PCIHP_RMV:
		v = h->rmv;
		break;
	default:
		v = 0;		/* EJECT is write-only */
		break;
	}
	memcpy(data, &v, sizeof(v));
out:
	pthread_mutex_unlock(&h->lock);
}

static void acpi_pcihp_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct acpi_pcihp *h = dev;
	uint32_t v, eject = 0, stray;
	unsigned int slot;

	pthread_mutex_lock(&h->lock);
	if (!acpi_pcihp_access_ok(h, offset, size, true) || offset != ACPI_PCIHP_EJECT) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	memcpy(&v, data, sizeof(v));
	eject = v & h->down;
	h->down &= ~eject;
	h->rmv &= ~eject;
	stray = v & ~eject & ~h->eject_warned;
	h->eject_warned |= stray;
	pthread_mutex_unlock(&h->lock);

	if (stray)
		log_warn("acpi-pcihp: guest ejected slots 0x%08x without an unplug request: "
			 "ignored", stray);
	for (slot = 0; slot < ACPI_PCIHP_SLOTS; slot++)
		if ((eject & (1u << slot)) && h->eject_cb)
			h->eject_cb(h->opaque, slot);
}

static const struct io_ops acpi_pcihp_ops = {
	.read = acpi_pcihp_read, .write = acpi_pcihp_write,
};

int acpi_pcihp_plug(struct acpi_pcihp *h, unsigned int slot)
{
	if (!acpi_pcihp_slot_ok(slot))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->up |= 1u << slot;
	h->rmv |= 1u << slot;
	h->eject_warned &= ~(1u << slot);
	pthread_mutex_unlock(&h->lock);
	acpi_pm_gpe_raise(h->pm, ACPI_PCIHP_GPE_BIT);
	return 0;
}

int acpi_pcihp_unplug_request(struct acpi_pcihp *h, unsigned int slot)
{
	if (!acpi_pcihp_slot_ok(slot))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->down |= 1u << slot;
	pthread_mutex_unlock(&h->lock);
	acpi_pm_gpe_raise(h->pm, ACPI_PCIHP_GPE_BIT);
	return 0;
}

void acpi_pcihp_set_removable(struct acpi_pcihp *h, unsigned int slot, bool removable)
{
	if (!acpi_pcihp_slot_ok(slot))
		return;
	pthread_mutex_lock(&h->lock);
	if (removable)
		h->rmv |= 1u << slot;
	else
		h->rmv &= ~(1u << slot);
	pthread_mutex_unlock(&h->lock);
}

uint32_t acpi_pcihp_reset(struct acpi_pcihp *h)
{
	uint32_t pending;

	pthread_mutex_lock(&h->lock);
	pending = h->down;
	h->up = 0;
	h->down = 0;
	h->rmv &= ~pending;
	h->eject_warned = 0;
	h->access_warned = false;
	pthread_mutex_unlock(&h->lock);
	return pending;
}

struct acpi_pcihp *acpi_pcihp_new(const struct machine_services *ms, uint16_t port,
				  struct acpi_pm *pm, acpi_pcihp_eject_fn eject_cb,
				  void *opaque)
{
	struct acpi_pcihp *h;

	if (!pm) {
		log_err("acpi-pcihp: needs the ACPI PM block for its GPE");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ms = ms;
	h->pm = pm;
	h->eject_cb = eject_cb;
	h->opaque = opaque;
	pthread_mutex_init(&h->lock, NULL);
	if (machine_pio_add(ms, port, ACPI_PCIHP_LEN, &acpi_pcihp_ops, h) < 0) {
		log_err("acpi-pcihp: cannot claim I/O ports 0x%x-0x%x", port,
			port + ACPI_PCIHP_LEN - 1);
		acpi_pcihp_free(h);
		return NULL;
	}
	return h;
}

void acpi_pcihp_free(struct acpi_pcihp *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}
