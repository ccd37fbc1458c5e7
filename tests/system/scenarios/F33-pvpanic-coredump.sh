# F33-pvpanic-coredump: under --on-panic coredump-destroy,path=FILE a guest panic on a
# 2-vCPU guest writes an ELF core (ET_CORE, PT_NOTE + one PT_LOAD, one 356-byte
# NT_PRSTATUS note per vCPU; checked with od, L2 has no readelf) and keel exits 3.
VMM_TIMEOUT=150
vmm_boot pvh 2 panic --on-panic "coredump-destroy,path=$W/core"
[ "$VMM_RC" = 124 ] && fail "keel still running after ${VMM_TIMEOUT}s (killed)"
grep -q 'L3: panicking' "$W/vmm.txt" ||
	fail "L3 never reached its panic: $(grep -a 'L3:' "$W/vmm.txt" | tr '\n' ' ')"
[ "$VMM_RC" = 3 ] || fail "keel exited $VMM_RC after the panic (want 3)"
[ -f "$W/core" ] || fail "no core file at $W/core"
magic=$(od -An -tx1 -N4 "$W/core" | tr -d ' ')
etype=$(od -An -tu2 -j16 -N2 "$W/core" | tr -d ' ')
phnum=$(od -An -tu2 -j56 -N2 "$W/core" | tr -d ' ')
ptype=$(od -An -tu4 -j64 -N4 "$W/core" | tr -d ' ')
notesz=$(od -An -tu4 -j96 -N4 "$W/core" | tr -d ' ')
size=$(stat -c %s "$W/core")
rm -f "$W/core"
info "core: $size bytes, e_type $etype, $phnum program headers, notes $notesz bytes"
[ "$magic" = 7f454c46 ] || fail "the core does not start with ELF magic: $magic"
[ "$etype" = 4 ] || fail "core e_type $etype, want 4 (ET_CORE)"
[ "$phnum" = 2 ] || fail "core has $phnum program headers, want PT_NOTE + 1 PT_LOAD"
[ "$ptype" = 4 ] || fail "first program header type $ptype, want 4 (PT_NOTE)"
[ "$notesz" = 712 ] || fail "PT_NOTE is $notesz bytes, want 2 x 356 (2 vCPUs)"
[ "$size" -ge $((256 << 20)) ] || fail "the core is $size bytes for 256 MiB of RAM"
:
