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

# vmm_cmd KIND CPUS TEST [keel options]: print the VMM command line.
vmm_cmd()
{
	kind=$1 cpus=$2 test=$3
	shift 3
	k=$(l3_kernel "$kind")
	c="$L3_BASE_CMDLINE keel.test=$test"
	if [ "$KEEL_VMM" = qemu ]; then
		# microvm has no reset path that QEMU 7.2 turns into a reboot
		case $kind,$test in
		*,reboot) m=pc ;;
		pvh,*) m=microvm,rtc=on ;;
		*) m=pc ;;
		esac
		nr=
		for o in "$@"; do
			[ "$o" = --no-reboot ] && nr=-no-reboot
		done
		echo "qemu-system-x86_64 -M $m -accel kvm -cpu host -m 256 -smp $cpus" \
		     "-nodefaults -display none -monitor none -serial stdio $nr" \
		     "-kernel $k -initrd $L3_INITRD -append '$c'"
	else
		echo "keel run --kernel $k --initrd $L3_INITRD --cmdline '$c'" \
		     "--cpus $cpus --memory 256M --serial stdio $*"
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
	wait $!
	VMM_RC=$?
	WATCH=$(grep '^vmm-watch:' "$W/watch.out")
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
	vmm_boot "$1" "$2" info
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
