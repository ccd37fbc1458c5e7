# bad-cmdline: keel rejects each bad command line with exit code 2 and exactly one
# line on stderr, never a crash (keel-run CLI).
[ "$KEEL_VMM" = keel ] || skip "tests keel's own command line"
K=/keel/l3/vmlinux
echo 'not a kernel at all' >"$W/junk"
: >"$W/unreadable"
chmod 000 "$W/unreadable"
# root reads anything: run the "unreadable" case as nobody
grep -q '^nobody:' /etc/passwd 2>/dev/null ||
	echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
chmod 666 /dev/kvm 2>/dev/null
bad=0
# one case per line: label | arguments (eval'd) | nobody (run as nobody)
cat >"$W/cases" <<CASES
missing kernel|run --kernel $W/nonexistent
no --kernel|run --memory 256M
unreadable kernel|run --kernel $W/unreadable|nobody
non-kernel file|run --kernel $W/junk
directory as kernel|run --kernel /keel
missing initrd|run --kernel $K --initrd $W/nonexistent
memory 0|run --kernel $K --memory 0
memory 100T|run --kernel $K --memory 100T
memory junk|run --kernel $K --memory 12Q
cpus 0|run --kernel $K --cpus 0
cpus 100000|run --kernel $K --cpus 100000
cpus junk|run --kernel $K --cpus two
cpus negative|run --kernel $K --cpus -1
unknown option|run --kernel $K --frobnicate
missing value|run --kernel $K --memory
missing value at end|run --kernel
bad serial|run --kernel $K --serial bogus:thing
unknown command|frobnicate
CASES
while IFS='|' read -r label args prefix; do
	if [ "$prefix" = nobody ]; then
		timeout -s KILL 20 su -s /bin/sh nobody -c "$(command -v keel) $args" \
			</dev/null >"$W/out.txt" 2>"$W/err.txt"
	else
		eval "timeout -s KILL 20 keel $args" </dev/null >"$W/out.txt" 2>"$W/err.txt"
	fi
	rc=$?
	lines=$(wc -l <"$W/err.txt")
	first=$(head -n1 "$W/err.txt")
	if [ "$rc" = 2 ] && [ "$lines" = 1 ]; then
		info "ok: $label: exit 2: $first"
	else
		info "FAILED: $label (keel $args): exit $rc, $lines stderr line(s): $first"
		bad=$((bad + 1))
	fi
done <"$W/cases"
ls core* "$W"/core* >/dev/null 2>&1 && fail "a core file was left behind"
[ "$bad" = 0 ] || fail "$bad bad command line(s) not rejected with exit 2 and one stderr line"
:
