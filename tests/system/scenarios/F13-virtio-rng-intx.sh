# F13-virtio-rng-intx: with MSI off in L3 (pci=nomsi) the virtio-rng queue interrupts
# through INTx and the ISR register: the driver still binds (on its INTx line) and
# reads 4 KiB, which needs an interrupt per request.
VMM_TIMEOUT=150
L3_CMDLINE_EXTRA="pci=nomsi keel.rngbytes=4096"
vmm_boot pvh 1 rng --rng
L3_CMDLINE_EXTRA=
expect_exit0 poweroff
grep -E 'L3: (hwrng|insmod|rng|pci-dev:.*virtio)' "$W/vmm.txt" | sed 's/^.*L3: /## /'
h=$(fact hwrng)
[ "$h" = virtio_rng.0 ] || fail "L3's current hwrng is '${h:-none}', want virtio_rng.0"
set -- $(sed -n 's/.*L3: rng bytes=\([0-9]*\) distinct=\([0-9]*\) ms=\([0-9]*\).*/\1 \2 \3/p' \
	"$W/vmm.txt" | head -n1)
[ $# = 3 ] || fail "L3 printed no rng result line"
[ "$1" = 4096 ] || fail "L3 read $1 bytes from /dev/hwrng over INTx, want 4096"
[ "$2" -ge 200 ] || fail "the 4096 bytes from /dev/hwrng take only $2 distinct values"
irq=$(sed -n 's/.*L3: pci-dev: .* driver=virtio-pci irq=\([0-9]*\).*/\1/p' "$W/vmm.txt" | head -n1)
[ -n "$irq" ] && [ "$irq" != 0 ] || fail "the virtio-rng function has no INTx line in L3"
info "4096 bytes over INTx (IRQ $irq) in $3 ms (L3 clock)"
no_kernel_problems
:
