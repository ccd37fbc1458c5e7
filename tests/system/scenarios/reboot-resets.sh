# reboot-resets: `reboot -f` in L3 without --no-reboot resets the machine: the guest
# boots a second time (KEEL-L3-INIT twice); the scenario then stops the VMM itself.
WATCH_OPTS="-n 2 -k"
VMM_TIMEOUT=90
vmm_boot pvh 1 reboot
[ "${VMM_MARKERS:-0}" -ge 2 ] ||
	fail "L3 booted ${VMM_MARKERS:-0} time(s) after reboot -f, want 2 (exit $VMM_RC)"
grep -i 'reset' "$W/vmm.txt" | head -n 2 | sed 's/^/## VMM: /'
echo "$WATCH" | grep -q 'killed=1' || fail "VMM was not stopped after the second boot"
:
