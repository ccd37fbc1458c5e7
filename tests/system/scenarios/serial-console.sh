# serial-console: the L3 kernel detects keel's COM1 as a 16550A at 0x3f8.
vmm_boot pvh 1 info
expect_exit0 poweroff
grep 'L3: serial:.*ttyS0 at' "$W/vmm.txt" | head -n 1 | sed 's/^.*L3: serial: /## /'
expect_line 'L3: serial: .*ttyS0 at I/O 0x3f8 .*is a 16550A' \
	"L3 dmesg has no 'ttyS0 at I/O 0x3f8 ... is a 16550A'"
:
