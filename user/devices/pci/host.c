/*
 * keel's PCI host bridge: config mechanism #1 at 0xCF8/0xCFC (PCI Local Bus 3.0
 * ch. 3.2.2.3.2) and the ECAM window (PCIe 4.0 ch. 7.2.2) onto the tree of
 * buses (PCI-to-PCI Bridge 1.2 ch. 3.1.2.1: type 1 cycles go down to the bus
 * they name); BAR decoding (ch. 6.2.5) in the windows, through the bridges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/bridge_window.h"
#include "devices/pci/enum.h"
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

/*
 * Did a config write touch COMMAND, a BAR or (type 1) a bridge's bus numbers,
 * windows or control? Then what decodes may have changed.
 */
static void pci_host_cfg_written(struct pci_host *h, const struct pci_device *dev,
				 unsigned int reg, unsigned int size)
{
	unsigned int end = PCI_BAR0 + 4 * PCI_NR_BARS;

	if (!dev)
		return;
	if (pci_config_is_bridge(&dev->cfg))
		end = PCI_BRIDGE_CONTROL + 2;
	if ((reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND) ||
	    (reg < end && reg + size > PCI_BAR0))
		pci_host_update_decode(h);
}

/* The bus the address register selects, and its devfn; NULL if none. */
static struct pci_bus *pci_host_cf8_bus(struct pci_host *h, uint32_t addr)
{
	if (!(addr & CF8_ENABLE))
		return NULL;
	return pci_bus_route(&h->bus, CF8_BUS(addr));
}

/* One config read or write of bus/devfn at reg, h->lock held. */
static uint32_t pci_host_cfg_rd(struct pci_bus *bus, unsigned int devfn, unsigned int reg,
				unsigned int size)
{
	if (!bus)
		return pci_host_ones(size);
	return pci_bus_cfg_read(bus, devfn, reg, size);
}

static void pci_host_cfg_wr(struct pci_host *h, struct pci_bus *bus, unsigned int devfn,
			    unsigned int reg, unsigned int size, uint32_t v)
{
	if (!bus)
		return;
	pci_bus_cfg_write(bus, devfn, reg, size, v);
	pci_host_cfg_written(h, pci_bus_find(bus, devfn), reg, size);
}

static void pci_host_data_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);

	pthread_mutex_lock(&h->lock);
	/* A byte lane access must stay inside the data dword and be aligned. */
	if (off < 4 && size <= 4 - off && !(off & (size - 1)))
		v = pci_host_cfg_rd(pci_host_cf8_bus(h, h->config_addr),
				    CF8_DEVFN(h->config_addr),
				    CF8_REG(h->config_addr) + (unsigned int)off, size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_data_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;

	pthread_mutex_lock(&h->lock);
	if (off < 4 && size <= 4 - off && !(off & (size - 1)))
		pci_host_cfg_wr(h, pci_host_cf8_bus(h, h->config_addr),
				CF8_DEVFN(h->config_addr),
				CF8_REG(h->config_addr) + (unsigned int)off, size,
				pci_host_load(data, size));
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

static bool pci_host_ecam_ok(const struct pci_host *h, uint64_t off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
	       off < PCI_ECAM_SIZE(h->ecam_buses);
}

/* ECAM offset: bus in bits 27:20, devfn in 19:12, register in 11:0. */
static void pci_host_ecam_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);

	pthread_mutex_lock(&h->lock);
	if (pci_host_ecam_ok(h, off, size))
		v = pci_host_cfg_rd(pci_bus_route(&h->bus, (unsigned int)(off >> 20)),
				    (unsigned int)(off >> 12) & 0xff, off & 0xfff, size);
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
	if (pci_host_ecam_ok(h, off, size))
		pci_host_cfg_wr(h, pci_bus_route(&h->bus, (unsigned int)(off >> 20)),
				(unsigned int)(off >> 12) & 0xff, off & 0xfff, size,
				pci_host_load(data, size));
	else
		pci_host_bad_access(h, "ECAM write", off, size);
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_host_ecam_ops = {
	.read = pci_host_ecam_read,
	.write = pci_host_ecam_write,
};

