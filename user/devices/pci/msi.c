/*
 * MSI and MSI-X capability registers (PCI Local Bus 3.0 ch. 6.8.1, 6.8.2): the
 * layout, which bits the guest may write, and the message a vector maps to.
 */
#include <errno.h>

#include "devices/pci/msi.h"

int pci_msi_add(struct pci_config *cfg, unsigned int log2_vectors, bool addr64)
{
	unsigned int len = addr64 ? PCI_MSI_LEN_64 : PCI_MSI_LEN_32;
	unsigned int data = addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
	int cap;

	if (log2_vectors > 5)
		return -EINVAL;
	cap = pci_config_add_cap(cfg, PCI_CAP_ID_MSI, len);
	if (cap < 0)
		return cap;
	pci_config_set(cfg, cap + PCI_MSI_FLAGS, 2,
		       log2_vectors << 1 | (addr64 ? PCI_MSI_FLAGS_64BIT : 0));
	pci_config_set_wmask(cfg, cap + PCI_MSI_FLAGS, 2,
			     PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_config_set_wmask(cfg, cap + PCI_MSI_ADDR_LO, 4, 0xfffffffc);
	if (addr64)
		pci_config_set_wmask(cfg, cap + PCI_MSI_ADDR_HI, 4, 0xffffffff);
	pci_config_set_wmask(cfg, cap + data, 2, 0xffff);
	return cap;
}

static uint16_t pci_msi_flags(const struct pci_config *cfg, unsigned int cap)
{
	return (uint16_t)pci_config_get(cfg, cap + PCI_MSI_FLAGS, 2);
}

bool pci_msi_enabled(const struct pci_config *cfg, unsigned int cap)
{
	return pci_msi_flags(cfg, cap) & PCI_MSI_FLAGS_ENABLE;
}

unsigned int pci_msi_nr_enabled(const struct pci_config *cfg, unsigned int cap)
{
	uint16_t f = pci_msi_flags(cfg, cap);
	unsigned int offered = (f & PCI_MSI_FLAGS_QMASK) >> 1;
	unsigned int enabled = (f & PCI_MSI_FLAGS_QSIZE) >> 4;

	/* A guest asking for more than offered gets what was offered. */
	return 1u << (enabled < offered ? enabled : offered);
}

int pci_msi_message(const struct pci_config *cfg, unsigned int cap, unsigned int vector,
		    struct pci_msi_msg *msg)
{
	uint16_t f = pci_msi_flags(cfg, cap);
	unsigned int n = pci_msi_nr_enabled(cfg, cap);
	bool addr64 = f & PCI_MSI_FLAGS_64BIT;
	uint32_t data;

	if (!(f & PCI_MSI_FLAGS_ENABLE) || vector >= n)
		return -EINVAL;
	msg->addr = pci_config_get(cfg, cap + PCI_MSI_ADDR_LO, 4);
	if (addr64)
		msg->addr |= (uint64_t)pci_config_get(cfg, cap + PCI_MSI_ADDR_HI, 4) << 32;
	data = pci_config_get(cfg, cap + (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
	msg->data = (data & ~(n - 1)) | vector;
	return 0;
}

int pci_msi_notify(const struct pci_config *cfg, unsigned int cap, unsigned int vector,
		   const struct machine_services *ms)
{
	struct pci_msi_msg msg;
	int ret = pci_msi_message(cfg, cap, vector, &msg);

	if (ret)
		return ret;
	if (!ms || !ms->msi_send)
		return -ENODEV;
	return machine_msi_send(ms, msg.addr, msg.data);
}

int pci_msix_add(struct pci_config *cfg, unsigned int nr_vectors, unsigned int table_bar,
		 uint32_t table_off, unsigned int pba_bar, uint32_t pba_off)
{
	int cap;

	if (!nr_vectors || nr_vectors > PCI_MSIX_MAX_VECTORS || table_bar >= PCI_NR_BARS ||
	    pba_bar >= PCI_NR_BARS || (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	cap = pci_config_add_cap(cfg, PCI_CAP_ID_MSIX, PCI_MSIX_LEN);
	if (cap < 0)
		return cap;
	pci_config_set(cfg, cap + PCI_MSIX_FLAGS, 2, nr_vectors - 1);
	pci_config_set_wmask(cfg, cap + PCI_MSIX_FLAGS, 2,
			     PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_config_set(cfg, cap + PCI_MSIX_TABLE, 4, table_off | table_bar);
	pci_config_set(cfg, cap + PCI_MSIX_PBA, 4, pba_off | pba_bar);
	return cap;
}

static uint16_t pci_msix_flags(const struct pci_config *cfg, unsigned int cap)
{
	return (uint16_t)pci_config_get(cfg, cap + PCI_MSIX_FLAGS, 2);
}

bool pci_msix_enabled(const struct pci_config *cfg, unsigned int cap)
{
	return pci_msix_flags(cfg, cap) & PCI_MSIX_FLAGS_ENABLE;
}

bool pci_msix_masked(const struct pci_config *cfg, unsigned int cap)
{
	return pci_msix_flags(cfg, cap) & PCI_MSIX_FLAGS_MASKALL;
}

unsigned int pci_msix_nr_vectors(const struct pci_config *cfg, unsigned int cap)
{
	return (pci_msix_flags(cfg, cap) & PCI_MSIX_FLAGS_QSIZE) + 1u;
}
