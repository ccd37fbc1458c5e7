# F1-F16-blk-raw-pattern: a raw image as a virtio-blk disk (iothread, io_uring). L3
# writes a known pattern over 8 MiB of /dev/vda and reads it back; after the VMM
# exits the file holds exactly that pattern and zeroes after it. Then the reverse: L2
# writes another pattern into the file and L3 must read exactly it.
img=$W/disk.raw
truncate -s 64M "$img"
disk_boot pattern-write 11 8 --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring"
disk_l3_expect 'pattern ok 8' "L3 did not read back the pattern it wrote"
disk_raw_check "$img" 11 8 || fail "the image file does not hold the pattern L3 wrote"
disk_zero_after "$img" 8 || fail "L3's writes reached past the 8 MiB it wrote"
[ "$(stat -c %s "$img")" = 67108864 ] || fail "the image size changed: $(stat -c %s "$img")"
info "L3 -> file: 8 MiB pattern exact, rest zero"

keel-pattern 12 0 $((12 * 256)) | dd of="$img" bs=64k conv=notrunc 2>/dev/null
disk_boot pattern-check 12 12 --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring"
disk_l3_expect 'pattern ok 12' "L3 did not read the pattern L2 wrote into the file"
info "file -> L3: 12 MiB pattern exact"
