# F13-virtio-rng-badsource: an entropy source that cannot be opened is a start-up
# error: keel says which and exits 2 (QEMU, as the peer, exits non-zero), no guest runs.
VMM_TIMEOUT=60
vmm_boot pvh 1 info --rng source=/nonexistent/keel-hwrng
[ "$VMM_RC" = 124 ] && fail "$KEEL_VMM still running after ${VMM_TIMEOUT}s"
[ "${VMM_MARKERS:-0}" = 0 ] || fail "L3 ran although the entropy source is missing"
if [ "$KEEL_VMM" = keel ]; then
	[ "$VMM_RC" = 2 ] || fail "keel exited $VMM_RC for a missing entropy source (want 2)"
	expect_line "/nonexistent/keel-hwrng" "keel's error does not name the missing source"
else
	[ "$VMM_RC" != 0 ] || fail "QEMU exited 0 for a missing entropy source"
fi
info "$(grep -m1 -i 'nonexistent' "$W/vmm.txt")"
:
