# K1-F1-blk-vhost-fio-verify: the F1 fio-verify check with the disk served by
# vhost-blk.ko (--disk accel=vhost, 2 queues, 2 vCPUs): fio in L3 does random 4 KiB
# writes at iodepth 32 from 2 jobs and verifies every block (crc32c). keel-vhost
# (over QMP) must show requests on both of the kernel's queues while L3 runs.
K=/keel/kmod
[ -f $K/vhost-blk.ko ] || fail "no vhost-blk.ko in L2: $(grep '^build' $K/result 2>/dev/null)"
[ -c /dev/vhost-blk ] || insmod $K/vhost-blk.ko 2>"$W/insmod.err" || fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
img=$W/disk.raw
truncate -s 64M "$img"
# keel-vhost asks keel (QMP) every 5 s; its last answer before keel exits is kept
( while sleep 5; do
	keel-vhost "$W/qmp.sock" >"$W/kv.new" 2>&1 && mv "$W/kv.new" "$W/kv.txt"
  done ) &
echo $! >>"$W/pids"
kv=$!
DISK_CPUS=2
disk_boot fio-verify 1 32 --qmp "unix:$W/qmp.sock,server" \
	--disk "path=$img,format=raw,accel=vhost,num-queues=2"
kill $kv 2>/dev/null
grep -E 'L3: fio: .*(IOPS|err=|verify|rror)' "$W/vmm.txt" | head -n 6 | sed 's/^.*L3: fio: */## /'
expect_line 'virtio-blk0: served by vhost-blk in the kernel' "keel does not say vhost serves the disk"
disk_l3_expect 'disk: vda .*queues=2' "L3's vda does not have 2 queues"
disk_l3_expect 'fio ok' "fio in L3 failed or found bad blocks"
n=$(dd if="$img" bs=1M count=32 2>/dev/null | tr -d '\000' | wc -c)
[ "$n" -gt 8000000 ] || fail "the image holds only $n non-zero bytes after fio wrote 32 MiB"
[ -s "$W/kv.txt" ] || fail "keel-vhost never answered"
sed 's/^/## keel-vhost: /' "$W/kv.txt"
q0=$(awk '$1 == "virtio-blk0/0" { print $2 }' "$W/kv.txt")
q1=$(awk '$1 == "virtio-blk0/1" { print $2 }' "$W/kv.txt")
[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] ||
	fail "keel-vhost does not show requests on both queues (${q0:-none}, ${q1:-none})"
[ "$(grep -c '^virtio-blk0/' "$W/kv.txt")" = 2 ] || fail "keel-vhost lists other than 2 queues"
rmmod vhost_blk 2>"$W/rmmod.err" || fail "rmmod after keel exited: $(cat "$W/rmmod.err")"
:
