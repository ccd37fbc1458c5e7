# F33-pvpanic-pause: L3 loads Debian's pvpanic driver (ACPI QEMU0001 at 0x505) and
# panics; under the default --on-panic pause keel stays up with the vCPUs stopped,
# GUEST_PANICKED action=pause and STOP reach an event client, query-status says
# guest-panicked, and dump-guest-memory then writes an ELF core (header checked with od).
# L3 runs with panic=-1 (reboot at once after the panic): keel must stop it first.
VMM_TIMEOUT=150
L3_BASE_CMDLINE="$L3_BASE_CMDLINE panic=-1"
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
S=$W/qmp.sock
vmm_boot pvh 1 panic --qmp "unix:$S,server" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
n=0
while ! grep -q GUEST_PANICKED "$W/events.txt" && [ $n -lt 1000 ]; do
	n=$((n + 1))
	sleep 0.1
done
grep -q GUEST_PANICKED "$W/events.txt" || fail "no GUEST_PANICKED event within 100 s"
st=$(keelctl --json "$S" query-status) || fail "query-status failed: $st"
echo "$st" | grep -q '"status":"guest-panicked"' || fail "query-status after the panic: $st"
echo "$st" | grep -q '"running":false' || fail "query-status after the panic: $st"
sleep 1
kill -0 $boot 2>/dev/null || fail "keel ended after a panic under --on-panic pause"
keelctl "$S" dump-guest-memory paging=false "protocol=file:$W/dump.core" >"$W/dump.out" 2>&1 ||
	fail "dump-guest-memory failed: $(cat "$W/dump.out")"
magic=$(od -An -tx1 -N4 "$W/dump.core" | tr -d ' ')
etype=$(od -An -tu2 -j16 -N2 "$W/dump.core" | tr -d ' ')
phnum=$(od -An -tu2 -j56 -N2 "$W/dump.core" | tr -d ' ')
size=$(stat -c %s "$W/dump.core")
rm -f "$W/dump.core"
[ "$magic" = 7f454c46 ] || fail "dump-guest-memory file does not start with ELF magic: $magic"
[ "$etype" = 4 ] || fail "dump-guest-memory file e_type $etype, want 4 (ET_CORE)"
[ "$phnum" -ge 2 ] || fail "dump-guest-memory file has $phnum program headers"
[ "$size" -ge $((256 << 20)) ] || fail "dump-guest-memory file is $size bytes for 256 MiB"
info "dump-guest-memory: $size bytes, $phnum program headers"
keelctl "$S" quit >/dev/null || fail "quit failed"
wait $boot
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
grep -q 'L3: pvpanic-devices=1' "$W/vmm.txt" ||
	fail "the guest's pvpanic driver did not bind QEMU0001: $(grep 'L3: pvpanic' "$W/vmm.txt")"
grep -q 'L3: still-alive-after-panic' "$W/vmm.txt" && fail "sysrq c did not panic L3"
[ "$(grep -c KEEL-L3-INIT "$W/vmm.txt")" = 1 ] ||
	fail "L3 booted again after its panic (panic=-1 won the race against the pause)"
for e in 'GUEST_PANICKED action=pause' STOP 'SHUTDOWN guest=false reason=host-qmp-quit'; do
	grep -q " $e" "$W/events.txt" || fail "event '$e' not seen by keelctl events"
done
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after quit: $(grep '^vmm-watch:' "$W/watch.out")"
:
