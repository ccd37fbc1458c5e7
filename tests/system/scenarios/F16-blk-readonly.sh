# F16-blk-readonly: a disk with readonly=on: L3's kernel sees it read-only, a write is
# refused, reads return the image's data, and the file is unchanged afterwards.
img=$W/disk.raw
disk_raw_ref "$img" 51 8 64
before=$(md5sum <"$img")
disk_boot ro-write 51 8 --disk "path=$img,format=raw,readonly=on"
grep -E 'L3: ro-' "$W/vmm.txt" | head -n 8 | sed 's/^.*L3: /## /'
disk_l3_expect 'ro-sysfs=1' "L3 does not see vda as read-only"
disk_l3_expect 'ro-write refused' "a write to the read-only disk succeeded in L3"
disk_l3_expect 'pattern ok 8' "L3 could not read the read-only disk's data"
[ "$(md5sum <"$img")" = "$before" ] || fail "the read-only image file changed"
