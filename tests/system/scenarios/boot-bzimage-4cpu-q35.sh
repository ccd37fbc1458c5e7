# boot-bzimage-4cpu-q35: boot-bzimage-4cpu on the q35 machine (F20): 4 vCPU(s) all online.
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus bzimage 4 --machine q35
