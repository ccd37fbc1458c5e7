/*
 * PCI configuration space of one function (PCI Local Bus 3.0 ch. 6): guest
 * accesses through per-byte masks, BAR sizing (ch. 6.2.5.1), capabilities (ch. 6.7).
 */
#include <errno.h>
#include <string.h>

#include "devices/pci/config.h"

#define PCI_CAP_MAX_WALK	48

static bool pci_config_access_ok(unsigned int off, unsigned int size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	if (off & (size - 1))
		return false;
	return off < PCI_CFG_SIZE && size <= PCI_CFG_SIZE - off;
}

uint32_t pci_config_get(const struct pci_config *cfg, unsigned int off, unsigned int size)
{
	uint32_t v = 0;
	unsigned int i;

	if (size > 4 || off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return UINT32_MAX;
	for (i = 0; i < size; i++)
		v |= (uint32_t)cfg->data[off + i] << (8 * i);
	return v;
}

static void pci_config_put(uint8_t *arr, unsigned int off, unsigned int size, uint32_t v)
{
	unsigned int i;

	if (size > 4 || off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return;
	for (i = 0; i < size; i++)
		arr[off + i] = (uint8_t)(v >> (8 * i));
}

void pci_config_set(struct pci_config *cfg, unsigned int off, unsigned int size,
		    uint32_t val)
{
	pci_config_put(cfg->data, off, size, val);
}

void pci_config_set_wmask(struct pci_config *cfg, unsigned int off, unsigned int size,
			  uint32_t mask)
{
	pci_config_put(cfg->wmask, off, size, mask);
}

void pci_config_set_w1cmask(struct pci_config *cfg, unsigned int off, unsigned int size,
			    uint32_t mask)
{
	pci_config_put(cfg->w1cmask, off, size, mask);
}

void pci_config_init(struct pci_config *cfg, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint8_t header_type)
{
	memset(cfg, 0, sizeof(*cfg));
	pci_config_set(cfg, PCI_VENDOR_ID, 2, vendor);
	pci_config_set(cfg, PCI_DEVICE_ID, 2, device);
	pci_config_set(cfg, PCI_REVISION_ID, 1, revision);
	pci_config_set(cfg, PCI_CLASS_PROG, 3, class_code & 0xffffff);
	pci_config_set(cfg, PCI_HEADER_TYPE, 1, header_type);
	pci_config_set_wmask(cfg, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			     PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
			     PCI_COMMAND_INTX_DISABLE);
	pci_config_set_w1cmask(cfg, PCI_STATUS, 2, PCI_STATUS_W1C);
	pci_config_set_wmask(cfg, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_config_set_wmask(cfg, PCI_LATENCY_TIMER, 1, 0xff);
	pci_config_set_wmask(cfg, PCI_INTERRUPT_LINE, 1, 0xff);
	cfg->cap_free = PCI_CAP_START;
}

int pci_config_read(const struct pci_config *cfg, unsigned int off, unsigned int size,
		    uint32_t *val)
{
	if (!pci_config_access_ok(off, size)) {
		*val = UINT32_MAX;
		return -EINVAL;
	}
	*val = pci_config_get(cfg, off, size);
	return 0;
}

int pci_config_write(struct pci_config *cfg, unsigned int off, unsigned int size,
		     uint32_t val)
{
	unsigned int i;

	if (!pci_config_access_ok(off, size))
		return -EINVAL;
	for (i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t wm = cfg->wmask[off + i], w1c = cfg->w1cmask[off + i];
		uint8_t *d = &cfg->data[off + i];

		*d = (uint8_t)((*d & ~wm) | (b & wm));
		*d = (uint8_t)(*d & ~(b & w1c));
	}
	return 0;
}

static unsigned int pci_config_nr_bars(const struct pci_config *cfg)
{
	return (cfg->data[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE ? 2 : PCI_NR_BARS;
}

static bool pci_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_config_set_bar(struct pci_config *cfg, unsigned int idx, uint64_t size,
		       uint32_t flags)
{
	unsigned int nr = pci_config_nr_bars(cfg), off = PCI_BAR0 + 4 * idx;
	bool io = flags & PCI_BAR_IO, wide = flags & PCI_BAR_MEM64;
	uint64_t mask;

	if (idx >= nr || !pci_is_pow2(size) || cfg->bars[idx].size)
		return -EINVAL;
	if (idx > 0 && (cfg->bars[idx - 1].flags & PCI_BAR_MEM64) && cfg->bars[idx - 1].size)
		return -EINVAL;		/* upper half of a 64-bit BAR */
	if (io) {
		if (flags != PCI_BAR_IO || size < 4 || size > 256)
			return -EINVAL;
	} else {
		if (flags & ~(PCI_BAR_MEM64 | PCI_BAR_PREFETCH) || size < 16)
			return -EINVAL;
		if (wide && (idx + 1 >= nr || cfg->bars[idx + 1].size))
			return -EINVAL;
		if (!wide && size > (1ULL << 31))
			return -EINVAL;
		if (wide && size > (1ULL << 63))
			return -EINVAL;
	}
	cfg->bars[idx] = (struct pci_bar){ .size = size, .flags = flags };
	mask = ~(size - 1);
	pci_config_set(cfg, off, 4, flags);
	pci_config_set_wmask(cfg, off, 4, (uint32_t)mask & (io ? ~0x3u : ~0xfu));
	if (wide) {
		pci_config_set(cfg, off + 4, 4, 0);
		pci_config_set_wmask(cfg, off + 4, 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

uint64_t pci_config_bar_addr(const struct pci_config *cfg, unsigned int idx)
{
	unsigned int off = PCI_BAR0 + 4 * idx;
	const struct pci_bar *bar;
	uint64_t addr;

	if (idx >= PCI_NR_BARS || !cfg->bars[idx].size)
		return 0;
	bar = &cfg->bars[idx];
	addr = pci_config_get(cfg, off, 4) & (bar->flags & PCI_BAR_IO ? ~0x3u : ~0xfu);
	if (bar->flags & PCI_BAR_MEM64)
		addr |= (uint64_t)pci_config_get(cfg, off + 4, 4) << 32;
	return addr;
}

int pci_config_add_cap(struct pci_config *cfg, uint8_t cap_id, unsigned int len)
{
	unsigned int off = cfg->cap_free;

	if (len < 2 || !cap_id)
		return -EINVAL;
	if (off < PCI_CAP_START || off >= PCI_CFG_LEGACY_SIZE ||
	    len > PCI_CFG_LEGACY_SIZE - off)
		return -ENOSPC;
	memset(&cfg->data[off], 0, len);
	cfg->data[off] = cap_id;
	if (cfg->last_cap)
		cfg->data[cfg->last_cap + 1] = (uint8_t)off;
	else
		cfg->data[PCI_CAPABILITY_LIST] = (uint8_t)off;
	cfg->data[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	cfg->last_cap = (uint8_t)off;
	/* The next capability starts dword-aligned (ch. 6.7). */
	cfg->cap_free = (uint16_t)((off + len + 3) & ~3u);
	return (int)off;
}

unsigned int pci_config_find_cap(const struct pci_config *cfg, uint8_t cap_id)
{
	unsigned int off, n = 0;

	if (!(cfg->data[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	off = cfg->data[PCI_CAPABILITY_LIST] & ~3u;
	while (off >= PCI_CAP_START && n++ < PCI_CAP_MAX_WALK) {
		if (cfg->data[off] == cap_id)
			return off;
		off = cfg->data[off + 1] & ~3u;
	}
	return 0;
}
