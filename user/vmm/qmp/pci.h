/* query-pci's snapshot of the machine's PCI tree (Documentation/qmp.md "query-pci"). */
#ifndef KEEL_VMM_QMP_PCI_H
#define KEEL_VMM_QMP_PCI_H

#include "devices/pci/host.h"
#include "vmm/qmp/commands.h"

struct devices;

/*
 * Fill up to max functions of h's tree, depth-first in devfn order (a bridge
 * before its secondary bus); returns how many the tree has (may exceed max).
 * devs (may be NULL) gives each function its device's id or name.
 */
unsigned int qmp_pci_collect(struct pci_host *h, const struct devices *devs,
			     struct qmp_pci_function *out, unsigned int max);

#endif
