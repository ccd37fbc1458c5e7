# reboot-no-reboot: `reboot -f` in L3 under --no-reboot ends keel with exit 0,
# and keel says it saw a reset (ARCHITECTURE.md "Lifecycle").
VMM_TIMEOUT=60
vmm_boot pvh 1 reboot --no-reboot
[ "$VMM_RC" = 124 ] && fail "$KEEL_VMM did not exit after the guest's reboot under --no-reboot"
expect_line 'L3: action=reboot' "L3 did not reach its reboot"
[ "$VMM_MARKERS" = 1 ] || fail "L3 booted $VMM_MARKERS times, want 1 under --no-reboot"
[ "$VMM_RC" = 0 ] || fail "$KEEL_VMM exited $VMM_RC after the guest's reboot (want 0)"
if [ "$KEEL_VMM" = keel ]; then
	grep -qi 'reset' "$W/vmm.txt" || fail "keel exited 0 but did not log the reset"
	info "$(grep -i -m1 'reset' "$W/vmm.txt")"
fi
:
