# poweroff-exit0: `poweroff -f` in L3 (ACPI S5) ends keel with exit code 0
# within the timeout (ARCHITECTURE.md "Lifecycle").
VMM_TIMEOUT=90
vmm_boot pvh 1 poweroff
expect_exit0 poweroff
expect_line 'L3: action=poweroff' "L3 did not reach its poweroff"
grep -q 'L3: poweroff-failed' "$W/vmm.txt" && fail "poweroff -f returned in L3"
:
