# K1-F1-blk-vhost-pattern: the F1-F16 raw pattern check with the disk served by
# vhost-blk.ko in L2's kernel (--disk accel=vhost): L3 writes a pattern over 16 MiB of
# /dev/vda and reads it back, the file holds exactly it; L2 writes another pattern and
# L3 reads exactly it. keel must say vhost serves the disk, and rmmod must work after.
K=/keel/kmod
[ -f $K/vhost-blk.ko ] || fail "no vhost-blk.ko in L2: $(grep '^build' $K/result 2>/dev/null)"
img=$W/disk.raw
truncate -s 64M "$img"
# k1_refuse WHY --disk ...: keel stops before the guest starts, status 2, one line
k1_refuse()
{
	why=$1
	shift
	timeout 60 keel run --kernel "$(l3_kernel pvh)" "$@" >"$W/refuse.txt" 2>&1
	rc=$?
	[ $rc = 2 ] || fail "$why: keel exited $rc, want 2: $(head -n 3 "$W/refuse.txt")"
	grep -q 'accel=vhost is not possible' "$W/refuse.txt" ||
		fail "$why: no clear line: $(head -n 3 "$W/refuse.txt")"
	info "$why: $(grep -m1 'accel=vhost' "$W/refuse.txt")"
}
if [ ! -c /dev/vhost-blk ]; then
	k1_refuse "accel=vhost without the module" --disk "path=$img,format=raw,accel=vhost"
fi
[ -c /dev/vhost-blk ] || insmod $K/vhost-blk.ko 2>"$W/insmod.err" || fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
[ -c /dev/vhost-blk ] || fail "insmod ok but no /dev/vhost-blk"
qemu-img create -q -f qcow2 "$W/disk.qcow2" 64M || fail "qemu-img create failed"
k1_refuse "accel=vhost on qcow2" --disk "path=$W/disk.qcow2,format=qcow2,accel=vhost"
disk_boot pattern-write 11 16 --disk "path=$img,format=raw,accel=vhost"
grep -m1 'served by' "$W/vmm.txt" | sed 's/^/## /'
expect_line 'virtio-blk0: served by vhost-blk in the kernel' "keel does not say vhost serves the disk"
disk_l3_expect 'pattern ok 16' "L3 did not read back the pattern it wrote"
disk_raw_check "$img" 11 16 || fail "the image file does not hold the pattern L3 wrote"
disk_zero_after "$img" 16 || fail "L3's writes reached past the 16 MiB it wrote"
info "L3 -> file through vhost-blk: 16 MiB pattern exact, rest zero"

keel-pattern 12 0 $((24 * 256)) | dd of="$img" bs=64k conv=notrunc 2>/dev/null
disk_boot pattern-check 12 24 --disk "path=$img,format=raw,accel=vhost"
disk_l3_expect 'pattern ok 24' "L3 did not read the pattern L2 wrote into the file"
info "file -> L3 through vhost-blk: 24 MiB pattern exact"
P=/sys/module/vhost_blk/parameters
live="$(cat $P/live_devices 2>&1) $(cat $P/live_requests 2>&1)"
info "vhost-blk live devices and requests after keel exited: $live"
[ "$live" = "0 0" ] || fail "vhost-blk still has live objects after keel exited: $live"
rmmod vhost_blk 2>"$W/rmmod.err" || fail "rmmod after keel exited: $(cat "$W/rmmod.err")"
:
