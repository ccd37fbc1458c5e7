/*
 * The "q35" board (machine type q35-keel-N): a Q35-style chipset, the MCH
 * host bridge at 00.0 with ECAM at PCIEXBAR and the ICH9 LPC bridge at 1f.0
 * (user/devices/pci/q35_mch.c, ich9_lpc.c), the root bus "pcie.0" of
 * integrated endpoints, COM1, i8042, CMOS RTC, the ACPI PM block, pvpanic at
 * 0x505, and ACPI tables with a PCIe host bridge (_OSC) and MCFG.
 * Documentation/machine-types.md compares it with pc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "devices/pci/host.h"
#include "devices/pci/ich9_lpc.h"
#include "devices/pci/q35_mch.h"
#include "lib/log.h"
#include "vmm/acpi/acpi.h"
#include "vmm/board.h"
#include "vmm/qmp/pci.h"

/*
 * PCIEXBAR at the MCH's reset default: 256 MiB reserved in e820 for 256
 * buses, all decoded by pci_host; MCFG and PCI0's bus range say the same.
 */
#define Q35_PCI_ECAM_BASE	0xE0000000ULL
#define Q35_PCI_BUS_END		255

struct q35_board {
	struct pc_legacy legacy;
	struct pci_host *pci;
	struct ich9_lpc *lpc;
	struct dev_bus *root;		/* "pcie.0" in the device tree */
};

static int q35_pio_claim(struct machine *m, uint16_t base, uint16_t len,
			 const struct io_ops *ops, void *dev)
{
	struct q35_board *b = m->board;

	/* 0xCF9 (acpi_pm's reset control) lies inside the 0xCF8 dword. */
	if (b && b->pci && base == PCI_HOST_RESET_CTL && len == 1) {
		pci_host_set_cf9(b->pci, ops, dev);
		return 1;
	}
	return 0;
}

static int q35_build(struct machine *m)
{
	struct q35_board *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	m->board = b;
	m->pio_claim = q35_pio_claim;
	ret = guest_mem_e820_reserve(&m->mem, Q35_PCI_ECAM_BASE, Q35_MCH_ECAM_WINDOW);
	if (ret) {
		log_err("cannot reserve the PCIEXBAR window in the e820 map: %s", strerror(-ret));
		return ret;
	}
	b->pci = pci_host_new_ecam(&m->ms, Q35_PCI_ECAM_BASE, Q35_PCI_BUS_END + 1);
	if (!b->pci)
		return -ENOMEM;
	q35_mch_setup(b->pci, guest_mem_low_end(&m->mem));
	b->lpc = ich9_lpc_new(b->pci, PC_ACPI_PM_BASE);
	if (!b->lpc)
		return -ENOMEM;
	b->root = device_bus_add(&m->devs, NULL, "pcie.0", DEV_BUS_PCI, &b->pci->bus);
	if (!b->root)
		return -ENOMEM;
	/* Integrated endpoints; hotplug will be native PCIe on root ports. */
	b->root->pcie = true;
	b->root->hotplug = false;
	return pc_legacy_new(m, &b->legacy);
}

void q35_acpi_config(struct acpi_config *cfg, unsigned int nr_cpus,
		     const struct pci_host_windows *w)
{
	pc_acpi_config(cfg, nr_cpus);
	cfg->pci_ecam_base = Q35_PCI_ECAM_BASE;
	cfg->pci_bus_end = Q35_PCI_BUS_END;
	cfg->pcie_native = true;
	cfg->pci_mem32_base = w->mem32.base;
	cfg->pci_mem32_size = w->mem32.size;
	cfg->pci_mem64_base = w->mem64.base;
	cfg->pci_mem64_size = w->mem64.size;
}

static int q35_acpi_init(struct machine *m, struct q35_board *b, uint64_t *rsdp)
{
	struct acpi_config cfg;

	q35_acpi_config(&cfg, m->cfg->cpus, &b->pci->win);
	return pc_acpi_write(m, &cfg, rsdp);
}

/* After every PCI device is on its bus: the windows and BAR placement, then ACPI. */
static int q35_finish(struct machine *m, uint64_t *rsdp)
{
	struct q35_board *b = m->board;
	struct pci_host_windows w;
	int ret;

	pc_pci_windows(m, &w);
	ret = pci_host_set_windows(b->pci, &w);
	if (ret)
		return ret;
	ret = pci_host_place_bars(b->pci);
	if (ret) {
		log_err("pci: the devices' BARs do not fit the PCI windows");
		return ret;
	}
	return q35_acpi_init(m, b, rsdp);
}

static void q35_teardown(struct machine *m)
{
	struct q35_board *b = m->board;

	if (!b)
		return;
	pc_legacy_free(&b->legacy);
	device_bus_del(&m->devs, b->root);
	ich9_lpc_free(b->lpc);
	pci_host_free(b->pci);
	free(b);
	m->board = NULL;
	m->pio_claim = NULL;
}

static int q35_powerdown(struct machine *m)
{
	struct q35_board *b = m->board;

	return b ? pc_legacy_powerdown(&b->legacy) : -ENODEV;
}

static unsigned int q35_pci_functions(struct machine *m, struct qmp_pci_function *out,
				      unsigned int max)
{
	struct q35_board *b = m->board;

	return b && b->pci ? qmp_pci_collect(b->pci, &m->devs, out, max) : 0;
}

const struct board_ops board_q35_ops = {
	.build = q35_build,
	.finish = q35_finish,
	.teardown = q35_teardown,
	.powerdown = q35_powerdown,
	.pci_functions = q35_pci_functions,
};
