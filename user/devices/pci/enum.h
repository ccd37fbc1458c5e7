/*
 * Firmware-like PCI enumeration before the guest runs (PCI Firmware 3.0 ch. 3.5,
 * PCI-to-PCI Bridge 1.2 ch. 3.2.5.3-10): bus numbers depth-first, every BAR of
 * every bus placed, every bridge's windows sized over its subtree.
 */
#ifndef KEEL_DEVICES_PCI_ENUM_H
#define KEEL_DEVICES_PCI_ENUM_H

#include "devices/pci/bus.h"
#include "devices/pci/host.h"

/*
 * Number the buses below root depth-first in devfn order: each bridge gets
 * primary = its bus, secondary = the next free number, subordinate = the
 * highest number behind it. Numbers above max_bus are not handed out: those
 * bridges get 0/0/0 and -ENOSPC is returned (logged with the bridge).
 */
int pci_enum_buses(struct pci_bus *root, unsigned int max_bus);

/*
 * Place every BAR below root inside the host windows w, largest first and
 * naturally aligned; bridges' I/O (4 KiB granules), memory and prefetchable
 * (1 MiB granules) windows cover exactly what is behind them (unused ones
 * closed). On the root bus 64-bit memory BARs go to w->mem64 when there is
 * one; behind a bridge only 64-bit prefetchable BARs can (the bridge's
 * prefetchable window), other memory BARs stay below 4 GiB. COMMAND.IO /
 * .MEMORY go on for what got a BAR or window, .MASTER on every bridge.
 * -ENOSPC (each failure logged with the device and BAR) when a window is full.
 */
int pci_enum_place(struct pci_bus *root, const struct pci_host_windows *w);

#endif
