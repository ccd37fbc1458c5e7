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
h=$(fact hwrng)
[ "$h" = virtio_rng.0 ] || fail "L3's current hwrng is '${h:-none}', want virtio_rng.0"
grep -q 'L3: rng-read-failed' "$W/vmm.txt" &&
	fail "reading /dev/hwrng failed: $(sed -n 's/.*L3: rng-read-failed: //p' "$W/vmm.txt")"
set -- $(sed -n 's/.*L3: rng bytes=\([0-9]*\) distinct=\([0-9]*\) ms=\([0-9]*\).*/\1 \2 \3/p' \
	"$W/vmm.txt" | head -n1)
[ $# = 3 ] || fail "L3 printed no rng result line"
[ "$1" = 4096 ] || fail "L3 read $1 bytes from /dev/hwrng, want 4096"
# 4096 random bytes take nearly all 256 values; a stuck or zero source takes 1
[ "$2" -ge 200 ] || fail "the 4096 bytes from /dev/hwrng take only $2 distinct values"
info "4096 bytes from /dev/hwrng in $3 ms (L3 clock), $2 distinct byte values"
f=$(fact rng-features)
[ "$(echo "$f" | cut -c33)" = 1 ] || fail "L3 did not negotiate VIRTIO_F_VERSION_1 (features $f)"
info "negotiated: VERSION_1$([ "$(echo "$f" | cut -c35)" = 1 ] && echo ", RING_PACKED")$(
	[ "$(echo "$f" | cut -c30)" = 1 ] && echo ", EVENT_IDX")$(
	[ "$(echo "$f" | cut -c29)" = 1 ] && echo ", INDIRECT_DESC") ($f)"
no_kernel_problems
# Linux's driver follows the spec: any complaint of the transport is ours to fix
c=$(grep -E 'keel: (warning|error): virtio-rng0' "$W/vmm.txt" | head -n 5)
if [ -n "$c" ]; then
	echo "$c" | sed 's/^/# /'
	fail "keel complained about what L3's virtio drivers did"
fi
:
