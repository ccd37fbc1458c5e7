# qmp-poweroff: a guest power-off (poweroff -f in L3, ACPI S5) sends SHUTDOWN
# {"guest": true, "reason": "guest-shutdown"} to a QMP client before keel exits 0.
VMM_TIMEOUT=90
S=$W/qmp.sock
vmm_boot pvh 1 poweroff --qmp "unix:$S" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl --json "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
wait $boot
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after the guest's poweroff: $(grep '^vmm-watch:' "$W/watch.out")"
grep -q '"event":"SHUTDOWN"' "$W/events.txt" || fail "no SHUTDOWN event"
grep '"event":"SHUTDOWN"' "$W/events.txt" | grep -q '"guest":true' ||
	fail "SHUTDOWN does not say guest: true"
grep '"event":"SHUTDOWN"' "$W/events.txt" | grep -q '"reason":"guest-shutdown"' ||
	fail "SHUTDOWN reason is not guest-shutdown"
:
