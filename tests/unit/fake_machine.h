/* A fake machine for device unit tests: records PIO/MMIO regions, IRQ levels and requests. */
#ifndef KEEL_TESTS_FAKE_MACHINE_H
#define KEEL_TESTS_FAKE_MACHINE_H

#include "devices/machine.h"

#define FAKE_MAX_REGIONS 32
#define FAKE_MAX_GSI 24

struct fake_region {
	bool mmio;
	uint64_t base, len;
	const struct io_ops *ops;
	void *dev;
};

struct fake_machine {
	struct machine_services ms;
	struct fake_region regions[FAKE_MAX_REGIONS];
	int nr_regions;
	int irq_level[FAKE_MAX_GSI];
	int irq_raises[FAKE_MAX_GSI];	/* count of 0->1 edges */
	int requests[2];		/* indexed by enum machine_request */
	uint8_t *ram;
	uint64_t ram_size;
};

void fake_machine_init(struct fake_machine *fm, uint64_t ram_size);
void fake_machine_fini(struct fake_machine *fm);

/* Dispatch an access as a vCPU would; returns -1 if nothing claims it. */
int fake_pio_read(struct fake_machine *fm, uint16_t port, void *data, unsigned int size);
int fake_pio_write(struct fake_machine *fm, uint16_t port, const void *data, unsigned int size);
uint8_t fake_inb(struct fake_machine *fm, uint16_t port);
void fake_outb(struct fake_machine *fm, uint16_t port, uint8_t val);
int fake_mmio_read(struct fake_machine *fm, uint64_t addr, void *data, unsigned int size);
int fake_mmio_write(struct fake_machine *fm, uint64_t addr, const void *data, unsigned int size);

#endif
