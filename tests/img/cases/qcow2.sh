# qcow2 oracle cases: images made by qemu-img in every option we claim are read byte
# for byte; what keel writes passes qemu-img check and compares equal.
# shellcheck shell=bash
need_format qcow2 || return 0

# --- reads of qemu-made images: cluster sizes x refcount widths, lazy, v2
for cs in 512 4k 64k 2M; do
	for rb in 1 64; do
		[ $cs = 4k ] && [ $rb = 1 ] && continue
		img=$T/r-$cs-$rb.qcow2
		qemu-img create -q -f qcow2 -o cluster_size=$cs,refcount_bits=$rb "$img" 24M
		img_fill qcow2 "$img" 24M
		oracle_read "qcow2 read cluster_size=$cs refcount_bits=$rb" qcow2 "$img"
	done
done
for rb in 2 4 8 16 32; do
	img=$T/rb$rb.qcow2
	qemu-img create -q -f qcow2 -o refcount_bits=$rb "$img" 16M
	img_fill qcow2 "$img" 16M
	oracle_read "qcow2 read refcount_bits=$rb" qcow2 "$img"
done
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$T/lazy.qcow2" 16M
img_fill qcow2 "$T/lazy.qcow2" 16M
oracle_read "qcow2 read lazy_refcounts=on" qcow2 "$T/lazy.qcow2"
qemu-img create -q -f qcow2 -o compat=0.10 "$T/v2.qcow2" 16M
img_fill qcow2 "$T/v2.qcow2" 16M
oracle_read "qcow2 read compat=0.10 (version 2)" qcow2 "$T/v2.qcow2"

# --- compressed clusters: a compressible source converted by qemu-img -c
python3 - "$T/comp.raw" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(2048):
        f.write((bytes([i % 251]) * 700 + b"keel qcow2 " * 30 + bytes(7836 - 330))[:8192])
EOF
for ct in zlib zstd; do
	for cs in 512 2M; do
		qemu-img convert -c -f raw -O qcow2 -o compression_type=$ct,cluster_size=$cs \
			"$T/comp.raw" "$T/c-$ct-$cs.qcow2"
		oracle_read "qcow2 read compressed $ct cluster_size=$cs" qcow2 "$T/c-$ct-$cs.qcow2"
	done
	out=$T/kc-$ct.qcow2
	rm -f "$out"
	if "$KEEL_IMG" convert -c -O qcow2 -o compression_type=$ct "$T/comp.raw" "$out" >"$T/log" 2>&1 &&
	   qemu-img check "$out" >>"$T/log" 2>&1 && qemu-img compare -q "$T/comp.raw" "$out" >>"$T/log" 2>&1 &&
	   qemu-img check "$out" | grep -q "[1-9][0-9.]*% compressed"; then
		ok "keel-img convert -c ($ct) is compressed, qemu-img check clean and equal"
	else
		not_ok "keel-img convert -c ($ct)" "$(cat "$T/log")"
	fi
done

# --- backing chain with partial-cluster writes through keel (copy-on-write)
qemu-img create -q -f raw "$T/base.raw" 8M
qemu-io -f raw -c "write -P 0x5a 0 8M" "$T/base.raw" >/dev/null
qemu-img create -q -f qcow2 -b base.raw -F raw "$T/mid.qcow2"
qemu-io -c "write -P 0x21 100k 300k" "$T/mid.qcow2" >/dev/null
"$KEEL_IMG" create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/top.qcow2" >/dev/null 2>&1
qemu-img convert -O raw "$T/top.qcow2" "$T/top.ref"
"$KEEL_IMG" bench -q -w -c 300 -s 1000 -S 7777 --pattern=0x77 "$T/top.qcow2" >"$T/log" 2>&1
qemu-io -f raw -c "write -P 0x77 0 1" "$T/top.ref" >/dev/null
for i in $(seq 0 299); do echo "write -P 0x77 $((i * 7777)) 1000"; done >"$T/cmds"
qemu-io -f raw "$T/top.ref" <"$T/cmds" >/dev/null 2>&1
check "keel writes over a qcow2+raw chain: qemu-img check clean" qemu-img check "$T/top.qcow2"
check "keel writes over a chain: qemu-img compare equal" qemu-img compare -F raw "$T/top.qcow2" "$T/top.ref"
oracle_read "keel-written chain reads like qemu-img" qcow2 "$T/top.qcow2"

# --- keel writes: convert into every option combination
qemu-img create -q -f raw "$T/src.raw" 24M
img_fill raw "$T/src.raw" 24M
for cs in 512 4k 64k 2M; do
	for rb in 1 16 64; do
		[ $cs != 4k ] && [ $rb != 16 ] && continue
		oracle_write "keel-img convert to qcow2 cluster_size=$cs refcount_bits=$rb" qcow2 \
			"cluster_size=$cs,refcount_bits=$rb" "$T/src.raw"
	done
done
oracle_write "keel-img convert to qcow2 lazy_refcounts=on" qcow2 "lazy_refcounts=on" "$T/src.raw"
oracle_write "keel-img convert to qcow2 compat=0.10" qcow2 "compat=0.10" "$T/src.raw"
oracle_write "keel-img convert to qcow2 compression_type=zstd" qcow2 "compression_type=zstd" "$T/src.raw"
oracle_create "keel-img create qcow2 1T sparse" qcow2 "" 1T
oracle_create "keel-img create qcow2 512-byte clusters, refcount_bits=2" qcow2 \
	"cluster_size=512,refcount_bits=2" 100M

# --- in-place writes, discard and zeroes on a qemu-made image
qemu-img create -q -f qcow2 -o cluster_size=4k "$T/w.qcow2" 32M
img_fill qcow2 "$T/w.qcow2" 32M
qemu-img convert -O raw "$T/w.qcow2" "$T/w.ref"
"$KEEL_IMG" bench -q -w -c 2000 -s 4096 -S 12288 --pattern=0x3c "$T/w.qcow2" >"$T/log" 2>&1
for i in $(seq 0 1999); do echo "write -P 0x3c $((i * 12288)) 4096"; done >"$T/cmds"
qemu-io -f raw "$T/w.ref" <"$T/cmds" >/dev/null 2>&1
check "keel bench -w on a 4k-cluster image: qemu-img check clean" qemu-img check "$T/w.qcow2"
check "keel bench -w on a 4k-cluster image: contents equal" qemu-img compare -F raw "$T/w.qcow2" "$T/w.ref"

# --- internal snapshots made by keel, read and checked by qemu
img=$T/snap.qcow2
qemu-img create -q -f qcow2 "$img" 16M
qemu-io -c "write -P 0x01 0 4M" "$img" >/dev/null
check "keel-img snapshot -c" "$KEEL_IMG" snapshot -c first "$img"
qemu-io -c "write -P 0x02 1M 64k" "$img" >/dev/null
check "keel-img snapshot -c second" "$KEEL_IMG" snapshot -c second "$img"
check "qemu-img check after keel snapshots" qemu-img check "$img"
qemu-img snapshot -l "$img" | grep -q " first " && qemu-img snapshot -l "$img" | grep -q " second " &&
	ok "qemu-img lists both keel snapshots" || not_ok "qemu-img lists both keel snapshots"
"$KEEL_IMG" snapshot -l "$img" | grep -q " second " && ok "keel-img snapshot -l" || not_ok "keel-img snapshot -l"
check "keel-img snapshot -a first" "$KEEL_IMG" snapshot -a first "$img"
check "applied snapshot has the old contents" qemu-io -c "read -P 0x01 0 4M" "$img"
grep -q "Pattern verification failed" "$T/log" && not_ok "pattern after apply" "$(cat "$T/log")"
check "keel-img snapshot -d second" "$KEEL_IMG" snapshot -d second "$img"
check "qemu-img check after apply + delete" qemu-img check "$img"
qemu-img snapshot -c qsnap "$img"
qemu-io -c "write -P 0x09 0 64k" "$img" >/dev/null
check "keel applies a qemu-made snapshot" "$KEEL_IMG" snapshot -a qsnap "$img"
check "... contents are the snapshot's" qemu-io -c "read -P 0x01 0 64k" "$img"
check "qemu-img check after applying a qemu snapshot" qemu-img check "$img"

# --- lazy refcounts: an image left dirty by a crashed writer is repaired on open
img=$T/dirty.qcow2
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$img" 16M
(qemu-io -c "write -P 0x42 0 1M" -c "write -P 0x43 3M 1M" -c abort "$img" >/dev/null 2>&1; true) 2>/dev/null
if qemu-img info "$img" | grep -q "dirty flag: true" || [ "$(qinfo "$img" dirty-flag)" = true ]; then
	"$KEEL_IMG" bench -q -w -c 1 -s 512 -o 8M "$img" >"$T/log" 2>&1
	check "keel repairs a dirty lazy-refcount image: qemu-img check clean" qemu-img check "$img"
	qemu-img info "$img" | grep -q "dirty flag: true" && not_ok "dirty flag cleared" || ok "dirty flag cleared"
	check "... data written before the crash is kept" qemu-io -c "read -P 0x43 3M 1M" "$img"
else
	skip "lazy refcount repair" "qemu-io abort did not leave the dirty flag"
fi

