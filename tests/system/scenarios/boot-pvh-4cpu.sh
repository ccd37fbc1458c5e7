# boot-pvh-4cpu: keel boots the Debian kernel (ELF vmlinux, PVH entry) with 4 vCPU(s);
# L3 reaches /init, sees 4 CPUs all online, powers off, keel exits 0.
boot_cpus pvh 4
