/*
 * The PCI Express capability (PCIe Base 4.0 ch. 7.5.3) and extended
 * capabilities in config space 0x100+ (ch. 7.6): version 2 capability
 * structures for endpoints, root ports and PCIe-to-PCI bridges, with ACS
 * (ch. 7.7.7) and AER (ch. 7.8.4) for ports.
 */
#ifndef KEEL_DEVICES_PCI_PCIE_H
#define KEEL_DEVICES_PCI_PCIE_H

#include "devices/pci/config.h"

#define PCI_CAP_ID_EXP		0x10
#define PCI_EXP_SIZEOF		0x3c	/* a version 2 capability */

/* Offsets from the capability. */
#define PCI_EXP_FLAGS		0x02
#define PCI_EXP_FLAGS_VERS	0x000f
#define PCI_EXP_FLAGS_TYPE	0x00f0
#define PCI_EXP_FLAGS_SLOT	0x0100
#define PCI_EXP_DEVCAP		0x04
#define PCI_EXP_DEVCTL		0x08
#define PCI_EXP_DEVSTA		0x0a
#define PCI_EXP_LNKCAP		0x0c
#define PCI_EXP_LNKCAP_DLLLARC	0x00100000	/* DLL Link Active reporting capable */
#define PCI_EXP_LNKCTL		0x10
#define PCI_EXP_LNKSTA		0x12
#define PCI_EXP_LNKSTA_DLLLA	0x2000		/* Data Link Layer Link Active */
#define PCI_EXP_SLTCAP		0x14
#define PCI_EXP_SLTCAP_ABP	0x00000001	/* attention button present */
#define PCI_EXP_SLTCAP_PCP	0x00000002	/* power controller present */
#define PCI_EXP_SLTCAP_MRLSP	0x00000004
#define PCI_EXP_SLTCAP_AIP	0x00000008	/* attention indicator present */
#define PCI_EXP_SLTCAP_PIP	0x00000010	/* power indicator present */
#define PCI_EXP_SLTCAP_HPS	0x00000020	/* hot-plug surprise */
#define PCI_EXP_SLTCAP_HPC	0x00000040	/* hot-plug capable */
#define PCI_EXP_SLTCAP_NCCS	0x00040000	/* no command completed support */
#define PCI_EXP_SLTCAP_PSN_SHIFT 19
#define PCI_EXP_SLTCTL		0x18
#define PCI_EXP_SLTCTL_ABPE	0x0001
#define PCI_EXP_SLTCTL_PFDE	0x0002
#define PCI_EXP_SLTCTL_MRLSCE	0x0004
#define PCI_EXP_SLTCTL_PDCE	0x0008
#define PCI_EXP_SLTCTL_CCIE	0x0010
#define PCI_EXP_SLTCTL_HPIE	0x0020
#define PCI_EXP_SLTCTL_AIC	0x00c0		/* 1 on, 2 blink, 3 off */
#define PCI_EXP_SLTCTL_PIC	0x0300		/* 1 on, 2 blink, 3 off */
#define PCI_EXP_SLTCTL_PCC	0x0400		/* power controller control: 1 off */
#define PCI_EXP_SLTCTL_EIC	0x0800
#define PCI_EXP_SLTCTL_DLLSCE	0x1000
#define PCI_EXP_SLTSTA		0x1a
#define PCI_EXP_SLTSTA_ABP	0x0001
#define PCI_EXP_SLTSTA_PFD	0x0002
#define PCI_EXP_SLTSTA_MRLSC	0x0004
#define PCI_EXP_SLTSTA_PDC	0x0008
#define PCI_EXP_SLTSTA_CC	0x0010
#define PCI_EXP_SLTSTA_MRLSS	0x0020
#define PCI_EXP_SLTSTA_PDS	0x0040
#define PCI_EXP_SLTSTA_EIS	0x0080
#define PCI_EXP_SLTSTA_DLLSC	0x0100
#define PCI_EXP_SLTSTA_EVENTS	0x011f		/* the RW1C event bits */
#define PCI_EXP_RTCTL		0x1c
#define PCI_EXP_RTCAP		0x1e
#define PCI_EXP_RTSTA		0x20
#define PCI_EXP_DEVCAP2		0x24
#define PCI_EXP_DEVCTL2		0x28
#define PCI_EXP_LNKCAP2		0x2c
#define PCI_EXP_LNKCTL2		0x30
#define PCI_EXP_LNKSTA2		0x32

/* Device/port type (PCI Express Capabilities register bits 7:4). */
#define PCI_EXP_TYPE_ENDPOINT	0x0
#define PCI_EXP_TYPE_LEG_END	0x1
#define PCI_EXP_TYPE_ROOT_PORT	0x4
#define PCI_EXP_TYPE_UPSTREAM	0x5
#define PCI_EXP_TYPE_DOWNSTREAM	0x6
#define PCI_EXP_TYPE_PCI_BRIDGE	0x7
#define PCI_EXP_TYPE_RC_END	0x9

/* Extended capability IDs and sizes. */
#define PCI_EXT_CAP_START	0x100
#define PCI_EXT_CAP_ID_ERR	0x0001
#define PCI_EXT_CAP_ID_ACS	0x000d
#define PCI_ERR_SIZEOF_ROOT	0x48
#define PCI_ERR_SIZEOF		0x38
#define PCI_ACS_SIZEOF		8

/*
 * Add a version 2 PCIe capability of port_type (PCI_EXP_TYPE_*) with an x1
 * 2.5 GT/s link; port_nr goes into Link Capabilities' port number. Ports
 * (root, downstream) get DLL Link Active reporting and a writable Link
 * Control; a root port also Root Control/Status. Offset or -errno.
 */
int pcie_cap_add(struct pci_config *cfg, unsigned int port_type, unsigned int port_nr);

/* For PCIe endpoints (virtio-pci on a PCIe bus): pcie_cap_add(ENDPOINT). */
int pcie_endpoint_cap_add(struct pci_config *cfg);

/*
 * Make the capability at cap a slot (Slot Implemented) with Slot Capabilities
 * sltcap (PCI_EXP_SLTCAP_* and the physical slot number); Slot Control's
 * bits for what sltcap offers become writable, Slot Status's events RW1C.
 */
void pcie_cap_set_slot(struct pci_config *cfg, unsigned int cap, uint32_t sltcap);

/* Drive Link Status' Data Link Layer Link Active bit. */
void pcie_cap_set_link_active(struct pci_config *cfg, unsigned int cap, bool active);

/*
 * Append an extended capability of len bytes (header included) at 0x100+:
 * offset or -ENOSPC / -EINVAL. Its body is read-only until masks are set.
 */
int pcie_ext_cap_add(struct pci_config *cfg, uint16_t id, uint8_t version, unsigned int len);
/* Offset of the first extended capability with this id, or 0 (bounded walk). */
unsigned int pcie_ext_cap_find(const struct pci_config *cfg, uint16_t id);

/* ACS for a downstream port: source validation, translation blocking, P2P redirects. */
int pcie_acs_add(struct pci_config *cfg);
/* AER version 2; root adds Root Error Command/Status. */
int pcie_aer_add(struct pci_config *cfg, bool root);

#endif
