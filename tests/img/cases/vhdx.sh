# VHDX, read-only (F30, MS-VHDX v1.0): images made by qemu-img in both subformats and
# several block sizes, filled by qemu-io, read back by keel-img byte for byte; a log
# left dirty by qemu's own log writer is replayed in memory. Sourced by tests/img/run.
# qemu-img cannot make differencing VHDX ("Backing file not supported for file format
# 'vhdx'"): one is made here from two qemu-made images (and in tests/unit/test_vhdx.c).
need_format vhdx || return 0

for spec in dynamic:1M:64M dynamic:8M:64M dynamic:32M:64M dynamic:256M:300M \
	    dynamic:2M:37M fixed:1M:64M fixed:32M:40M; do
	IFS=: read -r sub bs size <<<"$spec"
	img=$T/$sub-$bs.vhdx
	qemu-img create -q -f vhdx -o subformat=$sub,block_size=$bs "$img" "$size"
	img_fill vhdx "$img" "$size"
	oracle_read "vhdx $sub block_size=$bs size=$size read" vhdx "$img"
done

# block_state_zero=off: unwritten blocks are NOT_PRESENT instead of ZERO
img=$T/bsz.vhdx
qemu-img create -q -f vhdx -o block_state_zero=off,block_size=1M "$img" 16M
img_fill vhdx "$img" 16M
oracle_read "vhdx block_state_zero=off read" vhdx "$img"

# A torn update: the file as it was before a write (A), plus the log qemu wrote for
# that write (from B), with the header saying the log is live. Replayed, it must read
# as B; without the replay the new block would read as zeroes.
vhdx_make_dirty()
{
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys

def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff

a, b, out = sys.argv[1:4]
A = bytearray(open(a, "rb").read())
B = bytearray(open(b, "rb").read())
C = bytearray(B)
# current header (higher sequence number) of B tells where the log is
hs = [(struct.unpack_from("<Q", B, o + 8)[0], o) for o in (65536, 131072)]
log_len, log_off = struct.unpack_from("<IQ", B, max(hs)[1] + 68)
entry = B[log_off:log_off + 64]
if entry[:4] != b"loge":
    sys.exit("qemu left no log entry")
guid = bytes(entry[32:48])
# BAT and metadata regions of A (pre-write) into C
rt = 196608
n = struct.unpack_from("<I", B, rt + 8)[0]
for i in range(n):
    e = rt + 16 + 32 * i
    off, ln = struct.unpack_from("<QI", B, e + 16)
    C[off:off + ln] = A[off:off + ln]
for o in (65536, 131072):
    C[o + 48:o + 64] = guid
    C[o + 4:o + 8] = b"\0\0\0\0"
    struct.pack_into("<I", C, o + 4, crc32c(bytes(C[o:o + 4096])))
open(out, "wb").write(C)
PY
}

a=$T/log-a.vhdx
b=$T/log-b.vhdx
c=$T/log-c.vhdx
qemu-img create -q -f vhdx -o block_size=1M "$a" 8M
qemu-io -f vhdx -c "write -P 0x3c 0 64k" "$a" >/dev/null
cp "$a" "$b"
qemu-io -f vhdx -c "write -P 0x5d 5M 128k" "$b" >/dev/null
if vhdx_make_dirty "$a" "$b" "$c" 2>"$T/log"; then
	qemu-img convert -f vhdx -O raw "$b" "$T/log-ref.raw"
	qemu-img convert -f vhdx -O raw "$a" "$T/log-a.raw"
	sum=$(md5sum <"$c")
	if build/bin/keel-img convert -f vhdx -O raw "$c" "$T/log-out.raw" >"$T/log" 2>&1 &&
	   cmp "$T/log-ref.raw" "$T/log-out.raw" >>"$T/log" 2>&1 &&
	   ! cmp -s "$T/log-a.raw" "$T/log-out.raw" &&
	   grep -q "replayed" "$T/log" && [ "$(md5sum <"$c")" = "$sum" ]; then
		ok "vhdx dirty log written by qemu is replayed in memory, file untouched"
	else
		not_ok "vhdx dirty log written by qemu is replayed in memory" "$(cat "$T/log")"
	fi
else
	not_ok "vhdx dirty log: could not build the image" "$(cat "$T/log")"
fi

# hostile: a broken header pair and a truncated file are refused with a message
cp "$T/dynamic-1M.vhdx" "$T/bad.vhdx"
printf 'XXXX' | dd of="$T/bad.vhdx" bs=1 seek=65536 conv=notrunc status=none
printf 'XXXX' | dd of="$T/bad.vhdx" bs=1 seek=131072 conv=notrunc status=none
check_rc "vhdx with both headers broken is refused" 1 \
	build/bin/keel-img convert -f vhdx -O raw "$T/bad.vhdx" "$T/bad.raw"
head -c 3M "$T/dynamic-1M.vhdx" >"$T/short.vhdx"
check_rc "vhdx cut short is refused" 1 \
	build/bin/keel-img convert -f vhdx -O raw "$T/short.vhdx" "$T/bad.raw"

# differencing: qemu cannot make one, so turn a qemu-made dynamic image into a child of
# another (has_parent, a parent locator, block 0 partially present with a sector
# bitmap) and check it against qemu's reading of the two files.
vhdx_make_child()
{
	python3 - "$1" "$2" <<'PY'
import struct, sys, uuid

child, parent = sys.argv[1:3]
C = bytearray(open(child, "rb").read())
P = open(parent, "rb").read()

def cur_header(buf):
    return max((struct.unpack_from("<Q", buf, o + 8)[0], o) for o in (65536, 131072))[1]

def region(buf, guid):
    rt = 196608
    for i in range(struct.unpack_from("<I", buf, rt + 8)[0]):
        e = rt + 16 + 32 * i
        if buf[e:e + 16] == uuid.UUID(guid).bytes_le:
            return struct.unpack_from("<QI", buf, e + 16)
    sys.exit("region missing")

dwg = uuid.UUID(bytes_le=bytes(P[cur_header(P) + 32:cur_header(P) + 48]))
linkage = "{" + str(dwg).upper() + "}"
meta, _ = region(C, "8B7CA206-4790-4B9A-B8FE-575F050F886E")
bat, batlen = region(C, "2DC27766-F623-4200-9D64-115E9BFD4A08")
fp = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B").bytes_le
n = struct.unpack_from("<H", C, meta + 10)[0]
for i in range(n):
    e = meta + 32 + 32 * i
    if C[e:e + 16] == fp:
        off = struct.unpack_from("<I", C, e + 16)[0]
        bs, flags = struct.unpack_from("<II", C, meta + off)
        struct.pack_into("<I", C, meta + off + 4, flags | 2)      # HasParent
# parent locator item at 512 KiB into the metadata region
kv = [("parent_linkage", linkage), ("relative_path", ".\\parent.vhdx")]
item = bytearray(uuid.UUID("B04AEFB7-D19E-4A81-B789-25B8E9445913").bytes_le)
item += struct.pack("<HH", 0, len(kv))
pos = 20 + 12 * len(kv)
ents, blob = b"", b""
for k, v in kv:
    kb, vb = k.encode("utf-16-le"), v.encode("utf-16-le")
    ents += struct.pack("<IIHH", pos, pos + len(kb), len(kb), len(vb))
    blob += kb + vb
    pos += len(kb) + len(vb)
item += ents + blob
C[meta + 524288:meta + 524288 + len(item)] = item
e = meta + 32 + 32 * n
C[e:e + 32] = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").bytes_le + \
    struct.pack("<IIII", 524288, len(item), 4, 0)
struct.pack_into("<H", C, meta + 10, n + 1)
# sector bitmap block appended at the end; block 0: first 256 KiB (512 sectors) here
ratio = (1 << 23) * 512 // bs
sb = (len(C) + (1 << 20) - 1) >> 20 << 20
C += bytes(sb + (1 << 20) - len(C))
C[sb:sb + 64] = b"\xff" * 64
e0 = struct.unpack_from("<Q", C, bat)[0]
struct.pack_into("<Q", C, bat, (e0 & ~7) | 7)                 # PARTIALLY_PRESENT
struct.pack_into("<Q", C, bat + 8 * ratio, (sb >> 20) << 20 | 6)
open(child, "wb").write(C)
PY
}

qemu-img create -q -f vhdx -o block_size=1M "$T/parent.vhdx" 8M
qemu-io -f vhdx -c "write -P 0x71 0 8M" "$T/parent.vhdx" >/dev/null
qemu-img create -q -f vhdx -o block_size=1M,block_state_zero=off "$T/child.vhdx" 8M
qemu-io -f vhdx -c "write -P 0x72 0 1M" -c "write -P 0x73 4M 1M" "$T/child.vhdx" >/dev/null
qemu-img convert -f vhdx -O raw "$T/parent.vhdx" "$T/want.raw"
qemu-img convert -f vhdx -O raw "$T/child.vhdx" "$T/child-data.raw"
dd if="$T/child-data.raw" of="$T/want.raw" bs=256k count=1 conv=notrunc status=none
dd if="$T/child-data.raw" of="$T/want.raw" bs=1M skip=4 seek=4 count=1 conv=notrunc \
	status=none
if vhdx_make_child "$T/child.vhdx" "$T/parent.vhdx" 2>"$T/log"; then
	check "vhdx differencing: keel-img convert opens the parent" \
		build/bin/keel-img convert -f vhdx -O raw "$T/child.vhdx" "$T/child.raw"
	check_same "vhdx differencing: child over parent reads as expected" \
		"$T/want.raw" "$T/child.raw"
	mv "$T/parent.vhdx" "$T/parent.vhdx.real"
	qemu-img create -q -f vhdx "$T/parent.vhdx" 8M
	check_rc "vhdx differencing: a parent with another DataWriteGuid is refused" 1 \
		build/bin/keel-img convert -f vhdx -O raw "$T/child.vhdx" "$T/bad.raw"
	rm -f "$T/parent.vhdx"
	check_rc "vhdx differencing: a missing parent is refused" 1 \
		build/bin/keel-img convert -f vhdx -O raw "$T/child.vhdx" "$T/bad.raw"
	mv "$T/parent.vhdx.real" "$T/parent.vhdx"
else
	not_ok "vhdx differencing: could not build the image" "$(cat "$T/log")"
fi
