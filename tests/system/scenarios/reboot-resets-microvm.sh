# reboot-resets-microvm: reboot-resets on the microvm machine: `reboot -f` in L3
# (the FADT reset register, port 0xCF9, which microvm decodes without a host
# bridge) resets the machine, and the guest boots again with its virtio-mmio disk.
[ "$KEEL_VMM" = keel ] || skip "keel's microvm board"
truncate -s 16M "$W/d.raw"
WATCH_OPTS="-n 2 -k"
VMM_TIMEOUT=90
vmm_boot pvh 1 reboot --machine microvm --disk "path=$W/d.raw,format=raw"
[ "${VMM_MARKERS:-0}" -ge 2 ] ||
	fail "L3 booted ${VMM_MARKERS:-0} time(s) after reboot -f, want 2 (exit $VMM_RC)"
grep -i 'reset' "$W/vmm.txt" | head -n 2 | sed 's/^/## VMM: /'
echo "$WATCH" | grep -q 'killed=1' || fail "VMM was not stopped after the second boot"
[ "$(grep -c 'L3: virtio-devs=.*virtio_blk:LNRO0005' "$W/vmm.txt")" -ge 1 ] ||
	fail "the first boot had no virtio-mmio disk"
:
