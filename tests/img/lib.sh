# Helpers for the image oracle tests (tests/img/README). Sourced by tests/img/run.
# shellcheck shell=bash

KEEL_IMG=${KEEL_IMG:-build/bin/keel-img}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}
img_n=0
img_fail=0

ok() { img_n=$((img_n + 1)); echo "ok $img_n - $1"; }
skip() { img_n=$((img_n + 1)); echo "ok $img_n - $1 # SKIP $2"; }
not_ok()
{
	img_n=$((img_n + 1)); img_fail=$((img_fail + 1))
	echo "not ok $img_n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | tail -15 | sed 's/^/#   /'
	return 0
}

has_format() { "$KEEL_IMG" --help 2>/dev/null | grep -q "^Supported formats:.* $1\b"; }

need_format()
{
	has_format "$1" && return 0
	skip "$img_case: format $1" "keel-img has no $1 driver yet"
	return 1
}

check()
{
	local desc=$1; shift
	if "$@" >"$T/log" 2>&1; then ok "$desc"; else not_ok "$desc" "$(echo "+ $*"; cat "$T/log")"; fi
}

check_rc()
{
	local desc=$1 want=$2 rc; shift 2
	"$@" >"$T/log" 2>&1; rc=$?
	if [ "$rc" = "$want" ]; then ok "$desc"
	else not_ok "$desc" "$(echo "+ $* (exit $rc, want $want)"; cat "$T/log")"; fi
}

check_same()
{
	if cmp "$2" "$3" >"$T/log" 2>&1; then ok "$1"; else not_ok "$1" "$(cat "$T/log")"; fi
}

qinfo()
{
	"$QEMU_IMG" info --output json ${3:+-f "$3"} "$1" | sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -1
}

# Sizes accepted as 64M etc.; patterns chosen to hit cluster/sector edges.
img_fill()
{
	local fmt=$1 img=$2 size bytes
	size=$3
	bytes=$(numfmt --from=iec "${size%B}")
	"$QEMU_IO" -f "$fmt" \
		-c "write -P 0x11 0 64k" \
		-c "write -P 0x22 $((bytes - 65536)) 64k" \
		-c "write -P 0x33 512 1536" \
		-c "write -P 0x44 $((bytes / 2 - 3072)) 7680" \
		-c "write -P 0x55 $((bytes / 3 / 512 * 512)) 1M" \
		-c "write -z $((bytes / 3 / 512 * 512 + 65536)) 128k" \
		-c "write -P 0x66 $((bytes / 4 / 512 * 512)) 192k" \
		-c "discard $((bytes / 4 / 65536 * 65536 + 65536)) 64k" \
		-c "write -P 0x77 $((bytes - 4096)) 4096" \
		"$img" >"$T/fill.log" 2>&1 || { cat "$T/fill.log" >&2; return 1; }
}

oracle_read()
{
	local desc=$1 fmt=$2 img=$3 ref="$T/ref.raw" out="$T/out.raw" log
	rm -f "$ref" "$out"
	if ! "$QEMU_IMG" convert -f "$fmt" -O raw "$img" "$ref" >"$T/log" 2>&1; then
		not_ok "$desc (qemu-img convert failed)" "$(cat "$T/log")"; return
	fi
	if ! log=$("$KEEL_IMG" convert -f "$fmt" -O raw "$img" "$out" 2>&1); then
		not_ok "$desc: keel-img convert" "$log"; return
	fi
	if ! log=$(cmp "$ref" "$out" 2>&1); then
		not_ok "$desc: bytes differ from qemu-img" "$log"; return
	fi
	if ! log=$("$KEEL_IMG" compare -f "$fmt" -F raw "$img" "$ref" 2>&1); then
		not_ok "$desc: keel-img compare" "$log"; return
	fi
	local kv qv
	kv=$("$KEEL_IMG" info --output json -f "$fmt" "$img" 2>&1 | sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p')
	qv=$(qinfo "$img" virtual-size "$fmt")
	if [ "$kv" != "$qv" ]; then
		not_ok "$desc: virtual size $kv, qemu-img says $qv"; return
	fi
	ok "$desc"
}

oracle_write()
{
	local desc=$1 fmt=$2 opts=$3 src=$4 out="$T/written.$2" log
	rm -f "$out"
	if ! log=$("$KEEL_IMG" convert -f raw -O "$fmt" ${opts:+-o "$opts"} "$src" "$out" 2>&1); then
		not_ok "$desc: keel-img convert" "$log"; return
	fi
	# raw has nothing to check (qemu-img check exits 63 on it)
	if [ "$fmt" != raw ] && ! log=$("$QEMU_IMG" check -f "$fmt" "$out" 2>&1); then
		not_ok "$desc: qemu-img check" "$log"; return
	fi
	if ! log=$("$QEMU_IMG" compare -f raw -F "$fmt" "$src" "$out" 2>&1); then
		not_ok "$desc: qemu-img compare" "$log"; return
	fi
	ok "$desc"
}

oracle_create()
{
	local desc=$1 fmt=$2 opts=$3 size=$4 out="$T/created.$2" log want
	rm -f "$out"
	if ! log=$("$KEEL_IMG" create -f "$fmt" ${opts:+-o "$opts"} "$out" "$size" 2>&1); then
		not_ok "$desc: keel-img create" "$log"; return
	fi
	if [ "$fmt" != raw ] && ! log=$("$QEMU_IMG" check -f "$fmt" "$out" 2>&1); then
		not_ok "$desc: qemu-img check" "$log"; return
	fi
	want=$(numfmt --from=iec "${size%B}")
	if [ "$(qinfo "$out" virtual-size)" != "$want" ]; then
		not_ok "$desc: virtual size $(qinfo "$out" virtual-size), want $want"; return
	fi
	ok "$desc"
}
