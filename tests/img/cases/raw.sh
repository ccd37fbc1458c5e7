# Oracle cases for the raw driver, the generic block layer and keel-img's commands.
# shellcheck shell=bash
need_format raw || return 0

for p in off falloc full; do
	oracle_create "raw create preallocation=$p" raw "preallocation=$p" 24M
done
alloc=$(stat -c %b "$T/created.raw")
if [ $((alloc * 512)) -ge $((24 << 20)) ]; then ok "raw preallocation=full allocates"
else not_ok "raw preallocation=full allocates" "only $((alloc * 512)) bytes"; fi
check_rc "create with an unknown option fails" 1 "$KEEL_IMG" create -f raw -o bogus=1 "$T/x.raw" 1M
check_rc "create without a size fails" 1 "$KEEL_IMG" create -f raw "$T/x.raw"

qemu-img create -q -f raw "$T/src.raw" 64M
img_fill raw "$T/src.raw" 64M
oracle_read "raw read of a qemu-io pattern image" raw "$T/src.raw"
oracle_write "raw write through convert" raw "" "$T/src.raw"
for aio in io_uring native threads; do
	rm -f "$T/aio.raw"
	"$KEEL_IMG" convert -i "$aio" -f raw -O raw "$T/src.raw" "$T/aio.raw" >"$T/log" 2>&1
	check_same "convert with aio=$aio is exact" "$T/src.raw" "$T/aio.raw"
done
a_src=$(stat -c %b "$T/src.raw") a_out=$(stat -c %b "$T/aio.raw")
if [ "$a_out" -le "$a_src" ]; then ok "convert output is sparse ($a_out <= $a_src blocks)"
else not_ok "convert output is sparse" "$a_out > $a_src blocks"; fi

if dd if=/dev/zero of="$T/direct" bs=4096 count=1 oflag=direct 2>/dev/null; then
	rm -f "$T/direct.raw"
	"$KEEL_IMG" convert -t none -T none -f raw -O raw "$T/src.raw" "$T/direct.raw" >"$T/log" 2>&1
	check_same "convert with cache=none (O_DIRECT) is exact" "$T/src.raw" "$T/direct.raw"
	"$KEEL_IMG" convert -t none -i native -f raw -O raw "$T/src.raw" "$T/direct.raw" >"$T/log" 2>&1
	check_same "convert with cache=none aio=native is exact" "$T/src.raw" "$T/direct.raw"
else
	skip "convert with cache=none" "filesystem of $T has no O_DIRECT"
	skip "convert with cache=none aio=native" "filesystem of $T has no O_DIRECT"
fi

# concatenation of several sources, as qemu-img does it
qemu-img create -q -f raw "$T/s2.raw" 3M
qemu-io -f raw -c "write -P 0x99 1000 5000" "$T/s2.raw" >/dev/null
qemu-img convert -f raw -O raw "$T/src.raw" "$T/s2.raw" "$T/cat-ref.raw"
"$KEEL_IMG" convert -f raw -O raw "$T/src.raw" "$T/s2.raw" "$T/cat.raw" >"$T/log" 2>&1
check_same "convert concatenates several sources like qemu-img" "$T/cat-ref.raw" "$T/cat.raw"

# -n into an existing image full of junk: zero areas must be zeroed
qemu-img create -q -f raw "$T/junk.raw" 64M
qemu-io -f raw -c "write -P 0xee 0 64M" "$T/junk.raw" >/dev/null
"$KEEL_IMG" convert -n -f raw -O raw "$T/src.raw" "$T/junk.raw" >"$T/log" 2>&1
check_same "convert -n overwrites an existing image exactly" "$T/src.raw" "$T/junk.raw"

