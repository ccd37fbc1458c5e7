# qmp-basic: the QMP socket and keelctl seen from both sides (Documentation/qmp.md):
# stop freezes the L3 heartbeat and cont restarts it, system_reset boots L3 again,
# quit ends keel with exit 0; STOP/RESUME/POWERDOWN/RESET/SHUTDOWN reach an event client.
VMM_TIMEOUT=150
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
S=$W/qmp.sock
inits() { tr -d '\r' <"$W/vmm.log" | grep -c 'KEEL-L3-INIT'; }
# wait_for CMD N SECS: until $(CMD) >= N
wait_for()
{
	n=0
	while [ "$($1)" -lt "$2" ]; do
		n=$((n + 1))
		[ $n -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
vmm_boot pvh 1 qmp --qmp "unix:$S,server" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
wait_for ticks 3 90 || fail "L3 heartbeat never started"

st=$(keelctl "$S" query-status) || fail "query-status failed: $st"
echo "$st" | grep -q 'status: running' || fail "query-status while running said: $st"
keelctl "$S" query-cpus-fast | grep -q 'thread-id' || fail "query-cpus-fast has no thread-id"
# query-pci: the host bridge 8086:1237 (32902:4663) at slot 0
pci=$(keelctl --json "$S" query-pci) || fail "query-pci failed: $pci"
echo "$pci" | grep -q '"vendor":32902' || fail "query-pci has no host bridge: $pci"
echo "$pci" | grep -q '"device":4663' || fail "query-pci: no 8086:1237 function: $pci"
keelctl "$S" stop >/dev/null || fail "stop failed"
t1=$(ticks)
sleep 2
t2=$(ticks)
st=$(keelctl --json "$S" query-status)
echo "$st" | grep -q '"status":"paused"' || fail "query-status after stop said: $st"
[ "$t2" -le $((t1 + 1)) ] || fail "L3 ticked $((t2 - t1)) times in 2 s while stopped"
keelctl "$S" cont >/dev/null || fail "cont failed"
wait_for ticks $((t2 + 3)) 30 || fail "L3 heartbeat did not resume after cont"
t3=$(ticks)
info "heartbeat: $t1 ticks at stop, $t2 after 2 s stopped, $t3 after cont"

keelctl "$S" bogus-command 2>"$W/err.txt" && fail "an unknown command succeeded"
grep -q CommandNotFound "$W/err.txt" || fail "unknown command: $(cat "$W/err.txt")"
keelctl "$S" system_powerdown >/dev/null || fail "system_powerdown failed"
keelctl "$S" system_reset >/dev/null || fail "system_reset failed"
wait_for inits 2 90 || fail "L3 did not boot again after system_reset"
keelctl "$S" quit >/dev/null || fail "quit failed"
wait $boot
note "$(grep '^vmm-watch:' "$W/watch.out")"
n=0
while [ -S "$S" ] && [ $n -lt 20 ]; do n=$((n + 1)); sleep 0.1; done
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
for e in STOP RESUME POWERDOWN 'RESET guest=false reason=host-qmp-system-reset' \
	 'SHUTDOWN guest=false reason=host-qmp-quit'; do
	grep -q " $e" "$W/events.txt" || fail "event '$e' not seen by keelctl events"
done
[ -S "$S" ] && fail "the QMP socket is still there after quit"
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after quit: $(grep '^vmm-watch:' "$W/watch.out")"
:
