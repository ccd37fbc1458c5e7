# F16-blk-fstrim: ext4 on a raw disk (discard=unmap) in L3; a 16 MiB file is written,
# removed, and `fstrim` run: the discards reach the file, whose allocation (du) drops
# well below the 16 MiB once written (ext4's metadata stays).
img=$W/disk.raw
truncate -s 64M "$img"
disk_boot fstrim 71 16 --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring,discard=unmap"
grep -E 'L3: (fstrim|mkfs|mount)' "$W/vmm.txt" | head -n 4 | sed 's/^.*L3: /## /'
disk_l3_expect 'fstrim-filled' "L3 could not make ext4 and fill it"
disk_l3_expect 'fstrim ok' "fstrim in L3 failed"
du=$(du -k "$img" | cut -f1)
info "raw: after the fill was removed and trimmed the file uses $du KiB"
[ "$du" -le $((8 * 1024)) ] ||
	fail "the file still uses $du KiB (> 8 MiB) after fstrim: the discards did not free it"
