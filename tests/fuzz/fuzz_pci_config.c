/*
 * Fuzz target for PCI config space (user/devices/pci/): random accesses of every
 * width through 0xCF8/0xCFC and through ECAM, to the host bridge and to a device
 * with BARs and capabilities; read-only IDs and BAR alignment must survive.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/host.h"
#include "fake_machine.h"
#include "lib/log.h"

#define ECAM		0xE0000000ULL
#define REC_LEN		7

static const unsigned int fuzz_sizes[] = { 1, 2, 4, 8, 3, 1, 2, 4 };

static uint32_t fuzz_ecam_rd(struct fake_machine *fm, uint64_t off, unsigned int size)
{
	uint32_t v = 0;

	fake_mmio_read(fm, ECAM + off, &v, size);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_machine fm;
	struct pci_host *h;
	struct pci_device dev = { .name = "fuzz-dev" };
	size_t i;

	log_threshold = LOG_ERR;
	fake_machine_init(&fm, 0);
	h = pci_host_new(&fm.ms, ECAM);
	if (!h)
		abort();
	pci_config_init(&dev.cfg, 0x1af4, 0x1041, 0x010000, 1, PCI_HEADER_TYPE_NORMAL);
	pci_config_set_bar(&dev.cfg, 0, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	pci_config_set_bar(&dev.cfg, 2, 0x40, PCI_BAR_IO);
	pci_config_set_bar(&dev.cfg, 3, 0x1000, 0);
	pci_config_add_cap(&dev.cfg, 0x11, 12);
	pci_config_add_cap(&dev.cfg, 0x09, 20);
	pci_config_set_wmask(&dev.cfg, 0x42, 2, 0xc000);
	pci_host_register(h, &dev, PCI_DEVFN(1, 0));

	for (i = 0; i + REC_LEN <= size; i += REC_LEN) {
		const uint8_t *r = data + i;
		unsigned int sz = fuzz_sizes[(r[0] >> 3) & 7];
		uint16_t off = (uint16_t)(r[1] | r[2] << 8);
		uint64_t val = r[3] | r[4] << 8 | r[5] << 16 | (uint64_t)r[6] << 24;
		bool wr = r[0] & 1;
		uint8_t buf[8];

		memcpy(buf, &val, sizeof(buf));
		switch ((r[0] >> 1) & 3) {
		case 0:		/* address register, mostly enabled, bus 0 */
			val = (val & 0x7fffffff) | (r[0] & 0x40 ? 0 : 0x80000000u);
			if (r[0] & 0x80)
				val &= 0xff00ffffu;
			memcpy(buf, &val, sizeof(buf));
			if (wr)
				fake_pio_write(&fm, 0xcf8 + (off & 3), buf, sz > 4 ? 4 : sz);
			else
				fake_pio_read(&fm, 0xcf8 + (off & 3), buf, sz > 4 ? 4 : sz);
			break;
		case 1:		/* data ports, byte lanes */
			if (wr)
				fake_pio_write(&fm, 0xcfc + (off & 3), buf, sz > 4 ? 4 : sz);
			else
				fake_pio_read(&fm, 0xcfc + (off & 3), buf, sz > 4 ? 4 : sz);
			break;
		default:	/* ECAM: functions 00.0 - 01.7 mostly, anywhere sometimes */
			{
				uint64_t a = r[0] & 0x80 ? (uint64_t)off << 4 : off & 0x1fff;

				if (a >= PCI_ECAM_BUS_SIZE)
					a %= PCI_ECAM_BUS_SIZE;
				if (wr)
					fake_mmio_write(&fm, ECAM + a, buf, sz);
				else
					fake_mmio_read(&fm, ECAM + a, buf, sz);
			}
			break;
		}
	}

	/* Invariants: IDs are read-only, BARs keep their size bits and flags. */
	if (fuzz_ecam_rd(&fm, 0, 4) != (PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR) ||
	    fuzz_ecam_rd(&fm, PCI_DEVFN(1, 0) << 12, 4) != 0x10411af4)
		abort();
	if ((pci_config_get(&dev.cfg, PCI_BAR0, 4) & 0x3fff) != (PCI_BAR_MEM64 | PCI_BAR_PREFETCH) ||
	    (pci_config_get(&dev.cfg, PCI_BAR0 + 8, 4) & 0x3f) != PCI_BAR_IO ||
	    (pci_config_get(&dev.cfg, PCI_BAR0 + 12, 4) & 0xfff) != 0 ||
	    pci_config_get(&dev.cfg, PCI_BAR0 + 16, 4) != 0 ||
	    pci_config_find_cap(&dev.cfg, 0x09) != 0x4c)
		abort();
	pci_host_free(h);
	fake_machine_fini(&fm);
	return 0;
}
