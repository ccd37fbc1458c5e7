/*
 * An address space (port I/O or MMIO) as a sorted list of device ranges.
 * Accesses nobody claims read as all-ones and are ignored on write, as on a
 * PC bus where nothing drives the lines.
 */
#ifndef KEEL_VMM_BUS_H
#define KEEL_VMM_BUS_H

#include <pthread.h>
#include <stdint.h>

#include "devices/machine.h"

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *dev;
};

#define BUS_MAX_UNCLAIMED_SEEN	64

struct bus {
	const char *name;		/* "pio" or "mmio", for log lines */
	pthread_rwlock_t lock;
	struct bus_range *ranges;	/* sorted by base, never overlapping */
	unsigned int nr, cap;
	/* Unclaimed addresses already logged, so a probing guest logs each once. */
	pthread_mutex_t seen_lock;
	uint64_t seen[BUS_MAX_UNCLAIMED_SEEN];
	unsigned int nr_seen;
};

void bus_init(struct bus *bus, const char *name);
void bus_fini(struct bus *bus);

/* -EINVAL for an empty or wrapping range, -EEXIST if it overlaps another one. */
int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
	    void *dev);

/* size is 1..8. Returns true if a device claimed the access. */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int size);

/* An io_ops that accepts writes and reads zero: for port 0x80 and friends. */
extern const struct io_ops bus_sink_ops;

#endif
