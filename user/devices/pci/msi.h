/*
 * MSI and MSI-X capabilities in config space (PCI Local Bus 3.0 ch. 6.8): the
 * registers, their guest-writable bits and accessors for the message a device
 * should send. The MSI-X table and PBA in a BAR come later.
 */
#ifndef KEEL_DEVICES_PCI_MSI_H
#define KEEL_DEVICES_PCI_MSI_H

#include "devices/machine.h"
#include "devices/pci/config.h"

#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11

/* MSI: offsets from the capability (ch. 6.8.1). */
#define PCI_MSI_FLAGS		2
#define PCI_MSI_FLAGS_ENABLE	0x0001
#define PCI_MSI_FLAGS_QMASK	0x000e	/* multiple message capable */
#define PCI_MSI_FLAGS_QSIZE	0x0070	/* multiple message enable */
#define PCI_MSI_FLAGS_64BIT	0x0080
#define PCI_MSI_ADDR_LO		4
#define PCI_MSI_ADDR_HI		8	/* 64-bit only */
#define PCI_MSI_DATA_32		8
#define PCI_MSI_DATA_64		12
#define PCI_MSI_LEN_32		10
#define PCI_MSI_LEN_64		14

/* MSI-X: offsets from the capability (ch. 6.8.2). */
#define PCI_MSIX_FLAGS		2
#define PCI_MSIX_FLAGS_QSIZE	0x07ff	/* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL	0x4000
#define PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_TABLE		4	/* BIR in bits 2:0, offset 8-aligned */
#define PCI_MSIX_PBA		8
#define PCI_MSIX_LEN		12
#define PCI_MSIX_MAX_VECTORS	2048

struct pci_msi_msg {
	uint64_t addr;
	uint32_t data;
};

/* MSI with 2^log2_vectors vectors (0..5), 32- or 64-bit address; offset or -errno. */
int pci_msi_add(struct pci_config *cfg, unsigned int log2_vectors, bool addr64);
bool pci_msi_enabled(const struct pci_config *cfg, unsigned int cap);
/* Vectors the guest enabled (1, 2, 4, ... never more than offered). */
unsigned int pci_msi_nr_enabled(const struct pci_config *cfg, unsigned int cap);
/* The message for vector (low data bits replaced, ch. 6.8.3.4); -EINVAL if off. */
int pci_msi_message(const struct pci_config *cfg, unsigned int cap, unsigned int vector,
		    struct pci_msi_msg *msg);

/*
 * Deliver vector of the MSI capability at cap now (machine_msi_send); -EINVAL
 * while MSI is off or vector is beyond what the guest enabled, else what
 * the machine returns. For devices with a few rare interrupts (hotplug).
 */
int pci_msi_notify(const struct pci_config *cfg, unsigned int cap, unsigned int vector,
		   const struct machine_services *ms);

/*
 * MSI-X with nr_vectors (1..2048), the table at table_off in BAR table_bar and the
 * PBA at pba_off in BAR pba_bar (offsets 8-byte aligned); offset or -errno.
 */
int pci_msix_add(struct pci_config *cfg, unsigned int nr_vectors, unsigned int table_bar,
		 uint32_t table_off, unsigned int pba_bar, uint32_t pba_off);
bool pci_msix_enabled(const struct pci_config *cfg, unsigned int cap);
bool pci_msix_masked(const struct pci_config *cfg, unsigned int cap);
unsigned int pci_msix_nr_vectors(const struct pci_config *cfg, unsigned int cap);

#endif
