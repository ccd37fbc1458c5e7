# F27-serial-hotplug: chardev and virtio-serial port hotplug over QMP (Documentation/qmp.md
# "Chardevs and serial ports"). L3 boots with an empty virtio-serial device; L2 adds a
# unix-socket chardev and a virtserialport named keel.test.0; L3 sees /dev/vportNp1,
# echoes L2's lines upper-cased; device_del takes the port away in L3 and
# DEVICE_DELETED reaches an event client; the chardev can then be removed.
# KEEL_VMM=qemu runs the same steps against QEMU 7.2 (checks the scenario itself).
VMM_TIMEOUT=240
command -v keelctl >/dev/null || fail "keelctl is not in the L2 image"
command -v keel-sockcat >/dev/null || fail "keel-sockcat is not in the L2 image"
S=$W/qmp.sock
P=$W/port.sock
# wait_event REGEX SECS: until keelctl events printed a line matching REGEX
wait_event()
{
	n=0
	until grep -qE "$1" "$W/events.txt"; do
		n=$((n + 1))
		[ $n -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}

# keel serves many QMP clients on one socket; QEMU one per monitor, so it gets two
EV=$S
cmd=$(vmm_cmd pvh 1 serial --device virtio-serial --qmp "unix:$S,server")
if [ "$KEEL_VMM" = qemu ]; then
	EV=$W/qmp-events.sock
	cmd="$cmd -qmp unix:$S,server=on,wait=off -qmp unix:$EV,server=on,wait=off"
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
wait_line 'L3: serial-waiting' 150 || fail "L3 never reached the serial test"
tr -d '\r' <"$W/vmm.log" | grep -q 'L3: insmod-failed=virtio_console' &&
	fail "L3 could not load virtio_console"

# chardev-add in QEMU's shape: a listening unix socket
keelctl "$S" chardev-add id=c1 \
	backend:="{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"$P\"}},\"server\":true,\"wait\":false}}" \
	>"$W/r.txt" 2>&1 || fail "chardev-add failed: $(cat "$W/r.txt")"
[ -S "$P" ] || fail "chardev-add made no socket at $P"
keelctl "$S" chardev-add id=c1 backend:='{"type":"null","data":{}}' 2>"$W/r.txt" &&
	fail "a second chardev-add with id c1 succeeded"
keelctl "$S" device_add driver=virtserialport id=port1 chardev=c1 name=keel.test.0 \
	>"$W/r.txt" 2>&1 || fail "device_add virtserialport failed: $(cat "$W/r.txt")"
keelctl "$S" chardev-remove id=c1 2>"$W/r.txt" &&
	fail "chardev-remove of a chardev in use by port1 succeeded"
note "chardev-remove while in use: $(cat "$W/r.txt")"
if [ "$KEEL_VMM" = keel ]; then
	keelctl "$S" device_add driver=e1000 id=nic0 2>"$W/r.txt" &&
		fail "device_add of a driver keel cannot hot-plug succeeded"
	grep -q 'not a valid device model' "$W/r.txt" || fail "device_add e1000 said: $(cat "$W/r.txt")"
	keelctl "$S" device_add driver=virtio-serial-pci id=vs9 2>"$W/r.txt" &&
		fail "device_add of a controller that cannot be hot-plugged succeeded"
	grep -q 'does not support hotplugging' "$W/r.txt" ||
		fail "device_add virtio-serial-pci said: $(cat "$W/r.txt")"
fi

wait_line 'L3: serial-(ready|port=none)' 90 ||
	fail "L3 never saw a /dev/vport*p* device after device_add"
line=$(tr -d '\r' <"$W/vmm.log" | grep -m1 'L3: serial-port=' | sed 's/^.*L3: //')
info "L3: $line"
echo "$line" | grep -qE 'serial-port=/dev/vport[0-9]+p1 ' ||
	fail "the port is not /dev/vportNp1: $line"
echo "$line" | grep -q 'name=keel.test.0' || fail "the port's sysfs name is not keel.test.0: $line"

# L2 -> socket -> port -> L3, and L3's upper-cased answer back the same way
printf 'hello keel\nsecond line, 2\n' | keel-sockcat -w 60 -n 2 "$P" >"$W/answer.txt" 2>&1 ||
	fail "no 2-line answer through the port: '$(cat "$W/answer.txt")'"
grep -qx 'HELLO KEEL' "$W/answer.txt" || fail "answer: '$(cat "$W/answer.txt")'"
grep -qx 'SECOND LINE, 2' "$W/answer.txt" || fail "answer: '$(cat "$W/answer.txt")'"
info "L2 got back: $(tr '\n' '|' <"$W/answer.txt")"

keelctl "$S" device_del id=port1 >"$W/r.txt" 2>&1 || fail "device_del failed: $(cat "$W/r.txt")"
wait_line 'L3: serial-closed' 30 || fail "L3's read on the port did not end after device_del"
wait_line 'L3: serial-port-(gone|still-there)' 40 || fail "L3 did not report the port's fate"
tr -d '\r' <"$W/vmm.log" | grep -q 'L3: serial-port-gone' ||
	fail "the port's device node is still in L3 after device_del"
wait_event 'DEVICE_DELETED.*port1' 30 || fail "no DEVICE_DELETED for port1: $(cat "$W/events.txt")"
grep 'DEVICE_DELETED' "$W/events.txt" | sed 's/^/## event: /'
grep 'DEVICE_DELETED' "$W/events.txt" | grep -q '/machine/peripheral/port1' ||
	fail "DEVICE_DELETED has no path /machine/peripheral/port1"
keelctl "$S" chardev-remove id=c1 >"$W/r.txt" 2>&1 ||
	fail "chardev-remove after device_del failed: $(cat "$W/r.txt")"
if [ "$KEEL_VMM" = keel ]; then
	[ -S "$P" ] && fail "the chardev's socket $P is still there after chardev-remove"
fi

wait $boot
tr -d '\r' <"$W/vmm.log" >"$W/vmm.txt"
WATCH=$(grep '^vmm-watch:' "$W/watch.out")
note "$WATCH"
tr -d '\r' <"$W/vmm.txt" | grep 'L3: serial-dmesg:' | sed 's/^.*L3: /# /'
echo "$WATCH" | grep -q 'exit=0$' || fail "$KEEL_VMM did not exit 0 after L3 powered off: $WATCH"
no_kernel_problems
:
