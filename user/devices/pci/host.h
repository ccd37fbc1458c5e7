/*
 * keel's PCI host bridge (device 00.0, class 0x0600) and its two config access
 * mechanisms: 0xCF8/0xCFC (PCI Local Bus 3.0 ch. 3.2.2.3.2) and ECAM (PCIe 4.0
 * ch. 7.2.2, described to the guest by the ACPI MCFG table) routed down the
 * tree of buses behind bridges; enumeration as firmware does it (enum.c) and
 * dispatch of the BAR windows' accesses to the function whose BAR decodes them
 * (ch. 6.2.5) through every bridge above it.
 */
#ifndef KEEL_DEVICES_PCI_HOST_H
#define KEEL_DEVICES_PCI_HOST_H

#include <pthread.h>

#include "devices/machine.h"
#include "devices/pci/bus.h"

#define PCI_HOST_CONFIG_ADDR	0xcf8	/* dword address register */
#define PCI_HOST_CONFIG_DATA	0xcfc	/* 4 data ports, byte lanes 0xCFC-0xCFF */
#define PCI_HOST_RESET_CTL	0xcf9	/* inside the address dword: a byte port */
#define PCI_ECAM_FUNC_SIZE	4096
/* One bus: 32 devices x 8 functions x 4 KiB = 1 MiB. */
#define PCI_ECAM_BUS_SIZE	(PCI_SLOTS * PCI_FUNCS * PCI_ECAM_FUNC_SIZE)
/* An ECAM window for buses 0 .. nr_buses - 1 (1..256). */
#define PCI_ECAM_SIZE(nr_buses)	((uint64_t)(nr_buses) * PCI_ECAM_BUS_SIZE)

/* The host bridge's IDs: an Intel 440FX-compatible host bridge, class 0x0600. */
#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x1237
#define PCI_HOST_CLASS		0x060000

/* An address window the host bridge forwards to its bus; size 0: none. */
struct pci_window {
	uint64_t base, size;
};

struct pci_host_windows {
	struct pci_window mem32;	/* 32-bit memory BARs (and 64-bit ones without mem64) */
	struct pci_window mem64;	/* 64-bit memory BARs, above the top of RAM */
	struct pci_window io;		/* I/O BARs */
};

/* One BAR that decodes now (as programmed, COMMAND bit on, inside a window). */
struct pci_decode {
	uint64_t base, size;
	struct pci_device *dev;
	unsigned int idx;
	bool io;
};

struct pci_host_win;

struct pci_host {
	const struct machine_services *ms;
	struct pci_bus bus;		/* the root bus, number 0 */
	struct pci_device bridge;
	pthread_mutex_t lock;		/* the address register and all config data */
	uint32_t config_addr;
	uint64_t ecam_base;
	unsigned int ecam_buses;	/* the ECAM covers buses 0 .. ecam_buses - 1 */
	unsigned int max_bus;		/* highest bus number enumeration hands out */
	/* Byte accesses to 0xCF9 belong to another device (reset control). */
	const struct io_ops *cf9_ops;
	void *cf9_dev;
	bool bad_access_logged;

	struct pci_host_windows win;
	struct pci_host_win *claims;	/* the three windows' dispatch handles */
	/*
	 * The dispatch table, rebuilt under lock + decode_lock when a BAR, a
	 * COMMAND register or a bridge's window moves; where each BAR decodes
	 * is in its function's pci_device.mapped.
	 */
	pthread_rwlock_t decode_lock;
	struct pci_decode *decodes;
	unsigned int nr_decodes, decodes_cap;
};

/*
 * Claims 0xCF8-0xCFF and an ECAM window of nr_buses (1..256) buses at
 * ecam_base, [ecam_base, +PCI_ECAM_SIZE(nr_buses)); enumeration numbers
 * buses up to nr_buses - 1. NULL on failure.
 */
struct pci_host *pci_host_new_ecam(const struct machine_services *ms, uint64_t ecam_base,
				   unsigned int nr_buses);
/*
 * The one-bus ECAM of old: [ecam_base, +PCI_ECAM_BUS_SIZE). Buses behind
 * bridges (numbered up to 255) are reachable through 0xCF8 only.
 */
struct pci_host *pci_host_new(const struct machine_services *ms, uint64_t ecam_base);
void pci_host_free(struct pci_host *h);

/* Hand single-byte accesses at 0xCF9 to another device. */
void pci_host_set_cf9(struct pci_host *h, const struct io_ops *ops, void *dev);

/*
 * Register a device model on bus 0 (before the guest runs); fills dev->ms,
 * dev->devfn, dev->gsi.
 */
int pci_host_register(struct pci_host *h, struct pci_device *dev, unsigned int devfn);

/*
 * Put dev at devfn of bus (the root bus or a bridge's secondary bus, attached
 * or not) or take it off, at any time: under the host lock when bus belongs
 * to a host, with the decode table brought up to date (an unplugged
 * function's BARs get bar_mapped(.., 0)). For the device core and hotplug.
 */
int pci_host_plug(struct pci_bus *bus, struct pci_device *dev, unsigned int devfn);
void pci_host_unplug(struct pci_device *dev);

/* The host dev's tree hangs from (its lock guards dev's config), or NULL. */
struct pci_host *pci_device_host(const struct pci_device *dev);

/*
 * Claim the BAR windows on the machine's MMIO and PIO buses: accesses there go
 * to the function whose BAR (as the guest programmed it, decoding on) holds
 * them; the rest read all-ones. 0 or -errno.
 */
int pci_host_set_windows(struct pci_host *h, const struct pci_host_windows *w);

/*
 * Firmware's job, after every device registered (enum.c): number the buses
 * behind bridges depth-first, give each BAR an address, largest first and
 * naturally aligned (memory BARs in mem32, 64-bit ones in mem64 when there is
 * one, I/O BARs in io), open each bridge's windows over its subtree and turn
 * COMMAND.MEMORY / .IO (and a bridge's MASTER) on. -ENOSPC (logged with the
 * device and BAR) when a window is full or bus numbers run out.
 */
int pci_host_place_bars(struct pci_host *h);

#endif
