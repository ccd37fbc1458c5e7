# Helpers for scenario scripts (tests/system/scenarios/*.sh), sourced inside L2 with
# $W = the scenario's work directory. Boots L3 under keel (or QEMU when
# KEEL_VMM=qemu, to check the harness itself) and asserts on what L3 printed.
L3_INITRD=/keel/l3/initramfs.cpio
L3_BASE_CMDLINE="console=ttyS0 quiet"
VMM_TIMEOUT=${VMM_TIMEOUT:-120}
KEEL_VMM=${KEEL_VMM:-keel}

# fail REASON: print the tail of the VMM console as diagnostics and fail.
fail()
{
	if [ -s "$W/vmm.log" ]; then
		echo "# --- last lines of $KEEL_VMM output ($W/vmm.log):"
		tr -d '\r' <"$W/vmm.log" | tail -n 25 | sed 's/^/# /'
	fi
	[ -n "$WATCH" ] && echo "# $WATCH"
	echo "FAIL: $*"
	exit 1
}

skip()
{
	echo "SKIP: $*"
	exit 77
}

# note: diagnostics shown only when the scenario fails; info: always shown.
note() { echo "# $*"; }
info() { echo "## $*"; }

l3_kernel()
{
	case $1 in
	pvh) echo /keel/l3/vmlinux ;;
	bzimage) echo /keel/l3/bzImage ;;
	*) fail "unknown boot kind $1" ;;
	esac
}

# qemu_disk OPTS N: keel's --disk key=value list as QEMU -drive/-device options.
qemu_disk()
{
	drv="if=none,id=disk$2" dev="virtio-blk-pci,drive=disk$2" aio= cache=
	for kv in $(echo "$1" | tr ',' ' '); do
		case $kv in
		path=*) drv="$drv,file=${kv#path=}" ;;
		format=* | readonly=* | discard=* | werror=*) drv="$drv,$kv" ;;
		aio=*) aio=${kv#aio=} drv="$drv,$kv" ;;
		cache=*) cache=${kv#cache=} drv="$drv,$kv" ;;
		iothread=* | serial=* | num-queues=*) dev="$dev,$kv" ;;
		# (inside $(...): an unmapped key makes QEMU refuse, loudly)
		*) drv="$drv,no-qemu-mapping-for-keel-disk-key-$kv" ;;
		esac
	done
	# QEMU refuses aio=native without O_DIRECT
	[ "$aio" = native ] && [ -z "$cache" ] && drv="$drv,cache=none"
	echo "-drive $drv -device $dev"
}

# qemu_rng OPTS N: keel's --rng key=value list as QEMU options.
qemu_rng()
{
	obj= dev=virtio-rng-pci
	for kv in $(echo "$1" | tr ',' ' '); do
		case $kv in
		source=getrandom) ;;
		source=*) obj="-object rng-random,id=rng$2,filename=${kv#source=}"
			  dev="$dev,rng=rng$2" ;;
		max-bytes=* | period=*) dev="$dev,$kv" ;;
		*) dev="$dev,no-qemu-mapping-for-keel-rng-key-$kv" ;;
		esac
	done
	echo "$obj -device $dev"
}

# vmm_cmd KIND CPUS TEST [keel options]: print the VMM command line. With QEMU as
# the VMM, keel's device options are mapped to QEMU's (--disk, --iothread, --rng,
# --device, --no-reboot); a PCI device needs -M pc (microvm has no PCI bus).
vmm_cmd()
{
	kind=$1 cpus=$2 test=$3
	shift 3
	k=$(l3_kernel "$kind")
	c="$L3_BASE_CMDLINE keel.test=$test${L3_CMDLINE_EXTRA:+ $L3_CMDLINE_EXTRA}"
	if [ "$KEEL_VMM" = qemu ]; then
		nr= dev= pci= n=0
		while [ $# -gt 0 ]; do
			n=$((n + 1))
			case $1 in
			--no-reboot) nr=-no-reboot ;;
			--disk) dev="$dev $(qemu_disk "$2" $n)" pci=1; shift ;;
			--iothread) dev="$dev -object iothread,${2}"; shift ;;
			--rng)
				a=
				case ${2:-} in --* | "") ;; *) a=$2; shift ;; esac
				dev="$dev $(qemu_rng "$a" $n)" pci=1 ;;
			--device) dev="$dev -device $2" pci=1; shift ;;
			esac
			shift
		done
		# microvm has no reset path that QEMU 7.2 turns into a reboot
		case $kind,$test,$pci in
		*,reboot,*) m=pc ;;
		*,*,1) m=pc ;;
		pvh,*) m=microvm,rtc=on ;;
		*) m=pc ;;
		esac
		echo "qemu-system-x86_64 -M $m -accel kvm -cpu host -m ${L3_MEMORY:-256} -smp $cpus" \
		     "-nodefaults -display none -monitor none -serial stdio $nr$dev" \
		     "-kernel $k -initrd $L3_INITRD -append '$c'"
	else
		echo "keel run --kernel $k --initrd $L3_INITRD --cmdline '$c'" \
		     "--cpus $cpus --memory ${L3_MEMORY:-256}M --serial stdio $*"
	fi
}

# vmm_boot KIND CPUS TEST [keel options]: boot L3 and wait for the VMM to end.
# Sets VMM_RC (124: timed out), VMM_MARKERS (KEEL-L3-INIT count), WATCH (summary),
# and $W/vmm.txt (console without CRs). WATCH_OPTS adds vmm-watch options.
vmm_boot()
{
	cmd=$(vmm_cmd "$@")
	note "run: $cmd"
	eval "vmm-watch -o '$W/vmm.log' -t $VMM_TIMEOUT -r 256 $WATCH_OPTS -- $cmd" \
		>"$W/watch.out" 2>&1 &
	echo $! >>"$W/pids"
	vmm_wait $!
}

# vmm_wait PID: wait for the vmm-watch run PID; sets VMM_RC, WATCH, VMM_MARKERS, $W/vmm.txt.
vmm_wait()
{
	wait "$1"
	VMM_RC=$?
	grep '^vmm-watch: thread' "$W/watch.out" | while IFS= read -r l; do info "$l"; done
	WATCH=$(grep '^vmm-watch: markers' "$W/watch.out")
	[ -n "$WATCH" ] || WATCH="vmm-watch failed: $(head -c 300 "$W/watch.out")"
	VMM_MARKERS=$(echo "$WATCH" | sed -n 's/.*markers=\([0-9]*\).*/\1/p')
	tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
	note "$WATCH"
}

# fact KEY: value of the first "L3: KEY=value" line (to the next space).
fact()
{
	sed -n "s/^.*L3: $1=\([^ ]*\).*/\1/p" "$W/vmm.txt" | head -n1
}

# expect_exit0: the VMM reached L3 and exited 0 after the guest powered off.
expect_exit0()
{
	[ "$VMM_RC" = 124 ] && fail "$KEEL_VMM still running after ${VMM_TIMEOUT}s (killed)"
	[ "${VMM_MARKERS:-0}" -ge 1 ] || fail "L3 never printed KEEL-L3-INIT (exit $VMM_RC)"
	[ "$VMM_RC" = 0 ] || fail "$KEEL_VMM exited $VMM_RC after the guest's $1 (want 0)"
}

# expect_line REGEX REASON: the console has a line matching REGEX.
expect_line()
{
	grep -qE "$1" "$W/vmm.txt" || fail "$2"
}

# Kernel warnings L3 also logs under QEMU 7.2 in the same L2 (so they come from the
# nested CPU model, not from the VMM); reported as info, never counted as a pass.
#  - fpu__init_system_xstate: TCG's EPYC model's XSAVE size leaves disagree.
L3_KNOWN_ENV_WARNINGS='fpu__init_system_xstate'

# no_kernel_problems: L3 logged no oops, BUG or WARNING (except the known ones).
no_kernel_problems()
{
	grep 'L3: kernel-problem:' "$W/vmm.txt" | grep -E "$L3_KNOWN_ENV_WARNINGS" |
		head -n 3 | sed 's/^/## known nested-environment warning: /'
	if grep 'L3: kernel-problem:' "$W/vmm.txt" | grep -qvE "$L3_KNOWN_ENV_WARNINGS"; then
		grep 'L3: kernel-problem:' "$W/vmm.txt" | head -n 10 | sed 's/^/# /'
		fail "L3 kernel logged a problem"
	fi
}

# boot_cpus KIND N: the boot-<kind>-<n>cpu scenarios.
boot_cpus()
{
	k=$1 n=$2
	shift 2
	vmm_boot "$k" "$n" info "$@"
	set -- "$k" "$n"
	expect_exit0 poweroff
	cpus=$(fact cpus)
	online=$(sed -n 's/.*L3: cpus=[0-9]* online=\([^ ]*\).*/\1/p' "$W/vmm.txt" | head -n1)
	[ "$cpus" = "$2" ] || fail "L3 /proc/cpuinfo has ${cpus:-no} CPUs, want $2"
	want=0
	[ "$2" -gt 1 ] && want="0-$(($2 - 1))"
	[ "$online" = "$want" ] || fail "L3 cpus online '$online', want '$want'"
	no_kernel_problems
	info "L3 saw $cpus CPUs, online $online; first marker after" \
	     "$(echo "$WATCH" | sed -n 's/.*first_ms=\([0-9-]*\).*/\1/p') ms" \
	     "(L3 uptime at /init: $(fact init-uptime) s)"
	grep 'L3: boot-gap:' "$W/vmm.txt" | sort -t' ' -k3 -r | head -n 3 | sed 's/^.*L3: /## /' 
}

