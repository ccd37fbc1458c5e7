/*
 * KVM system and VM setup (Documentation/virt/kvm/api.rst sections 4.x):
 * API version 12, required capabilities, in-kernel irqchip and PIT, the PC
 * GSI routing (ISA IRQ0 on IOAPIC pin 2, as the MADT override says), memslots.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/cpuid.h"
#include "vmm/kvm.h"

#define KVM_API_VERSION_WANTED	12

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel PIC/IOAPIC/LAPIC)" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel i8254)" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS" },
	{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK (kvmclock)" },
};

int kvm_open(struct kvm *kvm)
{
	unsigned int i;
	int ret, missing = 0;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		ret = -errno;
		log_err("cannot open /dev/kvm: %s (is KVM enabled and are you in group kvm?)",
			strerror(errno));
		return ret;
	}
	ret = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION_WANTED) {
		log_err("/dev/kvm speaks API version %d, keel needs %d", ret,
			KVM_API_VERSION_WANTED);
		ret = -ENOTSUP;
		goto fail;
	}
	for (i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			log_err("KVM lacks %s, which keel needs", kvm_required_caps[i].name);
			missing++;
		}
	}
	if (missing) {
		ret = -ENOTSUP;
		goto fail;
	}
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		log_err("KVM_GET_VCPU_MMAP_SIZE gave %d", kvm->run_size);
		ret = -ENOTSUP;
		goto fail;
	}
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (ret <= 0)
		ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = ret > 0 ? (unsigned int)ret : 4;

	ret = cpuid_get_supported(kvm->sys_fd, &kvm->supported_cpuid);
	if (ret) {
		log_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
		goto fail;
	}
	return 0;

fail:
	kvm_close(kvm);
	return ret;
}

void kvm_close(struct kvm *kvm)
{
	kvm_vm_destroy(kvm);
	free(kvm->supported_cpuid);
	kvm->supported_cpuid = NULL;
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->sys_fd = -1;
}

static void kvm_route_add(struct kvm_irq_routing *r, unsigned int gsi, unsigned int chip,
			  unsigned int pin)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/*
 * ISA IRQs 0-15 reach both 8259s (IRQ2 is the cascade) and the IOAPIC; the
 * PIT drives GSI 0, which the MADT overrides to IOAPIC pin 2 as on real PCs.
 */
static int kvm_vm_set_routing(struct kvm *kvm)
{
	struct kvm_irq_routing *r;
	unsigned int i;
	int ret = 0;

	r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < 16; i++) {
		if (i == 2)
			continue;
		kvm_route_add(r, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			      i & 7);
	}
	for (i = 0; i < KVM_IOAPIC_PINS; i++) {
		if (i == 2)
			continue;
		kvm_route_add(r, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		ret = -errno;
	free(r);
	return ret;
}

int kvm_vm_create(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	const char *what;
	int ret;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VM failed: %s", strerror(errno));
		return ret;
	}
	what = "KVM_SET_IDENTITY_MAP_ADDR";
	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto fail;
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		goto fail;
	what = "KVM_CREATE_IRQCHIP";
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	what = "KVM_CREATE_PIT2";
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	what = "KVM_SET_GSI_ROUTING";
	ret = kvm_vm_set_routing(kvm);
	if (ret) {
		errno = -ret;
		goto fail;
	}
	return 0;

fail:
	ret = -errno;
	log_err("%s failed: %s", what, strerror(errno));
	kvm_vm_destroy(kvm);
	return ret;
}

void kvm_vm_destroy(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	kvm->vm_fd = -1;
}

int kvm_vm_set_memory(struct kvm *kvm, const struct guest_mem *mem)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int ret = -errno;

			log_err("KVM_SET_USER_MEMORY_REGION %#llx+%#llx failed: %s",
				(unsigned long long)r->gpa, (unsigned long long)r->size,
				strerror(errno));
			return ret;
		}
	}
	return 0;
}

int kvm_irq_line(struct kvm *kvm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}
