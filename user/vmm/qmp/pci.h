/* query-pci's snapshot of the machine's PCI bus (Documentation/qmp.md "query-pci"). */
#ifndef KEEL_VMM_QMP_PCI_H
#define KEEL_VMM_QMP_PCI_H

#include "devices/pci/host.h"
#include "vmm/qmp/commands.h"

/* Fill up to max functions of h's bus 0 in devfn order; returns how many. */
unsigned int qmp_pci_collect(struct pci_host *h, struct qmp_pci_function *out,
			     unsigned int max);

#endif
