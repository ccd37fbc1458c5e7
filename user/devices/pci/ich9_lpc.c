/*
 * ICH9 LPC interface bridge, D31:F0 (Intel I/O Controller Hub 9 datasheet
 * ch. 13.1): the registers an OS reads to find the ACPI PM block (PMBASE,
 * ACPI_CNTL, used by Linux's ICH LPC quirk and lpc_ich) and the PIRQ route
 * control registers, which keep what the guest writes. keel delivers PCI
 * INTx on I/O APIC GSIs 16-23 only (the DSDT's _PRT), so PIRQ routing to ISA
 * IRQs in PIC mode has no effect. PMBASE and ACPI_CNTL read as the machine
 * built them and ignore writes: acpi_pm cannot move or be switched off.
 * GPIO and the root complex register block are off (their bases read 0).
 */
#include <stdlib.h>

#include "devices/pci/ich9_lpc.h"
#include "lib/log.h"

struct ich9_lpc *ich9_lpc_new(struct pci_host *h, uint16_t pm_base)
{
	struct ich9_lpc *lpc = calloc(1, sizeof(*lpc));
	struct pci_config *cfg;
	unsigned int n;
	int ret;

	if (!lpc)
		return NULL;
	lpc->host = h;
	lpc->pci.name = "ich9-lpc";
	lpc->pci.opaque = lpc;
	cfg = &lpc->pci.cfg;
	pci_config_init(cfg, ICH9_LPC_VENDOR, ICH9_LPC_DEVICE, ICH9_LPC_CLASS,
			ICH9_LPC_REVISION, PCI_HEADER_TYPE_NORMAL);
	/* A bridge to the LPC bus: its COMMAND bits are hardwired (ch. 13.1.3). */
	pci_config_set_wmask(cfg, PCI_COMMAND, 2, 0);
	pci_config_set(cfg, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		       PCI_COMMAND_MASTER);
	pci_config_set(cfg, ICH9_LPC_PMBASE, 4, (pm_base & 0xff80) | ICH9_LPC_PMBASE_IO);
	pci_config_set(cfg, ICH9_LPC_ACPI_CNTL, 1, ICH9_LPC_ACPI_EN | ICH9_LPC_SCI_IRQ9);
	for (n = 0; n < 8; n++) {
		pci_config_set(cfg, ich9_lpc_pirq_reg(n), 1, ICH9_LPC_PIRQ_DEFAULT);
		pci_config_set_wmask(cfg, ich9_lpc_pirq_reg(n), 1, ICH9_LPC_PIRQ_WMASK);
	}
	ret = pci_host_register(h, &lpc->pci, ICH9_LPC_DEVFN);
	if (ret) {
		log_err("ich9-lpc: cannot take PCI address 1f.0: %d", ret);
		free(lpc);
		return NULL;
	}
	return lpc;
}

void ich9_lpc_free(struct ich9_lpc *lpc)
{
	if (!lpc)
		return;
	if (lpc->pci.bus)
		pci_bus_unregister(&lpc->pci);
	free(lpc);
}
