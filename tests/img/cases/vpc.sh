# VPC / VHD, read-only (F30, VHD spec 1.0): fixed and dynamic images made by qemu-img
# (geometry-sized and force_size), filled by qemu-io, read back by keel-img byte for
# byte with the same virtual size qemu-img reports. qemu-img cannot create
# differencing VHDs ("Backing file not supported for file format 'vpc'"), so one is
# made here from two qemu-made dynamic images and checked against qemu's reading of
# them. Sourced by tests/img/run.
need_format vpc || return 0

for spec in dynamic:64M: dynamic:100M: dynamic:37M:force_size=on dynamic:1G: \
	    fixed:64M: fixed:33M: fixed:20M:force_size=on; do
	IFS=: read -r sub size extra <<<"$spec"
	img=$T/$sub-$size.vpc
	qemu-img create -q -f vpc -o subformat=$sub${extra:+,$extra} "$img" "$size"
	img_fill vpc "$img" "$size"
	oracle_read "vpc $sub size=$size${extra:+ $extra} read" vpc "$img"
done

# differencing: the child's block 0 holds its first 256 KiB; everything else comes
# from the parent (identified by its unique id, found through the W2ru locator)
vpc_make_child()
{
	python3 - "$1" "$2" <<'PY'
import struct, sys

def csum(buf, at):
    s = sum(buf[:at]) + sum(buf[at + 4:])
    return (~s) & 0xffffffff

child, parent = sys.argv[1:3]
C = bytearray(open(child, "rb").read())
P = open(parent, "rb").read()
foot = bytearray(C[-512:])
struct.pack_into(">I", foot, 60, 4)                 # differencing
dyn = struct.unpack_from(">Q", foot, 16)[0]
H = C[dyn:dyn + 1024]
H[40:56] = P[-512 + 68:-512 + 84]                  # parent unique id
name = "parent.vpc".encode("utf-16-be")
H[64:576] = name + bytes(512 - len(name))
loc = len(C) - 512                                  # locator where the footer was
path = ".\\parent.vpc".encode("utf-16-le")
struct.pack_into(">4sIII Q", H, 576, b"W2ru", 1, len(path), 0, loc)
struct.pack_into(">I", H, 36, 0)
struct.pack_into(">I", H, 36, csum(H, 36))
C[dyn:dyn + 1024] = H
bat = struct.unpack_from(">Q", H, 16)[0]
blk0 = struct.unpack_from(">I", C, bat)[0] * 512
C[blk0:blk0 + 512] = b"\xff" * 64 + bytes(448)      # 512 sectors = 256 KiB present
struct.pack_into(">I", foot, 64, 0)
struct.pack_into(">I", foot, 64, csum(foot, 64))
C[0:512] = foot
C[loc:] = path + bytes(512 - len(path)) + foot
open(child, "wb").write(C)
PY
}

qemu-img create -q -f vpc -o subformat=dynamic "$T/parent.vpc" 8M
qemu-io -f vpc -c "write -P 0x71 0 8M" "$T/parent.vpc" >/dev/null
qemu-img create -q -f vpc -o subformat=dynamic "$T/child.vpc" 8M
qemu-io -f vpc -c "write -P 0x72 0 1M" "$T/child.vpc" >/dev/null
qemu-img convert -f vpc -O raw "$T/parent.vpc" "$T/want.raw"
qemu-img convert -f vpc -O raw "$T/child.vpc" "$T/child-data.raw"
dd if="$T/child-data.raw" of="$T/want.raw" bs=256k count=1 conv=notrunc status=none
if vpc_make_child "$T/child.vpc" "$T/parent.vpc" 2>"$T/log"; then
	check "vpc differencing: keel-img convert opens the parent" \
		build/bin/keel-img convert -f vpc -O raw "$T/child.vpc" "$T/child.raw"
	check_same "vpc differencing: child over parent reads as expected" \
		"$T/want.raw" "$T/child.raw"
	# a parent with another unique id is refused, not read
	qemu-img create -q -f vpc -o subformat=dynamic "$T/other.vpc" 8M
	mv "$T/parent.vpc" "$T/parent.vpc.real"
	cp "$T/other.vpc" "$T/parent.vpc"
	check_rc "vpc differencing: a parent with the wrong unique id is refused" 1 \
		build/bin/keel-img convert -f vpc -O raw "$T/child.vpc" "$T/bad.raw"
	rm -f "$T/parent.vpc"
	check_rc "vpc differencing: a missing parent is refused" 1 \
		build/bin/keel-img convert -f vpc -O raw "$T/child.vpc" "$T/bad.raw"
	mv "$T/parent.vpc.real" "$T/parent.vpc"
else
	not_ok "vpc differencing: could not build the image" "$(cat "$T/log")"
fi

# hostile: a dynamic disk whose footers are both damaged is refused
cp "$T/dynamic-64M.vpc" "$T/bad.vpc"
printf 'XXXX' | dd of="$T/bad.vpc" bs=1 seek=0 conv=notrunc status=none
sz=$(stat -c %s "$T/bad.vpc")
printf 'XXXX' | dd of="$T/bad.vpc" bs=1 seek=$((sz - 512)) conv=notrunc status=none
check_rc "vpc with both footers damaged is refused" 1 \
	build/bin/keel-img convert -f vpc -O raw "$T/bad.vpc" "$T/bad.raw"
