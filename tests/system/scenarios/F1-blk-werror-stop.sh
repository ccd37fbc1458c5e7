# F1-blk-werror-stop: a raw image on a 10 MiB tmpfs, werror=stop, served by an I/O
# thread. L3 writes 16 MiB: ENOSPC holds the writes and pauses the machine
# (BLOCK_IO_ERROR nospace=true, STOP, query-status paused, query-block io-status
# failed); the tmpfs then grows, QMP cont re-submits the held writes, and L3 finishes
# with its pattern intact in the file, never having seen an error. query-blockstats
# counts the failed write.
[ "$KEEL_VMM" = qemu ] && skip "the harness passes no QMP socket to QEMU"
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
VMM_TIMEOUT=400
S=$W/qmp.sock
mkdir -p "$W/small"
mount -t tmpfs -o size=10m tmpfs "$W/small" || fail "cannot mount a small tmpfs"
img=$W/small/disk.raw
truncate -s 64M "$img"
L3_CMDLINE_EXTRA="keel.seed=21 keel.mib=16"
vmm_boot pvh 1 pattern-write --qmp "unix:$S,server" --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,werror=stop" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "no QMP socket"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
n=0
while ! grep -q BLOCK_IO_ERROR "$W/events.txt" && [ $n -lt 2500 ]; do n=$((n + 1)); sleep 0.1; done
grep -q BLOCK_IO_ERROR "$W/events.txt" || fail "no BLOCK_IO_ERROR within 250 s"
sleep 1
st=$(keelctl --json "$S" query-status)
qb=$(keelctl --json "$S" query-block)
info "after the error: $st"
echo "$st" | grep -q '"running":false' || fail "still running after werror=stop: $st"
echo "$qb" | grep -q '"io-status":"failed"' || fail "query-block io-status is not failed: $qb"
grep -q ' STOP' "$W/events.txt" || fail "no STOP event after BLOCK_IO_ERROR"
bs=$(keelctl --json "$S" query-blockstats)
info "query-blockstats: $bs"
echo "$bs" | grep -qE '"failed_wr_operations":[1-9]' ||
	fail "query-blockstats does not count the failed write: $bs"
echo "$bs" | grep -qE '"wr_operations":[1-9]' || fail "query-blockstats counts no write: $bs"
grep -q 'BLOCK_IO_ERROR.*operation=write.*action=stop.*nospace=true' "$W/events.txt" ||
	fail "BLOCK_IO_ERROR does not say write/stop/nospace: $(grep BLOCK_IO "$W/events.txt" | head -n 1)"
mount -o remount,size=80m "$W/small" || fail "cannot grow the tmpfs"
keelctl "$S" cont >/dev/null || fail "cont failed"
wait $boot
sed 's/^/## event: /' "$W/events.txt" | head -n 3
grep -q ' RESUME' "$W/events.txt" || fail "no RESUME event after cont"
grep 'L3: pattern' "$W/vmm.txt" | sed 's/^/## /'
grep -q 'L3: pattern ok 16' "$W/vmm.txt" || fail "L3 did not finish its pattern after cont"
disk_raw_check "$img" 21 16 || { umount "$W/small"; fail "the image does not hold L3's pattern"; }
umount "$W/small"
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0: $(grep '^vmm-watch:' "$W/watch.out")"
:
