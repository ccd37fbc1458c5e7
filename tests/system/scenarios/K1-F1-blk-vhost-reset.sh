# K1-F1-blk-vhost-reset: a guest reset with the disk served by vhost-blk
# (--disk accel=vhost): L3 boots, sees vda (the driver's probe and partition scan go
# through the kernel's rings), runs `reboot -f`; keel takes the rings back, rebuilds
# the device, and the second boot sees vda again through a fresh vhost setup. keel
# is then killed: the module must drop to no live device and rmmod must work.
K=/keel/kmod
[ -f $K/vhost-blk.ko ] || fail "no vhost-blk.ko in L2: $(grep '^build' $K/result 2>/dev/null)"
[ -c /dev/vhost-blk ] || insmod $K/vhost-blk.ko 2>"$W/insmod.err" || fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
img=$W/disk.raw
truncate -s 64M "$img"
# boot 1 and boot 2 print their facts and reboot; the third start ends it
WATCH_OPTS="-n 3 -k"
VMM_TIMEOUT=200
vmm_boot pvh 1 reboot --disk "path=$img,format=raw,accel=vhost"
[ "${VMM_MARKERS:-0}" -ge 3 ] ||
	fail "L3 started ${VMM_MARKERS:-0} time(s) after two reboot -f, want 3 (exit $VMM_RC)"
n=$(grep -c 'L3: disk: vda ' "$W/vmm.txt")
info "L3 saw vda in $n boot(s); keel: $(grep -m1 'served by' "$W/vmm.txt")"
grep -E 'vhost|virtio-blk0' "$W/vmm.txt" | grep -v 'L3:' | head -n 4 | sed 's/^/## /'
[ "$n" -ge 2 ] || fail "L3 saw vda in $n boot(s), want 2 (vhost not set up again after reset?)"
grep -q 'NEEDS_RESET\|kernel backend stopped' "$W/vmm.txt" && fail "keel saw a broken vhost ring"
sleep 1
P=/sys/module/vhost_blk/parameters
live="$(cat $P/live_devices 2>&1) $(cat $P/live_requests 2>&1)"
info "vhost-blk live devices and requests after keel was killed: $live"
[ "$live" = "0 0" ] || fail "vhost-blk still has live objects after keel died: $live"
rmmod vhost_blk 2>"$W/rmmod.err" || fail "rmmod after keel died: $(cat "$W/rmmod.err")"
:
