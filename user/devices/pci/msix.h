/*
 * MSI-X delivery for one PCI function (PCI Local Bus 3.0 ch. 6.8.2): the vector
 * table and pending-bit array in a BAR, each vector backed by an eventfd that is
 * an irqfd of the machine, so any thread (an I/O thread, or vhost in the kernel)
 * interrupts the guest without a vCPU exit. Masked vectors collect pending bits.
 */
#ifndef KEEL_DEVICES_PCI_MSIX_H
#define KEEL_DEVICES_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/pci/bus.h"

#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_CTRL_MASKED	0x1

struct msix_vector {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;		/* bit 0: masked (reset value: masked) */
	int efd;		/* eventfd behind the vector, -1 until first needed */
	int route;		/* machine irqfd route, -1 when none */
	bool pending;		/* PBA bit */
};

struct msix {
	const struct machine_services *ms;
	struct pci_device *dev;
	unsigned int cap;		/* offset of the capability in config space */
	unsigned int nr;		/* vectors */
	unsigned int bar;		/* BAR holding table and PBA */
	uint32_t table_off, pba_off;	/* offsets inside that BAR */
	pthread_mutex_t lock;		/* table, PBA, enable state */
	bool enabled, masked_all;	/* mirrors of the capability's control word */
	struct msix_vector *v;
};

/*
 * Add the MSI-X capability for nr vectors (1..2048) to dev's config space, the
 * table at table_off and the PBA at pba_off of BAR bar (both 8-byte aligned; the
 * BAR itself is declared by the device). 0 or -errno.
 */
int msix_init(struct msix *m, struct pci_device *dev, const struct machine_services *ms,
	      unsigned int nr, unsigned int bar, uint32_t table_off, uint32_t pba_off);
/* Detach every irqfd, close the eventfds, free the table. */
void msix_fini(struct msix *m);

/*
 * BAR accesses: offset is from the start of the BAR. Return true when the
 * access fell inside the table or the PBA (and was handled), false otherwise.
 * Table entries take 4- and 8-byte accesses; others read all-ones.
 */
bool msix_bar_read(struct msix *m, uint64_t offset, void *data, unsigned int size);
bool msix_bar_write(struct msix *m, uint64_t offset, const void *data, unsigned int size);

/* Call from the device's cfg_written hook: enable / function-mask changes. */
void msix_cfg_written(struct msix *m, unsigned int off, unsigned int size);

/* Interrupt with vector (any thread): through its irqfd, or pending if masked. */
void msix_notify(struct msix *m, unsigned int vector);

/* The eventfd behind vector (created on first use), for vhost's call fd; -errno. */
int msix_vector_fd(struct msix *m, unsigned int vector);

/* Function reset: every vector masked, no pending bits, capability disabled. */
void msix_reset(struct msix *m);

#endif
