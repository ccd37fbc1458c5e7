/*
 * PIO and MMIO dispatch for vCPU exits (KVM_EXIT_IO / KVM_EXIT_MMIO in
 * Documentation/virt/kvm/api.rst): binary search over sorted ranges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/bus.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->seen_lock, NULL);
}

void bus_fini(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->seen_lock);
}

/* Index of the first range whose base is above addr. */
static unsigned int bus_upper(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
	    void *dev)
{
	unsigned int pos;
	int ret = 0;

	if (!len || base + len - 1 < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	pos = bus_upper(bus, base);
	if (pos > 0) {
		const struct bus_range *prev = &bus->ranges[pos - 1];

		if (base - prev->base < prev->len) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (pos < bus->nr && bus->ranges[pos].base - base < len) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nr - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* The range holding all of [addr, addr + size), or NULL. Caller holds the lock. */
static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr,
					unsigned int size)
{
	unsigned int pos = bus_upper(bus, addr);
	const struct bus_range *r;

	if (!pos)
		return NULL;
	r = &bus->ranges[pos - 1];
	if (addr - r->base >= r->len || size > r->len - (addr - r->base))
		return NULL;
	return r;
}

static void bus_unclaimed(struct bus *bus, uint64_t addr, unsigned int size, bool write)
{
	unsigned int i;
	bool seen = false;

	if (log_threshold < LOG_DEBUG)
		return;
	pthread_mutex_lock(&bus->seen_lock);
	for (i = 0; i < bus->nr_seen; i++)
		if (bus->seen[i] == addr)
			seen = true;
	if (!seen && bus->nr_seen < BUS_MAX_UNCLAIMED_SEEN)
		bus->seen[bus->nr_seen++] = addr;
	pthread_mutex_unlock(&bus->seen_lock);
	if (!seen)
		log_debug("%s: guest %s %u byte(s) at unclaimed %#llx", bus->name,
			  write ? "wrote" : "read", size, (unsigned long long)addr);
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size)
{
	const struct bus_range *r;
	const struct io_ops *ops = NULL;
	void *dev = NULL;
	uint64_t base = 0;

	pthread_rwlock_rdlock(&bus->lock);
	r = bus_find(bus, addr, size);
	if (r && r->ops->read) {
		ops = r->ops;
		dev = r->dev;
		base = r->base;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r) {
		memset(data, 0xff, size);
		bus_unclaimed(bus, addr, size, false);
		return false;
	}
	if (!ops) {
		memset(data, 0xff, size);
		return true;
	}
	ops->read(dev, addr - base, data, size);
	return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int size)
{
	const struct bus_range *r;
	const struct io_ops *ops = NULL;
	void *dev = NULL;
	uint64_t base = 0;

	pthread_rwlock_rdlock(&bus->lock);
	r = bus_find(bus, addr, size);
	if (r && r->ops->write) {
		ops = r->ops;
		dev = r->dev;
		base = r->base;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r) {
		bus_unclaimed(bus, addr, size, true);
		return false;
	}
	if (ops)
		ops->write(dev, addr - base, data, size);
	return true;
}

static void bus_sink_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	memset(data, 0, size);
}

static void bus_sink_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
}

const struct io_ops bus_sink_ops = {
	.read = bus_sink_read,
	.write = bus_sink_write,
};
