# F31-F20-disk-hotplug-q35: a qcow2 disk hot-added on a pcie-root-port (native
# PCIe hotplug, pciehp), served on an I/O thread, and removed again (disk_hotplug).
disk_hotplug q35 rp1 io0
