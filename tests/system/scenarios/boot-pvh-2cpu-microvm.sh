# boot-pvh-2cpu-microvm: boot-pvh-2cpu on the microvm machine (F20): 2 vCPUs online.
[ "$KEEL_VMM" = keel ] || skip "keel's microvm board"
boot_cpus pvh 2 --machine microvm