static struct pci_host *pci_host_create(const struct machine_services *ms,
					uint64_t ecam_base, unsigned int nr_buses,
					unsigned int max_bus)
{
	struct pci_host *h;

	if (nr_buses < 1 || nr_buses > PCI_MAX_BUSES) {
		log_err("pci-host: an ECAM window of %u buses (1 to 256 are possible)", nr_buses);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ms = ms;
	h->ecam_base = ecam_base;
	h->ecam_buses = nr_buses;
	h->max_bus = max_bus;
	pthread_mutex_init(&h->lock, NULL);
	pthread_rwlock_init(&h->decode_lock, NULL);
	pci_bus_init(&h->bus);
	h->bus.host = h;
	h->bus.ms = ms;
	h->bridge.name = "pci-host";
	pci_config_init(&h->bridge.cfg, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS,
			0x02, PCI_HEADER_TYPE_NORMAL);
	/* A host bridge neither decodes I/O nor masters through its own header. */
	pci_config_set_wmask(&h->bridge.cfg, PCI_COMMAND, 2, 0);
	pci_config_set(&h->bridge.cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_bus_register(&h->bus, &h->bridge, PCI_DEVFN(0, 0));
	if (machine_pio_add(ms, PCI_HOST_CONFIG_ADDR, 4, &pci_host_addr_ops, h) < 0 ||
	    machine_pio_add(ms, PCI_HOST_CONFIG_DATA, 4, &pci_host_data_ops, h) < 0 ||
	    machine_mmio_add(ms, ecam_base, PCI_ECAM_SIZE(nr_buses), &pci_host_ecam_ops, h) < 0) {
		log_err("pci-host: cannot claim 0xcf8-0xcff or the ECAM window at %#llx",
			(unsigned long long)ecam_base);
		pci_host_free(h);
		return NULL;
	}
	return h;
}

struct pci_host *pci_host_new_ecam(const struct machine_services *ms, uint64_t ecam_base,
				   unsigned int nr_buses)
{
	return pci_host_create(ms, ecam_base, nr_buses, nr_buses ? nr_buses - 1 : 0);
}

struct pci_host *pci_host_new(const struct machine_services *ms, uint64_t ecam_base)
{
	return pci_host_create(ms, ecam_base, 1, PCI_MAX_BUSES - 1);
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
	int ret;

	pthread_mutex_lock(&h->lock);
	if (dev)
		dev->ms = h->ms;
	ret = pci_bus_register(&h->bus, dev, devfn);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

struct pci_host *pci_device_host(const struct pci_device *dev)
{
	struct pci_bus *root = dev->bus ? pci_bus_root(dev->bus) : NULL;

	return root ? root->host : NULL;
}

int pci_host_plug(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn)
{
	struct pci_bus *root = pci_bus_root(bus);
	struct pci_host *h = root ? root->host : NULL;
	int ret;

	if (!h)
		return pci_bus_register(bus, dev, devfn);
	pthread_mutex_lock(&h->lock);
	ret = pci_bus_register(bus, dev, devfn);
	if (!ret)
		pci_host_update_decode(h);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void pci_host_unmap(struct pci_device *dev, void *opaque)
{
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		if (!dev->mapped[i])
			continue;
		dev->mapped[i] = 0;
		if (dev->bar_mapped)
			dev->bar_mapped(dev, i, 0);
	}
}

void pci_host_unplug(struct pci_device *dev)
{
	struct pci_bus *root = dev->bus ? pci_bus_root(dev->bus) : NULL;
	struct pci_host *h = root ? root->host : NULL;

	if (!h) {
		pci_bus_unregister(dev);
		return;
	}
	pthread_mutex_lock(&h->lock);
	pci_bus_unregister(dev);
	pci_host_update_decode(h);
	/* Off the tree, nobody else tells what was behind it to stop decoding. */
	pci_host_unmap(dev, NULL);
	if (dev->subordinate)
		pci_bus_for_each(dev->subordinate, pci_host_unmap, NULL);
	pthread_mutex_unlock(&h->lock);
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

/* Do the bridges above dev, up to h's root bus, all forward the range? */
static bool pci_host_forwarded(const struct pci_host *h, const struct pci_device *dev,
			       uint64_t addr, uint64_t size, bool io)
{
	const struct pci_bus *bus = dev->bus;
	unsigned int depth = 0;

	while (bus && bus->self) {
		if (++depth > PCI_MAX_BUSES ||
		    !pci_bridge_forwards(&bus->self->cfg, addr, size, io))
			return false;
		bus = bus->self->bus;
	}
	return bus == &h->bus;
}

/* Where BAR idx of dev decodes now, or 0. h->lock held. */
static uint64_t pci_host_bar_decode(const struct pci_host *h, const struct pci_device *dev,
				    unsigned int idx)
{
	const struct pci_bar *bar = &dev->cfg.bars[idx];
	uint32_t cmd = pci_config_get(&dev->cfg, PCI_COMMAND, 2);
	bool io = bar->flags & PCI_BAR_IO;
	uint64_t addr;

	if (!bar->size)
		return 0;
	addr = pci_config_bar_addr(&dev->cfg, idx);
	if (!addr)
		return 0;
	if (io) {
		if (!(cmd & PCI_COMMAND_IO) || !pci_host_in_window(&h->win.io, addr, bar->size))
			return 0;
	} else {
		if (!(cmd & PCI_COMMAND_MEMORY))
			return 0;
		/* A BAR being sized (all-ones) or parked outside the windows decodes nothing. */
		if (!pci_host_in_window(&h->win.mem32, addr, bar->size) &&
		    !pci_host_in_window(&h->win.mem64, addr, bar->size))
			return 0;
	}
	return pci_host_forwarded(h, dev, addr, bar->size, io) ? addr : 0;
}

static void pci_host_count_bars(struct pci_device *dev, void *opaque)
{
	unsigned int *n = opaque, i;

	for (i = 0; i < PCI_NR_BARS; i++)
		*n += dev->cfg.bars[i].size != 0;
}

static void pci_host_add_decodes(struct pci_device *dev, void *opaque)
{
	struct pci_host *h = opaque;
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		uint64_t addr = pci_host_bar_decode(h, dev, i);

		if (!addr || h->nr_decodes >= h->decodes_cap)
			continue;
		h->decodes[h->nr_decodes++] = (struct pci_decode){
			.base = addr, .size = dev->cfg.bars[i].size, .dev = dev, .idx = i,
			.io = dev->cfg.bars[i].flags & PCI_BAR_IO,
		};
	}
}

static void pci_host_tell_mapped(struct pci_device *dev, void *opaque)
{
	struct pci_host *h = opaque;
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		uint64_t addr = pci_host_bar_decode(h, dev, i), old = dev->mapped[i];

		if (addr == old)
			continue;
		dev->mapped[i] = addr;
		if (dev->bar_mapped && old)
			dev->bar_mapped(dev, i, 0);
		if (dev->bar_mapped && addr)
			dev->bar_mapped(dev, i, addr);
	}
}

/*
 * Recompute what decodes where after a COMMAND, BAR or bridge window change
 * (h->lock held): rebuild the dispatch table, then tell each device whose BAR
 * stopped, moved or started decoding (outside decode_lock: it may register
 * ioeventfds).
 */
static void pci_host_update_decode(struct pci_host *h)
{
	unsigned int n = 0;

	pci_bus_for_each(&h->bus, pci_host_count_bars, &n);
	pthread_rwlock_wrlock(&h->decode_lock);
	if (n > h->decodes_cap) {
		struct pci_decode *d = realloc(h->decodes, n * sizeof(*d));

		if (d) {
			h->decodes = d;
			h->decodes_cap = n;
		} else {
			log_err("pci-host: out of memory for the BAR dispatch table");
		}
	}
	h->nr_decodes = 0;
	pci_bus_for_each(&h->bus, pci_host_add_decodes, h);
	pthread_rwlock_unlock(&h->decode_lock);

	pci_bus_for_each(&h->bus, pci_host_tell_mapped, h);
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

/* ---- enumeration ---- */

int pci_host_place_bars(struct pci_host *h)
{
	int ret, ret2;

	pthread_mutex_lock(&h->lock);
	ret = pci_enum_buses(&h->bus, h->max_bus);
	ret2 = pci_enum_place(&h->bus, &h->win);
	pci_host_update_decode(h);
	pthread_mutex_unlock(&h->lock);
	return ret ? ret : ret2;
}
