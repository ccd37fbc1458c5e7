# boot-bzimage-2cpu-q35: boot-bzimage-2cpu on the q35 machine (F20).
[ "$KEEL_VMM" = keel ] || skip "keel's q35 board"
boot_cpus bzimage 2 --machine q35
