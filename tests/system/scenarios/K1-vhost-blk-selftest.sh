# K1-vhost-blk-selftest: insmod vhost-blk.ko into L2's kernel, run the kselftest-style
# tests/selftests/vhost-blk on a tmpfs file (buffered I/O) and on a loop device opened
# O_DIRECT (asynchronous direct I/O), then rmmod; dmesg must show no oops, BUG or
# WARNING. Does not boot L3.
K=/keel/kmod
[ -f $K/vhost-blk.ko ] || fail "no vhost-blk.ko in L2: $(grep '^build' $K/result 2>/dev/null)"
[ -x $K/vhost_blk_test ] || fail "no selftest binary in L2"
before=$(dmesg | wc -l)
insmod $K/vhost-blk.ko 2>"$W/insmod.err" || fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
[ -c /dev/vhost-blk ] || fail "insmod ok but no /dev/vhost-blk"
info "vhost-blk loaded, kernel taint $(cat /proc/sys/kernel/tainted)"

# k1_run NAME ARGS...: one selftest run; its TAP lines are kept in $W/NAME.tap
k1_run()
{
	name=$1
	shift
	$K/vhost_blk_test "$@" >"$W/$name.tap" 2>&1
	rc=$?
	# the whole TAP stream goes to L2's console (build/test-logs/system-console.log)
	sed "s/^/vhost-blk-selftest $name: /" "$W/$name.tap" >/dev/console 2>/dev/null
	pass=$(grep -c '^ok ' "$W/$name.tap")
	nok=$(grep -c '^not ok ' "$W/$name.tap")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$W/$name.tap" | head -n1)
	info "selftest on $name: $pass passed, $nok failed of ${plan:-?} (exit $rc)"
	grep '^not ok ' "$W/$name.tap" | head -n 20 | sed 's/^/# /'
	[ "$rc" = 0 ] && [ "$nok" = 0 ] && [ -n "$plan" ] && [ "$plan" -gt 0 ] &&
		[ "$pass" = "$plan" ]
}

bad=""
k1_run tmpfs-file || bad="$bad tmpfs-file"
# a block device opened O_DIRECT: loop over a tmpfs file (tmpfs has no O_DIRECT)
[ -e /dev/loop-control ] || insmod $K/loop.ko 2>/dev/null
truncate -s 64M /tmp/k1-disk.img
dev=$(losetup -f)
if [ -n "$dev" ] && losetup "$dev" /tmp/k1-disk.img; then
	k1_run loop-odirect -d "$dev" || bad="$bad loop-odirect"
	losetup -d "$dev"
else
	bad="$bad loop-setup"
	note "no loop device: $(ls /dev/loop* 2>&1 | head -n 3)"
fi
rm -f /tmp/k1-disk.img

# leaks: the module's live device and request counts must be back to zero, and the
# kernel's unreclaimable slab + vmalloc use must not grow over 100 open/close cycles
# (each opens 6 devices with requests in flight; growth seen without a leak: <600 kB)
k1_mem() { awk '/^SUnreclaim:|^VmallocUsed:/ { s += $2 } END { print s }' /proc/meminfo; }
$K/vhost_blk_test -c 20 >/dev/null 2>&1
m0=$(k1_mem)
k1_run cycles -c 100 || bad="$bad cycles"
m1=$(k1_mem)
info "unreclaimable slab + vmalloc: $m0 kB before 100 cycles, $m1 kB after ($((m1 - m0)) kB)"
[ $((m1 - m0)) -lt 1536 ] || bad="$bad grew-$((m1 - m0))kB-in-100-cycles"
P=/sys/module/vhost_blk/parameters
live="$(cat $P/live_devices 2>&1) $(cat $P/live_requests 2>&1)"
info "live devices and requests with every fd closed: $live"
[ "$live" = "0 0" ] || bad="$bad live-objects($live)"

# every fd is closed now: no worker may be left
left=$(ps | grep -c '\[vhost-blk-[0-9]')
[ "$left" = 0 ] || bad="$bad $left-workers-left"
rmmod vhost_blk 2>"$W/rmmod.err" || bad="$bad rmmod($(cat "$W/rmmod.err"))"
[ -c /dev/vhost-blk ] && bad="$bad /dev/vhost-blk-still-there"
dmesg | tail -n +$((before + 1)) >"$W/dmesg.txt"
n=$(grep -c 'vhost-blk: queue' "$W/dmesg.txt")
info "vhost-blk logged $n queue-stopped lines (ratelimited); first:" \
     "$(grep -m1 'vhost-blk: queue' "$W/dmesg.txt" | sed 's/^\[[^]]*\] //')"
if grep -qE 'BUG|WARNING|Oops|general protection|RIP:|Call Trace|refcount_t|UBSAN|KASAN|hung_task|blocked for more' \
	"$W/dmesg.txt"; then
	grep -E 'BUG|WARNING|Oops|general protection|RIP:|Call Trace|refcount_t|UBSAN|KASAN|blocked' \
		"$W/dmesg.txt" | head -n 15 | sed 's/^/# /'
	bad="$bad dmesg-problems"
fi
[ -z "$bad" ] || fail "vhost-blk selftest:$bad"
:
