# F2-F20-bridges-64-q35: the same 66 functions behind pci-bridges under a
# pcie-pci-bridge on q35 (PCIe root complex, ECAM for every bus).
bridges_64 q35
