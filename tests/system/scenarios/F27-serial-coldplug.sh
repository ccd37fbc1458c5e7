# F27-serial-coldplug: a serial port given on the command line (--chardev unix socket,
# --device virtio-serial, --device virtserialport) is there when L3 boots, echoes
# lines, is announced again after system_reset, and can still be unplugged with
# device_del (DEVICE_DELETED). KEEL_VMM=qemu runs QEMU 7.2 with the same devices.
VMM_TIMEOUT=240
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
command -v keel-sockcat >/dev/null || fail "keel-sockcat is not in the L2 image"
S=$W/qmp.sock
P=$W/port.sock
EV=$S
ready() { tr -d '\r' <"$W/vmm.log" 2>/dev/null | grep -c 'L3: serial-ready'; }
wait_ready()
{
	n=0
	while [ "$(ready)" -lt "$1" ]; do
		n=$((n + 1))
		[ $n -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}
# echo_check TEXT: one line through the port, upper-cased back
echo_check()
{
	echo "$1" | keel-sockcat -w 60 -n 1 "$P" >"$W/answer.txt" 2>&1 ||
		fail "no answer through the port for '$1': '$(cat "$W/answer.txt")'"
	want=$(echo "$1" | tr 'a-z' 'A-Z')
	grep -qx "$want" "$W/answer.txt" || fail "answer to '$1': '$(cat "$W/answer.txt")'"
}

if [ "$KEEL_VMM" = qemu ]; then
	EV=$W/qmp-events.sock
	cmd="$(vmm_cmd pvh 1 serial --device virtio-serial)"
	cmd="$cmd -chardev socket,id=c0,path=$P,server=on,wait=off"
	cmd="$cmd -device virtserialport,chardev=c0,name=keel.test.0,id=port1"
	cmd="$cmd -qmp unix:$S,server=on,wait=off -qmp unix:$EV,server=on,wait=off"
else
	cmd=$(vmm_cmd pvh 1 serial --chardev "id=c0,backend=unix,path=$P" \
		--device virtio-serial,max-ports=4 \
		--device virtserialport,chardev=c0,name=keel.test.0,id=port1 \
		--qmp "unix:$S,server")
fi
note "run: $cmd"
eval "vmm-watch -o '$W/vmm.log' -t $VMM_TIMEOUT -r 256 -- $cmd" >"$W/watch.out" 2>&1 &
boot=$!
echo $boot >>"$W/pids"
n=0
while [ ! -S "$S" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
[ -S "$S" ] || fail "$KEEL_VMM did not create the QMP socket $S"
keelctl "$EV" events >"$W/events.txt" 2>&1 &
echo $! >>"$W/pids"

wait_ready 1 150 || fail "L3 never saw the command-line port"
line=$(tr -d '\r' <"$W/vmm.log" | grep -m1 'L3: serial-port=' | sed 's/^.*L3: //')
info "L3 boot 1: $line"
echo "$line" | grep -qE 'serial-port=/dev/vport[0-9]+p1 name=keel.test.0 ' ||
	fail "the port is not /dev/vportNp1 named keel.test.0: $line"
echo_check "first boot"

keelctl "$S" system_reset >"$W/r.txt" 2>&1 || fail "system_reset failed: $(cat "$W/r.txt")"
wait_ready 2 150 || fail "L3 did not see the port again after system_reset"
line=$(tr -d '\r' <"$W/vmm.log" | grep 'L3: serial-port=' | sed -n '2s/^.*L3: //p')
info "L3 boot 2: $line"
echo "$line" | grep -q 'name=keel.test.0' || fail "after the reset the port is: $line"
echo_check "after reset"

keelctl "$S" device_del id=port1 >"$W/r.txt" 2>&1 || fail "device_del failed: $(cat "$W/r.txt")"
n=0
until tr -d '\r' <"$W/vmm.log" | grep -q 'L3: serial-port-gone'; do
	n=$((n + 1))
	[ $n -gt 400 ] && fail "the port did not go away in L3 after device_del"
	sleep 0.1
done
n=0
until grep -q 'DEVICE_DELETED.*port1' "$W/events.txt"; do
	n=$((n + 1))
	[ $n -gt 300 ] && fail "no DEVICE_DELETED for port1: $(cat "$W/events.txt")"
	sleep 0.1
done
grep 'DEVICE_DELETED' "$W/events.txt" | sed 's/^/## event: /'

wait $boot
tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
WATCH=$(grep '^vmm-watch:' "$W/watch.out")
note "$WATCH"
echo "$WATCH" | grep -q 'exit=0$' || fail "$KEEL_VMM did not exit 0 after L3 powered off: $WATCH"
no_kernel_problems
:
