/*
 * pvpanic, PCI flavour (QEMU docs/specs/pvpanic.rst "PCI Interface"): function
 * 1b36:0011, class 0x0880, memory BAR 0 whose byte 0 works as the ISA port.
 */
#ifndef KEEL_DEVICES_PCI_PVPANIC_PCI_H
#define KEEL_DEVICES_PCI_PVPANIC_PCI_H

#include "devices/pci/bus.h"

#define PVPANIC_PCI_VENDOR	0x1b36	/* Red Hat */
#define PVPANIC_PCI_DEVICE	0x0011
#define PVPANIC_PCI_CLASS	0x088000	/* base system peripheral, other */
#define PVPANIC_PCI_BAR_SIZE	16

struct pvpanic_pci;

/*
 * on_event gets the supported bits (PVPANIC_PANICKED, PVPANIC_CRASH_LOADED) of
 * each write to byte 0 of BAR 0, on the writing vCPU's thread.
 */
struct pvpanic_pci *pvpanic_pci_new(void (*on_event)(void *opaque, unsigned int events),
				    void *opaque);
/* The function to register on a PCI bus. */
struct pci_device *pvpanic_pci_dev(struct pvpanic_pci *p);
void pvpanic_pci_free(struct pvpanic_pci *p);

#endif
