/*
 * PCI Express capability structure (PCIe Base 4.0 ch. 7.5.3) and extended
 * capabilities (ch. 7.6): ACS (ch. 7.7.7) and AER (ch. 7.8.4) for ports.
 */
#include <errno.h>
#include <string.h>

#include "devices/pci/pcie.h"

#define PCIE_EXT_MAX_WALK	64

int pcie_cap_add(struct pci_config *cfg, unsigned int port_type, unsigned int port_nr)
{
	bool port = port_type == PCI_EXP_TYPE_ROOT_PORT || port_type == PCI_EXP_TYPE_DOWNSTREAM;
	int cap = pci_config_add_cap(cfg, PCI_CAP_ID_EXP, PCI_EXP_SIZEOF);
	unsigned int c;

	if (cap < 0)
		return cap;
	c = (unsigned int)cap;
	pci_config_set(cfg, c + PCI_EXP_FLAGS, 2, 2 | (port_type & 0xf) << 4);
	/* 128-byte payload, role-based error reporting (bit 15). */
	pci_config_set(cfg, c + PCI_EXP_DEVCAP, 4, 0x00008000);
	/* Error reporting enables, relaxed ordering, payload, no snoop, read request. */
	pci_config_set_wmask(cfg, c + PCI_EXP_DEVCTL, 2, 0x79ff);
	pci_config_set(cfg, c + PCI_EXP_DEVCTL, 2, 0x2810);
	pci_config_set_w1cmask(cfg, c + PCI_EXP_DEVSTA, 2, 0x000f);
	/* 2.5 GT/s, x1; ASPM L0s and L1 not supported. */
	pci_config_set(cfg, c + PCI_EXP_LNKCAP, 4,
		       0x1 | 0x1 << 4 | (port ? PCI_EXP_LNKCAP_DLLLARC : 0) |
		       (port_nr & 0xff) << 24);
	/* ASPM control, RCB, common clock, extended synch. */
	pci_config_set_wmask(cfg, c + PCI_EXP_LNKCTL, 2, 0x00cb);
	/* Current speed 2.5 GT/s, width x1, slot clock. */
	pci_config_set(cfg, c + PCI_EXP_LNKSTA, 2, 0x1 | 0x1 << 4 | 0x1000);
	pci_config_set(cfg, c + PCI_EXP_LNKCAP2, 4, 0x2);	/* 2.5 GT/s supported */
	pci_config_set(cfg, c + PCI_EXP_LNKCTL2, 2, 0x1);	/* target 2.5 GT/s */
	if (port_type == PCI_EXP_TYPE_ROOT_PORT) {
		/* SERR on correctable / non-fatal / fatal, PME interrupt enable. */
		pci_config_set_wmask(cfg, c + PCI_EXP_RTCTL, 2, 0x000f);
		pci_config_set_w1cmask(cfg, c + PCI_EXP_RTSTA, 4, 0x00030000);
	}
	return cap;
}

int pcie_endpoint_cap_add(struct pci_config *cfg)
{
	return pcie_cap_add(cfg, PCI_EXP_TYPE_ENDPOINT, 0);
}

void pcie_cap_set_slot(struct pci_config *cfg, unsigned int cap, uint32_t sltcap)
{
	uint16_t ctl = PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_DLLSCE;

	pci_config_set(cfg, cap + PCI_EXP_FLAGS, 2,
		       pci_config_get(cfg, cap + PCI_EXP_FLAGS, 2) | PCI_EXP_FLAGS_SLOT);
	pci_config_set(cfg, cap + PCI_EXP_SLTCAP, 4, sltcap);
	if (sltcap & PCI_EXP_SLTCAP_ABP)
		ctl |= PCI_EXP_SLTCTL_ABPE;
	if (sltcap & PCI_EXP_SLTCAP_PCP)
		ctl |= PCI_EXP_SLTCTL_PFDE | PCI_EXP_SLTCTL_PCC;
	if (sltcap & PCI_EXP_SLTCAP_MRLSP)
		ctl |= PCI_EXP_SLTCTL_MRLSCE;
	if (sltcap & PCI_EXP_SLTCAP_AIP)
		ctl |= PCI_EXP_SLTCTL_AIC;
	if (sltcap & PCI_EXP_SLTCAP_PIP)
		ctl |= PCI_EXP_SLTCTL_PIC;
	if (!(sltcap & PCI_EXP_SLTCAP_NCCS))
		ctl |= PCI_EXP_SLTCTL_CCIE;
	pci_config_set_wmask(cfg, cap + PCI_EXP_SLTCTL, 2, ctl);
	pci_config_set_w1cmask(cfg, cap + PCI_EXP_SLTSTA, 2, PCI_EXP_SLTSTA_EVENTS);
}

