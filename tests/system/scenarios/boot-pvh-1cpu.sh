# boot-pvh-1cpu: keel boots the Debian kernel (ELF vmlinux, PVH entry) with 1 vCPU(s);
# L3 reaches /init, sees 1 CPUs all online, powers off, keel exits 0.
boot_cpus pvh 1
