/*
 * KVM system and VM setup (Documentation/virt/kvm/api.rst sections 4.x):
 * API version 12, required capabilities, in-kernel irqchip and PIT, the PC
 * GSI routing (ISA IRQ0 on IOAPIC pin 2, as the MADT override says) plus MSI
 * routes for irqfds (4.52 KVM_SET_GSI_ROUTING, 4.75 KVM_IRQFD, 4.59
 * KVM_IOEVENTFD, 4.71 KVM_SIGNAL_MSI), memslots.
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
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING (GSI routing table, for MSI routes)" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD (device doorbells without a userspace exit)" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD (interrupts from I/O threads and vhost)" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI (MSI/MSI-X injection)" },
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
	kvm->ioeventfd_any_length =
		ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	/* KVM_CAP_IRQ_ROUTING answers the table size; GSIs must stay below it. */
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	kvm->max_msi_routes = ret > KVM_MSI_GSI_BASE ? (unsigned int)ret - KVM_MSI_GSI_BASE : 0;
	if (kvm->max_msi_routes > KVM_MAX_MSI_ROUTES)
		kvm->max_msi_routes = KVM_MAX_MSI_ROUTES;
	pthread_mutex_init(&kvm->route_lock, NULL);

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

static void kvm_route_irqchip(struct kvm_irq_routing_entry *e, unsigned int gsi,
			      unsigned int chip, unsigned int pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int kvm_routing_build(struct kvm_irq_routing *r, unsigned int cap,
		      const struct kvm_msi_route *msi, unsigned int nr_msi)
{
	unsigned int i, n = 0;

	memset(r, 0, sizeof(*r));
	/* ISA IRQs 0-15 reach both 8259s; IRQ2 is the cascade. */
	for (i = 0; i < 16; i++) {
		if (i == 2)
			continue;
		if (n == cap)
			return -ENOSPC;
		kvm_route_irqchip(&r->entries[n++], i,
				  i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i & 7);
	}
	/* The PIT's GSI 0 is IOAPIC pin 2 (MADT override); pins 16-23 are PCI INTx. */
	for (i = 0; i < KVM_IOAPIC_PINS; i++) {
		if (i == 2)
			continue;
		if (n == cap)
			return -ENOSPC;
		kvm_route_irqchip(&r->entries[n++], i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	for (i = 0; i < nr_msi; i++) {
		struct kvm_irq_routing_entry *e;

		if (!msi[i].used)
			continue;
		if (n == cap)
			return -ENOSPC;
		e = &r->entries[n++];
		memset(e, 0, sizeof(*e));
		e->gsi = KVM_MSI_GSI_BASE + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)msi[i].addr;
		e->u.msi.address_hi = (uint32_t)(msi[i].addr >> 32);
		e->u.msi.data = msi[i].data;
	}
	r->nr = n;
	return (int)n;
}

/* Hand KVM the whole table: irqchip routes and every live MSI route. */
static int kvm_vm_set_routing(struct kvm *kvm)
{
	unsigned int cap = KVM_IRQCHIP_ROUTES + kvm->max_msi_routes;
	struct kvm_irq_routing *r;
	int ret;

	r = calloc(1, sizeof(*r) + cap * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	ret = kvm_routing_build(r, cap, kvm->msi_routes,
				kvm->msi_routes ? kvm->max_msi_routes : 0);
	if (ret >= 0)
		ret = ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
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
	kvm->msi_routes = calloc(kvm->max_msi_routes ? kvm->max_msi_routes : 1,
				 sizeof(*kvm->msi_routes));
	if (!kvm->msi_routes) {
		errno = ENOMEM;
		goto fail;
	}
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
	/* Closing the VM drops every irqfd and ioeventfd with it. */
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	kvm->vm_fd = -1;
	free(kvm->msi_routes);
	kvm->msi_routes = NULL;
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

int kvm_msi_send(struct kvm *kvm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* > 0: delivered; 0: the guest's APIC blocked it, which is not our error. */
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

int kvm_irqfd_add(struct kvm *kvm, int efd, uint64_t addr, uint32_t data)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd };
	unsigned int i;
	int ret;

	if (efd < 0)
		return -EBADF;
	pthread_mutex_lock(&kvm->route_lock);
	for (i = 0; i < kvm->max_msi_routes && kvm->msi_routes[i].used; i++)
		;
	if (!kvm->msi_routes || i == kvm->max_msi_routes) {
		ret = -ENOSPC;
		goto out;
	}
	kvm->msi_routes[i] = (struct kvm_msi_route){ .used = true, .addr = addr, .data = data };
	ret = kvm_vm_set_routing(kvm);
	if (!ret) {
		irqfd.gsi = KVM_MSI_GSI_BASE + i;
		ret = ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
	}
	if (ret) {
		kvm->msi_routes[i].used = false;
		kvm_vm_set_routing(kvm);
		goto out;
	}
	ret = (int)i;
	log_debug("kvm: irqfd %d on GSI %u: MSI address %#llx data %#x", efd,
		  KVM_MSI_GSI_BASE + i, (unsigned long long)addr, data);
out:
	pthread_mutex_unlock(&kvm->route_lock);
	return ret;
}

int kvm_irqfd_update(struct kvm *kvm, int route, uint64_t addr, uint32_t data)
{
	int ret;

	pthread_mutex_lock(&kvm->route_lock);
	if (!kvm->msi_routes || route < 0 || (unsigned int)route >= kvm->max_msi_routes ||
	    !kvm->msi_routes[route].used) {
		ret = -EINVAL;
	} else {
		kvm->msi_routes[route].addr = addr;
		kvm->msi_routes[route].data = data;
		ret = kvm_vm_set_routing(kvm);
	}
	pthread_mutex_unlock(&kvm->route_lock);
	return ret;
}

void kvm_irqfd_del(struct kvm *kvm, int route, int efd)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)efd,
		.gsi = KVM_MSI_GSI_BASE + (uint32_t)route,
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	pthread_mutex_lock(&kvm->route_lock);
	if (kvm->msi_routes && route >= 0 && (unsigned int)route < kvm->max_msi_routes &&
	    kvm->msi_routes[route].used) {
		if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
			log_warn("KVM_IRQFD deassign of GSI %u failed: %s", irqfd.gsi,
				 strerror(errno));
		kvm->msi_routes[route].used = false;
		kvm_vm_set_routing(kvm);
	}
	pthread_mutex_unlock(&kvm->route_lock);
}

static int kvm_ioeventfd_set(struct kvm *kvm, int efd, uint64_t addr, unsigned int len,
			     bool pio, bool dm, uint64_t datamatch, bool assign)
{
	struct kvm_ioeventfd ioev = {
		.datamatch = dm ? datamatch : 0,
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (dm ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (len != 1 && len != 2 && len != 4 && len != 8 &&
	    !(len == 0 && !dm && kvm->ioeventfd_any_length))
		return -EINVAL;
	/* A value wider than the access can never match: a caller's mistake. */
	if (dm && len < 8 && datamatch >> (8 * len))
		return -EINVAL;
	if (pio && addr + (len ? len : 1) > 0x10000)
		return -EINVAL;
	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
		return -errno;
	return 0;
}

int kvm_ioeventfd(struct kvm *kvm, int efd, uint64_t addr, unsigned int len, bool pio,
		  bool assign)
{
	return kvm_ioeventfd_set(kvm, efd, addr, len, pio, false, 0, assign);
}

int kvm_ioeventfd_dm(struct kvm *kvm, int efd, uint64_t addr, unsigned int len, bool pio,
		     uint64_t datamatch, bool assign)
{
	return kvm_ioeventfd_set(kvm, efd, addr, len, pio, true, datamatch, assign);
}

unsigned int kvm_phys_bits(struct kvm *kvm)
{
	struct kvm_cpuid_entry2 *e = NULL;
	unsigned int bits;

	if (kvm->supported_cpuid)
		e = cpuid_find(kvm->supported_cpuid, 0x80000008, 0);
	bits = e ? e->eax & 0xff : 0;
	return bits >= 32 && bits <= 52 ? bits : 36;
}
