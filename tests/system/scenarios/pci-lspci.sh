# pci-lspci: a machine with every PCI device keel has (virtio-blk with 2 queues,
# virtio-rng, virtio-serial, pvpanic-pci) as `lspci -vv` in L3 shows it: each
# function listed with its driver bound, every BAR region assigned inside keel's
# windows (32-bit at 0xc0000000-0xdfffffff, 64-bit above 4 GiB), MSI-X enabled on
# the virtio functions, and no kernel warning or PCI complaint while booting.
VMM_TIMEOUT=150
truncate -s 16M "$W/d.raw"
vmm_boot pvh 2 lspci --disk "path=$W/d.raw,format=raw,num-queues=2" --rng \
	--device virtio-serial --device pvpanic-pci
expect_exit0 poweroff
expect_line 'L3: lspci-done' "L3 did not run lspci"
sed -n 's/^.*L3: lspci: //p' "$W/vmm.txt" >"$W/lspci.txt"
grep -E '^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] ' "$W/lspci.txt" | sed 's/^/## /'
nfun=$(grep -cE '^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] ' "$W/lspci.txt")
# host bridge + blk + rng + console + pvpanic-pci
[ "$nfun" -ge 5 ] || fail "lspci lists $nfun functions, want at least 5"
for id in 8086:1237 1af4:1042 1af4:1044 1af4:1043 1b36:0011; do
	grep -q "\[$id\]" "$W/lspci.txt" || fail "lspci does not list [$id]"
done
# Every device function (not the host bridge) has a driver.
drv=$(grep -c 'Kernel driver in use:' "$W/lspci.txt")
[ "$drv" -ge 4 ] || fail "only $drv functions have a driver bound"
# Regions: assigned, inside the windows; none unassigned, disabled or virtual.
grep -E 'Region [0-9]' "$W/lspci.txt" | sed 's/^[[:space:]]*/## /' | head -n 12
grep -E 'Region [0-9].*(unassigned|disabled|virtual)' "$W/lspci.txt" &&
	fail "a BAR region is unassigned, disabled or virtual"
for a in $(grep -oE 'Memory at [0-9a-f]+' "$W/lspci.txt" | awk '{print $3}'); do
	v=$((0x$a))
	if [ $v -lt $((0x100000000)) ]; then
		[ $v -ge $((0xc0000000)) ] && [ $v -lt $((0xe0000000)) ] ||
			fail "32-bit BAR at 0x$a outside 0xc0000000-0xdfffffff"
	fi
done
msix=$(grep -c 'MSI-X: Enable+' "$W/lspci.txt")
[ "$msix" -ge 3 ] || fail "MSI-X enabled on $msix functions, want the 3 virtio ones"
info "lspci: $nfun functions, $drv drivers bound, MSI-X on $msix"
grep 'L3: pci-log:' "$W/vmm.txt" | grep -iE 'fail|error|conflict|no space|BAR .* invalid' &&
	fail "the guest complained about PCI resources"
no_kernel_problems
