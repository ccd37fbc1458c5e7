/*
 * keel's PCI host bridge: config mechanism #1 at 0xCF8/0xCFC (PCI Local Bus 3.0
 * ch. 3.2.2.3.2) and the ECAM window (PCIe 4.0 ch. 7.2.2) onto bus 0; BAR
 * placement (PCI Firmware 3.0 ch. 3.5) and BAR decoding (ch. 6.2.5) in the windows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/host.h"
#include "lib/log.h"

#define CF8_ENABLE		0x80000000u
#define CF8_BUS(a)		(((a) >> 16) & 0xff)
#define CF8_DEVFN(a)		(((a) >> 8) & 0xff)
#define CF8_REG(a)		((a) & 0xfc)
/* Bits 30:24 are reserved; bits 1:0 read as zero. */
#define CF8_WRITABLE		0x80fffffcu

static uint32_t pci_host_ones(unsigned int size)
{
	return size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
}

static uint32_t pci_host_load(const void *data, unsigned int size)
{
	const uint8_t *p = data;
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < size && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void pci_host_store(void *data, unsigned int size, uint32_t v)
{
	uint8_t *p = data;
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

static void pci_host_bad_access(struct pci_host *h, const char *what, uint64_t off,
				unsigned int size)
{
	if (h->bad_access_logged)
		return;
	h->bad_access_logged = true;
	log_warn("pci-host: guest made a %u-byte %s access at offset %#llx; ignored",
		 size, what, (unsigned long long)off);
}

/* 0xCF8-0xCFB: only a dword at 0xCF8 is the address register. */
static void pci_host_addr_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v;

	if (off == 1 && size == 1 && h->cf9_ops) {
		h->cf9_ops->read(h->cf9_dev, 0, data, 1);
		return;
	}
	pthread_mutex_lock(&h->lock);
	v = off == 0 && size == 4 ? h->config_addr : pci_host_ones(size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_addr_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;

	if (off == 1 && size == 1 && h->cf9_ops) {
		h->cf9_ops->write(h->cf9_dev, 0, data, 1);
		return;
	}
	if (off != 0 || size != 4)
		return;	/* byte probes at 0xCFB (Linux's type 2 check) do nothing */
	pthread_mutex_lock(&h->lock);
	h->config_addr = pci_host_load(data, 4) & CF8_WRITABLE;
	pthread_mutex_unlock(&h->lock);
}

static void pci_host_update_decode(struct pci_host *h);

/* Did a config write touch COMMAND or a BAR? Then what decodes may have changed. */
static void pci_host_cfg_written(struct pci_host *h, unsigned int reg, unsigned int size)
{
	if ((reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND) ||
	    (reg < PCI_BAR0 + 4 * PCI_NR_BARS && reg + size > PCI_BAR0))
		pci_host_update_decode(h);
}

/* The function the address register selects on bus 0, or -1. */
static int pci_host_cf8_devfn(uint32_t addr)
{
	if (!(addr & CF8_ENABLE) || CF8_BUS(addr) != 0)
		return -1;
	return (int)CF8_DEVFN(addr);
}

static void pci_host_data_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);
	int devfn;

	pthread_mutex_lock(&h->lock);
	devfn = pci_host_cf8_devfn(h->config_addr);
	/* A byte lane access must stay inside the data dword and be aligned. */
	if (devfn >= 0 && off < 4 && size <= 4 - off && !(off & (size - 1)))
		v = pci_bus_cfg_read(&h->bus, (unsigned int)devfn,
				     CF8_REG(h->config_addr) + (unsigned int)off, size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_data_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;
	int devfn;

	pthread_mutex_lock(&h->lock);
	devfn = pci_host_cf8_devfn(h->config_addr);
	if (devfn >= 0 && off < 4 && size <= 4 - off && !(off & (size - 1)))
	{
		pci_bus_cfg_write(&h->bus, (unsigned int)devfn,
				  CF8_REG(h->config_addr) + (unsigned int)off, size,
				  pci_host_load(data, size));
		pci_host_cfg_written(h, CF8_REG(h->config_addr) + (unsigned int)off, size);
	}
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_host_addr_ops = {
	.read = pci_host_addr_read,
	.write = pci_host_addr_write,
};

static const struct io_ops pci_host_data_ops = {
	.read = pci_host_data_read,
	.write = pci_host_data_write,
};

static bool pci_host_ecam_ok(uint64_t off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
	       off < PCI_ECAM_BUS_SIZE;
}

static void pci_host_ecam_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);

	pthread_mutex_lock(&h->lock);
	if (pci_host_ecam_ok(off, size))
		v = pci_bus_cfg_read(&h->bus, (unsigned int)(off >> 12), off & 0xfff, size);
	else
		pci_host_bad_access(h, "ECAM read", off, size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_ecam_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;

	pthread_mutex_lock(&h->lock);
	if (pci_host_ecam_ok(off, size)) {
		pci_bus_cfg_write(&h->bus, (unsigned int)(off >> 12), off & 0xfff, size,
				  pci_host_load(data, size));
		pci_host_cfg_written(h, off & 0xfff, size);
	} else
		pci_host_bad_access(h, "ECAM write", off, size);
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_host_ecam_ops = {
	.read = pci_host_ecam_read,
	.write = pci_host_ecam_write,
};

/* A function went away while the guest runs: drop its decodes. */
static void pci_host_bus_changed(void *opaque)
{
	struct pci_host *h = opaque;
	unsigned int devfn, i;

	pthread_mutex_lock(&h->lock);
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++)
		if (!h->bus.devs[devfn])
			for (i = 0; i < PCI_NR_BARS; i++)
				h->mapped[devfn][i] = 0;
	if (h->decodes)
		pci_host_update_decode(h);
	pthread_mutex_unlock(&h->lock);
}

struct pci_host *pci_host_new(const struct machine_services *ms, uint64_t ecam_base)
{
	struct pci_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ms = ms;
	h->ecam_base = ecam_base;
	h->decodes = calloc(PCI_SLOTS * PCI_FUNCS * PCI_NR_BARS, sizeof(*h->decodes));
	if (!h->decodes) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_rwlock_init(&h->decode_lock, NULL);
	pci_bus_init(&h->bus);
	h->bus.lock = &h->lock;
	h->bus.changed = pci_host_bus_changed;
	h->bus.changed_opaque = h;
	h->bridge.name = "pci-host";
	pci_config_init(&h->bridge.cfg, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS,
			0x02, PCI_HEADER_TYPE_NORMAL);
	/* A host bridge neither decodes I/O nor masters through its own header. */
	pci_config_set_wmask(&h->bridge.cfg, PCI_COMMAND, 2, 0);
	pci_config_set(&h->bridge.cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_bus_register(&h->bus, &h->bridge, PCI_DEVFN(0, 0));
	if (machine_pio_add(ms, PCI_HOST_CONFIG_ADDR, 4, &pci_host_addr_ops, h) < 0 ||
	    machine_pio_add(ms, PCI_HOST_CONFIG_DATA, 4, &pci_host_data_ops, h) < 0 ||
	    machine_mmio_add(ms, ecam_base, PCI_ECAM_BUS_SIZE, &pci_host_ecam_ops, h) < 0) {
		log_err("pci-host: cannot claim 0xcf8-0xcff or the ECAM window at %#llx",
			(unsigned long long)ecam_base);
		pci_host_free(h);
		return NULL;
	}
	return h;
}

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	pthread_rwlock_destroy(&h->decode_lock);
	free(h->decodes);
	free(h->claims);
	free(h);
}

void pci_host_set_cf9(struct pci_host *h, const struct io_ops *ops, void *dev)
{
	h->cf9_ops = ops;
	h->cf9_dev = dev;
}

int pci_host_register(struct pci_host *h, struct pci_device *dev, unsigned int devfn)
{
	if (dev)
		dev->ms = h->ms;
	return pci_bus_register(&h->bus, dev, devfn);
}

/* ---- BAR decoding and dispatch ---- */

struct pci_host_win {
	struct pci_host *h;
	uint64_t base;
	bool io;
};

static bool pci_host_in_window(const struct pci_window *w, uint64_t addr, uint64_t size)
{
	return w->size && size <= w->size && addr >= w->base && addr - w->base <= w->size - size;
}

/* Where BAR idx of dev decodes now, or 0. h->lock held. */
static uint64_t pci_host_bar_decode(const struct pci_host *h, const struct pci_device *dev,
				    unsigned int idx)
{
	const struct pci_bar *bar = &dev->cfg.bars[idx];
	uint32_t cmd = pci_config_get(&dev->cfg, PCI_COMMAND, 2);
	uint64_t addr;

	if (!bar->size)
		return 0;
	addr = pci_config_bar_addr(&dev->cfg, idx);
	if (!addr)
		return 0;
	if (bar->flags & PCI_BAR_IO)
		return (cmd & PCI_COMMAND_IO) && pci_host_in_window(&h->win.io, addr, bar->size) ?
		       addr : 0;
	if (!(cmd & PCI_COMMAND_MEMORY))
		return 0;
	/* A BAR being sized (all-ones) or parked outside the windows decodes nothing. */
	if (pci_host_in_window(&h->win.mem32, addr, bar->size) ||
	    pci_host_in_window(&h->win.mem64, addr, bar->size))
		return addr;
	return 0;
}

/*
 * Recompute what decodes where after a COMMAND or BAR change (h->lock held):
 * rebuild the dispatch table, then tell each device whose BAR stopped, moved
 * or started decoding (outside decode_lock: it may register ioeventfds).
 */
static void pci_host_update_decode(struct pci_host *h)
{
	unsigned int devfn, i, n = 0;

	pthread_rwlock_wrlock(&h->decode_lock);
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = h->bus.devs[devfn];

		if (!dev)
			continue;
		for (i = 0; i < PCI_NR_BARS; i++) {
			uint64_t addr = pci_host_bar_decode(h, dev, i);

			if (!addr)
				continue;
			h->decodes[n++] = (struct pci_decode){
				.base = addr, .size = dev->cfg.bars[i].size, .dev = dev, .idx = i,
				.io = dev->cfg.bars[i].flags & PCI_BAR_IO,
			};
		}
	}
	h->nr_decodes = n;
	pthread_rwlock_unlock(&h->decode_lock);

	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = h->bus.devs[devfn];

		if (!dev)
			continue;
		for (i = 0; i < PCI_NR_BARS; i++) {
			uint64_t addr = pci_host_bar_decode(h, dev, i), old = h->mapped[devfn][i];

			if (addr == old)
				continue;
			h->mapped[devfn][i] = addr;
			if (dev->bar_mapped && old)
				dev->bar_mapped(dev, i, 0);
			if (dev->bar_mapped && addr)
				dev->bar_mapped(dev, i, addr);
		}
	}
}

/* The decode holding [addr, addr + size), copied out; false if none does. */
static bool pci_host_decode_find(struct pci_host *h, bool io, uint64_t addr,
				 unsigned int size, struct pci_decode *out)
{
	bool found = false;
	unsigned int i;

	pthread_rwlock_rdlock(&h->decode_lock);
	for (i = 0; i < h->nr_decodes; i++) {
		const struct pci_decode *d = &h->decodes[i];

		if (d->io != io || addr < d->base || addr - d->base >= d->size)
			continue;
		/* An access running off the end of a BAR belongs to nobody. */
		if (size <= d->size - (addr - d->base)) {
			*out = *d;
			found = true;
		}
		break;
	}
	pthread_rwlock_unlock(&h->decode_lock);
	return found;
}

static void pci_host_win_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct pci_host_win *w = opaque;
	struct pci_decode d;
	const struct io_ops *ops;

	memset(data, 0xff, size);
	if (!pci_host_decode_find(w->h, w->io, w->base + off, size, &d))
		return;
	ops = d.dev->bar_ops[d.idx];
	if (ops && ops->read)
		ops->read(d.dev->opaque, w->base + off - d.base, data, size);
}

static void pci_host_win_write(void *opaque, uint64_t off, const void *data,
			       unsigned int size)
{
	struct pci_host_win *w = opaque;
	struct pci_decode d;
	const struct io_ops *ops;

	if (!pci_host_decode_find(w->h, w->io, w->base + off, size, &d))
		return;
	ops = d.dev->bar_ops[d.idx];
	if (ops && ops->write)
		ops->write(d.dev->opaque, w->base + off - d.base, data, size);
}

static const struct io_ops pci_host_win_ops = {
	.read = pci_host_win_read,
	.write = pci_host_win_write,
};

int pci_host_set_windows(struct pci_host *h, const struct pci_host_windows *w)
{
	const struct pci_window *mem[2] = { &w->mem32, &w->mem64 };
	unsigned int i;
	int ret;

	if (h->claims)
		return -EBUSY;
	if (w->io.size && (w->io.base + w->io.size > 0x10000 || w->io.base == 0))
		return -EINVAL;
	h->claims = calloc(3, sizeof(*h->claims));
	if (!h->claims)
		return -ENOMEM;
	h->win = *w;
	for (i = 0; i < 2; i++) {
		if (!mem[i]->size)
			continue;
		h->claims[i] = (struct pci_host_win){ .h = h, .base = mem[i]->base };
		ret = machine_mmio_add(h->ms, mem[i]->base, mem[i]->size, &pci_host_win_ops,
				       &h->claims[i]);
		if (ret < 0)
			goto fail;
	}
	if (w->io.size) {
		h->claims[2] = (struct pci_host_win){ .h = h, .base = w->io.base, .io = true };
		ret = machine_pio_add(h->ms, (uint16_t)w->io.base, (uint16_t)w->io.size,
				      &pci_host_win_ops, &h->claims[2]);
		if (ret < 0)
			goto fail;
	}
	return 0;
fail:
	log_err("pci-host: cannot claim a BAR window: %s", strerror(-ret));
	return ret;
}

