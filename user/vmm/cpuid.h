/*
 * Guest CPUID: what KVM supports (KVM_GET_SUPPORTED_CPUID), fixed up per vCPU
 * for the topology (Intel SDM vol. 2A CPUID leaves 1, 4, 0xB, 0x1F; AMD APM
 * 0x80000008, 0x8000001E) and the KVM paravirt leaves (Documentation/virt/kvm/x86/cpuid.rst).
 */
#ifndef KEEL_VMM_CPUID_H
#define KEEL_VMM_CPUID_H

#include <linux/kvm.h>
#include <linux/kvm_para.h>

/* The paravirt features keel lets a guest see, if KVM reports them. */
#define CPUID_KVM_FEATURES_WANTED					\
	((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |	\
	 (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) |	\
	 (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |		\
	 (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_TLB_FLUSH) |	\
	 (1u << KVM_FEATURE_ASYNC_PF_VMEXIT) | (1u << KVM_FEATURE_PV_SEND_IPI) | \
	 (1u << KVM_FEATURE_POLL_CONTROL) | (1u << KVM_FEATURE_PV_SCHED_YIELD) | \
	 (1u << KVM_FEATURE_ASYNC_PF_INT) |					\
	 (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

/* KVM_GET_SUPPORTED_CPUID into a freshly allocated table (free()). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out);

/*
 * A copy of supported, fixed up for vCPU index (x2APIC ID = index) of
 * nr_cpus vCPUs, one socket of nr_cpus cores with one thread each.
 * NULL if out of memory. Free with free().
 */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int index,
				  unsigned int nr_cpus);

/* The entry for (function, index), or NULL. index is ignored for leaves without subleaves. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index);

#endif
