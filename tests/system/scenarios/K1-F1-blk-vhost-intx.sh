# K1-F1-blk-vhost-intx: MSI off in L3 (pci=nomsi) with the disk served by vhost-blk
# (--disk accel=vhost): with no MSI-X vector to hand the kernel, keel gives it an
# eventfd of its own and raises ISR/INTx from the main loop. L3 writes and reads back
# an 8 MiB pattern, which needs an interrupt per request.
K=/keel/kmod
[ -f $K/vhost-blk.ko ] || fail "no vhost-blk.ko in L2: $(grep '^build' $K/result 2>/dev/null)"
[ -c /dev/vhost-blk ] || insmod $K/vhost-blk.ko 2>"$W/insmod.err" || fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
img=$W/disk.raw
truncate -s 64M "$img"
VMM_TIMEOUT=${DISK_TIMEOUT:-170}
L3_CMDLINE_EXTRA="pci=nomsi keel.seed=21 keel.mib=8"
vmm_boot pvh 1 pattern-write --disk "path=$img,format=raw,accel=vhost"
L3_CMDLINE_EXTRA=
expect_exit0 poweroff
grep -E 'L3: (disk:|pattern ok)' "$W/vmm.txt" | head -n 3 | sed 's/^.*L3: /## /'
expect_line 'virtio-blk0: served by vhost-blk in the kernel' "keel does not say vhost serves the disk"
disk_l3_expect 'pattern ok 8' "L3 did not read back the pattern it wrote over INTx"
disk_raw_check "$img" 21 8 || fail "the image file does not hold the pattern L3 wrote"
irq=$(sed -n 's/.*L3: pci-dev: .*class=0x010000 driver=virtio-pci irq=\([0-9]*\).*/\1/p' "$W/vmm.txt" | head -n1)
[ -n "$irq" ] && [ "$irq" != 0 ] || fail "the virtio-blk function has no INTx line in L3"
info "8 MiB pattern through vhost-blk over INTx (IRQ $irq)"
rmmod vhost_blk 2>"$W/rmmod.err" || fail "rmmod after keel exited: $(cat "$W/rmmod.err")"
:
