# rtc-time: L3's clock (read from keel's CMOS RTC at boot) is within 10 s of L2's,
# and L3 runs the kernel it was given (uname -r).
before=$(date +%s)
vmm_boot pvh 1 info
after=$(date +%s)
expect_exit0 poweroff
d=$(fact date)
[ -n "$d" ] || fail "L3 printed no date"
info "L2 date $before..$after, L3 date $d"
[ "$d" -ge $((before - 10)) ] && [ "$d" -le $((after + 10)) ] ||
	fail "L3 date $d is not within 10 s of L2's ($before..$after)"
u=$(fact uname)
[ "$u" = "$(cat /keel/l3/version)" ] || fail "L3 uname -r '$u', want '$(cat /keel/l3/version)'"
:
