# Guest side of tests/bench/blk, run inside L2 (TESTING.md "Benchmarks"): fio in L3 on
# a virtio-blk disk backed by null_blk in L2 (memory_backed=0: no data, O_DIRECT works),
# keel (I/O thread with io_uring / with aio=native) vs QEMU 7.2 (iothread, aio=native /
# io_uring), and fio in L2 on the same null_blk device (the limit). Prints
#   BENCH-BLK-CMD <config> <command>
#   BENCH-BLK <config> <run> <job> iops=N kib_s=N
#   BENCH-BLK-FAIL <config> <run> <reason>
. /keel/l2/lib.sh
RUNS=${RUNS:-3}
RT=${BLK_RT:-3}
W=/tmp/bench-blk
mkdir -p $W
for m in $(cat /keel/modules-extra/order); do
	case $m in
	null_blk) insmod /keel/modules-extra/$m.ko nr_devices=1 gb=1 bs=512 \
		memory_backed=0 queue_mode=2 irqmode=0 submit_queues=2 ;;
	*) insmod /keel/modules-extra/$m.ko ;;
	esac
done
DEV=/dev/nullb0
# keel accel=vhost rows: the disk served by vhost-blk.ko (built by the harness)
VHOST=""
[ -f /keel/kmod/vhost-blk.ko ] && insmod /keel/kmod/vhost-blk.ko 2>/dev/null
[ -c /dev/vhost-blk ] && VHOST=keel-vhost-blk
[ -b $DEV ] || { echo "BENCH-BLK-FAIL all 0 no $DEV after insmod null_blk"; exit 0; }
echo "BENCH-BLK-INFO backing: null_blk $(cat /sys/block/nullb0/size) sectors," \
     "memory_backed=0, irqmode=0; L3: 1 vCPU, 256 MiB; fio libaio O_DIRECT, ${RT}s per job after 1s ramp"

L3C="console=ttyS0 quiet keel.test=fio-bench keel.rt=$RT"
I=/keel/l3/initramfs.cpio
K="keel run --kernel /keel/l3/vmlinux --initrd $I --cmdline '$L3C' --cpus 1 --memory 256M"
K="$K --serial stdio --iothread id=io0"
Q="qemu-system-x86_64 -M pc -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none"
Q="$Q -monitor none -serial stdio -kernel /keel/l3/vmlinux -initrd $I -append '$L3C'"
Q="$Q -object iothread,id=io0 -device virtio-blk-pci,drive=d0,iothread=io0"

bench_cmd()
{
	case $1 in
	keel-io_uring) echo "$K --disk path=$DEV,format=raw,iothread=io0,aio=io_uring,cache=none" ;;
	keel-native) echo "$K --disk path=$DEV,format=raw,iothread=io0,aio=native,cache=none" ;;
	keel-vhost-blk) echo "$K --disk path=$DEV,format=raw,accel=vhost,cache=none" ;;
	qemu-native) echo "$Q -drive if=none,id=d0,file=$DEV,format=raw,aio=native,cache=none" ;;
	qemu-io_uring) echo "$Q -drive if=none,id=d0,file=$DEV,format=raw,aio=io_uring,cache=none" ;;
	l2-fio) echo "keel-fio-bench $DEV $RT" ;;
	esac
}

CONFIGS="keel-io_uring keel-native $VHOST qemu-native qemu-io_uring l2-fio"
[ -n "$VHOST" ] || echo "BENCH-BLK-FAIL keel-vhost-blk 0 no /dev/vhost-blk in L2 (vhost-blk.ko not built?)"
for c in $CONFIGS; do
	echo "BENCH-BLK-CMD $c $(bench_cmd $c)"
done
# runs interleaved so drift in L2 hits every config alike
i=1
while [ $i -le "$RUNS" ]; do
	for c in $CONFIGS; do
		if [ $c = l2-fio ]; then
			keel-fio-bench $DEV "$RT" >$W/$c.$i.txt 2>&1
		else
			eval "vmm-watch -o $W/$c.$i.log -t 180 -r 256 -- $(bench_cmd $c)" \
				>$W/out 2>&1
			tr -d '\r' <$W/$c.$i.log | sed -n 's/^.*L3: \(bench.*\)/\1/p' >$W/$c.$i.txt
			if ! grep -q '^bench ' $W/$c.$i.txt; then
				echo "BENCH-BLK-FAIL $c $i $(grep '^vmm-watch:' $W/out)"
				tr -d '\r' <$W/$c.$i.log | tail -n 5 | sed "s/^/BENCH-BLK-TAIL $c /"
			fi
		fi
		sed -n "s/^bench \([^ ]*\) \(iops=.*\)/BENCH-BLK $c $i \1 \2/p" $W/$c.$i.txt
		grep -E '^bench(-err| [^ ]* failed)' $W/$c.$i.txt | head -n 3 |
			sed "s/^/BENCH-BLK-TAIL $c /"
	done
	i=$((i + 1))
done
