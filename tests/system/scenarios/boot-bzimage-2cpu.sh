# boot-bzimage-2cpu: keel boots the Debian kernel (bzImage, Linux boot protocol) with 2 vCPU(s);
# L3 reaches /init, sees 2 CPUs all online, powers off, keel exits 0.
boot_cpus bzimage 2
