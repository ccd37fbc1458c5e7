# F31-F20-disk-hotplug-q35: a qcow2 disk hot-added on a pcie-root-port (native
# PCIe hotplug, pciehp) and removed again (disk_hotplug in l2/lib.sh).
disk_hotplug q35 rp1
