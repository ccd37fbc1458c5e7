# F16-blk-discard: L3 writes a pattern over the first 16 MiB of the disk, then
# blkdiscard on the second 8 MiB of it. Raw: the file's allocation (du) drops to about 8
# MiB, the discarded range reads as zeroes, the rest is intact. qcow2: qemu-img
# check is clean, the map shows no data in the discarded range, the allocation drops.
img=$W/disk.raw
truncate -s 64M "$img"
disk_boot discard 41 16 --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring,discard=unmap"
disk_l3_expect 'discard ok' "blkdiscard in L3 failed"
disk_l3_expect 'pattern ok 8' "the range L3 did not discard changed"
du=$(du -k "$img" | cut -f1)
info "raw: after writing 16 MiB and discarding 8 MiB the file uses $du KiB"
[ "$du" -le $((12 * 1024)) ] ||
	fail "raw: the file still uses $du KiB (> 12 MiB): discard did not punch holes"
disk_raw_check "$img" 41 8 || fail "raw: the first 8 MiB are not the pattern any more"
disk_zero_after "$img" 8 || fail "raw: the discarded range does not read as zeroes"

img=$W/disk.qcow2
qemu-img create -q -f qcow2 "$img" 64M || fail "qemu-img create failed"
disk_boot discard 42 16 --iothread id=io0 \
	--disk "path=$img,format=qcow2,iothread=io0,discard=unmap"
disk_l3_expect 'discard ok' "blkdiscard in L3 failed (qcow2)"
disk_l3_expect 'pattern ok 8' "the range L3 did not discard changed (qcow2)"
qemu-img check -f qcow2 "$img" >"$W/check.txt" 2>&1 ||
	{ sed 's/^/# /' "$W/check.txt"; fail "qemu-img check: not clean after discard"; }
qemu-img map -f qcow2 --output=json "$img" >"$W/map.json" 2>&1 || fail "qemu-img map failed"
# ranges with data past 8 MiB
bad=$(tr -d ' \n' <"$W/map.json" | tr '}' '\n' |
	sed -n 's/.*"start":\([0-9]*\),"length":\([0-9]*\).*"data":true.*/\1 \2/p' |
	awk '$1 + $2 > 8388608 { print }')
[ -z "$bad" ] ||
	{ sed 's/^/# /' "$W/map.json"; fail "qcow2: data still mapped in the discarded range: $bad"; }
du=$(du -k "$img" | cut -f1)
info "qcow2: check clean, no data mapped past 8 MiB, file uses $du KiB"
[ "$du" -le $((12 * 1024)) ] ||
	fail "qcow2: the file still uses $du KiB (> 12 MiB): freed clusters were not given back"
disk_raw_ref "$W/ref.raw" 42 8 64
qemu-img compare -f qcow2 -F raw "$img" "$W/ref.raw" >"$W/cmp.txt" 2>&1 ||
	{ sed 's/^/# /' "$W/cmp.txt"; fail "qcow2: image differs from pattern + zeroes"; }
