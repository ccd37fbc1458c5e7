/*
 * The KVM system and VM file descriptors (Documentation/virt/kvm/api.rst):
 * capability checks, the in-kernel PIC/IOAPIC/PIT, GSI routing and memslots,
 * MSI injection (KVM_SIGNAL_MSI), irqfd over MSI routes and ioeventfd.
 */
#ifndef KEEL_VMM_KVM_H
#define KEEL_VMM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

/* Below 4 GiB, above the PCI hole, outside anything the guest uses. */
#define KVM_IDENTITY_MAP_ADDR	0xFEFFC000ULL
#define KVM_TSS_ADDR		0xFEFFD000ULL	/* three pages */

#define KVM_IOAPIC_PINS		24
/* irqfd MSI routes take GSIs from here up (above the IOAPIC's). */
#define KVM_MSI_GSI_BASE	KVM_IOAPIC_PINS
#define KVM_MAX_MSI_ROUTES	1024
/* PIC routes (15: no cascade) + IOAPIC routes (23: GSI 2 is not wired). */
#define KVM_IRQCHIP_ROUTES	38

/* One MSI route behind an irqfd: GSI KVM_MSI_GSI_BASE + its index. */
struct kvm_msi_route {
	bool used;
	uint64_t addr;
	uint32_t data;
};

struct kvm {
	int sys_fd;		/* /dev/kvm: lives as long as keel */
	int vm_fd;		/* one VM: rebuilt on reset */
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	unsigned int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid;
	bool ioeventfd_any_length;	/* KVM_CAP_IOEVENTFD_ANY_LENGTH */
	unsigned int max_msi_routes;	/* what KVM_CAP_IRQ_ROUTING leaves for MSIs */

	/* MSI routes of this VM; vCPU threads change them (MSI-X table writes). */
	pthread_mutex_t route_lock;
	struct kvm_msi_route *msi_routes;	/* max_msi_routes entries */
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

/*
 * The whole GSI routing table (KVM_SET_GSI_ROUTING replaces the old one): the
 * PC irqchip routes (ISA IRQs on both PICs but the cascade, GSI 0 on IOAPIC
 * pin 2, GSIs 1, 3..23 on their IOAPIC pins), then one MSI entry per used
 * route at GSI KVM_MSI_GSI_BASE + index. r must hold cap entries. Pure: the
 * number of entries, or -ENOSPC.
 */
int kvm_routing_build(struct kvm_irq_routing *r, unsigned int cap,
		      const struct kvm_msi_route *msi, unsigned int nr_msi);

/* One message now (KVM_SIGNAL_MSI). 0 (also when the guest blocked it) or -errno. */
int kvm_msi_send(struct kvm *kvm, uint64_t addr, uint32_t data);

/*
 * irqfd on a new MSI route: a route index >= 0 or -errno. update rewrites the
 * message; del detaches efd and frees the route. Thread-safe.
 */
int kvm_irqfd_add(struct kvm *kvm, int efd, uint64_t addr, uint32_t data);
int kvm_irqfd_update(struct kvm *kvm, int route, uint64_t addr, uint32_t data);
void kvm_irqfd_del(struct kvm *kvm, int route, int efd);

/* KVM_IOEVENTFD on a write of len (0: any length) at addr; 0 or -errno. */
int kvm_ioeventfd(struct kvm *kvm, int efd, uint64_t addr, unsigned int len, bool pio,
		  bool assign);
/*
 * The same with KVM_IOEVENTFD_FLAG_DATAMATCH: only a write of exactly
 * datamatch signals efd (virtio-mmio's QueueNotify, one eventfd per queue).
 */
int kvm_ioeventfd_dm(struct kvm *kvm, int efd, uint64_t addr, unsigned int len, bool pio,
		     uint64_t datamatch, bool assign);

/* The guest's physical address width (CPUID 0x80000008 EAX[7:0]; 36 if absent). */
unsigned int kvm_phys_bits(struct kvm *kvm);

#endif
