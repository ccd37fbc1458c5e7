# F1-F16-blk-raw-pattern-microvm: F1-F16-blk-raw-pattern on the microvm machine: the
# same --disk line makes a virtio-blk-device on a virtio-mmio slot, its queue kicked
# through an ioeventfd with datamatch; L3's pattern reaches the file and back.
[ "$KEEL_VMM" = keel ] || skip "keel's microvm board"
img=$W/disk.raw
truncate -s 64M "$img"
disk_boot pattern-write 11 8 --machine microvm --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring"
disk_l3_expect 'pattern ok 8' "L3 did not read back the pattern it wrote"
case " $(sed -n 's/^.*L3: virtio-devs=//p' "$W/vmm.txt" | head -n1) " in
*:0x0002:virtio_blk:LNRO0005:*) ;;
*) fail "the disk is not a virtio-blk on a LNRO0005 (virtio-mmio) device" ;;
esac
disk_raw_check "$img" 11 8 || fail "the image file does not hold the pattern L3 wrote"
disk_zero_after "$img" 8 || fail "L3's writes reached past the 8 MiB it wrote"
info "L3 -> file: 8 MiB pattern exact, rest zero"

keel-pattern 12 0 $((12 * 256)) | dd of="$img" bs=64k conv=notrunc 2>/dev/null
disk_boot pattern-check 12 12 --machine microvm --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring"
disk_l3_expect 'pattern ok 12' "L3 did not read the pattern L2 wrote into the file"
info "file -> L3: 12 MiB pattern exact"
c=$(grep -E 'keel: (warning|error): virtio-blk' "$W/vmm.txt" | head -n 5)
[ -z "$c" ] || { echo "$c" | sed 's/^/# /'; fail "keel complained about L3's virtio-mmio driver"; }
:
