/*
 * Firmware-like PCI enumeration (PCI Firmware 3.0 ch. 3.5; PCI-to-PCI Bridge
 * 1.2 ch. 3.2.5.3-10): bus numbers depth-first, then resources sized bottom-up
 * (a bridge's window is what its subtree needs, rounded to the window's
 * granularity) and assigned top-down, largest alignment first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/bridge_window.h"
#include "devices/pci/enum.h"
#include "lib/log.h"

/* Resource kinds: the same order as a bridge's windows. */
enum {
	PCI_ENUM_IO = PCI_BRIDGE_WIN_IO,
	PCI_ENUM_MEM = PCI_BRIDGE_WIN_MEM,
	PCI_ENUM_PREF = PCI_BRIDGE_WIN_PREF,
	PCI_ENUM_NR = PCI_BRIDGE_WIN_NR,
};

static const char *const pci_enum_names[PCI_ENUM_NR] = { "I/O", "memory", "prefetchable" };
static const char *const pci_enum_root_names[PCI_ENUM_NR] = { "I/O", "32-bit memory",
							       "64-bit memory" };

/* Something to place on one bus: a BAR, or a bridge's window (idx -1). */
struct pci_enum_item {
	struct pci_device *dev;
	int idx;
	unsigned int kind;	/* PCI_ENUM_*: the resource (a window's own kind) */
	unsigned int lane;	/* the window of this bus it is packed into */
	uint64_t size, align;
};

struct pci_enum_list {
	struct pci_enum_item *v;
	unsigned int n, cap;
	bool oom;
};

struct pci_enum_need {
	uint64_t size[PCI_ENUM_NR], align[PCI_ENUM_NR];
};

static const char *pci_enum_name(const struct pci_device *dev)
{
	return dev->name ? dev->name : "pci";
}

static uint64_t pci_enum_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Round v up to align (a power of two); UINT64_MAX if that overflows. */
static uint64_t pci_enum_align(uint64_t v, uint64_t align)
{
	uint64_t r = (v + align - 1) & ~(align - 1);

	return r < v ? UINT64_MAX : r;
}

static void pci_enum_push(struct pci_enum_list *l, struct pci_enum_item it)
{
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 64;
		struct pci_enum_item *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = it;
}

static unsigned int pci_enum_bar_kind(const struct pci_bar *bar, bool root)
{
	if (bar->flags & PCI_BAR_IO)
		return PCI_ENUM_IO;
	/*
	 * A bridge forwards 64-bit addresses only through its prefetchable
	 * window; the host bridge has no such rule.
	 */
	if ((bar->flags & PCI_BAR_MEM64) && (root || (bar->flags & PCI_BAR_PREFETCH)))
		return PCI_ENUM_PREF;
	return PCI_ENUM_MEM;
}

static void pci_enum_size(struct pci_bus *bus, struct pci_enum_need *need, unsigned int depth);

/* Everything to place on bus; on the root, lane PREF is the 64-bit window. */
static void pci_enum_collect(struct pci_bus *bus, bool root, bool have64,
			     struct pci_enum_list *l, unsigned int depth)
{
	unsigned int devfn, i, k;

	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = bus->devs[devfn];

		if (!dev)
			continue;
		for (i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *bar = &dev->cfg.bars[i];

			if (!bar->size)
				continue;
			k = pci_enum_bar_kind(bar, root);
			pci_enum_push(l, (struct pci_enum_item){
				.dev = dev, .idx = (int)i, .kind = k,
				.lane = root && k == PCI_ENUM_PREF && !have64 ? PCI_ENUM_MEM : k,
				.size = bar->size, .align = bar->size });
		}
		if (dev->subordinate && depth < PCI_MAX_BUSES) {
			struct pci_enum_need need;

			pci_enum_size(dev->subordinate, &need, depth + 1);
			for (k = 0; k < PCI_ENUM_NR; k++) {
				uint64_t gran = k == PCI_ENUM_IO ? PCI_BRIDGE_IO_ALIGN :
					       PCI_BRIDGE_MEM_ALIGN;

				if (need.size[k] < dev->subordinate->reserve[k])
					need.size[k] = dev->subordinate->reserve[k];
				if (!need.size[k])
					continue;
				pci_enum_push(l, (struct pci_enum_item){
					.dev = dev, .idx = -1, .kind = k,
					.lane = root && k == PCI_ENUM_PREF && !have64 ?
						PCI_ENUM_MEM : k,
					.size = pci_enum_align(need.size[k], gran),
					.align = need.align[k] > gran ? need.align[k] : gran });
			}
		}
	}
}

/* Lane, then largest alignment and size first, then bus order: deterministic. */
static int pci_enum_cmp(const void *a, const void *b)
{
	const struct pci_enum_item *x = a, *y = b;
	int xi = x->idx < 0 ? PCI_NR_BARS + (int)x->kind : x->idx;
	int yi = y->idx < 0 ? PCI_NR_BARS + (int)y->kind : y->idx;

	if (x->lane != y->lane)
		return x->lane < y->lane ? -1 : 1;
	if (x->align != y->align)
		return x->align > y->align ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->dev->devfn != y->dev->devfn)
		return x->dev->devfn < y->dev->devfn ? -1 : 1;
	return xi < yi ? -1 : xi > yi;
}

/* What the functions on bus and below need, packed as assignment will pack it. */
static void pci_enum_size(struct pci_bus *bus, struct pci_enum_need *need, unsigned int depth)
{
	struct pci_enum_list l = { 0 };
	unsigned int i;

	memset(need, 0, sizeof(*need));
	pci_enum_collect(bus, false, false, &l, depth);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), pci_enum_cmp);
	for (i = 0; i < l.n; i++) {
		const struct pci_enum_item *it = &l.v[i];

		need->size[it->lane] = pci_enum_add(pci_enum_align(need->size[it->lane], it->align),
						    it->size);
		if (it->align > need->align[it->lane])
			need->align[it->lane] = it->align;
	}
	free(l.v);
}

static void pci_enum_write_bar(struct pci_device *dev, unsigned int idx, uint64_t addr)
{
	struct pci_config *cfg = &dev->cfg;
	const struct pci_bar *bar = &cfg->bars[idx];
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint32_t cmd = pci_config_get(cfg, PCI_COMMAND, 2);

	pci_config_set(cfg, off, 4, (uint32_t)addr | bar->flags);
	if (bar->flags & PCI_BAR_MEM64)
		pci_config_set(cfg, off + 4, 4, (uint32_t)(addr >> 32));
	cmd |= bar->flags & PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	pci_config_set(cfg, PCI_COMMAND, 2, cmd);
}

struct pci_enum_span {
	uint64_t base[PCI_ENUM_NR], end[PCI_ENUM_NR];	/* end exclusive; base == end: none */
};

static void pci_enum_no_room(const struct pci_enum_item *it, bool root,
			     const struct pci_enum_span *sp)
{
	const struct pci_device *dev = it->dev;
	const char *win = root ? pci_enum_root_names[it->lane] : pci_enum_names[it->lane];
	char where[96], what[64];
	int n;

	if (root)
		n = snprintf(where, sizeof(where), "the PCI %s window", win);
	else
		n = snprintf(where, sizeof(where), "the %s window of %s", win,
			     pci_enum_name(dev->bus->self));
	if (n > 0 && (size_t)n < sizeof(where) && sp->base[it->lane] == sp->end[it->lane])
		snprintf(where + n, sizeof(where) - (size_t)n, " (closed)");
	else if (n > 0 && (size_t)n < sizeof(where))
		snprintf(where + n, sizeof(where) - (size_t)n, " [%#llx, %#llx)",
			 (unsigned long long)sp->base[it->lane],
			 (unsigned long long)sp->end[it->lane]);
	if (it->idx >= 0)
		snprintf(what, sizeof(what), "BAR%d", it->idx);
	else
		snprintf(what, sizeof(what), "its %s window", pci_enum_names[it->kind]);
	log_err("%s: no room for %s (%llu bytes) in %s", pci_enum_name(dev), what,
		(unsigned long long)it->size, where);
}

