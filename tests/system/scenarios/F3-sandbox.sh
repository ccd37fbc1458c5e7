# F3-sandbox: keel runs sandboxed by default: every keel thread (main loop, vCPUs,
# I/O threads) shows "Seccomp: 2" in /proc while a guest with a disk runs and is
# driven over QMP, the run ends normally; and a forbidden system call made on
# purpose (KEEL_SANDBOX_SELFTEST, a test-only hook) kills keel with a log line that
# names the call and the thread's role.
VMM_TIMEOUT=150
SANDBOX_OPT=  # the default is on; F3 checks that it is
# A disk on an I/O thread: L3's virtio-blk driver reads its partition table there.
truncate -s 16M "$W/d.raw"
DISK_OPTS="--iothread id=io0 --disk path=$W/d.raw,format=raw,iothread=io0"
[ "$KEEL_VMM" = qemu ] && skip "the sandbox is keel's own"
S=$W/qmp.sock
vmm_boot pvh 2 qmp --qmp "unix:$S,server" $SANDBOX_OPT $DISK_OPTS &
boot=$!
wait_ticks 3
keel_pid
threads=0 bad=
for st in /proc/"$pid"/task/*/status; do
	threads=$((threads + 1))
	name=$(sed -n 's/^Name:\t//p' "$st")
	mode=$(sed -n 's/^Seccomp:\t//p' "$st")
	[ "$mode" = 2 ] || bad="$bad $name=$mode"
done
info "keel pid $pid: $threads threads, seccomp modes checked"
[ -z "$bad" ] || fail "threads not in seccomp filter mode 2:$bad"
[ "$threads" -ge 4 ] || fail "only $threads keel threads (want main, 2 vCPUs, iothread-io0)"
grep -q '^iothread-io0$' /proc/"$pid"/task/*/comm || fail "no iothread-io0 thread in keel"
keelctl "$S" query-status >/dev/null || fail "query-status failed under the sandbox"
keelctl "$S" quit >/dev/null || fail "quit failed under the sandbox"
wait $boot
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after quit under the sandbox: $(grep '^vmm-watch:' "$W/watch.out")"
grep -q 'forbidden system call' "$W/vmm.txt" && fail "the sandbox tripped in a normal run"

# The kill path, once per thread role (io: the I/O thread, at its start).
for role in vcpu main io; do
	export KEEL_SANDBOX_SELFTEST=$role
	vmm_boot pvh 1 info $SANDBOX_OPT $DISK_OPTS
	unset KEEL_SANDBOX_SELFTEST
	[ "$VMM_RC" = 124 ] && fail "$role: keel still running after ${VMM_TIMEOUT}s"
	[ "$VMM_RC" = $((128 + 31)) ] ||
		fail "$role: keel exited $VMM_RC after a forbidden call (want 159, SIGSYS)"
	expect_line "a $role thread made a forbidden system call: reboot" \
		"$role: no sandbox log line naming the call"
	info "$role: killed by SIGSYS with: $(grep -m1 'forbidden system call' "$W/vmm.txt")"
done
