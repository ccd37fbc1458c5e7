/*
 * The KVM system and VM file descriptors (Documentation/virt/kvm/api.rst):
 * capability checks, the in-kernel PIC/IOAPIC/PIT, GSI routing and memslots.
 */
#ifndef KEEL_VMM_KVM_H
#define KEEL_VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "vmm/guest_mem.h"

/* Below 4 GiB, above the PCI hole, outside anything the guest uses. */
#define KVM_IDENTITY_MAP_ADDR	0xFEFFC000ULL
#define KVM_TSS_ADDR		0xFEFFD000ULL	/* three pages */

#define KVM_IOAPIC_PINS		24

struct kvm {
	int sys_fd;		/* /dev/kvm: lives as long as keel */
	int vm_fd;		/* one VM: rebuilt on reset */
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	unsigned int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid;
};

/* Open /dev/kvm and check every capability keel needs (one line per missing one). */
int kvm_open(struct kvm *kvm);
void kvm_close(struct kvm *kvm);

/* A VM with TSS, identity map, in-kernel PIC + IOAPIC + PIT and PC GSI routing. */
int kvm_vm_create(struct kvm *kvm);
void kvm_vm_destroy(struct kvm *kvm);

/* One memslot per guest RAM region. */
int kvm_vm_set_memory(struct kvm *kvm, const struct guest_mem *mem);

/* Drive a GSI of the in-kernel irqchip. */
int kvm_irq_line(struct kvm *kvm, unsigned int gsi, int level);

#endif
