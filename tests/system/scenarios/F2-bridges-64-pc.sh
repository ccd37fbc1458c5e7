# F2-bridges-64-pc: 66 virtio functions behind three pci-bridges on the pc machine;
# L3 enumerates and binds all of them and writes to the disk on the last bridge.
bridges_64 pc
