# boot-pvh-2cpu-q35: boot-pvh-2cpu on the q35 machine (F20): 2 vCPU(s) all online.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus pvh 2 --machine q35
