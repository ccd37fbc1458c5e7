# F16-F24-blk-qcow2-pattern: a qcow2 image as a virtio-blk disk. L3 writes a pattern over
# 8 MiB; then `qemu-img check` is clean and `qemu-img compare` finds the image equal
# to a raw reference (pattern + zeroes). Reverse: qemu-img converts another pattern
# into a fresh qcow2 and L3 must read exactly it (and the image stays clean).
img=$W/disk.qcow2
qemu-img create -q -f qcow2 "$img" 64M || fail "qemu-img create failed"
disk_boot pattern-write 21 8 --iothread id=io0 \
	--disk "path=$img,format=qcow2,iothread=io0,aio=io_uring"
disk_l3_expect 'pattern ok 8' "L3 did not read back the pattern it wrote"
qemu-img check -f qcow2 "$img" >"$W/check.txt" 2>&1 ||
	{ sed 's/^/# /' "$W/check.txt"; fail "qemu-img check: the image L3 wrote is not clean"; }
disk_raw_ref "$W/ref.raw" 21 8 64
qemu-img compare -f qcow2 -F raw "$img" "$W/ref.raw" >"$W/cmp.txt" 2>&1 ||
	{ sed 's/^/# /' "$W/cmp.txt"; fail "qemu-img compare: the image differs from the pattern"; }
info "L3 -> qcow2: check clean; $(head -n1 "$W/cmp.txt"); $(grep -i 'allocated' "$W/check.txt")"

disk_raw_ref "$W/ref2.raw" 22 12 64
rm -f "$img"
qemu-img convert -f raw -O qcow2 "$W/ref2.raw" "$img" || fail "qemu-img convert failed"
disk_boot pattern-check 22 12 --disk "path=$img,format=qcow2"
disk_l3_expect 'pattern ok 12' "L3 did not read the pattern qemu-img wrote into the qcow2"
qemu-img check -f qcow2 "$img" >"$W/check.txt" 2>&1 ||
	{ sed 's/^/# /' "$W/check.txt"; fail "qemu-img check: image not clean after L3 read it"; }
info "qcow2 -> L3: 12 MiB pattern exact"
