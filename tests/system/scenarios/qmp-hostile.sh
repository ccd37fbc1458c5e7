# qmp-hostile: hostile QMP clients (issue: "never a crash, a hang of the guest, or
# unbounded memory"): deep nesting, a huge document, bad UTF-8, wrong types and a
# client that connects and never reads while events flow. After each, keel still
# answers a normal client and the L3 heartbeat keeps ticking; keel's RSS stays bounded.
VMM_TIMEOUT=150
[ "$KEEL_VMM" = qemu ] && skip "keel's QMP server"
command -v keel-sockcat >/dev/null || fail "keel-sockcat is not in the L2 image"
S=$W/qmp.sock
rss_kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' /proc/"$pid"/status; }
alive()
{
	st=$(keelctl "$S" query-status 2>&1) || fail "after $1: query-status failed: $st"
	t=$(ticks)
	sleep 1.5
	[ "$(ticks)" -gt "$t" ] || fail "after $1: the L3 heartbeat stopped"
}
vmm_boot pvh 1 qmp --qmp "unix:$S,server" &
boot=$!
wait_ticks 3
keel_pid
rss0=$(rss_kb)

# 1. 100000 nested arrays after negotiation
{ echo '{"execute":"qmp_capabilities"}'; head -c 100000 /dev/zero | tr '\0' '['; } |
	keel-sockcat -w 5 -n 100 "$S" >"$W/nest.out" 2>&1
grep -q '"error"' "$W/nest.out" || note "nesting: $(head -c 300 "$W/nest.out")"
alive "deep nesting"
# 2. an 8 MiB string that never ends
{ printf '{"execute":"qmp_capabilities"}\n{"execute":"'; head -c 8388608 /dev/zero | tr '\0' 'a'; } |
	keel-sockcat -w 5 -n 100 "$S" >"$W/huge.out" 2>&1
alive "a huge document"
# 3. invalid UTF-8 and wrong argument types
{ echo '{"execute":"qmp_capabilities"}'; printf '{"execute":"\377\376"}\n';
  echo '{"execute":"stop","arguments":7}'; echo '{"execute":7}';
  echo '{"execute":"dump-guest-memory","arguments":{"paging":"x","protocol":[]}}'; } |
	keel-sockcat -w 5 -n 6 "$S" >"$W/types.out" 2>&1
errs=$(grep -c '"error"' "$W/types.out")
[ "$errs" -ge 4 ] || fail "bad UTF-8/types: $errs error replies, want 4: $(head -c 400 "$W/types.out")"
alive "bad UTF-8 and wrong types"
st=$(keelctl --json "$S" query-status)
echo "$st" | grep -q '"running":true' || fail "the guest is not running after the type errors: $st"
# 4. a client that never reads while keel sends it events (stop/cont pairs)
sleep 120 | keel-sockcat -w 120 -n 1000000 "$S" >/dev/null 2>&1 &
never=$!
echo $never >>"$W/pids"
sleep 1
kill -STOP $never
i=0
while [ $i -lt 100 ]; do
	keelctl "$S" stop >/dev/null && keelctl "$S" cont >/dev/null || fail "stop/cont $i failed"
	i=$((i + 1))
done
alive "a client that never reads"
kill -KILL $never 2>/dev/null
rss1=$(rss_kb)
info "keel RSS ${rss0} kB before, ${rss1} kB after the hostile clients; $errs error replies to bad types"
[ "$rss1" -lt $((rss0 + 65536)) ] || fail "keel grew from $rss0 to $rss1 kB"
keelctl "$S" quit >/dev/null || fail "quit failed"
wait $boot
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after quit: $(grep '^vmm-watch:' "$W/watch.out")"