# compare exit codes
cp "$T/src.raw" "$T/cmp.raw"
check_rc "compare identical: exit 0" 0 "$KEEL_IMG" compare -f raw -F raw "$T/src.raw" "$T/cmp.raw"
qemu-io -f raw -c "write -P 0x01 40M 1" "$T/cmp.raw" >/dev/null
check_rc "compare different: exit 1" 1 "$KEEL_IMG" compare -f raw "$T/src.raw" "$T/cmp.raw"
"$KEEL_IMG" compare -f raw "$T/src.raw" "$T/cmp.raw" >"$T/k.out" 2>&1
qemu-img compare -f raw "$T/src.raw" "$T/cmp.raw" >"$T/q.out" 2>&1
check_same "compare reports the mismatch offset as qemu-img" "$T/q.out" "$T/k.out"
check_rc "compare with a missing file: exit 2" 2 "$KEEL_IMG" compare "$T/src.raw" "$T/nonexistent"
cp "$T/src.raw" "$T/big.raw"; truncate -s 80M "$T/big.raw"
check_rc "compare size mismatch, zero tail: exit 0" 0 "$KEEL_IMG" compare -f raw "$T/src.raw" "$T/big.raw"
check_rc "compare -s size mismatch: exit 1" 1 "$KEEL_IMG" compare -s -f raw "$T/src.raw" "$T/big.raw"
qemu-io -f raw -c "write -P 0x01 70M 4k" "$T/big.raw" >/dev/null
check_rc "compare size mismatch, data in tail: exit 1" 1 "$KEEL_IMG" compare -f raw "$T/src.raw" "$T/big.raw"

# check, info, resize
check_rc "check on raw: not supported (exit 63, as qemu-img)" 63 "$KEEL_IMG" check -f raw "$T/src.raw"
"$KEEL_IMG" info --output json -f raw "$T/src.raw" >"$T/info.json" 2>&1
if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['virtual-size']==64<<20 and d['format']=='raw'" "$T/info.json" 2>"$T/log"
then ok "info --output json is valid JSON with the right size"; else not_ok "info --output json" "$(cat "$T/info.json" "$T/log")"; fi
check "resize +16M" "$KEEL_IMG" resize -f raw "$T/cmp.raw" +16M
[ "$(qinfo "$T/cmp.raw" virtual-size)" = $((80 << 20)) ] && ok "resize: qemu-img sees 80 MiB" || not_ok "resize: qemu-img sees 80 MiB" "$(qinfo "$T/cmp.raw" virtual-size)"
check_rc "resize shrink without --shrink fails" 1 "$KEEL_IMG" resize -f raw "$T/cmp.raw" 1M
check "resize --shrink -8M" "$KEEL_IMG" resize -f raw --shrink "$T/cmp.raw" -8M
[ "$(qinfo "$T/cmp.raw" virtual-size)" = $((72 << 20)) ] && ok "resize: qemu-img sees 72 MiB" || not_ok "resize: qemu-img sees 72 MiB"

# bench writes what it says, on every engine
for aio in io_uring native threads; do
	qemu-img create -q -f raw "$T/bench.raw" 8M
	check "bench -w aio=$aio" "$KEEL_IMG" bench -q -w -i "$aio" -c 4096 -d 16 --pattern=0x5a -f raw "$T/bench.raw"
	check "bench wrote the pattern everywhere (qemu-io reads it)" qemu-io -f raw -c "read -P 0x5a 0 8M" "$T/bench.raw"
done
check "bench read with flush interval" "$KEEL_IMG" bench -q -c 2000 --flush-interval=100 -f raw "$T/bench.raw"
check_rc "bench on a too small image fails" 1 "$KEEL_IMG" bench -q -s 16M -f raw "$T/bench.raw"

# probing and hostile names
check_rc "open of a missing file fails with exit 1" 1 "$KEEL_IMG" info "$T/missing"
check_rc "unknown format is refused" 1 "$KEEL_IMG" info -f nosuchfmt "$T/src.raw"
check_rc "a directory is not an image" 1 "$KEEL_IMG" info "$T"

# -S 0: no sparse detection, the output is fully allocated (as qemu-img)
rm -f "$T/full.raw"
"$KEEL_IMG" convert -S 0 -f raw -O raw "$T/src.raw" "$T/full.raw" >"$T/log" 2>&1
check_same "convert -S 0 is exact" "$T/src.raw" "$T/full.raw"
a_full=$(stat -c %b "$T/full.raw")
if [ $((a_full * 512)) -ge $((64 << 20)) ]; then ok "convert -S 0 allocates everything"
else not_ok "convert -S 0 allocates everything" "$((a_full * 512)) bytes allocated"; fi
