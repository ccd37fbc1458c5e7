# F13-virtio-rng: with --rng (getrandom), L3's virtio_rng driver binds keel's
# virtio-rng-pci (1af4:1044), becomes the current hwrng, and /dev/hwrng gives bytes
# that are not all equal.
VMM_TIMEOUT=150
L3_CMDLINE_EXTRA="keel.rngbytes=4096"
vmm_boot pvh 1 rng --rng
L3_CMDLINE_EXTRA=
expect_exit0 poweroff
grep -E 'L3: (hwrng|insmod|rng|pci-dev:.*virtio)' "$W/vmm.txt" | sed 's/^.*L3: /## /'
p=$(sed -n 's/.*L3: pci=//p' "$W/vmm.txt" | head -n1)
# keel's is modern-only (1044); QEMU's default virtio-rng-pci is transitional (1005)
want=1044
[ "$KEEL_VMM" = qemu ] && want=1005
case " $p " in
*:1af4:$want" "*) ;;
*) fail "L3 sees no virtio-rng PCI function 1af4:$want (saw: ${p:-nothing})" ;;
esac
expect_line 'L3: pci-dev: .*driver=virtio-pci' "no PCI function is bound to virtio-pci"
rng_check virtio-rng0
:
