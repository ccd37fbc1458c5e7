# F13-virtio-rng-microvm: F13-virtio-rng on the microvm machine: --rng makes a
# virtio-rng-device on a virtio-mmio slot; L3's virtio_rng binds it through
# virtio_mmio, becomes the current hwrng, and /dev/hwrng gives varied bytes.
[ "$KEEL_VMM" = keel ] || skip "keel's microvm board"
VMM_TIMEOUT=150
L3_CMDLINE_EXTRA="keel.rngbytes=4096"
vmm_boot pvh 1 rng --machine microvm --rng
L3_CMDLINE_EXTRA=
expect_exit0 poweroff
v=$(sed -n 's/^.*L3: virtio-devs=//p' "$W/vmm.txt" | head -n1)
case " $v " in
*:0x0004:virtio_rng:LNRO0005:*) ;;
*) fail "no virtio-rng bound on a LNRO0005 (virtio-mmio) device (saw: ${v:-nothing})" ;;
esac
rng_check virtio-rng
:
