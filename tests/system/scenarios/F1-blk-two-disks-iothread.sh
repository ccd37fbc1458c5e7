# F1-blk-two-disks-iothread: two raw images as two virtio-blk disks served by one I/O
# thread (so by the one I/O engine that thread owns). L3 writes a pattern on each
# disk, a different seed per disk, and reads both back; after the VMM exits each file
# holds exactly its own pattern and zeroes after it.
img0=$W/disk0.raw
img1=$W/disk1.raw
truncate -s 64M "$img0" "$img1"
disk_boot two-disks 31 4 --iothread id=io0 \
	--disk "path=$img0,format=raw,iothread=io0,aio=io_uring" \
	--disk "path=$img1,format=raw,iothread=io0,aio=io_uring"
n=$(grep -c 'L3: pattern ok 4' "$W/vmm.txt")
[ "$n" = 2 ] || disk_l3_expect 'two-disks-ok' "L3 read back its pattern on $n of 2 disks"
disk_raw_check "$img0" 31 4 || fail "disk0.raw does not hold the pattern L3 wrote on vda"
disk_raw_check "$img1" 32 4 || fail "disk1.raw does not hold the pattern L3 wrote on vdb"
disk_zero_after "$img0" 4 || fail "L3's writes on vda reached past 4 MiB"
disk_zero_after "$img1" 4 || fail "L3's writes on vdb reached past 4 MiB"
info "two disks on io0: each file holds its own 4 MiB pattern, rest zero"
