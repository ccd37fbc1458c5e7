# F33-pvpanic-poweroff: a guest panic under --on-panic poweroff ends keel with exit 0,
# after GUEST_PANICKED action=poweroff and SHUTDOWN reason=guest-panic on the socket.
VMM_TIMEOUT=150
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
S=$W/qmp.sock
vmm_boot pvh 1 panic --on-panic poweroff --qmp "unix:$S,server" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
wait $boot
tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
grep -q 'L3: panicking' "$W/vmm.txt" || fail "L3 never reached its panic"
grep -q 'L3: still-alive-after-panic' "$W/vmm.txt" && fail "sysrq c did not panic L3"
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after the panic: $(grep '^vmm-watch:' "$W/watch.out")"
for e in 'GUEST_PANICKED action=poweroff' 'SHUTDOWN guest=true reason=guest-panic'; do
	grep -q " $e" "$W/events.txt" || fail "event '$e' not seen by keelctl events"
done
:
