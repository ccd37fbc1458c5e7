/*
 * Guest CPUID fix-ups (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E;
 * Documentation/virt/kvm/x86/cpuid.rst): topology of one socket with N
 * single-thread cores, hypervisor bit, and the KVM paravirt leaves.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/cpuid.h"

#define CPUID_MAX_ENTRIES	256
#define CPUID_EXTRA_ENTRIES	16	/* room for topology subleaves and brand leaves */

#define CPUID_1_EBX_APIC_SHIFT	24
#define CPUID_1_EBX_COUNT_SHIFT	16
#define CPUID_1_EDX_HTT		(1u << 28)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID_BRAND_FIRST	0x80000002u
#define CPUID_BRAND_LAST	0x80000004u

#define CPUID_TOPO_SMT		1
#define CPUID_TOPO_CORE		2

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int ret = -errno;

		free(c);
		return ret;
	}
	/*
	 * KVM leaves the TSC-deadline bit to userspace (its timer is emulated
	 * in the in-kernel LAPIC); without it Linux calibrates the LAPIC timer
	 * against the PIT at every boot.
	 */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);

		if (e)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	}
	*out = c;
	return 0;
}

/*
 * The processor brand string (leaves 0x80000002..4): KVM may report them
 * empty; the host's own string is what "model name" should show.
 */
static void cpuid_fix_brand(struct kvm_cpuid2 *c, unsigned int cap)
{
	struct kvm_cpuid_entry2 *max = cpuid_find(c, 0x80000000, 0);
	unsigned int f;

	if (!max || max->eax < CPUID_BRAND_LAST)
		return;
	for (f = CPUID_BRAND_FIRST; f <= CPUID_BRAND_LAST; f++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(c, f, 0);
		unsigned int a, b, cx, d;

		if (e && (e->eax | e->ebx | e->ecx | e->edx))
			continue;
		if (!e) {
			if (c->nent >= cap)
				return;
			e = &c->entries[c->nent++];
			memset(e, 0, sizeof(*e));
			e->function = f;
		}
		__cpuid(f, a, b, cx, d);
		e->eax = a;
		e->ebx = b;
		e->ecx = cx;
		e->edx = d;
	}
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Bits needed to number n items (0 for n <= 1), as topology shift widths are. */
static unsigned int cpuid_order(unsigned int n)
{
	unsigned int bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void cpuid_remove(struct kvm_cpuid2 *c, unsigned int function)
{
	unsigned int i = 0;

	while (i < c->nent) {
		if (c->entries[i].function == function) {
			memmove(&c->entries[i], &c->entries[i + 1],
				(c->nent - i - 1) * sizeof(c->entries[0]));
			c->nent--;
		} else {
			i++;
		}
	}
}

/* Leaf 0xB / 0x1F: SMT level (1 thread), core level (nr cores), terminator. */
static void cpuid_set_ext_topology(struct kvm_cpuid2 *c, unsigned int function,
				   unsigned int index, unsigned int nr_cpus)
{
	unsigned int core_shift = cpuid_order(nr_cpus);
	struct kvm_cpuid_entry2 *e;
	unsigned int sub;

	cpuid_remove(c, function);
	for (sub = 0; sub < 3; sub++) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = function;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = index;
		e->ecx = sub;
		if (sub == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx |= CPUID_TOPO_SMT << 8;
		} else if (sub == 1) {
			e->eax = core_shift;
			e->ebx = nr_cpus;
			e->ecx |= CPUID_TOPO_CORE << 8;
		}
	}
}

static void cpuid_fix_cache(struct kvm_cpuid2 *c, unsigned int nr_cpus)
{
	unsigned int i, cores = nr_cpus > 64 ? 64 : nr_cpus;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		unsigned int level = (e->eax >> 5) & 7, sharing;

		if (e->function != 4 || !(e->eax & 0x1f))
			continue;
		/* L1/L2 private to a core, L3 shared by the whole socket. */
		sharing = level >= 3 ? nr_cpus - 1 : 0;
		e->eax &= 0x3fff;
		e->eax |= (cores - 1) << 26 | (sharing & 0xfff) << 14;
	}
}

static void cpuid_fix_kvm_leaves(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *sig = cpuid_find(c, KVM_CPUID_SIGNATURE, 0);
	struct kvm_cpuid_entry2 *feat = cpuid_find(c, KVM_CPUID_FEATURES, 0);

	/* No signature from KVM means no paravirt interface to offer at all. */
	if (!sig) {
		cpuid_remove(c, KVM_CPUID_FEATURES);
		return;
	}
	sig->eax = KVM_CPUID_FEATURES;
	memcpy(&sig->ebx, "KVMK", 4);
	memcpy(&sig->ecx, "VMKV", 4);
	memcpy(&sig->edx, "M\0\0\0", 4);
	if (feat) {
		feat->eax &= CPUID_KVM_FEATURES_WANTED;
		feat->ebx = 0;
		feat->ecx = 0;
		feat->edx = 0;	/* no hints: we do not promise dedicated pCPUs */
	}
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int index,
				  unsigned int nr_cpus)
{
	unsigned int cap = supported->nent + CPUID_EXTRA_ENTRIES, max_basic = 0;
	struct kvm_cpuid_entry2 *e;
	bool has_1f;
	struct kvm_cpuid2 *c;

	if (nr_cpus == 0)
		nr_cpus = 1;
	c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = supported->nent;
	memcpy(c->entries, supported->entries, supported->nent * sizeof(c->entries[0]));

	e = cpuid_find(c, 0, 0);
	if (e)
		max_basic = e->eax;

	e = cpuid_find(c, 1, 0);
	if (e) {
		e->ebx &= 0xffff;
		e->ebx |= (index & 0xff) << CPUID_1_EBX_APIC_SHIFT;
		e->ebx |= (nr_cpus > 255 ? 255 : nr_cpus) << CPUID_1_EBX_COUNT_SHIFT;
		if (nr_cpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
	}

	cpuid_fix_cache(c, nr_cpus);

	has_1f = cpuid_find(c, 0x1f, 0) != NULL;
	cpuid_remove(c, 0xb);
	cpuid_remove(c, 0x1f);
	if (max_basic >= 0xb)
		cpuid_set_ext_topology(c, 0xb, index, nr_cpus);
	/* 0x1F only where KVM reports it: a guest must not see it above max_basic. */
	if (max_basic >= 0x1f && has_1f)
		cpuid_set_ext_topology(c, 0x1f, index, nr_cpus);

	e = cpuid_find(c, 0x80000008, 0);
	if (e) {
		e->ecx &= ~0xf0ffu;
		e->ecx |= ((nr_cpus - 1) & 0xff) | cpuid_order(nr_cpus) << 12;
	}
	e = cpuid_find(c, 0x8000001e, 0);
	if (e) {
		e->eax = index;
		e->ebx = index & 0xff;	/* compute unit = core, one thread each */
		e->ecx = 0;		/* one node */
	}

	cpuid_fix_brand(c, cap);
	cpuid_fix_kvm_leaves(c);
	return c;
}
