# boot-bzimage-4cpu: keel boots the Debian kernel (bzImage, Linux boot protocol) with 4 vCPU(s);
# L3 reaches /init, sees 4 CPUs all online, powers off, keel exits 0.
boot_cpus bzimage 4