# Disk scenarios (F1, F16): the pattern L3 writes or checks (keel-pattern, shared by
# L2 and L3) and the host-side view of the image file.

# disk_raw_check FILE SEED MIB: FILE's first MIB MiB hold keel-pattern SEED; on a
# mismatch the first bad MiB is named.
disk_raw_check()
{
	w=$(keel-pattern "$2" 0 $(($3 * 256)) | md5sum | cut -d' ' -f1)
	g=$(dd if="$1" bs=1M count="$3" 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$w" = "$g" ] && return 0
	i=0
	while [ $i -lt "$3" ]; do
		[ "$(keel-pattern "$2" $((i * 256)) 256 | md5sum)" = \
		  "$(dd if="$1" bs=1M skip=$i count=1 2>/dev/null | md5sum)" ] || break
		i=$((i + 1))
	done
	note "$1: MiB $i differs from the pattern (seed $2): starts with" \
	     "'$(dd if="$1" bs=1M skip=$i count=1 2>/dev/null | head -c 60 | tr -c '[:print:]' .)'"
	return 1
}

# disk_zero_after FILE MIB: everything in FILE after MIB MiB reads as zeroes.
disk_zero_after()
{
	n=$(dd if="$1" bs=1M skip="$2" 2>/dev/null | tr -d '\000' | wc -c)
	[ "$n" = 0 ] || { note "$1: $n non-zero bytes after ${2} MiB"; return 1; }
}

# disk_raw_ref FILE SEED MIB SIZE_MIB: a raw file of SIZE_MIB with the pattern first.
disk_raw_ref()
{
	rm -f "$1"
	keel-pattern "$2" 0 $(($3 * 256)) | dd of="$1" bs=64k 2>/dev/null
	truncate -s "${4}M" "$1"
}

# disk_l3_expect REGEX WHAT: L3 printed a line matching REGEX, else fail with the
# disk lines L3 printed.
disk_l3_expect()
{
	grep -qE "L3: $1" "$W/vmm.txt" && return 0
	grep -E 'L3: (pattern|fio|discard|ro-|disk|no /dev|insmod|virtio-pci-log|pci-dev)' \
		"$W/vmm.txt" | tail -n 30 | sed 's/^/# /'
	fail "$2"
}

# disk_boot TEST SEED MIB [keel options]: boot L3 with a disk test and wait.
disk_boot()
{
	t=$1 L3_CMDLINE_EXTRA="keel.seed=$2 keel.mib=$3"
	shift 3
	# L3's CPU is TCG-slow and the machine may be shared: give it time
	VMM_TIMEOUT=${DISK_TIMEOUT:-170} vmm_boot pvh "${DISK_CPUS:-1}" "$t" "$@"
	L3_CMDLINE_EXTRA=
	expect_exit0 poweroff
	disk_l3_expect 'disk-test-done' "L3 did not finish its $t test"
	grep -E 'L3: (disk:|pattern (ok|gen)|discard ok|fio ok)' "$W/vmm.txt" | head -n 6 |
		sed 's/^.*L3: /## /'
}

# ticks: heartbeat lines L3 printed so far (keel.test=qmp prints "L3: tick=N").
ticks() { tr -d '\r' <"$W/vmm.log" | grep -c 'L3: tick='; }

# wait_ticks N: wait up to 90 s until L3 has ticked N times, else fail.
wait_ticks()
{
	n=0
	while [ "$(ticks)" -lt "$1" ] && [ $n -lt 900 ]; do n=$((n + 1)); sleep 0.1; done
	[ "$(ticks)" -ge "$1" ] || fail "L3 heartbeat never reached $1 ticks"
}

# keel_pid: set pid to the running keel's (its main thread is named keel), or fail.
keel_pid()
{
	pid=
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = keel ] && pid=${p#/proc/}
	done
	[ -n "$pid" ] || fail "no keel process while the guest runs"
}

# bridges_64 MACHINE: F2 — three pci-bridges (behind a pcie-pci-bridge on q35) with
# 64 virtio-rng and 2 virtio-blk functions; L3 must enumerate and bind every one
# and write a pattern to the disk on the last bridge, which L2 then reads back.
bridges_64()
{
	m=$1
	[ "$KEEL_VMM" = keel ] || skip "keel's own bridge layout"
	truncate -s 16M "$W/first.raw" "$W/last.raw"
	set -- --machine "$m"
	up=
	if [ "$m" = q35 ]; then
		set -- "$@" --device pcie-pci-bridge,id=pb0
		up=,bus=pb0
	fi
	n=0
	for b in 1 2 3; do
		set -- "$@" --device "pci-bridge,id=br$b,chassis_nr=$b$up"
		[ $b = 1 ] && set -- "$@" --disk "path=$W/first.raw,format=raw,bus=br1"
		i=0
		while [ $i -lt 22 ] && [ $n -lt 64 ]; do
			set -- "$@" --device "virtio-rng-pci,bus=br$b"
			i=$((i + 1)) n=$((n + 1))
		done
	done
	set -- "$@" --disk "path=$W/last.raw,format=raw,bus=br3,addr=1f"
	S=$W/qmp.sock
	set -- "$@" --qmp "unix:$S,server"
	L3_CMDLINE_EXTRA="keel.seed=21 keel.mib=4 keel.disk=/dev/vdb"
	cmd=$(L3_MEMORY=384 vmm_cmd pvh 2 lspci-pattern "$@")
	L3_CMDLINE_EXTRA=
	# vmm_boot, with a look over QMP once L3's userspace runs (the guest has
	# numbered its buses by then); stopped meanwhile so it cannot power off.
	note "run: $cmd"
	eval "vmm-watch -o '$W/vmm.log' -t 300 -r 256 $WATCH_OPTS -- $cmd" >"$W/watch.out" 2>&1 &
	boot=$!
	echo $boot >>"$W/pids"
	if wait_line 'L3: lspci: ' 250; then
		timeout 60 keelctl "$S" stop >"$W/stop.txt" 2>&1 ||
			note "keelctl stop failed (rc $?): $(head -c 200 "$W/stop.txt")"
		timeout 60 keelctl --json "$S" query-pci >"$W/pci.json" 2>&1
		timeout 60 keelctl "$S" pci >"$W/pci.txt" 2>&1
		timeout 60 keelctl "$S" devices >"$W/devices.txt" 2>&1
		# a guest left stopped would only show as a timeout: say what cont said
		if ! timeout 60 keelctl "$S" cont >"$W/cont.txt" 2>&1; then
			note "keelctl cont failed (rc $?): $(head -c 200 "$W/cont.txt"); again"
			timeout 60 keelctl "$S" cont >"$W/cont.txt" 2>&1 ||
				note "keelctl cont failed again: $(head -c 200 "$W/cont.txt")"
		fi
	fi
	vmm_wait $boot
	VMM_TIMEOUT=300 expect_exit0 poweroff
	expect_line 'L3: lspci-done' "L3 did not run lspci"
	sed -n 's/^.*L3: lspci: //p' "$W/vmm.txt" >"$W/lspci.txt"
	rng=$(grep -c '\[1af4:1044\]' "$W/lspci.txt")
	blk=$(grep -c '\[1af4:1042\]' "$W/lspci.txt")
	bridges=$(grep -c '\[1b36:0001\]' "$W/lspci.txt")
	bound=$(grep -c 'Kernel driver in use: virtio-pci' "$W/lspci.txt")
	buses=$(grep -oE '^[0-9a-f]{2}:' "$W/lspci.txt" | sort -u | tr -d ':\n' | wc -c)
	info "$m: lspci: $rng virtio-rng, $blk virtio-blk, $bridges pci-bridge, $bound bound to virtio-pci, $((buses / 2)) buses"
	[ "$rng" = 64 ] || fail "L3 lists $rng virtio-rng functions, want 64"
	[ "$blk" = 2 ] || fail "L3 lists $blk virtio-blk functions, want 2"
	[ "$bridges" = 3 ] || fail "L3 lists $bridges pci-bridges, want 3"
	[ "$bound" = 66 ] || fail "$bound functions have virtio-pci bound, want 66"
	grep -E 'Region [0-9].*(unassigned|disabled|virtual)' "$W/lspci.txt" | head -n 3 |
		sed 's/^/# /' | grep . && fail "a BAR region is unassigned, disabled or virtual"
	disk_l3_expect 'pattern ok 4' "L3 did not write and read back the pattern on the last disk"
	disk_raw_check "$W/last.raw" 21 4 || fail "the last disk's image does not hold L3's pattern"
	bridges_64_qmp "$m"
	no_kernel_problems
}

# What QMP saw while L3 ran: query-pci nests the functions behind the bridges on
# the buses L3 numbered (lspci's), and keelctl devices lists every device's bus.
bridges_64_qmp()
{
	[ -s "$W/pci.txt" ] || fail "keelctl pci printed nothing: $(head -c 300 "$W/pci.json" 2>/dev/null)"
	sed 's/^/## /' "$W/pci.txt" | head -n 12
	grep -q '"pci_bridge"' "$W/pci.json" || fail "query-pci has no pci_bridge: $(head -c 300 "$W/pci.json")"
	qrng=$(grep -c '1af4:1044' "$W/pci.txt")
	qblk=$(grep -c '1af4:1042' "$W/pci.txt")
	[ "$qrng" = 64 ] || fail "keelctl pci shows $qrng virtio-rng functions, want 64"
	[ "$qblk" = 2 ] || fail "keelctl pci shows $qblk virtio-blk functions, want 2"
	grep '1af4:104[24]' "$W/pci.txt" | grep -q '^[+\\]' &&
		fail "a virtio function is on the root bus in keelctl pci, not behind its bridge"
	nb=$(grep -cE '\(br[123]\) \[bus [0-9a-f]{2}-' "$W/pci.txt")
	[ "$nb" = 3 ] || fail "keelctl pci shows $nb numbered pci-bridges, want 3"
	# the buses the virtio functions sit on: L3's numbering and QMP's agree
	g=$(grep -E '\[1af4:104[24]\]' "$W/lspci.txt" | grep -oE '^[0-9a-f]{2}' | sort -u | tr '\n' ' ')
	q=$(grep '1af4:104[24]' "$W/pci.txt" | grep -oE '[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]' |
		cut -c1-2 | sort -u | tr '\n' ' ')
	info "$m: virtio buses: L3 lspci $g; query-pci $q"
	[ -n "$g" ] && [ "$g" = "$q" ] || fail "query-pci's buses ($q) are not L3's ($g)"
	sed 's/^/## /' "$W/devices.txt" | head -n 6
	drng=$(awk '$3 == "virtio-rng-pci" && $4 ~ /^br[123]$/' "$W/devices.txt" | wc -l)
	dblk=$(awk '$3 == "virtio-blk-pci" && ($4 == "br1" || $4 == "br3")' "$W/devices.txt" | wc -l)
	up=pci.0
	[ "$m" = q35 ] && up=pb0
	dbr=$(awk -v up=$up '$3 == "pci-bridge" && $4 == up' "$W/devices.txt" | wc -l)
	info "$m: keelctl devices: $drng virtio-rng and $dblk virtio-blk behind bridges, $dbr bridges on $up"
	[ "$drng" = 64 ] && [ "$dblk" = 2 ] && [ "$dbr" = 3 ] ||
		fail "keelctl devices does not list every device on its bus"
}

# hotplug_boot MACHINE TEST CMDLINE [keel options]: start keel with a QMP socket
# ($S) in the background ($boot), q35 with root port rp1; follow QMP events into
# $W/events.txt; return when L3 says hotplug-waiting, with keel's pid in $pid.
hotplug_boot()
{
	m=$1 t=$2 c=$3
	shift 3
	[ "$KEEL_VMM" = keel ] || skip "keel's QMP hotplug"
	S=$W/qmp.sock
	set -- --machine "$m" --qmp "unix:$S,server" "$@"
	[ "$m" = q35 ] && set -- "$@" --device pcie-root-port,id=rp1,chassis=1,slot=1
	L3_CMDLINE_EXTRA=$c
	cmd=$(vmm_cmd pvh 1 "$t" "$@")
	L3_CMDLINE_EXTRA=
	note "run: $cmd"
	eval "vmm-watch -o '$W/vmm.log' -t 300 -r 256 -- $cmd" >"$W/watch.out" 2>&1 &
	boot=$!
	echo $boot >>"$W/pids"
	n=0
	while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
	[ -S "$S" ] || fail "keel did not create the QMP socket $S"
	keelctl "$S" events >"$W/events.txt" 2>&1 &
	echo $! >>"$W/pids"
	wait_line 'L3: hotplug-waiting' 150 || fail "L3 never reached the hotplug test"
	keel_pid
}

# hotplug_deleted ID SECS: until QMP reported DEVICE_DELETED for ID the Nth time
# (N: ${3:-1}); prints the seconds it took.
hotplug_deleted()
{
	t0=$(cut -d' ' -f1 /proc/uptime)
	n=0
	until [ "$(grep -cE "DEVICE_DELETED.* device=$1( |\$)" "$W/events.txt")" -ge "${3:-1}" ]; do
		n=$((n + 1))
		[ $n -gt $(($2 * 10)) ] && fail "no DEVICE_DELETED for $1 within $2 s: $(tail -n 3 "$W/events.txt")"
		sleep 0.1
	done
	awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }'
}

# hotplug_end: L3 sees a last disk and powers off; keel must exit 0, L3 clean.
hotplug_end()
{
	wait_line 'L3: hotplug-(again|dmesg)' 60 && sleep 0.5
	tr -d '\r' <"$W/vmm.log" | grep -q 'L3: hotplug-again' || {
		tr -d '\r' <"$W/vmm.log" | grep 'L3: hotplug-dmesg' | sed 's/^.*L3: /# /'
		fail "L3 did not see the disk added a last time"
	}
	wait $boot
	tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
	grep -q 'exit=0$' "$W/watch.out" || fail "keel did not exit 0: $(grep vmm-watch "$W/watch.out")"
	no_kernel_problems
}

# rng_check DEVICE: after an F13 "rng" boot, L3's current hwrng is virtio_rng.0, it
# read 4096 varied bytes, negotiated VERSION_1; keel did not complain about DEVICE.
rng_check()
{
	h=$(fact hwrng)
	[ "$h" = virtio_rng.0 ] || fail "L3's current hwrng is '${h:-none}', want virtio_rng.0"
	grep -q 'L3: rng-read-failed' "$W/vmm.txt" &&
		fail "reading /dev/hwrng failed: $(sed -n 's/.*L3: rng-read-failed: //p' "$W/vmm.txt")"
	set -- "$1" $(sed -n 's/.*L3: rng bytes=\([0-9]*\) distinct=\([0-9]*\) ms=\([0-9]*\).*/\1 \2 \3/p' \
		"$W/vmm.txt" | head -n1)
	[ $# = 4 ] || fail "L3 printed no rng result line"
	[ "$2" = 4096 ] || fail "L3 read $2 bytes from /dev/hwrng, want 4096"
	# 4096 random bytes take nearly all 256 values; a stuck or zero source takes 1
	[ "$3" -ge 200 ] || fail "the 4096 bytes from /dev/hwrng take only $3 distinct values"
	info "4096 bytes from /dev/hwrng in $4 ms (L3 clock), $3 distinct byte values"
	f=$(fact rng-features)
	[ "$(echo "$f" | cut -c33)" = 1 ] || fail "L3 did not negotiate VIRTIO_F_VERSION_1 (features $f)"
	info "negotiated: VERSION_1$([ "$(echo "$f" | cut -c35)" = 1 ] && echo ", RING_PACKED")$(
		[ "$(echo "$f" | cut -c30)" = 1 ] && echo ", EVENT_IDX")$(
		[ "$(echo "$f" | cut -c29)" = 1 ] && echo ", INDIRECT_DESC") ($f)"
	no_kernel_problems
	# Linux's driver follows the spec: any complaint of the transport is ours to fix
	c=$(grep -E "keel: (warning|error): $1" "$W/vmm.txt" | head -n 5)
	if [ -n "$c" ]; then
		echo "$c" | sed 's/^/# /'
		fail "keel complained about what L3's virtio drivers did"
	fi
}

# disk_hotplug MACHINE [BUS [IOTHREAD]]: F31 — blockdev-add a qcow2 image and
# device_add a virtio-blk-pci on BUS while L3 runs; L3 writes a pattern; device_del,
# the guest lets go (pciehp on q35's root port, acpiphp on pc's bus 0),
# DEVICE_DELETED; the node can go only then; qemu-img check is clean and the pattern
# is in the image; then the same disk is added again and the guest powers off with it.
disk_hotplug()
{
	m=$1 bus=${2:+bus=$2} io=${3:+iothread=$3} ioid=${3:-}
	img=$W/hot.qcow2
	qemu-img create -q -f qcow2 "$img" 32M || fail "qemu-img create failed"
	set --
	[ -n "$ioid" ] && set -- --iothread "id=$ioid"
	hotplug_boot "$m" disk-hotplug "keel.seed=31 keel.mib=4" "$@"
	fds0=$(ls /proc/$pid/fd | wc -l)
	keelctl "$S" blockdev-add driver=qcow2 node-name=hd0 \
		file:="{\"driver\":\"file\",\"filename\":\"$img\"}" >"$W/r.txt" 2>&1 ||
		fail "blockdev-add failed: $(cat "$W/r.txt")"
	keelctl "$S" blockdev-add driver=qcow2 node-name=hd0 \
		file:="{\"driver\":\"file\",\"filename\":\"$img\"}" 2>"$W/r.txt" &&
		fail "a second blockdev-add of node hd0 succeeded"
	keelctl "$S" query-named-block-nodes | grep -q 'hd0' || fail "query-named-block-nodes lacks hd0"
	keelctl "$S" device_add driver=virtio-blk-pci drive=hd0 id=disk1 $bus $io >"$W/r.txt" 2>&1 ||
		fail "device_add virtio-blk-pci failed: $(cat "$W/r.txt")"
	keelctl "$S" blockdev-del node-name=hd0 2>"$W/r.txt" &&
		fail "blockdev-del of a node in use succeeded"
	grep -q busy "$W/r.txt" || fail "blockdev-del in use said: $(cat "$W/r.txt")"
	keelctl "$S" device_del id=nodisk 2>"$W/r.txt" && fail "device_del of a missing id succeeded"
	grep -q DeviceNotFound "$W/r.txt" || fail "device_del of a missing id said: $(cat "$W/r.txt")"
	wait_line 'L3: (hotplug-written|pattern bad|no /dev)' 150 ||
		fail "L3 did not write to the hot-plugged disk"
	tr -d '\r' <"$W/vmm.log" | grep -q 'L3: hotplug-written' ||
		fail "L3's pattern on the hot-plugged disk failed"
	keelctl "$S" x-query-devices | tr ',' '\n' | grep -A3 '"disk1"' | tr -d '\n' | sed 's/^/## /'
	echo
	keelctl "$S" device_del id=disk1 >"$W/r.txt" 2>&1 || fail "device_del failed: $(cat "$W/r.txt")"
	keelctl "$S" device_del id=disk1 2>"$W/r.txt" && fail "a second device_del while pending succeeded"
	info "$m: DEVICE_DELETED $(hotplug_deleted disk1 30) s after device_del"
	wait_line 'L3: hotplug-gone' 30 || fail "the disk is still in L3 after DEVICE_DELETED"
	keelctl "$S" blockdev-del node-name=hd0 >"$W/r.txt" 2>&1 ||
		fail "blockdev-del after the unplug failed: $(cat "$W/r.txt")"
	fds1=$(ls /proc/$pid/fd | wc -l)
	info "$m: keel fds before $fds0, after add+remove $fds1"
	[ "$fds1" -le "$fds0" ] || fail "keel holds $((fds1 - fds0)) more fds after the disk went"
	qemu-img check -f qcow2 "$img" >"$W/check.txt" 2>&1 ||
		{ sed 's/^/# /' "$W/check.txt"; fail "qemu-img check: the hot-plugged image is not clean"; }
	qemu-img convert -f qcow2 -O raw "$img" "$W/hot.raw" || fail "qemu-img convert failed"
	disk_raw_check "$W/hot.raw" 31 4 || fail "the image does not hold the pattern L3 wrote"
	# The same node name, id and slot once more; the guest powers off with it plugged.
	keelctl "$S" blockdev-add driver=qcow2 node-name=hd0 \
		file:="{\"driver\":\"file\",\"filename\":\"$img\"}" >"$W/r.txt" 2>&1 ||
		fail "the second blockdev-add failed: $(cat "$W/r.txt")"
	keelctl "$S" device_add driver=virtio-blk-pci drive=hd0 id=disk1 $bus $io >"$W/r.txt" 2>&1 ||
		fail "the second device_add failed: $(cat "$W/r.txt")"
	hotplug_end
	grep 'L3: hotplug-dmesg:' "$W/vmm.txt" | sed 's/^.*L3: /## /'
}

# hotplug_add_qcow2 NODE IMAGE: blockdev-add a qcow2 node on IMAGE.
hotplug_add_qcow2()
{
	keelctl "$S" blockdev-add driver=qcow2 node-name="$1" \
		file:="{\"driver\":\"file\",\"filename\":\"$2\"}" >"$W/r.txt" 2>&1 ||
		fail "blockdev-add $1 failed: $(cat "$W/r.txt")"
}

# disk_hotplug_load MACHINE [BUS]: F31 — device_del of a hot-plugged qcow2 disk
# while fio and an O_DIRECT pattern writer run in L3: DEVICE_DELETED comes once the
# guest lets go, every write L3 saw complete is in the image, the image is clean.
disk_hotplug_load()
{
	m=$1 bus=${2:+bus=$2}
	img=$W/load.qcow2
	qemu-img create -q -f qcow2 "$img" 64M || fail "qemu-img create failed"
	hotplug_boot "$m" disk-hotplug-load "keel.seed=33 keel.mib=24"
	hotplug_add_qcow2 hd0 "$img"
	keelctl "$S" device_add driver=virtio-blk-pci drive=hd0 id=disk1 $bus >"$W/r.txt" 2>&1 ||
		fail "device_add failed: $(cat "$W/r.txt")"
	wait_line 'L3: load-acked 2$' 120 || fail "L3's writer did not get going"
	keelctl "$S" device_del id=disk1 >"$W/r.txt" 2>&1 || fail "device_del failed: $(cat "$W/r.txt")"
	info "$m: DEVICE_DELETED $(hotplug_deleted disk1 60) s after device_del, under load"
	wait_line 'L3: hotplug-gone' 60 || fail "the disk is still in L3 after DEVICE_DELETED"
	tr -d '\r' <"$W/vmm.log" | grep -E 'L3: load-(writer|fio)' | sed 's/^.*L3: /## /'
	keelctl "$S" blockdev-del node-name=hd0 >"$W/r.txt" 2>&1 ||
		fail "blockdev-del after the unplug failed: $(cat "$W/r.txt")"
	qemu-img check -f qcow2 "$img" >"$W/check.txt" 2>&1 ||
		{ sed 's/^/# /' "$W/check.txt"; fail "qemu-img check: the image is not clean after an unplug under load"; }
	qemu-img convert -f qcow2 -O raw "$img" "$W/load.raw" || fail "qemu-img convert failed"
	acked=$(tr -d '\r' <"$W/vmm.log" | sed -n 's/^.*L3: load-acked \([0-9]*\)$/\1/p')
	[ -n "$acked" ] || fail "no write acknowledged to L3"
	bad=
	for i in $acked; do
		[ "$(keel-pattern 33 $((i * 256)) 256 | md5sum)" = \
		  "$(dd if="$W/load.raw" bs=1M skip="$i" count=1 2>/dev/null | md5sum)" ] || bad="$bad $i"
	done
	[ -z "$bad" ] || fail "MiB acknowledged to L3 but not in the image:$bad"
	info "$m: $(echo $acked | wc -w) MiB acknowledged to L3 before the unplug, all in the image; qemu-img check clean"
	hotplug_add_qcow2 hd0 "$img"
	keelctl "$S" device_add driver=virtio-blk-pci drive=hd0 id=disk1 $bus >"$W/r.txt" 2>&1 ||
		fail "the last device_add failed: $(cat "$W/r.txt")"
	hotplug_end
}

# disk_hotplug_cycles MACHINE CYCLES: F31 — CYCLES times blockdev-add, device_add,
# L3 reads the disk, device_del, DEVICE_DELETED, blockdev-del; even cycles a qcow2
# node served on an I/O thread, odd ones a raw node served by vhost-blk.ko. After
# them keel holds as many fds and threads as before, vhost-blk no live objects.
disk_hotplug_cycles()
{
	m=$1 cycles=$2
	K=/keel/kmod
	[ -c /dev/vhost-blk ] || insmod $K/vhost-blk.ko 2>"$W/insmod.err" ||
		fail "insmod vhost-blk.ko: $(cat "$W/insmod.err")"
	qemu-img create -q -f qcow2 "$W/c.qcow2" 32M || fail "qemu-img create failed"
	truncate -s 32M "$W/c.raw"
	hotplug_boot "$m" disk-hotplug-cycles "keel.cycles=$cycles" --iothread id=io0
	fds0=$(ls /proc/$pid/fd | wc -l) tasks0=$(ls /proc/$pid/task | wc -l)
	c=0
	while [ $c -lt "$cycles" ]; do
		if [ $((c % 2)) = 0 ]; then
			hotplug_add_qcow2 hd0 "$W/c.qcow2"
			dev="driver=virtio-blk-pci drive=hd0 id=disk1 iothread=io0"
		else
			keelctl "$S" blockdev-add driver=raw node-name=hd0 \
				file:="{\"driver\":\"file\",\"filename\":\"$W/c.raw\"}" >"$W/r.txt" 2>&1 ||
				fail "blockdev-add raw failed: $(cat "$W/r.txt")"
			dev="driver=virtio-blk-pci drive=hd0 id=disk1 accel=vhost"
		fi
		keelctl "$S" device_add $dev >"$W/r.txt" 2>&1 ||
			fail "cycle $c: device_add $dev failed: $(cat "$W/r.txt")"
		wait_line "L3: cycle-added $c\$" 60 || fail "cycle $c: L3 did not see the disk"
		[ $((c % 2)) = 1 ] && ! grep -qs vhost-blk /proc/[0-9]*/comm &&
			note "cycle $c: no vhost-blk worker thread seen"
		keelctl "$S" device_del id=disk1 >"$W/r.txt" 2>&1 ||
			fail "cycle $c: device_del failed: $(cat "$W/r.txt")"
		hotplug_deleted disk1 60 $((c + 1)) >/dev/null
		wait_line "L3: cycle-gone $c\$" 60 || fail "cycle $c: the disk is still in L3"
		keelctl "$S" blockdev-del node-name=hd0 >"$W/r.txt" 2>&1 ||
			fail "cycle $c: blockdev-del failed: $(cat "$W/r.txt")"
		c=$((c + 1))
	done
	fds1=$(ls /proc/$pid/fd | wc -l) tasks1=$(ls /proc/$pid/task | wc -l)
	P=/sys/module/vhost_blk/parameters
	live="$(cat $P/live_devices 2>&1) $(cat $P/live_requests 2>&1)"
	info "$m: $cycles add/remove cycles: fds $fds0 -> $fds1, threads $tasks0 -> $tasks1, vhost-blk live devices/requests: $live"
	[ "$fds1" -le "$fds0" ] || fail "keel holds $((fds1 - fds0)) more fds after $cycles cycles"
	[ "$tasks1" -le "$tasks0" ] || fail "keel has $((tasks1 - tasks0)) more threads after $cycles cycles"
	[ "$live" = "0 0" ] || fail "vhost-blk has live objects after the cycles: $live"
	grep -c 'served by vhost-blk' "$W/vmm.log" | sed 's/^/## vhost-blk served this many hot-plugged disks: /'
	[ "$(tr -d '\r' <"$W/vmm.log" | grep -c 'served by vhost-blk')" -ge $((cycles / 2)) ] ||
		fail "the odd cycles' disks were not served by vhost-blk"
	hotplug_add_qcow2 hd0 "$W/c.qcow2"
	keelctl "$S" device_add driver=virtio-blk-pci drive=hd0 id=disk1 >"$W/r.txt" 2>&1 ||
		fail "the last device_add failed: $(cat "$W/r.txt")"
	hotplug_end
	rmmod vhost_blk 2>/dev/null
	:
}

# wait_line REGEX SECS: until the L3 console ($W/vmm.log) has a line matching REGEX.
wait_line()
{
	n=0
	until tr -d '\r' <"$W/vmm.log" 2>/dev/null | grep -qE "$1"; do
		n=$((n + 1))
		[ $n -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}
