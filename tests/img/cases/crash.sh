# Crash test: kill -9 keel-img while it writes qcow2 images, many times; qemu-img check
# must never find corruption (leaked clusters are allowed: exit 0 or 3). With lazy
# refcounts the image is first repaired by keel-img check -r all, then checked.
# shellcheck shell=bash
crash_iters=30
[ -n "${KEEL_IMG_QUICK:-}" ] && crash_iters=8

crash_writable()
{
	qemu-img create -q -f raw "$T/probe.raw" 1M
	"$KEEL_IMG" convert -f raw -O qcow2 "$T/probe.raw" "$T/probe.qcow2" >"$T/log" 2>&1 &&
		qemu-img check -q -f qcow2 "$T/probe.qcow2" >>"$T/log" 2>&1
}

if ! has_format qcow2; then
	skip "crash test (kill -9 of qcow2 writers)" "keel-img has no qcow2 driver yet"
	return 0
fi
if ! crash_writable; then
	skip "crash test (kill -9 of qcow2 writers)" "keel-img cannot write qcow2 yet: $(head -1 "$T/log")"
	return 0
fi

# a source with data, holes and zero runs
qemu-img create -q -f raw "$T/src.raw" 256M
for i in $(seq 0 40); do
	dd if=/dev/urandom of="$T/src.raw" bs=64k count=$((RANDOM % 48 + 1)) \
		seek=$((RANDOM % 3900)) conv=notrunc 2>/dev/null
done

# how long a whole convert takes, to spread the kills over it
t0=$(date +%s%N)
"$KEEL_IMG" convert -f raw -O qcow2 -o cluster_size=4k "$T/src.raw" "$T/full.qcow2" >/dev/null 2>&1
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$span_ms" -lt 20 ] && span_ms=20

crash_one()	# $1 = image, rest = writer command; sets crash_bad / crash_leaky / crash_alive
{
	local img=$1 pid rc; shift
	"$@" >"$T/writer.log" 2>&1 &
	pid=$!
	sleep "$(awk -v r=$RANDOM -v s="$span_ms" 'BEGIN { printf "%.3f", r / 32768 * s * 0.6 / 1000 }')"
	kill -0 "$pid" 2>/dev/null && crash_alive=$((crash_alive + 1))
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e "$img" ] || return 0
	if [ -n "${crash_repair:-}" ]; then
		# lazy refcounts: refcounts are stale by design until repaired
		"$KEEL_IMG" check -r all -f qcow2 "$img" >"$T/repair.log" 2>&1
		rc=$?
		if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
			crash_bad=$((crash_bad + 1)); cp "$img" "$T/corrupt-$crash_bad.qcow2"
			crash_diag="$crash_diag$(printf '\nkeel-img check -r all exit %s:\n' "$rc"; head -8 "$T/repair.log")"
			return 0
		fi
	fi
	qemu-img check -f qcow2 "$img" >"$T/check.log" 2>&1
	rc=$?
	case $rc in
	0) ;;
	3) crash_leaky=$((crash_leaky + 1)) ;;
	*) crash_bad=$((crash_bad + 1)); cp "$img" "$T/corrupt-$crash_bad.qcow2"
	   crash_diag="$crash_diag$(printf '\nqemu-img check exit %s on %s:\n' "$rc" "$*"; head -8 "$T/check.log")" ;;
	esac
}

for mode in convert convert-4k bench-write bench-write-lazy; do
	crash_bad=0 crash_leaky=0 crash_alive=0 crash_diag="" crash_repair=""
	[ $mode = bench-write-lazy ] && crash_repair=1
	for i in $(seq 1 "$crash_iters"); do
		rm -f "$T/w.qcow2"
		case $mode in
		convert) crash_one "$T/w.qcow2" "$KEEL_IMG" convert -f raw -O qcow2 "$T/src.raw" "$T/w.qcow2" ;;
		convert-4k) crash_one "$T/w.qcow2" "$KEEL_IMG" convert -f raw -O qcow2 -o cluster_size=4k "$T/src.raw" "$T/w.qcow2" ;;
		bench-write)
			qemu-img create -q -f qcow2 -o cluster_size=4k "$T/w.qcow2" 256M
			crash_one "$T/w.qcow2" "$KEEL_IMG" bench -q -w -r -c 100000000 -d 32 -s 4k -f qcow2 "$T/w.qcow2" ;;
		bench-write-lazy)
			qemu-img create -q -f qcow2 -o cluster_size=4k,lazy_refcounts=on "$T/w.qcow2" 256M
			crash_one "$T/w.qcow2" "$KEEL_IMG" bench -q -w -r -c 100000000 -d 32 -s 4k -f qcow2 "$T/w.qcow2" ;;
		esac
	done
	desc="crash test $mode: $crash_iters kills ($crash_alive mid-write), $crash_bad corrupt, $crash_leaky with leaks"
	if [ "$crash_bad" -ne 0 ]; then
		not_ok "$desc" "$crash_diag"
	elif [ "$crash_alive" -lt $((crash_iters / 3)) ]; then
		not_ok "$desc" "too few kills hit a running writer; the test proves nothing"
	else
		ok "$desc"
	fi
done
