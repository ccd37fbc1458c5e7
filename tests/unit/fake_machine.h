/*
 * A fake machine for device unit tests: records PIO/MMIO regions, IRQ levels,
 * requests, MSIs, irqfd routes and ioeventfds (the services of devices/machine.h).
 */
#ifndef KEEL_TESTS_FAKE_MACHINE_H
#define KEEL_TESTS_FAKE_MACHINE_H

#include "devices/machine.h"

#define FAKE_MAX_REGIONS 32
#define FAKE_MAX_GSI 24
#define FAKE_MAX_MSI 256
#define FAKE_MAX_ROUTES 64
#define FAKE_MAX_IOEVENTFDS 64

struct fake_region {
	bool mmio;
	uint64_t base, len;
	const struct io_ops *ops;
	void *dev;
};

/* One message that reached the "interrupt controller". */
struct fake_msi {
	uint64_t addr;
	uint32_t data;
	int route;			/* irqfd route that delivered it, -1: msi_send */
};

/* A live irqfd route (irqfd_add .. irqfd_del). */
struct fake_route {
	bool used;
	int efd;
	uint64_t addr;
	uint32_t data;
};

/* A live ioeventfd registration (assign true .. assign false). */
struct fake_ioeventfd {
	bool used;
	int efd;
	uint64_t addr;
	unsigned int len;		/* 0: any length */
	bool pio;
	bool dm;			/* ioeventfd_dm: only a write of data signals */
	uint64_t data;
};

struct fake_machine {
	struct machine_services ms;
	struct fake_region regions[FAKE_MAX_REGIONS];
	int nr_regions;
	int irq_level[FAKE_MAX_GSI];
	int irq_raises[FAKE_MAX_GSI];	/* count of 0->1 edges */
	int requests[3];		/* indexed by enum machine_request */
	uint8_t *ram;
	uint64_t ram_size;

	/* msi_send calls and fake_irqfd_deliver() deliveries, in order. */
	struct fake_msi msi[FAKE_MAX_MSI];
	int nr_msi;
	int msi_send_ret;		/* msi_send returns this (default 0) */

	/* Route handle = index. Counters count calls, failed ones included. */
	struct fake_route routes[FAKE_MAX_ROUTES];
	int irqfd_adds, irqfd_updates, irqfd_dels;
	int irqfd_add_ret;		/* if < 0, irqfd_add fails with it */

	struct fake_ioeventfd ioeventfds[FAKE_MAX_IOEVENTFDS];
	int ioeventfd_calls;
	int ioeventfd_ret;		/* if < 0, ioeventfd fails with it */

	/*
	 * iothread(id) returns iothread_loop when set, for any id, or only for
	 * iothread_id when that is set too. Tests own the loop.
	 */
	struct loop *iothread_loop;
	const char *iothread_id;
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

/* Number of live irqfd routes / ioeventfd registrations. */
int fake_irqfd_count(const struct fake_machine *fm);
int fake_ioeventfd_count(const struct fake_machine *fm);

/* The live route of efd, or -1. */
int fake_irqfd_route(const struct fake_machine *fm, int efd);
/* Which message efd would deliver: true (filling addr and data) if efd is a live irqfd. */
bool fake_irqfd_message(const struct fake_machine *fm, int efd, uint64_t *addr,
			uint32_t *data);

/*
 * Play the kernel: drain the eventfd of every live route and record one
 * message (as KVM does, several signals before delivery coalesce) for each
 * that was signalled. Returns the number of messages delivered.
 */
int fake_irqfd_deliver(struct fake_machine *fm);

/* The efd registered for a write of len at addr (pio or MMIO), or -1. */
int fake_ioeventfd_find(const struct fake_machine *fm, uint64_t addr, unsigned int len,
			bool pio);
/* The efd a write of value (len bytes at addr) would signal, or -1. */
int fake_ioeventfd_match(const struct fake_machine *fm, uint64_t addr, unsigned int len,
			 bool pio, uint64_t value);

/* Forget the recorded MSIs (not the routes). */
void fake_msi_clear(struct fake_machine *fm);

/*
 * Note: as with KVM, a fake_pio_write / fake_mmio_write that matches a live
 * ioeventfd (with its value, for ioeventfd_dm) signals its eventfd instead of
 * reaching the region's handler. Set ms.ioeventfd_dm to NULL to play a VMM
 * without it.
 */

#endif
