/*
 * Type 1 header window decode and programming (PCI-to-PCI Bridge 1.2 ch. 3.2.5.6-10,
 * ch. 4.1-4.5): which primary-side addresses a bridge forwards downstream.
 */
#include "devices/pci/bridge_window.h"

bool pci_config_is_bridge(const struct pci_config *cfg)
{
	return (cfg->data[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE;
}

bool pci_bridge_window(const struct pci_config *cfg, enum pci_bridge_win w, uint64_t *base,
		       uint64_t *limit)
{
	uint64_t b, l;

	switch (w) {
	case PCI_BRIDGE_WIN_IO:
		b = (uint64_t)(cfg->data[PCI_IO_BASE] & 0xf0) << 8;
		l = (uint64_t)(cfg->data[PCI_IO_LIMIT] & 0xf0) << 8 | 0xfff;
		break;
	case PCI_BRIDGE_WIN_MEM:
		b = (uint64_t)(pci_config_get(cfg, PCI_MEMORY_BASE, 2) & 0xfff0) << 16;
		l = (uint64_t)(pci_config_get(cfg, PCI_MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xfffff;
		break;
	case PCI_BRIDGE_WIN_PREF:
		b = (uint64_t)(pci_config_get(cfg, PCI_PREF_MEMORY_BASE, 2) & 0xfff0) << 16;
		l = (uint64_t)(pci_config_get(cfg, PCI_PREF_MEMORY_LIMIT, 2) & 0xfff0) << 16 |
		    0xfffff;
		if (cfg->data[PCI_PREF_MEMORY_BASE] & PCI_PREF_RANGE_64) {
			b |= (uint64_t)pci_config_get(cfg, PCI_PREF_BASE_UPPER32, 4) << 32;
			l |= (uint64_t)pci_config_get(cfg, PCI_PREF_LIMIT_UPPER32, 4) << 32;
		}
		break;
	default:
		return false;
	}
	*base = b;
	*limit = l;
	return b <= l;
}

void pci_bridge_set_window(struct pci_config *cfg, enum pci_bridge_win w, uint64_t base,
			   uint64_t size)
{
	uint64_t last = base + size - 1;

	switch (w) {
	case PCI_BRIDGE_WIN_IO:
		if (!size) {
			base = 0xf000;	/* base above limit: closed */
			last = 0;
		}
		cfg->data[PCI_IO_BASE] = (uint8_t)((base >> 8) & 0xf0);
		cfg->data[PCI_IO_LIMIT] = (uint8_t)((last >> 8) & 0xf0);
		break;
	case PCI_BRIDGE_WIN_MEM:
		if (!size) {
			base = 0xfff00000;
			last = 0;
		}
		pci_config_set(cfg, PCI_MEMORY_BASE, 2, (uint32_t)(base >> 16) & 0xfff0);
		pci_config_set(cfg, PCI_MEMORY_LIMIT, 2, (uint32_t)(last >> 16) & 0xfff0);
		break;
	case PCI_BRIDGE_WIN_PREF:
		if (!size) {
			base = 0xfff00000;
			last = 0;
		}
		pci_config_set(cfg, PCI_PREF_MEMORY_BASE, 2,
			       ((uint32_t)(base >> 16) & 0xfff0) | PCI_PREF_RANGE_64);
		pci_config_set(cfg, PCI_PREF_MEMORY_LIMIT, 2,
			       ((uint32_t)(last >> 16) & 0xfff0) | PCI_PREF_RANGE_64);
		pci_config_set(cfg, PCI_PREF_BASE_UPPER32, 4, (uint32_t)(base >> 32));
		pci_config_set(cfg, PCI_PREF_LIMIT_UPPER32, 4, (uint32_t)(last >> 32));
		break;
	default:
		break;
	}
}

static bool pci_bridge_in(const struct pci_config *cfg, enum pci_bridge_win w, uint64_t addr,
			  uint64_t size)
{
	uint64_t base, limit;

	if (!pci_bridge_window(cfg, w, &base, &limit))
		return false;
	return size && addr >= base && addr <= limit && size - 1 <= limit - addr;
}

bool pci_bridge_forwards(const struct pci_config *cfg, uint64_t addr, uint64_t size, bool io)
{
	uint32_t cmd = pci_config_get(cfg, PCI_COMMAND, 2);

	if (io) {
		uint16_t ctl = (uint16_t)pci_config_get(cfg, PCI_BRIDGE_CONTROL, 2);

		if (!(cmd & PCI_COMMAND_IO) || !pci_bridge_in(cfg, PCI_BRIDGE_WIN_IO, addr, size))
			return false;
		/*
		 * ISA enable: of each 1 KiB block of the first 64 KiB only the
		 * first 256 bytes go downstream (ch. 4.5.1).
		 */
		if ((ctl & PCI_BRIDGE_CTL_ISA) && addr < 0x10000 &&
		    (addr & 0x3ff) + size > 0x100)
			return false;
		return true;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return false;
	return pci_bridge_in(cfg, PCI_BRIDGE_WIN_MEM, addr, size) ||
	       pci_bridge_in(cfg, PCI_BRIDGE_WIN_PREF, addr, size);
}
