# F30-blk-vhdx-vpc: VHDX and VPC images (dynamic subformats, made by qemu-img from
# a raw pattern) as read-only virtio-blk disks: L3 reads exactly the pattern from
# each; a writable vhdx/vpc disk is refused at start-up with exit 2 (read-only formats).
[ "$KEEL_VMM" = qemu ] && skip "keel's read-only format drivers"
disk_raw_ref "$W/ref.raw" 31 8 32
for fmt in vhdx vpc; do
	img=$W/disk.$fmt
	qemu-img convert -f raw -O $fmt -o subformat=dynamic "$W/ref.raw" "$img" ||
		fail "qemu-img convert to $fmt failed"
	disk_boot pattern-check 31 8 --disk "path=$img,format=$fmt,readonly=on"
	disk_l3_expect 'pattern ok 8' "L3 did not read the pattern from the $fmt image"
	info "$fmt (dynamic) -> L3: 8 MiB pattern exact, read-only"
	vmm_boot pvh 1 info --disk "path=$img,format=$fmt"
	[ "$VMM_RC" = 2 ] || fail "a writable $fmt disk gave exit $VMM_RC, want 2"
	note "writable $fmt: $(grep -m1 'keel:' "$W/vmm.txt")"
done
