# boot-pvh-1cpu-q35: boot-pvh-1cpu on the q35 machine (F20): 1 vCPU(s) all online.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus pvh 1 --machine q35
