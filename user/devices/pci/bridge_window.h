/*
 * The type 1 header's registers (PCI-to-PCI Bridge Architecture 1.2 ch. 3.2.5)
 * and what a bridge forwards from its primary to its secondary side: the I/O,
 * memory and prefetchable windows gated by COMMAND (ch. 4.1-4.5). Pure
 * functions of config space, shared by the bridge models, host decode and
 * enumeration.
 */
#ifndef KEEL_DEVICES_PCI_BRIDGE_WINDOW_H
#define KEEL_DEVICES_PCI_BRIDGE_WINDOW_H

#include "devices/pci/config.h"

/* Type 1 header registers (ch. 3.2.5). */
#define PCI_PRIMARY_BUS		0x18
#define PCI_SECONDARY_BUS	0x19
#define PCI_SUBORDINATE_BUS	0x1a
#define PCI_SEC_LATENCY_TIMER	0x1b
#define PCI_IO_BASE		0x1c
#define PCI_IO_LIMIT		0x1d
#define PCI_SEC_STATUS		0x1e
#define PCI_MEMORY_BASE		0x20
#define PCI_MEMORY_LIMIT	0x22
#define PCI_PREF_MEMORY_BASE	0x24
#define PCI_PREF_MEMORY_LIMIT	0x26
#define PCI_PREF_BASE_UPPER32	0x28
#define PCI_PREF_LIMIT_UPPER32	0x2c
#define PCI_IO_BASE_UPPER16	0x30
#define PCI_IO_LIMIT_UPPER16	0x32
#define PCI_ROM_ADDRESS1	0x38
#define PCI_BRIDGE_CONTROL	0x3e

#define PCI_PREF_RANGE_64	0x1	/* low nibble of the prefetchable base/limit */

/* Bridge control (ch. 3.2.5.18). */
#define PCI_BRIDGE_CTL_PARITY	0x0001
#define PCI_BRIDGE_CTL_SERR	0x0002
#define PCI_BRIDGE_CTL_ISA	0x0004
#define PCI_BRIDGE_CTL_VGA	0x0008
#define PCI_BRIDGE_CTL_VGA16	0x0010
#define PCI_BRIDGE_CTL_MASTER_ABORT 0x0020
#define PCI_BRIDGE_CTL_BUS_RESET 0x0040

#define PCI_CLASS_BRIDGE_PCI	0x060400

/* Window granularity: I/O 4 KiB (16-bit decode), memory 1 MiB. */
#define PCI_BRIDGE_IO_ALIGN	0x1000ULL
#define PCI_BRIDGE_MEM_ALIGN	0x100000ULL

enum pci_bridge_win {
	PCI_BRIDGE_WIN_IO,
	PCI_BRIDGE_WIN_MEM,		/* non-prefetchable, 32-bit */
	PCI_BRIDGE_WIN_PREF,		/* prefetchable, 64-bit */
	PCI_BRIDGE_WIN_NR,
};

/*
 * The window w as programmed in cfg (a type 1 header): inclusive limits.
 * false if it is closed (base > limit).
 */
bool pci_bridge_window(const struct pci_config *cfg, enum pci_bridge_win w, uint64_t *base,
		       uint64_t *limit);
/*
 * Program window w (firmware side, no masks): [base, base + size) with base
 * and size multiples of the window's granularity; size 0 closes it.
 */
void pci_bridge_set_window(struct pci_config *cfg, enum pci_bridge_win w, uint64_t base,
			   uint64_t size);
/*
 * Does the bridge (its type 1 header) forward [addr, addr + size) from its
 * primary to its secondary side: COMMAND.IO / .MEMORY on and the range
 * inside the I/O window, or inside the memory or prefetchable window?
 */
bool pci_bridge_forwards(const struct pci_config *cfg, uint64_t addr, uint64_t size, bool io);

/* Is cfg a type 1 header? */
bool pci_config_is_bridge(const struct pci_config *cfg);

#endif