# --- keel-img check finds leaks and repairs them
img=$T/leak.qcow2
qemu-img create -q -f qcow2 -o cluster_size=4k "$img" 8M
qemu-io -c "write -P 0x11 0 1M" "$img" >/dev/null
python3 - "$img" <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b")
hdr = f.read(104)
rt = struct.unpack(">Q", hdr[48:56])[0]
f.seek(rt); rb = struct.unpack(">Q", f.read(8))[0]
size = f.seek(0, 2)
idx = size // 4096 + 3			# a refcount past the end of the file: a leak
f.seek(rb + 2 * idx); f.write(struct.pack(">H", 1))
EOF
check_rc "keel-img check reports a leak (exit 3)" 3 "$KEEL_IMG" check "$img"
check "keel-img check -r leaks repairs it" "$KEEL_IMG" check -r leaks "$img"
check "qemu-img check agrees afterwards" qemu-img check "$img"

# --- hostile headers: a clear error, never a crash
hostile()	# desc, python statement on bytearray h (the first 4 KiB)
{
	cp "$T/hostile.base" "$T/h.qcow2"
	python3 - "$T/h.qcow2" "$2" <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b"); h = bytearray(f.read(4096))
exec(sys.argv[2])
f.seek(0); f.write(h)
EOF
	check_rc "hostile: $1 is refused with exit 1" 1 "$KEEL_IMG" convert -O raw "$T/h.qcow2" "$T/h.raw"
	grep -qE "ERROR|runtime error|Sanitizer" "$T/log" && not_ok "hostile: $1 crashed" "$(cat "$T/log")"
}
qemu-img create -q -f qcow2 "$T/hostile.base" 16M
qemu-io -c "write -P 1 0 1M" "$T/hostile.base" >/dev/null
hostile "cluster_bits 30" 'h[20:24] = struct.pack(">I", 30)'
hostile "L1 size smaller than the disk" 'h[36:40] = struct.pack(">I", 0); h[24:32] = struct.pack(">Q", 1 << 40)'
hostile "L1 table past the end" 'h[40:48] = struct.pack(">Q", 1 << 50)'
hostile "unaligned refcount table" 'h[48:56] = struct.pack(">Q", 65536 + 8)'
hostile "refcount_order 7" 'h[96:100] = struct.pack(">I", 7)'
hostile "header_length beyond the cluster" 'h[100:104] = struct.pack(">I", 1 << 20)'
hostile "unknown incompatible feature" 'h[72:80] = struct.pack(">Q", 1 << 40)'
hostile "huge snapshot count" 'h[60:64] = struct.pack(">I", 1 << 30); h[64:72] = struct.pack(">Q", 65536)'
hostile "extension length past the cluster" 'h[112:120] = struct.pack(">II", 0x12345678, 1 << 30)'
hostile "backing name outside the header" 'h[8:16] = struct.pack(">Q", 65530); h[16:20] = struct.pack(">I", 100)'

# --- kill -9 while keel rewrites clusters shared with a snapshot (COW + frees)
bad=0 hit=0
for i in 1 2 3 4 5 6; do
	img=$T/crash-snap.qcow2
	rm -f "$img"
	qemu-img create -q -f qcow2 -o cluster_size=4k "$img" 64M
	qemu-io -c "write -P 0x61 0 32M" "$img" >/dev/null
	qemu-img snapshot -c base "$img"
	"$KEEL_IMG" bench -q -w -c 200000 -s 3000 -S 7001 --pattern=0x62 -d 1 "$img" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 6 + 2))"
	kill -9 "$pid" 2>/dev/null && hit=$((hit + 1))
	wait "$pid" 2>/dev/null
	qemu-img check "$img" >"$T/log" 2>&1
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || { bad=$((bad + 1)); cp "$T/log" "$T/crash-bad.log"; }
done
if [ "$bad" = 0 ] && [ "$hit" -ge 3 ]; then
	ok "kill -9 during snapshot COW writes: $hit kills mid-write, never corrupt"
else
	not_ok "kill -9 during snapshot COW writes: $bad corrupt of 6 ($hit mid-write)" \
		"$(cat "$T/crash-bad.log" 2>/dev/null)"
fi

# --- header extensions (feature table, bitmaps) survive keel's writes byte for byte,
# and keel's check counts the clusters of valid bitmaps
img=$T/ext.qcow2
qemu-img create -q -f qcow2 "$img" 16M
qemu-img bitmap --add "$img" bm0
qemu-io -c "write -P 0x71 0 1M" "$img" >/dev/null
check "keel-img check counts bitmap clusters (no leaks)" "$KEEL_IMG" check "$img"
dd if="$img" bs=1 skip=104 count=3992 status=none >"$T/ext.before"
"$KEEL_IMG" snapshot -c s "$img" >/dev/null 2>&1
"$KEEL_IMG" bench -q -w -c 16 -s 4096 -o 2M "$img" >/dev/null 2>&1
dd if="$img" bs=1 skip=104 count=3992 status=none >"$T/ext.after"
check_same "header extensions are kept byte for byte" "$T/ext.before" "$T/ext.after"
qemu-img info "$img" 2>&1 | grep -q "compression type" && ok "qemu-img still parses the header" ||
	not_ok "qemu-img still parses the header"
