# F33-pvpanic-pci: with --device pvpanic-pci, L3 enumerates 1b36:0011 with its BAR 0
# inside keel's 32-bit BAR window (placed by keel, not moved by Linux), Debian's
# pvpanic-pci driver binds it and ACPI (with the _PRT) stays clean; then a panic
# (sysrq c) reaches keel through the BAR (keel logs the write) and gives
# GUEST_PANICKED action=poweroff and exit 0 under --on-panic poweroff.
VMM_TIMEOUT=150
vmm_boot pvh 1 info --device pvpanic-pci
expect_exit0 poweroff
grep -E 'L3: (pci-dev|insmod|acpi-problem)' "$W/vmm.txt" | sed 's/^.*L3: /## /'
# (fact stops at the first space: the pci= line lists every function)
p=$(sed -n 's/.*L3: pci=//p' "$W/vmm.txt" | head -n1)
case " $p " in
*:1b36:0011" "*) ;;
*) fail "L3 sees no pvpanic-pci function 1b36:0011 (saw: ${p:-nothing})" ;;
esac
bdf=$(echo " $p " | tr ' ' '\n' | sed -n 's/^\(.*\):1b36:0011$/\1/p' | head -n1)
line=$(grep "L3: pci-dev: $bdf " "$W/vmm.txt" | head -n1)
[ -n "$line" ] || fail "L3 printed no pci-dev line for $bdf"
case $line in
*" class=0x088000 "*) ;;
*) fail "pvpanic-pci $bdf has the wrong class: $line" ;;
esac
case $line in
*" driver=pvpanic-pci "*) ;;
*) fail "Debian's pvpanic-pci driver did not bind $bdf: $line" ;;
esac
bar=$(echo "$line" | sed -n 's/.* bar0=\(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)\/.*/\1 \2/p')
[ -n "$bar" ] || fail "$bdf has no BAR 0 in sysfs: $line"
set -- $bar
start=$(($1)) end=$(($2))
[ $((end - start + 1)) = 16 ] || fail "$bdf BAR 0 is $((end - start + 1)) bytes, want 16"
[ "$start" -ge $((0xc0000000)) ] && [ "$end" -le $((0xdfffffff)) ] ||
	fail "$bdf BAR 0 $1-$2 lies outside keel's 32-bit window 0xc0000000-0xdfffffff"
[ $((start % 16)) = 0 ] || fail "$bdf BAR 0 at $1 is not 16-byte aligned"
grep -q 'L3: acpi-clean' "$W/vmm.txt" || fail "L3 logged ACPI problems (see above)"
grep 'L3: virtio-pci-log:' "$W/vmm.txt" | grep -iE "$bdf|can.t claim|no space|conflict" &&
	fail "L3's kernel complained about PCI resources (see above)"
no_kernel_problems
info "pvpanic-pci at $bdf, BAR 0 $1-$2, driver pvpanic-pci"

# The panic, through the PCI BAR.
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
S=$W/qmp.sock
vmm_boot pvh 1 panic --device pvpanic-pci --on-panic poweroff --qmp "unix:$S,server" &
boot=$!
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "keel did not create the QMP socket $S"
keelctl "$S" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"
wait $boot
tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
sleep 0.3
sed 's/^/## event: /' "$W/events.txt"
grep -q 'L3: panicking' "$W/vmm.txt" || fail "L3 never reached its panic"
grep -q 'L3: still-alive-after-panic' "$W/vmm.txt" && fail "sysrq c did not panic L3"
grep -q 'pvpanic-pci: guest reported a panic' "$W/vmm.txt" ||
	fail "the panic did not reach keel through the pvpanic-pci BAR"
grep '^vmm-watch:' "$W/watch.out" | grep -q 'exit=0$' ||
	fail "keel did not exit 0 after the panic: $(grep '^vmm-watch:' "$W/watch.out")"
for e in 'GUEST_PANICKED action=poweroff' 'SHUTDOWN guest=true reason=guest-panic'; do
	grep -q " $e" "$W/events.txt" || fail "event '$e' not seen by keelctl events"
done
:
