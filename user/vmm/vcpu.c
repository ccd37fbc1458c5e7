/*
 * vCPU threads (Documentation/virt/kvm/api.rst 4.10 KVM_RUN, 5 "The kvm_run
 * structure"); initial state for Linux's 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst "64-bit Boot Protocol") and the PVH entry.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sandbox.h"
#include "vmm/cpuid.h"
#include "vmm/vcpu.h"

#define VCPU_KICK_SIGNAL	SIGUSR1

#define X86_CR0_PE		(1ULL << 0)
#define X86_CR0_ET		(1ULL << 4)
#define X86_CR0_PG		(1ULL << 31)
#define X86_CR4_PAE		(1ULL << 5)
#define X86_EFER_LME		(1ULL << 8)
#define X86_EFER_LMA		(1ULL << 10)

#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MISC_ENABLE_FAST_STRING	1ULL
#define MTRR_ENABLE_WB		((1ULL << 11) | 6)	/* MTRRs on, default write-back */

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		(4u << 8)
#define APIC_MODE_EXTINT	(7u << 8)

#define BOOT_CS			0x10
#define BOOT_DS			0x18

static void vcpu_kick_handler(int sig)
{
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	/* Blocked everywhere; KVM_RUN alone unblocks it (KVM_SET_SIGNAL_MASK). */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int vcpu_set_signal_mask(struct vcpu *vcpu)
{
	struct kvm_signal_mask *m;
	sigset_t set;
	int ret = 0;

	m = calloc(1, sizeof(*m) + 8);
	if (!m)
		return -ENOMEM;
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	m->len = 8;	/* the kernel's sigset_t, not glibc's */
	memcpy(m->sigset, &set, 8);
	if (ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, m) < 0)
		ret = -errno;
	free(m);
	return ret;
}

static void vcpu_set_msrs(struct vcpu *vcpu)
{
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + 2 * sizeof(msrs->entries[0]));
	int n;

	if (!msrs)
		return;
	msrs->nmsrs = 2;
	msrs->entries[0].index = MSR_IA32_MISC_ENABLE;
	msrs->entries[0].data = MISC_ENABLE_FAST_STRING;
	msrs->entries[1].index = MSR_MTRR_DEF_TYPE;
	msrs->entries[1].data = MTRR_ENABLE_WB;
	n = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	/* Nice to have: Linux copes without them, so only note it. */
	if (n != 2)
		log_debug("vcpu%u: KVM set %d of 2 initial MSRs", vcpu->index, n);
}

/* LINT0 as ExtINT (the 8259 in virtual-wire mode), LINT1 as NMI, like PC firmware. */
static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t v;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	memcpy(&v, &lapic.regs[APIC_LVT0], 4);
	v = (v & ~0x700u & ~(1u << 16)) | APIC_MODE_EXTINT;
	memcpy(&lapic.regs[APIC_LVT0], &v, 4);
	memcpy(&v, &lapic.regs[APIC_LVT1], 4);
	v = (v & ~0x700u & ~(1u << 16)) | APIC_MODE_NMI;
	memcpy(&lapic.regs[APIC_LVT1], &v, 4);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vcpu *vcpu, struct kvm *kvm, unsigned int index, unsigned int nr_cpus,
		const struct vcpu_host *host)
{
	struct kvm_mp_state mp = {
		.mp_state = index ? KVM_MP_STATE_UNINITIALIZED : KVM_MP_STATE_RUNNABLE,
	};
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_cpuid2 *cpuid;
	const char *what;
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	pthread_mutex_init(&vcpu->pause_lock, NULL);
	pthread_cond_init(&vcpu->pause_cond, NULL);
	vcpu->index = index;
	vcpu->host = *host;
	vcpu->run = MAP_FAILED;
	vcpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		ret = -errno;
		log_err("vcpu%u: KVM_CREATE_VCPU failed: %s", index, strerror(errno));
		return ret;
	}
	vcpu->run_size = kvm->run_size;
	vcpu->run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		what = "mmap of kvm_run";
		goto fail_errno;
	}
	cpuid = cpuid_for_vcpu(kvm->supported_cpuid, index, nr_cpus);
	if (!cpuid) {
		errno = ENOMEM;
		what = "CPUID table";
		goto fail_errno;
	}
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	what = "KVM_SET_CPUID2";
	if (ret < 0)
		goto fail_errno;
	what = "KVM_SET_SIGNAL_MASK";
	ret = vcpu_set_signal_mask(vcpu);
	if (ret) {
		errno = -ret;
		goto fail_errno;
	}
	vcpu_set_msrs(vcpu);
	what = "KVM_SET_FPU";
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		goto fail_errno;
	what = "KVM_SET_LAPIC";
	ret = vcpu_set_lapic(vcpu);
	if (ret) {
		errno = -ret;
		goto fail_errno;
	}
	/* APs wait for INIT/SIPI from the boot CPU through the in-kernel LAPIC. */
	what = "KVM_SET_MP_STATE";
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		goto fail_errno;
	return 0;

fail_errno:
	ret = -errno;
	log_err("vcpu%u: %s failed: %s", index, what, strerror(errno));
	vcpu_destroy(vcpu);
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run != MAP_FAILED && vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	vcpu->run = MAP_FAILED;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

static void vcpu_flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l, bool db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = db;
	s->g = 1;
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	bool lm = entry->kind == BOOT_BZIMAGE;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	/* Code: execute/read, accessed (type 0xb); data: read/write, accessed (3). */
	vcpu_flat_seg(&sregs.cs, BOOT_CS, 0xb, lm, !lm);
	vcpu_flat_seg(&sregs.ds, BOOT_DS, 0x3, false, true);
	sregs.es = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.gdt.base = entry->gdt_addr;
	sregs.gdt.limit = entry->gdt_limit;
	if (lm) {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs.cr3 = entry->cr3;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	} else {
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = entry->rip;
	regs.rsp = entry->rsp;
	regs.rsi = entry->rsi;
	regs.rbx = entry->rbx;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int vcpu_set_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.selector = cs;
	sregs.cs.base = (uint64_t)cs << 4;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = ip;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void vcpu_log_seg(struct vcpu *vcpu, enum log_level level, const char *name,
			 const struct kvm_segment *s)
{
	log_msg(level, "vcpu%u: %s sel=%#06x base=%#llx limit=%#x type=%u p=%u dpl=%u db=%u "
		"s=%u l=%u g=%u", vcpu->index, name, s->selector, (unsigned long long)s->base,
		s->limit, s->type, s->present, s->dpl, s->db, s->s, s->l, s->g);
}

void vcpu_dump(struct vcpu *vcpu, enum log_level level)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_msg(level, "vcpu%u: registers unavailable: %s", vcpu->index, strerror(errno));
		return;
	}
	log_msg(level, "vcpu%u: rip=%#llx rsp=%#llx rflags=%#llx", vcpu->index, r.rip, r.rsp,
		r.rflags);
	log_msg(level, "vcpu%u: rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx", vcpu->index, r.rax,
		r.rbx, r.rcx, r.rdx);
	log_msg(level, "vcpu%u: rsi=%#llx rdi=%#llx rbp=%#llx", vcpu->index, r.rsi, r.rdi,
		r.rbp);
	log_msg(level, "vcpu%u: r8=%#llx r9=%#llx r10=%#llx r11=%#llx", vcpu->index, r.r8,
		r.r9, r.r10, r.r11);
	log_msg(level, "vcpu%u: r12=%#llx r13=%#llx r14=%#llx r15=%#llx", vcpu->index, r.r12,
		r.r13, r.r14, r.r15);
	vcpu_log_seg(vcpu, level, "cs", &s.cs);
	vcpu_log_seg(vcpu, level, "ds", &s.ds);
	vcpu_log_seg(vcpu, level, "es", &s.es);
	vcpu_log_seg(vcpu, level, "ss", &s.ss);
	vcpu_log_seg(vcpu, level, "fs", &s.fs);
	vcpu_log_seg(vcpu, level, "gs", &s.gs);
	vcpu_log_seg(vcpu, level, "tr", &s.tr);
	log_msg(level, "vcpu%u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx cr8=%#llx efer=%#llx",
		vcpu->index, s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer);
	log_msg(level, "vcpu%u: gdt=%#llx/%#x idt=%#llx/%#x apic_base=%#llx", vcpu->index,
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit, s.apic_base);
}

/* Consume kicks that arrived while we were (or were about to be) in KVM_RUN. */
static void vcpu_eat_kicks(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int i;

	/* String I/O (rep ins/outs) comes as count elements of size bytes each. */
	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(vcpu->host.pio, run->io.port, data, run->io.size);
		else
			bus_read(vcpu->host.pio, run->io.port, data, run->io.size);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		bus_write(vcpu->host.mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(vcpu->host.mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void vcpu_event(struct vcpu *vcpu, enum vcpu_event ev)
{
	vcpu->host.event(vcpu->host.opaque, vcpu->index, ev);
}

/* Returns false when this vCPU must not run any more. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	static bool hlt_logged;
	unsigned int i;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		if (!hlt_logged)
			log_warn("vcpu%u: unexpected KVM_EXIT_HLT with the in-kernel irqchip",
				 vcpu->index);
		hlt_logged = true;
		return true;
	case KVM_EXIT_SHUTDOWN:
		log_info("vcpu%u: triple fault (KVM_EXIT_SHUTDOWN): resetting the machine",
			 vcpu->index);
		vcpu_dump(vcpu, LOG_INFO);
		vcpu_event(vcpu, VCPU_EVENT_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vcpu_event(vcpu, VCPU_EVENT_POWEROFF);
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vcpu_event(vcpu, VCPU_EVENT_RESET);
			return false;
		default:
			log_err("vcpu%u: KVM system event %u", vcpu->index,
				run->system_event.type);
			break;
		}
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_err("vcpu%u: KVM internal error, suberror %u%s", vcpu->index,
			run->internal.suberror,
			run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			" (instruction emulation failed)" : "");
		for (i = 0; i < run->internal.ndata && i < 16; i++)
			log_err("vcpu%u: internal data[%u]=%#llx", vcpu->index, i,
				(unsigned long long)run->internal.data[i]);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vcpu%u: KVM could not enter the guest, hardware reason %#llx",
			vcpu->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		log_err("vcpu%u: unexpected KVM exit reason %u", vcpu->index, run->exit_reason);
		break;
	}
	vcpu_dump(vcpu, LOG_ERR);
	vcpu_event(vcpu, VCPU_EVENT_FAIL);
	return false;
}

/* Wait outside KVM_RUN while a pause is asked for (vcpu_pause). */
static void vcpu_park(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->pause_lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vcpu->pause_cond);
	while (vcpu->pause_req && !__atomic_load_n(&vcpu->stop, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&vcpu->pause_cond, &vcpu->pause_lock);
	vcpu->parked = false;
	pthread_mutex_unlock(&vcpu->pause_lock);
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *vcpu = opaque;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	__atomic_store_n(&vcpu->tid, (int)gettid(), __ATOMIC_RELEASE);
	if (sandbox_enter(SANDBOX_VCPU)) {
		vcpu_event(vcpu, VCPU_EVENT_FAIL);
		__atomic_store_n(&vcpu->stop, true, __ATOMIC_RELEASE);
	}
	sandbox_selftest(SANDBOX_VCPU);
	while (!__atomic_load_n(&vcpu->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&vcpu->pause_req, __ATOMIC_ACQUIRE)) {
			vcpu_park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_eat_kicks();
				continue;
			}
			log_err("vcpu%u: KVM_RUN failed: %s", vcpu->index, strerror(errno));
			vcpu_dump(vcpu, LOG_ERR);
			vcpu_event(vcpu, VCPU_EVENT_FAIL);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	pthread_mutex_lock(&vcpu->pause_lock);
	vcpu->exited = true;
	pthread_cond_broadcast(&vcpu->pause_cond);
	pthread_mutex_unlock(&vcpu->pause_lock);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret;

	vcpu->exited = false;
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret) {
		log_err("vcpu%u: cannot start its thread: %s", vcpu->index, strerror(ret));
		return -ret;
	}
	vcpu->started = true;
	return 0;
}

void vcpu_stop(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	__atomic_store_n(&vcpu->stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vcpu->pause_lock);
	pthread_cond_broadcast(&vcpu->pause_cond);	/* a parked vCPU sees stop */
	pthread_mutex_unlock(&vcpu->pause_lock);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}

void vcpu_pause(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	pthread_mutex_lock(&vcpu->pause_lock);
	__atomic_store_n(&vcpu->pause_req, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vcpu->pause_lock);
	/* Out of KVM_RUN; a kick landing before KVM_RUN makes it return EINTR at once. */
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	pthread_mutex_lock(&vcpu->pause_lock);
	while (!vcpu->parked && !vcpu->exited)
		pthread_cond_wait(&vcpu->pause_cond, &vcpu->pause_lock);
	pthread_mutex_unlock(&vcpu->pause_lock);
}

void vcpu_resume(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->pause_lock);
	__atomic_store_n(&vcpu->pause_req, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vcpu->pause_cond);
	pthread_mutex_unlock(&vcpu->pause_lock);
}
