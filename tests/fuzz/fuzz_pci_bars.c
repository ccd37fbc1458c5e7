/*
 * Fuzz target for BAR placement/dispatch (user/devices/pci/host.c), MSI-X
 * (msix.c) and INTx (bus.c): after firmware-style placement, random config
 * writes (BAR moves, sizing, COMMAND), window accesses of every width landing
 * in an MSI-X table/PBA, notifies and INTx changes. Invariants: an irqfd route
 * exists exactly for each deliverable vector, the INTx line is the OR of the
 * functions, and teardown leaves no route behind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/host.h"
#include "devices/pci/msi.h"
#include "devices/pci/msix.h"
#include "fake_machine.h"
#include "lib/log.h"

#define ECAM		0xE0000000ULL
#define MEM32		0xC0000000ULL
#define MEM64		0x400000000ULL
#define REC_LEN		8
#define NR_VEC		9

struct fdev {
	struct pci_device pci;
	struct msix msix;
};

static const unsigned int fuzz_sizes[] = { 1, 2, 4, 8, 3, 4, 8, 4 };

static void fdev_read(void *d, uint64_t off, void *data, unsigned int size)
{
	struct fdev *f = d;

	if (!msix_bar_read(&f->msix, off, data, size))
		memset(data, 0, size);
}

static void fdev_write(void *d, uint64_t off, const void *data, unsigned int size)
{
	struct fdev *f = d;

	msix_bar_write(&f->msix, off, data, size);
}

static const struct io_ops fdev_ops = { .read = fdev_read, .write = fdev_write };

static void fdev_cfg_written(struct pci_device *dev, unsigned int off, unsigned int size)
{
	struct fdev *f = dev->opaque;

	msix_cfg_written(&f->msix, off, size);
}

static void fdev_init(struct fdev *f, const struct machine_services *ms, uint32_t flags)
{
	memset(f, 0, sizeof(*f));
	f->pci.name = "fuzz-msix";
	f->pci.opaque = f;
	f->pci.cfg_written = fdev_cfg_written;
	pci_config_init(&f->pci.cfg, 0x1af4, 0x1041, 0xff0000, 1, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(&f->pci.cfg, PCI_INTERRUPT_PIN, 1, 1);
	if (pci_config_set_bar(&f->pci.cfg, 0, 0x1000, flags) ||
	    pci_config_set_bar(&f->pci.cfg, 2 + 0, 0x20, PCI_BAR_IO))
		abort();
	f->pci.bar_ops[0] = &fdev_ops;
	if (msix_init(&f->msix, &f->pci, ms, NR_VEC, 0, 0, 0x800))
		abort();
}

/* Every deliverable vector has a live route and no other vector has one. */
static void fuzz_check_routes(struct fake_machine *fm, struct fdev *devs, unsigned int n)
{
	unsigned int d, i, want = 0;

	for (d = 0; d < n; d++) {
		struct msix *m = &devs[d].msix;

		for (i = 0; i < m->nr; i++) {
			bool on = m->enabled && !m->masked_all &&
				  !(m->v[i].ctrl & MSIX_ENTRY_CTRL_MASKED);

			if (on != (m->v[i].route >= 0))
				abort();
			want += on;
		}
	}
	if (fake_irqfd_count(fm) != (int)want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_host_windows w = {
		.mem32 = { MEM32, 0x20000000 },
		.mem64 = { MEM64, 1ULL << 32 },
		.io = { 0xc000, 0x4000 },
	};
	struct fake_machine fm;
	struct pci_host *h;
	static struct fdev devs[2];
	size_t i;

	log_threshold = LOG_ERR;
	fake_machine_init(&fm, 0);
	h = pci_host_new(&fm.ms, ECAM);
	if (!h || pci_host_set_windows(h, &w))
		abort();
	fdev_init(&devs[0], &fm.ms, 0);
	fdev_init(&devs[1], &fm.ms, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	/* Slots 1 and 5 share INTA's GSI 17. */
	pci_host_register(h, &devs[0].pci, PCI_DEVFN(1, 0));
	pci_host_register(h, &devs[1].pci, PCI_DEVFN(5, 0));
	if (pci_host_place_bars(h))
		abort();

	for (i = 0; i + REC_LEN <= size; i += REC_LEN) {
		const uint8_t *r = data + i;
		unsigned int sz = fuzz_sizes[(r[0] >> 4) & 7], d = r[0] >> 7;
		uint32_t off = (uint32_t)(r[1] | r[2] << 8);
		uint32_t val = r[3] | r[4] << 8 | r[5] << 16 | (uint32_t)r[6] << 24;
		uint64_t buf[2] = { (uint64_t)val << 32 | val, 0 };
		uint64_t base = d ? MEM64 : MEM32;

		switch (r[0] & 7) {
		case 0:	/* config space of one of the functions, mostly the header */
			fake_mmio_write(&fm, ECAM + ((uint64_t)(d ? 5 : 1) << 15) +
					(r[7] & 1 ? off & 0xfff : off & 0x7f),
					buf, sz > 4 ? 4 : sz);
			break;
		case 1:	/* the MSI-X capability's control word */
			fake_mmio_write(&fm, ECAM + ((uint64_t)(d ? 5 : 1) << 15) +
					devs[d].msix.cap + PCI_MSIX_FLAGS, buf, 2);
			break;
		case 2:	/* window writes near where the BAR was placed */
			fake_mmio_write(&fm, base + (off & 0x1fff), buf, sz);
			break;
		case 3:
			fake_mmio_read(&fm, base + (off & 0x1fff), buf, sz);
			break;
		case 4:	/* anywhere in the 32-bit window and the I/O window */
			if (r[7] & 1)
				fake_pio_write(&fm, 0xc000 + (off & 0x3fff), buf, sz > 4 ? 4 : sz);
			else
				fake_mmio_read(&fm, MEM32 + ((uint64_t)off << 12) + r[7], buf, sz);
			break;
		case 5:
			msix_notify(&devs[d].msix, r[7] % (NR_VEC + 2));
			fake_irqfd_deliver(&fm);
			if (fm.nr_msi > 200)
				fake_msi_clear(&fm);
			break;
		case 6:
			pci_device_intx(&devs[d].pci, r[7] & 1);
			break;
		default:
			if (r[7] & 1)
				msix_reset(&devs[d].msix);
			else if (msix_vector_fd(&devs[d].msix, r[7] % NR_VEC) < 0)
				abort();
			break;
		}
		fuzz_check_routes(&fm, devs, 2);
	}
	/* The shared INTx line is the OR of what the two functions drive. */
	if (fm.irq_level[17] != (devs[0].pci.intx_asserted || devs[1].pci.intx_asserted))
		abort();
	msix_fini(&devs[0].msix);
	msix_fini(&devs[1].msix);
	if (fake_irqfd_count(&fm))
		abort();
	pci_host_free(h);
	fake_machine_fini(&fm);
	return 0;
}
