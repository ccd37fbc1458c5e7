# boot-pvh-2cpu: keel boots the Debian kernel (ELF vmlinux, PVH entry) with 2 vCPU(s);
# L3 reaches /init, sees 2 CPUs all online, powers off, keel exits 0.
boot_cpus pvh 2
