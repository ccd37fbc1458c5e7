# F13-virtio-rng-ratelimit: --rng source=/dev/urandom,max-bytes=1024,period=1000 holds
# L3 to 1 KiB per second: reading 8 KiB from /dev/hwrng takes at least ~7 s of L3
# time (the first window is free; a lower bound only, the upper one is the harness's).
VMM_TIMEOUT=200
L3_CMDLINE_EXTRA="keel.rngbytes=8192"
vmm_boot pvh 1 rng --rng source=/dev/urandom,max-bytes=1024,period=1000
L3_CMDLINE_EXTRA=
expect_exit0 poweroff
grep -E 'L3: (hwrng|insmod|rng)' "$W/vmm.txt" | sed 's/^.*L3: /## /'
h=$(fact hwrng)
[ "$h" = virtio_rng.0 ] || fail "L3's current hwrng is '${h:-none}', want virtio_rng.0"
set -- $(sed -n 's/.*L3: rng bytes=\([0-9]*\) distinct=\([0-9]*\) ms=\([0-9]*\).*/\1 \2 \3/p' \
	"$W/vmm.txt" | head -n1)
[ $# = 3 ] || fail "L3 printed no rng result line"
[ "$1" = 8192 ] || fail "L3 read $1 bytes from /dev/hwrng, want 8192"
[ "$2" -ge 200 ] || fail "the 8192 bytes from /dev/hwrng take only $2 distinct values"
# 8 windows of 1024 bytes: the 8th opens 7 s after the first (minus clock slack)
[ "$3" -ge 6500 ] || fail "8 KiB at max-bytes=1024,period=1000 took only $3 ms (want >= 6500)"
info "8192 bytes at 1024 bytes/s took $3 ms of L3 time"
no_kernel_problems
:
