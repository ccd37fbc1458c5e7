# F20-microvm-boot: --machine microvm boots PVH and bzImage: L3 reaches /init with
# its virtio devices on virtio-mmio (LNRO0005 platform devices from the DSDT, no PCI
# function at all), the ACPI tables decode cleanly, the guest logs no kernel
# problem, and its power-off ends keel with exit 0. QMP on the same machine:
# query-pci is empty and device_add is refused, naming why.
[ "$KEEL_VMM" = keel ] || skip "keel's microvm board"
truncate -s 16M "$W/d.raw"
S=$W/qmp.sock
for kind in pvh bzimage; do
	rm -f "$S" "$W/qpci.txt" "$W/dadd.txt"
	# QMP while the guest boots, from the side: vmm_boot sets the results here
	(
		n=0
		while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
		keelctl --json "$S" query-pci >"$W/qpci.txt" 2>&1
		keelctl --json "$S" device_add driver=virtio-rng-device id=h0 >"$W/dadd.txt" 2>&1
		keelctl --json "$S" device_add driver=virtio-rng-pci id=h1 >>"$W/dadd.txt" 2>&1
	) &
	q=$!
	echo $q >>"$W/pids"
	VMM_TIMEOUT=150 vmm_boot "$kind" 1 info --machine microvm --qmp "unix:$S" \
		--disk "path=$W/d.raw,format=raw" --rng
	wait $q
	[ -s "$W/qpci.txt" ] || fail "$kind: keel did not answer on the QMP socket $S"
	expect_exit0 poweroff
	v=$(sed -n 's/^.*L3: virtio-devs=//p' "$W/vmm.txt" | head -n1)
	info "$kind: virtio devices: $v"
	p=$(sed -n 's/^.*L3: pci=//p' "$W/vmm.txt" | head -n1)
	[ -z "$(echo $p)" ] || fail "$kind: L3 sees PCI functions on microvm: $p"
	case " $v " in
	*:0x0002:virtio_blk:LNRO0005:*) ;;
	*) fail "$kind: no virtio-blk bound on a LNRO0005 device (saw: ${v:-nothing})" ;;
	esac
	case " $v " in
	*:0x0004:virtio_rng:LNRO0005:*) ;;
	*) fail "$kind: no virtio-rng bound on a LNRO0005 device (saw: ${v:-nothing})" ;;
	esac
	expect_line 'L3: disk: vda sectors=32768' "$kind: L3 has no 16 MiB /dev/vda"
	if grep -q 'L3: acpi-problem:' "$W/vmm.txt"; then
		grep 'L3: acpi-problem:' "$W/vmm.txt" | head -n 5 | sed 's/^/# /'
		fail "$kind: L3 logged ACPI errors or warnings"
	fi
	expect_line 'L3: acpi-clean' "$kind: L3 did not report its ACPI tables clean"
	grep 'L3: pci-log:' "$W/vmm.txt" | head -n 3 | sed 's/^.*L3: /## /'
	grep -E 'L3: virtio-pci-log: .*virtio.mmio' "$W/vmm.txt" | grep -iE 'error|fail|wrong' &&
		fail "$kind: virtio_mmio complained"
	# the kicks go through KVM_IOEVENTFD_FLAG_DATAMATCH, not through keel
	grep -q 'no ioeventfd for queue kicks' "$W/vmm.txt" &&
		fail "$kind: keel could not register the virtio-mmio kick ioeventfds"
	no_kernel_problems
	sed 's/^/## query-pci: /' "$W/qpci.txt" | head -n 3
	grep -q '"return"' "$W/qpci.txt" || fail "$kind: query-pci failed: $(head -c 200 "$W/qpci.txt")"
	# no function anywhere: an empty list, or bus 0 with no devices
	q=$(tr -d ' \n' <"$W/qpci.txt")
	case $q in
	*'"return":[]'* | *'"devices":[]'*) ;;
	*) fail "$kind: query-pci lists PCI devices on microvm" ;;
	esac
	sed 's/^/## device_add: /' "$W/dadd.txt"
	grep -q 'does not support hotplugging' "$W/dadd.txt" ||
		fail "$kind: device_add of virtio-rng-device was not refused for want of hotplug"
	grep -q "No 'PCI' bus" "$W/dadd.txt" ||
		fail "$kind: device_add of virtio-rng-pci was not refused for want of a PCI bus"
	info "$kind: L3 /init after $(echo "$WATCH" | sed -n 's/.*first_ms=\([0-9-]*\).*/\1/p') ms" \
	     "(L3 uptime at /init: $(fact init-uptime) s)"
done
:
