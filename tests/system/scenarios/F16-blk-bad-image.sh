# F16-blk-bad-image: images keel must refuse at start-up with exit 2 and one clear line
# (no guest started): a missing file, a path that cannot be read as an image (a
# directory), garbage declared as qcow2, a qcow2 whose header lies about its L1 table.
# With QEMU as the VMM (harness check): it refuses the same images (exit 1).
VMM_TIMEOUT=30
want=2
[ "$KEEL_VMM" = qemu ] && want=1
mkdir -p "$W/dir.img"
keel-pattern 61 0 256 >"$W/garbage.qcow2"
qemu-img create -q -f qcow2 "$W/hdr.qcow2" 64M || fail "qemu-img create failed"
# l1_size (offset 36, big-endian u32) = 0x7fffffff: far beyond the file and any limit
printf '\177\377\377\377' | dd of="$W/hdr.qcow2" bs=1 seek=36 conv=notrunc 2>/dev/null
for case in "missing:path=$W/missing.raw,format=raw" "directory:path=$W/dir.img,format=raw" \
	    "garbage-as-qcow2:path=$W/garbage.qcow2,format=qcow2" \
	    "bad-l1-qcow2:path=$W/hdr.qcow2,format=qcow2"; do
	name=${case%%:*} opts=${case#*:}
	vmm_boot pvh 1 info --disk "$opts"
	[ "$VMM_RC" = 124 ] && fail "$name: $KEEL_VMM still running after ${VMM_TIMEOUT}s"
	[ "${VMM_MARKERS:-0}" = 0 ] || fail "$name: the guest started (L3 reached /init)"
	[ "$VMM_RC" = "$want" ] || fail "$name: $KEEL_VMM exited $VMM_RC, want $want"
	lines=$(grep -c . "$W/vmm.txt")
	info "$name: exit $VMM_RC: $(grep . "$W/vmm.txt" | head -n 2 | tr '\n' ' ')"
	if [ "$KEEL_VMM" != qemu ]; then
		[ "$lines" = 1 ] || fail "$name: keel printed $lines lines, want one"
	fi
done
