# F31-K1-disk-hotplug-cycles-pc: 20 hot-add/remove cycles on pc's bus 0, alternating a
# qcow2 disk on an I/O thread and a raw disk served by vhost-blk.ko; no fd, thread or
# vhost-blk object is left behind (disk_hotplug_cycles).
disk_hotplug_cycles pc 20
