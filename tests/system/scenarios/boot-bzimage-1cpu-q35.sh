# boot-bzimage-1cpu-q35: boot-bzimage-1cpu on the q35 machine (F20): 1 vCPU(s) all online.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus bzimage 1 --machine q35