void pcie_cap_set_link_active(struct pci_config *cfg, unsigned int cap, bool active)
{
	uint32_t v = pci_config_get(cfg, cap + PCI_EXP_LNKSTA, 2);

	v = active ? v | PCI_EXP_LNKSTA_DLLLA : v & ~(uint32_t)PCI_EXP_LNKSTA_DLLLA;
	pci_config_set(cfg, cap + PCI_EXP_LNKSTA, 2, v);
}

int pcie_ext_cap_add(struct pci_config *cfg, uint16_t id, uint8_t version, unsigned int len)
{
	unsigned int off = cfg->ext_free ? cfg->ext_free : PCI_EXT_CAP_START;

	if (len < 4 || !id || version > 0xf)
		return -EINVAL;
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return -ENOSPC;
	memset(&cfg->data[off], 0, len);
	pci_config_set(cfg, off, 4, (uint32_t)id | (uint32_t)version << 16);
	if (cfg->ext_last)
		pci_config_set(cfg, cfg->ext_last, 4,
			       (pci_config_get(cfg, cfg->ext_last, 4) & 0xfffff) | off << 20);
	cfg->ext_last = (uint16_t)off;
	cfg->ext_free = (uint16_t)((off + len + 3) & ~3u);
	return (int)off;
}

unsigned int pcie_ext_cap_find(const struct pci_config *cfg, uint16_t id)
{
	unsigned int off = PCI_EXT_CAP_START, n = 0;

	while (off >= PCI_EXT_CAP_START && off <= PCI_CFG_SIZE - 4 && n++ < PCIE_EXT_MAX_WALK) {
		uint32_t hdr = pci_config_get(cfg, off, 4);

		if (!hdr)
			return 0;
		if ((hdr & 0xffff) == id)
			return off;
		off = (hdr >> 20) & ~3u;
	}
	return 0;
}

int pcie_acs_add(struct pci_config *cfg)
{
	/* Source validation, translation blocking, P2P request/completion redirect, upstream forwarding. */
	const uint16_t acs = 0x001f;
	int cap = pcie_ext_cap_add(cfg, PCI_EXT_CAP_ID_ACS, 1, PCI_ACS_SIZEOF);

	if (cap < 0)
		return cap;
	pci_config_set(cfg, (unsigned int)cap + 4, 2, acs);
	pci_config_set_wmask(cfg, (unsigned int)cap + 6, 2, acs);
	return cap;
}

int pcie_aer_add(struct pci_config *cfg, bool root)
{
	/* The uncorrectable and correctable errors the registers implement. */
	const uint32_t uncor = 0x003ff030, cor = 0x0000f1c1;
	int cap = pcie_ext_cap_add(cfg, PCI_EXT_CAP_ID_ERR, 2,
				   root ? PCI_ERR_SIZEOF_ROOT : PCI_ERR_SIZEOF);
	unsigned int c;

	if (cap < 0)
		return cap;
	c = (unsigned int)cap;
	pci_config_set_w1cmask(cfg, c + 0x04, 4, uncor);	/* uncorrectable status */
	pci_config_set_wmask(cfg, c + 0x08, 4, uncor);		/* uncorrectable mask */
	pci_config_set_wmask(cfg, c + 0x0c, 4, uncor);		/* uncorrectable severity */
	pci_config_set(cfg, c + 0x0c, 4, 0x00062030);
	pci_config_set_w1cmask(cfg, c + 0x10, 4, cor);		/* correctable status */
	pci_config_set_wmask(cfg, c + 0x14, 4, cor);		/* correctable mask */
	pci_config_set(cfg, c + 0x14, 4, 0x00002000);		/* advisory non-fatal masked */
	if (root) {
		pci_config_set_wmask(cfg, c + 0x2c, 4, 0x7);	/* root error command */
		pci_config_set_w1cmask(cfg, c + 0x30, 4, 0x7f);	/* root error status */
	}
	return cap;
}
