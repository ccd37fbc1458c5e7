# boot-pvh-4cpu-q35: boot-pvh-4cpu on the q35 machine (F20): 4 vCPUs all online.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus pvh 4 --machine q35
