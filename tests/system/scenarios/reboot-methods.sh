# reboot-methods: each way Linux resets a PC reaches keel as a reset, which
# --no-reboot turns into exit 0 (ARCHITECTURE.md "Lifecycle"): reboot=a (the
# FADT reset register, port 0xCF9), reboot=k (the i8042 reset pulse) and
# reboot=t (a triple fault, logged with a register dump).
VMM_TIMEOUT=60
base=$L3_BASE_CMDLINE
for m in a k t; do
	case $m in
	a) want='acpi-pm: guest wrote 0x06 to the reset control register' ;;
	k) want='i8042: guest pulsed the reset line' ;;
	t) want='triple fault \(KVM_EXIT_SHUTDOWN\)' ;;
	esac
	L3_BASE_CMDLINE="$base reboot=$m"
	vmm_boot pvh 1 reboot --no-reboot
	[ "$VMM_RC" = 124 ] && fail "reboot=$m: keel did not exit under --no-reboot"
	expect_line 'L3: action=reboot' "reboot=$m: L3 did not reach its reboot"
	[ "$VMM_RC" = 0 ] || fail "reboot=$m: keel exited $VMM_RC (want 0)"
	[ "$VMM_MARKERS" = 1 ] || fail "reboot=$m: L3 booted $VMM_MARKERS times, want 1"
	[ "$KEEL_VMM" = keel ] || continue
	expect_line "$want" "reboot=$m: keel did not log '$want'"
	info "reboot=$m: $(grep -E -m1 "$want" "$W/vmm.txt")"
done
if [ "$KEEL_VMM" = keel ]; then
	expect_line 'vcpu0: rip=0x' "reboot=t: no register dump in keel's log"
fi
:
