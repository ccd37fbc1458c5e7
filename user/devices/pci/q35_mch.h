/*
 * The Q35 machine's host bridge as an Intel 82G33/P35 MCH DRAM controller,
 * 00.0 (8086:29c0, class 0x0600; Intel 3 Series Express Chipset Family
 * datasheet ch. 5.1): its IDs, and PCIEXBAR and TOLUD as firmware would have
 * left them, locked. The config mechanisms and ECAM are the pci_host's.
 */
#ifndef KEEL_DEVICES_PCI_Q35_MCH_H
#define KEEL_DEVICES_PCI_Q35_MCH_H

#include <stdint.h>

#include "devices/pci/host.h"

#define Q35_MCH_VENDOR		0x8086
#define Q35_MCH_DEVICE		0x29c0
#define Q35_MCH_CLASS		0x060000
#define Q35_MCH_REVISION	0x02

/* Registers (datasheet ch. 5.1.16 and 5.1.33). */
#define Q35_MCH_PCIEXBAR	0x60	/* 64 bits: base, LENGTH (2:1), enable (0) */
#define Q35_MCH_PCIEXBAR_EN	0x1
#define Q35_MCH_PCIEXBAR_256M	(0u << 1)	/* LENGTH 00b: 256 buses */
#define Q35_MCH_TOLUD		0xb0	/* 16 bits: 15:4 = address bits 31:20 */

/* PCIEXBAR's window at LENGTH 256 MiB: 1 MiB of ECAM per bus. */
#define Q35_MCH_ECAM_WINDOW	(256ULL << 20)

/*
 * Turn h's host bridge function into the MCH: IDs and class, PCIEXBAR on at
 * h->ecam_base with 256 MiB, TOLUD = low_ram_end (the top of RAM below 4 GiB).
 * Every MCH register reads as set here and ignores writes: keel decodes
 * ECAM and RAM where the machine put them, and no guest may move them.
 */
void q35_mch_setup(struct pci_host *h, uint64_t low_ram_end);

#endif
