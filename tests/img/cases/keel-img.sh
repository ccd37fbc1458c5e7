# keel-img as a tool: JSON output field by field against qemu-img, convert -B/-n/-o,
# create from a backing file, progress, --help of every command, exit codes.
# shellcheck shell=bash

for cmd in create info check convert compare resize snapshot bench; do
	"$KEEL_IMG" "$cmd" --help >"$T/log" 2>&1
	if [ $? = 0 ] && grep -q "usage: keel-img $cmd" "$T/log"; then ok "$cmd --help"
	else not_ok "$cmd --help" "$(cat "$T/log")"; fi
done
check_rc "unknown command: exit 1" 1 "$KEEL_IMG" frobnicate
check_rc "no command: exit 1" 1 "$KEEL_IMG"

# info --output json agrees with qemu-img on every field both print
json_same()	# desc img
{
	"$KEEL_IMG" info --output json "$2" >"$T/k.json" 2>"$T/log"
	"$QEMU_IMG" info --output json "$2" >"$T/q.json" 2>>"$T/log"
	if python3 - "$T/k.json" "$T/q.json" >>"$T/log" 2>&1 <<'PY'
import json, sys
k = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))
bad = []
for f in ("virtual-size", "format", "cluster-size", "backing-filename",
          "backing-filename-format", "dirty-flag"):
    if k.get(f) != q.get(f):
        bad.append("%s: keel %r qemu %r" % (f, k.get(f), q.get(f)))
if abs(k["actual-size"] - q["actual-size"]) > 1 << 20:
    bad.append("actual-size: keel %r qemu %r" % (k["actual-size"], q["actual-size"]))
kf = k.get("format-specific", {}).get("data", {})
for key, v in q.get("format-specific", {}).get("data", {}).items():
    if key in ("bitmaps",):
        continue
    if kf.get(key) != v:
        bad.append("format-specific %s: keel %r qemu %r" % (key, kf.get(key), v))
ks = [(s["id"], s["name"], s["date-sec"]) for s in k.get("snapshots", [])]
qs = [(s["id"], s["name"], s["date-sec"]) for s in q.get("snapshots", [])]
if ks != qs:
    bad.append("snapshots: keel %r qemu %r" % (ks, qs))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	then ok "$1"; else not_ok "$1" "$(cat "$T/log")"; fi
}

qemu-img create -q -f raw "$T/plain.raw" 5M
json_same "info json = qemu-img's: raw" "$T/plain.raw"
if has_format qcow2; then
	qemu-img create -q -f qcow2 -o cluster_size=4k,lazy_refcounts=on,refcount_bits=8 "$T/a.qcow2" 32M
	qemu-io -c "write -P 1 0 1M" "$T/a.qcow2" >/dev/null
	qemu-img snapshot -c snap1 "$T/a.qcow2"
	json_same "info json = qemu-img's: qcow2 with options and a snapshot" "$T/a.qcow2"
	qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 "$T/b.qcow2"
	json_same "info json = qemu-img's: qcow2 overlay" "$T/b.qcow2"
	"$KEEL_IMG" info --backing-chain --output json "$T/b.qcow2" >"$T/chain.json" 2>"$T/log"
	if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==2 and d[1]['format']=='qcow2'" "$T/chain.json" 2>>"$T/log"
	then ok "info --backing-chain --output json lists both images"
	else not_ok "info --backing-chain --output json" "$(cat "$T/chain.json" "$T/log")"; fi
	"$KEEL_IMG" check --output json "$T/a.qcow2" >"$T/check.json" 2>"$T/log"
	if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['check-errors']==0 and d['format']=='qcow2' and 'corruptions' not in d" "$T/check.json" 2>>"$T/log"
	then ok "check --output json on a clean image"
	else not_ok "check --output json" "$(cat "$T/check.json" "$T/log")"; fi

	# create from a backing file without a size takes its size
	check "create -b without a size" "$KEEL_IMG" create -q -f qcow2 -b a.qcow2 -F qcow2 "$T/c.qcow2"
	[ "$(qinfo "$T/c.qcow2" virtual-size)" = $((32 << 20)) ] && ok "... takes the backing size" ||
		not_ok "... takes the backing size" "$(qinfo "$T/c.qcow2" virtual-size)"

	# convert -B: the output is an overlay holding only the differences
	qemu-img create -q -f raw "$T/base.raw" 16M
	qemu-io -f raw -c "write -P 0x31 0 16M" "$T/base.raw" >/dev/null
	cp "$T/base.raw" "$T/new.raw"
	qemu-io -f raw -c "write -P 0x32 4M 64k" -c "write -z 8M 1M" "$T/new.raw" >/dev/null
	rm -f "$T/ov.qcow2"
	check "convert -B base.raw -F raw" "$KEEL_IMG" convert -f raw -O qcow2 -B base.raw -F raw "$T/new.raw" "$T/ov.qcow2"
	check "... qemu-img check" qemu-img check "$T/ov.qcow2"
	check "... qemu-img compare with the source" qemu-img compare -F raw "$T/ov.qcow2" "$T/new.raw"
	alloc=$(qemu-img map --output json "$T/ov.qcow2" | python3 -c "import json,sys; print(sum(e['length'] for e in json.load(sys.stdin) if e['depth']==0))")
	if [ "$alloc" -le $((2 << 20)) ]; then ok "... and holds only the differences ($alloc bytes)"
	else not_ok "... and holds only the differences" "$alloc bytes allocated in the overlay"; fi

	# -o options reach the qcow2 driver; -p prints progress
	rm -f "$T/o.qcow2"
	"$KEEL_IMG" convert -p -f raw -O qcow2 -o cluster_size=16k,refcount_bits=4 "$T/new.raw" "$T/o.qcow2" >"$T/progress" 2>"$T/log"
	[ "$(qinfo "$T/o.qcow2" cluster-size)" = 16384 ] && ok "convert -o cluster_size=16k" || not_ok "convert -o cluster_size=16k" "$(cat "$T/log")"
	grep -q "(100.00/100%)" "$T/progress" && ok "convert -p ends at 100%" || not_ok "convert -p ends at 100%" "$(od -c "$T/progress" | head)"
	check_rc "convert -o with an unknown option fails" 1 "$KEEL_IMG" convert -f raw -O qcow2 -o nonsense=1 "$T/new.raw" "$T/bad.qcow2"
	[ ! -e "$T/bad.qcow2" ] && ok "... and leaves no file" || not_ok "... and leaves no file"
fi
check_rc "snapshot on raw: exit 1" 1 "$KEEL_IMG" snapshot -c s "$T/plain.raw"
check_rc "check -r with a bad mode: exit 1" 1 "$KEEL_IMG" check -r some "$T/plain.raw"
check_rc "convert to a read-only format is refused" 1 "$KEEL_IMG" convert -f raw -O vpc "$T/plain.raw" "$T/x.vhd"
