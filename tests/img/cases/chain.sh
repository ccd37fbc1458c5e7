# Backing chains through the generic layer: reads fall through, loops and too deep
# chains are refused with a clear message (block_open_backing).
# shellcheck shell=bash
need_format qcow2 || return 0

qemu-img create -q -f qcow2 "$T/base.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x10 0 16M" "$T/base.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/mid.qcow2"
qemu-io -f qcow2 -c "write -P 0x20 1M 1M" -c "write -z 4M 64k" "$T/mid.qcow2" >/dev/null
qemu-img create -q -f raw "$T/rawbase.raw" 8M
qemu-io -f raw -c "write -P 0x30 0 8M" "$T/rawbase.raw" >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/top.qcow2" 24M
qemu-io -f qcow2 -c "write -P 0x40 1536k 4k" -c "write -P 0x41 20M 1M" "$T/top.qcow2" >/dev/null
oracle_read "three-level qcow2 chain with a longer top reads like qemu-img" qcow2 "$T/top.qcow2"
qemu-img create -q -f qcow2 -b rawbase.raw -F raw "$T/onraw.qcow2" 16M
oracle_read "qcow2 over a shorter raw backing file" qcow2 "$T/onraw.qcow2"

# loops: self, and two images pointing at each other
qemu-img create -q -f qcow2 -u -b self.qcow2 -F qcow2 "$T/self.qcow2" 16M
check_rc "a self-referencing backing file is refused" 1 "$KEEL_IMG" convert -f qcow2 -O raw "$T/self.qcow2" "$T/x.raw"
grep -q "loop" "$T/log" && ok "... and the message says loop" || not_ok "... and the message says loop" "$(cat "$T/log")"
qemu-img create -q -f qcow2 -u -b l2.qcow2 -F qcow2 "$T/l1.qcow2" 16M
qemu-img create -q -f qcow2 -u -b l1.qcow2 -F qcow2 "$T/l2.qcow2" 16M
check_rc "a two-image backing loop is refused" 1 "$KEEL_IMG" info --backing-chain "$T/l1.qcow2"
check "info without --backing-chain still works on a looped image" "$KEEL_IMG" info "$T/l1.qcow2"

# depth: 16 backing levels are fine, 17 are refused
prev=""
for i in $(seq 0 17); do
	if [ -z "$prev" ]; then
		qemu-img create -q -f qcow2 "$T/d$i.qcow2" 1M
	else
		qemu-img create -q -f qcow2 -u -b "$prev" -F qcow2 "$T/d$i.qcow2" 1M
	fi
	prev=d$i.qcow2
done
check "a chain of 16 backing files opens" "$KEEL_IMG" convert -f qcow2 -O raw "$T/d16.qcow2" "$T/x.raw"
check_rc "a chain of 17 backing files is refused" 1 "$KEEL_IMG" convert -f qcow2 -O raw "$T/d17.qcow2" "$T/x.raw"
grep -q "deeper" "$T/log" && ok "... and the message says too deep" || not_ok "... and the message says too deep" "$(cat "$T/log")"
