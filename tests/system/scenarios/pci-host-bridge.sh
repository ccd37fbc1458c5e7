# pci-host-bridge: L3 finds keel's PCI host bridge through 0xCF8/0xCFC and the
# ECAM window of the MCFG table, enumerates bus 0 and sees 00:00.0 with keel's IDs.
vmm_boot pvh 1 info
expect_exit0 poweroff
grep 'L3: pci-log:' "$W/vmm.txt" | tr -d '\r' | head -n 20 |
	while read -r l; do info "${l#*L3: pci-log: }"; done
if grep -q 'L3: pci-log:.*PCI: Fatal' "$W/vmm.txt"; then
	fail "L3 found no PCI config access method"
fi
grep -qE 'L3: pci-log:.*(PCI: Using configuration type 1|MMCONFIG|ECAM)' "$W/vmm.txt" ||
	fail "L3 dmesg names neither config type 1 nor MMCONFIG/ECAM"
grep -q 'L3: pci-log:.*PCI host bridge to bus 0000:00' "$W/vmm.txt" ||
	fail "L3 did not set up a host bridge for bus 0000:00"
p=$(sed -n 's/.*L3: pci=//p' "$W/vmm.txt" | tr -d '\r' | head -n1)
info "L3 PCI functions: $p"
case " $p " in
*" 0000:00:00.0:8086:1237 "*) ;;
*) fail "L3 has no 0000:00:00.0 with IDs 8086:1237 (saw: ${p:-nothing})" ;;
esac
:
