/*
 * pvpanic as a PCI function (QEMU docs/specs/pvpanic.rst "PCI Interface"):
 * BAR 0 byte 0 reads the supported events and takes event writes; the rest of
 * the BAR reads zero and ignores writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/legacy/pvpanic.h"
#include "devices/pci/pvpanic_pci.h"
#include "lib/log.h"

struct pvpanic_pci {
	struct pci_device pci;
	void (*on_event)(void *opaque, unsigned int events);
	void *opaque;
	bool junk_logged;
};

static void pvpanic_pci_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	memset(data, 0, size);
	if (offset == 0)
		*(uint8_t *)data = PVPANIC_EVENTS;
}

static void pvpanic_pci_write(void *dev, uint64_t offset, const void *data,
			      unsigned int size)
{
	struct pvpanic_pci *p = dev;
	unsigned int val = *(const uint8_t *)data;

	if (offset != 0)
		return;
	/* Only byte 0 is the register: wider writes keep their low byte. */
	if ((val & ~PVPANIC_EVENTS) && !__atomic_exchange_n(&p->junk_logged, true,
							     __ATOMIC_RELAXED))
		log_warn("%s: guest wrote %#x to BAR 0; unknown bits %#x ignored", p->pci.name,
			 val, val & ~PVPANIC_EVENTS);
	val &= PVPANIC_EVENTS;
	if (val)
		log_info("%s: guest reported %s", p->pci.name,
			 val & PVPANIC_PANICKED ? "a panic" : "its crash kernel loaded");
	if (val && p->on_event)
		p->on_event(p->opaque, val);
}

static const struct io_ops pvpanic_pci_ops = {
	.read = pvpanic_pci_read,
	.write = pvpanic_pci_write,
};

struct pvpanic_pci *pvpanic_pci_new(void (*on_event)(void *opaque, unsigned int events),
				    void *opaque)
{
	struct pvpanic_pci *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->on_event = on_event;
	p->opaque = opaque;
	p->pci.name = "pvpanic-pci";
	p->pci.opaque = p;
	pci_config_init(&p->pci.cfg, PVPANIC_PCI_VENDOR, PVPANIC_PCI_DEVICE, PVPANIC_PCI_CLASS,
			1, PCI_HEADER_TYPE_NORMAL);
	/* Red Hat's subsystem IDs, as on QEMU's device. */
	pci_config_set(&p->pci.cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, 0x1af4);
	pci_config_set(&p->pci.cfg, PCI_SUBSYSTEM_ID, 2, 0x1100);
	if (pci_config_set_bar(&p->pci.cfg, 0, PVPANIC_PCI_BAR_SIZE, 0)) {
		free(p);
		return NULL;
	}
	p->pci.bar_ops[0] = &pvpanic_pci_ops;
	return p;
}

struct pci_device *pvpanic_pci_dev(struct pvpanic_pci *p)
{
	return &p->pci;
}

void pvpanic_pci_free(struct pvpanic_pci *p)
{
	free(p);
}

/* ---- the registry entry: --device pvpanic-pci ---- */

static void pvpanic_pci_event(void *opaque, unsigned int events)
{
	struct device *dev = opaque;

	machine_guest_panic(dev->devs->ms, events);
}

static int pvpanic_pci_realize(struct device *dev, const struct device_ctx *ctx, char *err,
			       size_t errlen)
{
	struct pvpanic_pci *p = pvpanic_pci_new(pvpanic_pci_event, dev);

	if (!p)
		return -ENOMEM;
	dev->priv = p;
	dev->pci = pvpanic_pci_dev(p);
	return 0;
}

static void pvpanic_pci_unrealize(struct device *dev)
{
	pvpanic_pci_free(dev->priv);
	dev->priv = NULL;
}

const struct device_type pvpanic_pci_type = {
	.name = "pvpanic-pci",
	.desc = "guest panic notification as PCI 1b36:0011",
	.bus = DEV_BUS_PCI,
	.realize = pvpanic_pci_realize,
	.unrealize = pvpanic_pci_unrealize,
};