static int pci_enum_assign(struct pci_bus *bus, bool root, bool have64,
			   const struct pci_enum_span *sp, unsigned int depth)
{
	struct pci_enum_list l = { 0 };
	uint64_t cur[PCI_ENUM_NR];
	unsigned int devfn, i, k;
	int ret = 0;

	pci_enum_collect(bus, root, have64, &l, depth);
	if (l.oom) {
		free(l.v);
		return -ENOMEM;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), pci_enum_cmp);
	for (k = 0; k < PCI_ENUM_NR; k++)
		cur[k] = sp->base[k];
	/* Windows nothing gets stay closed. */
	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++)
		if (bus->devs[devfn] && bus->devs[devfn]->subordinate)
			for (k = 0; k < PCI_ENUM_NR; k++)
				pci_bridge_set_window(&bus->devs[devfn]->cfg, k, 0, 0);

	for (i = 0; i < l.n; i++) {
		const struct pci_enum_item *it = &l.v[i];
		uint64_t addr = pci_enum_align(cur[it->lane], it->align);
		uint64_t end = sp->end[it->lane];

		if (addr >= end || it->size > end - addr) {
			pci_enum_no_room(it, root, sp);
			ret = -ENOSPC;
			continue;
		}
		cur[it->lane] = addr + it->size;
		if (it->idx >= 0) {
			pci_enum_write_bar(it->dev, (unsigned int)it->idx, addr);
			log_debug("%s: BAR%d (%llu bytes) at %#llx", pci_enum_name(it->dev),
				  it->idx, (unsigned long long)it->size, (unsigned long long)addr);
		} else {
			pci_bridge_set_window(&it->dev->cfg, it->kind, addr, it->size);
			log_debug("%s: %s window [%#llx, %#llx)", pci_enum_name(it->dev),
				  pci_enum_names[it->kind], (unsigned long long)addr,
				  (unsigned long long)(addr + it->size));
		}
	}
	free(l.v);

	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = bus->devs[devfn];
		struct pci_enum_span sub;
		uint32_t cmd;
		int r;

		if (!dev || !dev->subordinate || depth >= PCI_MAX_BUSES)
			continue;
		memset(&sub, 0, sizeof(sub));
		cmd = pci_config_get(&dev->cfg, PCI_COMMAND, 2) | PCI_COMMAND_MASTER;
		for (k = 0; k < PCI_ENUM_NR; k++) {
			uint64_t base, limit;

			if (!pci_bridge_window(&dev->cfg, k, &base, &limit))
				continue;
			sub.base[k] = base;
			sub.end[k] = limit + 1;
			cmd |= k == PCI_ENUM_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		}
		pci_config_set(&dev->cfg, PCI_COMMAND, 2, cmd);
		r = pci_enum_assign(dev->subordinate, false, have64, &sub, depth + 1);
		if (r && !ret)
			ret = r;
	}
	return ret;
}

int pci_enum_place(struct pci_bus *root, const struct pci_host_windows *w)
{
	const struct pci_window *wins[PCI_ENUM_NR] = { &w->io, &w->mem32, &w->mem64 };
	struct pci_enum_span sp;
	unsigned int k;

	for (k = 0; k < PCI_ENUM_NR; k++) {
		sp.base[k] = wins[k]->base;
		sp.end[k] = wins[k]->size ? pci_enum_add(wins[k]->base, wins[k]->size) :
			    wins[k]->base;
	}
	return pci_enum_assign(root, true, w->mem64.size != 0, &sp, 0);
}

static int pci_enum_number(struct pci_bus *bus, unsigned int nr, unsigned int *next,
			   unsigned int max_bus, unsigned int depth)
{
	unsigned int devfn;
	int ret = 0;

	for (devfn = 0; devfn < PCI_SLOTS * PCI_FUNCS; devfn++) {
		struct pci_device *dev = bus->devs[devfn];
		struct pci_config *cfg;
		unsigned int sec;
		int r;

		if (!dev || !dev->subordinate)
			continue;
		cfg = &dev->cfg;
		cfg->data[PCI_PRIMARY_BUS] = (uint8_t)nr;
		if (*next > max_bus || depth >= PCI_MAX_BUSES) {
			log_err("%s: no bus number left for its secondary bus (the host has buses 0-%u)",
				pci_enum_name(dev), max_bus);
			cfg->data[PCI_SECONDARY_BUS] = 0;
			cfg->data[PCI_SUBORDINATE_BUS] = 0;
			ret = -ENOSPC;
			continue;
		}
		sec = (*next)++;
		cfg->data[PCI_SECONDARY_BUS] = (uint8_t)sec;
		r = pci_enum_number(dev->subordinate, sec, next, max_bus, depth + 1);
		cfg->data[PCI_SUBORDINATE_BUS] = (uint8_t)(*next - 1);
		if (r && !ret)
			ret = r;
	}
	return ret;
}

int pci_enum_buses(struct pci_bus *root, unsigned int max_bus)
{
	unsigned int next = 1;

	if (max_bus >= PCI_MAX_BUSES)
		max_bus = PCI_MAX_BUSES - 1;
	return pci_enum_number(root, 0, &next, max_bus, 0);
}
