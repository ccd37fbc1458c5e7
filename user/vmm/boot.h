/*
 * Linux loading: bzImage through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst) and an ELF vmlinux through its PVH entry
 * (xen/include/public/arch-x86/hvm/start_info.h). The loaders write the
 * kernel, initrd, command line and boot information into guest RAM and say
 * how the boot vCPU must start; they touch no KVM state themselves.
 */
#ifndef KEEL_VMM_BOOT_H
#define KEEL_VMM_BOOT_H

#include <stdint.h>

#include "vmm/guest_mem.h"

/* Fixed guest-physical addresses used while booting (all in low RAM). */
#define BOOT_GDT_ADDR		0x500
#define BOOT_PVH_INFO_ADDR	0x6000	/* hvm_start_info + its memmap */
#define BOOT_PARAMS_ADDR	0x7000	/* struct boot_params (zero page) */
#define BOOT_PML4_ADDR		0x9000	/* PML4, PDPT at +0x1000, PDs after */
#define BOOT_CMDLINE_ADDR	0x20000
#define BOOT_CMDLINE_MAX	0x10000
#define BOOT_STACK_TOP		0x8ff0
#define BOOT_KERNEL_ADDR	0x100000	/* bzImage protected-mode code */

enum boot_kind {
	BOOT_BZIMAGE,
	BOOT_PVH,
};

/* How the boot vCPU starts. The vCPU code turns this into sregs/regs. */
struct boot_entry {
	enum boot_kind kind;
	uint64_t rip;
	uint64_t rsi;		/* bzImage: boot_params address */
	uint64_t rbx;		/* PVH: hvm_start_info address */
	uint64_t rsp;
	/* bzImage: 64-bit long mode with identity page tables at cr3.
	 * PVH: 32-bit flat protected mode, paging off (cr3 unused). */
	uint64_t cr3;
	uint64_t gdt_addr;	/* GDT already written into guest RAM */
	uint16_t gdt_limit;
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path;	/* may be NULL */
	const char *cmdline;		/* may be NULL */
	uint64_t rsdp_addr;		/* ACPI RSDP in guest RAM, 0 for none */
};

/* Which loader fits: BOOT_BZIMAGE, BOOT_PVH, or -ENOEXEC with a message in *why. */
int boot_probe(const void *image, size_t len, const char **why);

/* Load everything into mem and fill *entry; negative errno + log line on failure. */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *entry);

/* The two loaders, on an image already read into memory (testable without files). */
int boot_bzimage_load(struct guest_mem *mem, const void *image, size_t len,
		      const void *initrd, size_t initrd_len, const char *cmdline,
		      uint64_t rsdp_addr, struct boot_entry *entry);
int boot_pvh_load(struct guest_mem *mem, const void *image, size_t len,
		  const void *initrd, size_t initrd_len, const char *cmdline,
		  uint64_t rsdp_addr, struct boot_entry *entry);

#endif
