/*
 * The Q35 machine's ICH9 LPC bridge, 00:1f.0 (8086:2918, class 0x0601; Intel
 * I/O Controller Hub 9 datasheet ch. 13.1): PMBASE and ACPI_CNTL naming the
 * ACPI PM block keel's acpi_pm serves, the PIRQA-H route control registers,
 * and GPIO and RCBA left off, as firmware would report them.
 */
#ifndef KEEL_DEVICES_PCI_ICH9_LPC_H
#define KEEL_DEVICES_PCI_ICH9_LPC_H

#include <stdint.h>

#include "devices/pci/host.h"

#define ICH9_LPC_VENDOR		0x8086
#define ICH9_LPC_DEVICE		0x2918
#define ICH9_LPC_CLASS		0x060100
#define ICH9_LPC_REVISION	0x02
#define ICH9_LPC_DEVFN		PCI_DEVFN(31, 0)

/* LPC interface configuration registers (datasheet ch. 13.1). */
#define ICH9_LPC_PMBASE		0x40	/* 32 bits: 15:7 base, bit 0 reads 1 (I/O) */
#define ICH9_LPC_PMBASE_IO	0x1
#define ICH9_LPC_ACPI_CNTL	0x44	/* 8 bits: 7 ACPI_EN, 2:0 SCI_IRQ_SEL */
#define ICH9_LPC_ACPI_EN	0x80
#define ICH9_LPC_SCI_IRQ9	0x0	/* SCI_IRQ_SEL 000b: IRQ 9 */
#define ICH9_LPC_GPIOBASE	0x48
#define ICH9_LPC_GC		0x4c
#define ICH9_LPC_PIRQA_ROUT	0x60	/* PIRQA-D: 0x60-0x63 */
#define ICH9_LPC_PIRQE_ROUT	0x68	/* PIRQE-H: 0x68-0x6b */
#define ICH9_LPC_PIRQ_IRQEN	0x80	/* set: not routed to an ISA IRQ */
#define ICH9_LPC_PIRQ_WMASK	0x8f	/* IRQEN and the ISA IRQ number; 6:4 reserved */
#define ICH9_LPC_PIRQ_DEFAULT	0x80
#define ICH9_LPC_RCBA		0xf0	/* 32 bits: 31:14 base, bit 0 enable */

struct ich9_lpc {
	struct pci_device pci;
	struct pci_host *host;
};

/*
 * The LPC function at 1f.0 on h's bus, PMBASE = pm_base (the acpi_pm block,
 * 128-byte aligned), SCI on IRQ 9. NULL on failure (logged).
 */
struct ich9_lpc *ich9_lpc_new(struct pci_host *h, uint16_t pm_base);
void ich9_lpc_free(struct ich9_lpc *lpc);

/* PIRQ route control register of PIRQ n (0 = A .. 7 = H). */
static inline unsigned int ich9_lpc_pirq_reg(unsigned int n)
{
	return n < 4 ? ICH9_LPC_PIRQA_ROUT + n : ICH9_LPC_PIRQE_ROUT + n - 4;
}

#endif
