# acpi-clean: the L3 kernel finds keel's ACPI tables (RSDP, FACP, APIC, DSDT) and
# logs no ACPI error or warning while parsing them.
vmm_boot pvh 2 info
expect_exit0 poweroff
tables=$(sed -n 's/.*L3: acpi-tables: *//p' "$W/vmm.txt" | head -n1)
info "L3 ACPI tables: $tables"
for t in RSDP FACP APIC DSDT; do
	case " $tables " in
	*" $t "*) ;;
	*) fail "L3 dmesg shows no ACPI $t table (tables: ${tables:-none})" ;;
	esac
done
if grep -q 'L3: acpi-problem:' "$W/vmm.txt"; then
	grep 'L3: acpi-problem:' "$W/vmm.txt" | head -n 10 | sed 's/^/# /'
	fail "L3 kernel logged ACPI errors/warnings"
fi
expect_line 'L3: acpi-clean' "L3 did not report its ACPI check"
:
