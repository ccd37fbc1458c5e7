# Guest side of tests/bench/boot, run inside L2 (TESTING.md "Benchmarks"): times VMM
# start -> L3 /init marker for keel and QEMU 7.2, and samples VMM memory at the marker.
# Prints "BENCH <config> <run> <vmm-watch summary>" lines on the console.
. /keel/l2/lib.sh
RUNS=${RUNS:-5}
W=/tmp/bench
mkdir -p $W
L3C="console=ttyS0 quiet keel.test=poweroff"
I=/keel/l3/initramfs.cpio
Q="qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none"
Q="$Q -monitor none -serial stdio -initrd $I -append '$L3C'"
K="keel run --cpus 1 --memory 256M --serial stdio --initrd $I --cmdline '$L3C'"

bench_cmd()
{
	case $1 in
	keel-pvh) echo "$K --kernel /keel/l3/vmlinux" ;;
	keel-bzimage) echo "$K --kernel /keel/l3/bzImage" ;;
	keel-microvm-pvh) echo "$K --machine microvm --kernel /keel/l3/vmlinux" ;;
	keel-q35-pvh) echo "$K --machine q35 --kernel /keel/l3/vmlinux" ;;
	qemu-microvm-pvh) echo "$Q -M microvm,rtc=on -kernel /keel/l3/vmlinux" ;;
	qemu-pc-bzimage) echo "$Q -M pc -kernel /keel/l3/bzImage" ;;
	qemu-q35-bzimage) echo "$Q -M q35 -kernel /keel/l3/bzImage" ;;
	esac
}

# keel-pvh and keel-bzimage are the default machine, pc
CONFIGS="keel-pvh keel-bzimage keel-microvm-pvh keel-q35-pvh qemu-microvm-pvh qemu-pc-bzimage"
CONFIGS="$CONFIGS qemu-q35-bzimage"
for c in $CONFIGS; do
	echo "BENCH-CMD $c $(bench_cmd $c)"
done
# warm-up: the first run of a binary in a fresh L2 pays for TCG translation
for c in $CONFIGS; do
	eval "vmm-watch -o $W/$c.warm.log -t 60 -r 256 -n 1 -k -- $(bench_cmd $c)" \
		>$W/out 2>&1
	echo "BENCH-WARM $c $(grep '^vmm-watch:' $W/out)"
done
# runs interleaved so drift in L2 hits every config alike
i=1
while [ $i -le "$RUNS" ]; do
	for c in $CONFIGS; do
		eval "vmm-watch -o $W/$c.$i.log -t 60 -r 256 -n 1 -k -- $(bench_cmd $c)" \
			>$W/out 2>&1
		echo "BENCH $c $i $(grep '^vmm-watch:' $W/out)"
		if ! grep -q 'markers=1' $W/out; then
			tr -d '\r' <$W/$c.$i.log | tail -n 5 | sed "s/^/BENCH-TAIL $c /"
		fi
	done
	i=$((i + 1))
done
