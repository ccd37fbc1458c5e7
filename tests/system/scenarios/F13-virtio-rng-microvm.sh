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
h=$(fact hwrng)
[ "$h" = virtio_rng.0 ] || fail "L3's current hwrng is '${h:-none}', want virtio_rng.0"
grep -q 'L3: rng-read-failed' "$W/vmm.txt" &&
	fail "reading /dev/hwrng failed: $(sed -n 's/.*L3: rng-read-failed: //p' "$W/vmm.txt")"
set -- $(sed -n 's/.*L3: rng bytes=\([0-9]*\) distinct=\([0-9]*\) ms=\([0-9]*\).*/\1 \2 \3/p' \
	"$W/vmm.txt" | head -n1)
[ $# = 3 ] || fail "L3 printed no rng result line"
[ "$1" = 4096 ] || fail "L3 read $1 bytes from /dev/hwrng, want 4096"
[ "$2" -ge 200 ] || fail "the 4096 bytes from /dev/hwrng take only $2 distinct values"
info "4096 bytes from /dev/hwrng in $3 ms (L3 clock), $2 distinct byte values"
f=$(fact rng-features)
[ "$(echo "$f" | cut -c33)" = 1 ] || fail "L3 did not negotiate VIRTIO_F_VERSION_1 (features $f)"
no_kernel_problems
c=$(grep -E 'keel: (warning|error): virtio-rng' "$W/vmm.txt" | head -n 5)
if [ -n "$c" ]; then
	echo "$c" | sed 's/^/# /'
	fail "keel complained about what L3's virtio drivers did"
fi
:
