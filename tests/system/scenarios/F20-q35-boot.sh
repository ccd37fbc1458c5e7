# F20-q35-boot: --machine q35 boots (PVH and bzImage): lspci -vvnn in L3 shows the
# MCH, the ICH9 LPC, a pcie-root-port with its PCIe Root Port capability and a
# virtio-blk PCIe endpoint behind it; the guest logs no kernel or ACPI problem.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
truncate -s 16M "$W/d.raw"
for kind in pvh bzimage; do
	VMM_TIMEOUT=200 vmm_boot "$kind" 1 lspci --machine q35 \
		--device pcie-root-port,id=rp1,chassis=1,slot=1 \
		--disk "path=$W/d.raw,format=raw,bus=rp1" --rng
	expect_exit0 poweroff
	expect_line 'L3: lspci-done' "L3 did not run lspci ($kind)"
	sed -n 's/^.*L3: lspci: //p' "$W/vmm.txt" >"$W/lspci.txt"
	for id in 8086:29c0 8086:2918 1b36:000c 1af4:1042 1af4:1044; do
		grep -q "\[$id\]" "$W/lspci.txt" || fail "$kind: lspci does not list [$id]"
	done
	grep -q 'Express (v2) Root Port' "$W/lspci.txt" ||
		fail "$kind: the root port shows no PCIe Root Port capability"
	grep -q 'Express (v2) Endpoint' "$W/lspci.txt" ||
		fail "$kind: the disk behind the root port is not a PCIe endpoint"
	grep -E '^0[1-9a-f]:00\.0 .*1af4:1042' "$W/lspci.txt" >/dev/null ||
		fail "$kind: the disk is not on the root port's secondary bus"
	drv=$(grep -c 'Kernel driver in use:' "$W/lspci.txt")
	info "$kind: $(grep -cE '^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] ' "$W/lspci.txt") functions, $drv drivers bound"
	grep 'L3: pci-log:' "$W/vmm.txt" | grep -iE 'fail|error|conflict|no space|invalid' &&
		fail "$kind: the guest complained about PCI resources"
	if grep -q 'L3: acpi-problem:' "$W/vmm.txt"; then
		grep 'L3: acpi-problem:' "$W/vmm.txt" | head -n 5 | sed 's/^/# /'
		fail "$kind: L3 logged ACPI errors or warnings"
	fi
	no_kernel_problems
done
:
