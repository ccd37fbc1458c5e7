# VHDX, read-only (F30, MS-VHDX v1.0): images made by qemu-img in both subformats and
# several block sizes, filled by qemu-io, read back by keel-img byte for byte; a log
# left dirty by qemu's own log writer is replayed in memory. Sourced by tests/img/run.
# qemu-img cannot make differencing VHDX ("Backing file not supported for file format
# 'vhdx'"): those are covered by tests/unit/test_vhdx.c only.
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
