# F31-disk-unplug-under-load-q35: device_del of a qcow2 disk on a root port while
# fio and an O_DIRECT writer run in L3; nothing L3 saw complete is lost and the image
# is clean (disk_hotplug_load).
disk_hotplug_load q35 rp1
