/*
 * The Q35 MCH host bridge personality (Intel 3 Series Express Chipset Family
 * datasheet ch. 5.1, D0:F0): IDs, PCIEXBAR (ch. 5.1.16) and TOLUD (ch. 5.1.33)
 * on top of keel's pci_host, which does the config cycles and ECAM.
 */
#include "devices/pci/q35_mch.h"

void q35_mch_setup(struct pci_host *h, uint64_t low_ram_end)
{
	struct pci_config *cfg = &h->bridge.cfg;
	uint64_t bar = h->ecam_base | Q35_MCH_PCIEXBAR_256M | Q35_MCH_PCIEXBAR_EN;

	pthread_mutex_lock(&h->lock);
	h->bridge.name = "q35-mch";
	pci_config_init(cfg, Q35_MCH_VENDOR, Q35_MCH_DEVICE, Q35_MCH_CLASS, Q35_MCH_REVISION,
			PCI_HEADER_TYPE_NORMAL);
	/* As pci_host's own bridge: memory and I/O always forwarded, COMMAND fixed. */
	pci_config_set_wmask(cfg, PCI_COMMAND, 2, 0);
	pci_config_set(cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_config_set(cfg, Q35_MCH_PCIEXBAR, 4, (uint32_t)bar);
	pci_config_set(cfg, Q35_MCH_PCIEXBAR + 4, 4, (uint32_t)(bar >> 32));
	pci_config_set(cfg, Q35_MCH_TOLUD, 2, (uint32_t)((low_ram_end >> 20) << 4) & 0xfff0);
	pthread_mutex_unlock(&h->lock);
}
