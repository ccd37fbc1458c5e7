# F33-pvpanic-restart: under --on-panic restart a guest panic resets the machine
# (GUEST_PANICKED action=run, RESET reason=guest-panic) and L3 boots again; the
# second boot panics too, and quit then ends keel with exit 0.
VMM_TIMEOUT=150
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
S=$W/qmp.sock
inits() { tr -d '\r' <"$W/vmm.log" | grep -c 'KEEL-L3-INIT'; }
panics() { grep -c 'GUEST_PANICKED' "$W/events.txt"; }
vmm_boot pvh 1 panic --on-panic restart --qmp "unix:$S,server" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
n=0
while [ "$(panics)" -lt 2 ] && [ $n -lt 1200 ]; do n=$((n + 1)); sleep 0.1; done
[ "$(panics)" -ge 2 ] || fail "$(panics) GUEST_PANICKED events in 120 s, want 2 (one per boot)"
[ "$(inits)" -ge 2 ] || fail "L3 booted $(inits) times, want 2"
keelctl "$S" quit >/dev/null || fail "quit failed"
wait $boot
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
for e in 'GUEST_PANICKED action=run' 'RESET guest=true reason=guest-panic' \
	 'SHUTDOWN guest=false reason=host-qmp-quit'; do
	grep -q " $e" "$W/events.txt" || fail "event '$e' not seen by keelctl events"
done
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after quit: $(grep '^vmm-watch:' "$W/watch.out")"
:
