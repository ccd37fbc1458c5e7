# Host side of the nested harness: start L2 (QEMU-TCG with nested SVM, TESTING.md),
# read its console line by line with a silence watchdog, stop it. Sourced by bash.
# Needs img_all (images.sh) to have set VMLINUZ and L2_INITRD.

L2_WATCHDOG=${KEEL_SYSTEM_WATCHDOG:-120}
L2_ECHO=${L2_ECHO:-0}

# l2_start "KERNEL ARGS": boot L2 as a coprocess; its console is read by l2_readline.
l2_start()
{
	# nokaslr: kernel addresses stay the same from one L2 boot to the next, so
	# the RIPs of a hung L2 can be named by the next boot (keel.hangrips=).
	local append="console=ttyS0 quiet panic=-1 nokaslr $1"
	L2_MON=${IMG_RUN_DIR:-/tmp}/l1-monitor.$$
	echo "# qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 3072 -smp 2" \
	     "-nographic -no-reboot -kernel $VMLINUZ -initrd $L2_INITRD -append \"$append\""
	coproc L2 { exec qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 3072 -smp 2 \
		-nographic -no-reboot -kernel "$VMLINUZ" -initrd "$L2_INITRD" \
		-append "$append" -monitor "unix:$L2_MON,server,nowait" </dev/null 2>&1; }
	L2_QEMU_PID=$L2_PID
	exec {L2_FD}<&"${L2[0]}"
}

# l2_readline VAR: 0 = a line (also appended to $console, and shown when L2_ECHO=1),
# 1 = L2 ended, 2 = nothing for $L2_WATCHDOG seconds.
l2_readline()
{
	local -n out=$1
	local l st
	IFS= read -r -t "$L2_WATCHDOG" -u "$L2_FD" l
	st=$?
	if [ $st -gt 128 ]; then
		return 2
	fi
	if [ $st -ne 0 ] && [ -z "$l" ]; then
		return 1
	fi
	l=${l//$'\r'/}
	printf '%s\n' "$l" >>"${console:-/dev/null}"
	[ "$L2_ECHO" = 1 ] && printf '%s\n' "$l"
	out=$l
	return 0
}

# l2_where: on a hang, ask L1's monitor where L2's vCPUs are (Debian ships no real
# System.map: the RIPs go to the log and to L2_HANG_RIPS, which the next L2 boot
# turns into symbols from its /proc/kallsyms; the full register dump to $console).
l2_where()
{
	local rip
	command -v python3 >/dev/null && [ -S "${L2_MON:-}" ] || return 0
	python3 - "$L2_MON" >"${L2_MON}.regs" 2>/dev/null <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(b"info registers -a\n")
out, end = b"", time.time() + 5
while time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
	cat "${L2_MON}.regs" >>"${console:-/dev/null}"
	L2_HANG_RIPS=
	for rip in $(grep -o 'RIP=[0-9a-f]*' "${L2_MON}.regs" | cut -d= -f2); do
		echo "# L2 vCPU at RIP $rip"
		L2_HANG_RIPS+="${L2_HANG_RIPS:+,}$rip"
	done
}

l2_kill()
{
	[ -n "${L2_QEMU_PID:-}" ] && kill -9 "$L2_QEMU_PID" 2>/dev/null
}

l2_wait()
{
	[ -n "${L2_QEMU_PID:-}" ] && wait "$L2_QEMU_PID" 2>/dev/null
	[ -n "${L2_FD:-}" ] && exec {L2_FD}<&-
	L2_QEMU_PID= L2_FD=
}