/* ---- BAR placement ---- */

enum pci_place_kind {
	PCI_PLACE_IO,
	PCI_PLACE_MEM32,
	PCI_PLACE_MEM64,
	PCI_PLACE_NR,
};

struct pci_place {
	struct pci_device *dev;
	unsigned int idx;
	uint64_t size;
	enum pci_place_kind kind;
};

static const char *const pci_place_names[PCI_PLACE_NR] = { "I/O", "32-bit memory",
							    "64-bit memory" };

/* Window kind, then largest first, then bus order: deterministic. */
static int pci_place_cmp(const void *a, const void *b)
{
	const struct pci_place *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->dev->devfn != y->dev->devfn)
		return x->dev->devfn < y->dev->devfn ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void pci_place_write(struct pci_place *p, uint64_t addr)
{
	struct pci_config *cfg = &p->dev->cfg;
	const struct pci_bar *bar = &cfg->bars[p->idx];
	unsigned int off = PCI_BAR0 + 4 * p->idx;
	uint32_t cmd = pci_config_get(cfg, PCI_COMMAND, 2);

	pci_config_set(cfg, off, 4, (uint32_t)addr | bar->flags);
	if (bar->flags & PCI_BAR_MEM64)
		pci_config_set(cfg, off + 4, 4, (uint32_t)(addr >> 32));
	cmd |= bar->flags & PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	pci_config_set(cfg, PCI_COMMAND, 2, cmd);
}

int pci_host_place_bars(struct pci_host *h)
{
	const struct pci_window *wins[PCI_PLACE_NR] = { &h->win.io, &h->win.mem32,
							 &h->win.mem64 };
	uint64_t cursor[PCI_PLACE_NR];
	struct pci_place *p;
	unsigned int devfn, i, n = 0;
	int ret = 0;

	p = calloc(PCI_SLOTS * PCI_FUNCS * PCI_NR_BARS, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = h->bus.devs[devfn];

		if (!dev)
			continue;
		for (i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *bar = &dev->cfg.bars[i];
			enum pci_place_kind kind = PCI_PLACE_MEM32;

			if (!bar->size)
				continue;
			if (bar->flags & PCI_BAR_IO)
				kind = PCI_PLACE_IO;
			else if ((bar->flags & PCI_BAR_MEM64) && h->win.mem64.size)
				kind = PCI_PLACE_MEM64;
			p[n++] = (struct pci_place){ .dev = dev, .idx = i, .size = bar->size,
						     .kind = kind };
		}
	}
	qsort(p, n, sizeof(*p), pci_place_cmp);
	for (i = 0; i < PCI_PLACE_NR; i++)
		cursor[i] = wins[i]->base;
	for (i = 0; i < n; i++) {
		const struct pci_window *w = wins[p[i].kind];
		uint64_t addr = (cursor[p[i].kind] + p[i].size - 1) & ~(p[i].size - 1);

		/* Sizes are powers of two, so aligned-up cursor never wraps below it. */
		if (addr < cursor[p[i].kind] || !pci_host_in_window(w, addr, p[i].size)) {
			log_err("%s: no room for BAR%u (%llu bytes) in the PCI %s window [%#llx, %#llx)",
				p[i].dev->name ? p[i].dev->name : "pci", p[i].idx,
				(unsigned long long)p[i].size, pci_place_names[p[i].kind],
				(unsigned long long)w->base,
				(unsigned long long)(w->base + w->size));
			ret = -ENOSPC;
			break;
		}
		pci_place_write(&p[i], addr);
		log_debug("%s: BAR%u (%llu bytes) at %#llx", p[i].dev->name ? p[i].dev->name : "pci",
			  p[i].idx, (unsigned long long)p[i].size, (unsigned long long)addr);
		cursor[p[i].kind] = addr + p[i].size;
	}
	pci_host_update_decode(h);
	pthread_mutex_unlock(&h->lock);
	free(p);
	return ret;
}
