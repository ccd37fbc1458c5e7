/*
 * PCI configuration space of one function (PCI Local Bus 3.0 ch. 6, PCIe 4096-byte
 * extended space): per-byte read-only / read-write / write-1-to-clear masks, BAR
 * sizing (ch. 6.2.5.1) and the capability list (ch. 6.7).
 */
#ifndef KEEL_DEVICES_PCI_CONFIG_H
#define KEEL_DEVICES_PCI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE		4096
#define PCI_CFG_LEGACY_SIZE	256

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_START		0x40

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_PARITY	0x0040
#define PCI_COMMAND_SERR	0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT	0x0008
#define PCI_STATUS_CAP_LIST	0x0010
/* Master data parity error, target/master aborts, SERR, parity error: RW1C. */
#define PCI_STATUS_W1C		0xf900

#define PCI_HEADER_TYPE_NORMAL	0x00
#define PCI_HEADER_TYPE_BRIDGE	0x01
#define PCI_HEADER_MULTI_FUNC	0x80

#define PCI_NR_BARS		6

/* Low bits of a BAR (ch. 6.2.5.1). */
#define PCI_BAR_IO		0x1
#define PCI_BAR_MEM64		0x4
#define PCI_BAR_PREFETCH	0x8

struct pci_bar {
	uint64_t size;		/* 0: not implemented */
	uint32_t flags;		/* PCI_BAR_* */
};

struct pci_config {
	uint8_t data[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may set or clear */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits the guest clears by writing 1 */
	struct pci_bar bars[PCI_NR_BARS];
	uint8_t last_cap;		/* offset of the last capability, 0: none */
	uint16_t cap_free;		/* first free byte for the next capability */
	uint16_t ext_last;		/* the last extended capability (0x100+), 0: none */
	uint16_t ext_free;		/* first free byte in extended space, 0: 0x100 */
};

/*
 * A type 0 or type 1 header with the given IDs; class is the 24-bit class code
 * (base << 16 | sub << 8 | prog-if). Command, cache line, latency and interrupt
 * line are writable, the error bits of status are RW1C, the rest read-only.
 */
void pci_config_init(struct pci_config *cfg, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint8_t header_type);

/*
 * Guest accesses: size 1, 2 or 4, naturally aligned, inside the 4 KiB space.
 * Anything else reads all-ones and writes nothing; both return -EINVAL.
 */
int pci_config_read(const struct pci_config *cfg, unsigned int off, unsigned int size,
		    uint32_t *val);
int pci_config_write(struct pci_config *cfg, unsigned int off, unsigned int size,
		     uint32_t val);

/* Device-side accessors: no masks applied (little-endian, bounds-checked). */
uint32_t pci_config_get(const struct pci_config *cfg, unsigned int off, unsigned int size);
void pci_config_set(struct pci_config *cfg, unsigned int off, unsigned int size,
		    uint32_t val);
void pci_config_set_wmask(struct pci_config *cfg, unsigned int off, unsigned int size,
			  uint32_t mask);
void pci_config_set_w1cmask(struct pci_config *cfg, unsigned int off, unsigned int size,
			    uint32_t mask);

/*
 * Declare BAR idx (0..5; 0..1 for a bridge) of size bytes (a power of two: at least
 * 16 for memory, 4 for I/O, at most 256 for I/O, 2 GiB for 32-bit memory).
 * A 64-bit BAR also takes idx + 1. Returns 0 or -EINVAL.
 */
int pci_config_set_bar(struct pci_config *cfg, unsigned int idx, uint64_t size,
		       uint32_t flags);
/* The address the guest programmed into BAR idx (0 for an unimplemented one). */
uint64_t pci_config_bar_addr(const struct pci_config *cfg, unsigned int idx);

/*
 * Append a capability of len bytes (ID and next pointer included) to the list
 * in the first 256 bytes; returns its offset or -ENOSPC / -EINVAL. Its body is
 * read-only until the device sets masks for it.
 */
int pci_config_add_cap(struct pci_config *cfg, uint8_t cap_id, unsigned int len);
/* Offset of the first capability with this ID, or 0; walks at most 48 entries. */
unsigned int pci_config_find_cap(const struct pci_config *cfg, uint8_t cap_id);

#endif
