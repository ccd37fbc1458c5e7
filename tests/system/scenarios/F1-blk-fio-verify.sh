# F1-blk-fio-verify: 2 vCPUs, a raw disk with 2 queues served by an I/O thread with
# io_uring; fio in L3 does random 4 KiB writes at iodepth 32 from 2 jobs (one per CPU,
# so both queues carry I/O) on disjoint halves and verifies every block (crc32c).
img=$W/disk.raw
truncate -s 64M "$img"
DISK_CPUS=2
disk_boot fio-verify 1 16 --iothread id=io0 \
	--disk "path=$img,format=raw,iothread=io0,aio=io_uring,num-queues=2"
grep -E 'L3: fio: .*(IOPS|err=|verify|rror)' "$W/vmm.txt" | head -n 6 | sed 's/^.*L3: fio: */## /'
info "fio printed $(grep -c 'L3: fio:' "$W/vmm.txt") lines"
disk_l3_expect 'disk: vda .*queues=2' "L3's vda does not have 2 queues"
disk_l3_expect 'fio ok' "fio in L3 failed or found bad blocks"
n=$(dd if="$img" bs=1M count=16 2>/dev/null | tr -d '\000' | wc -c)
[ "$n" -gt 4000000 ] || fail "the image holds only $n non-zero bytes after fio wrote 16 MiB"
