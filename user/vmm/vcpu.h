/*
 * vCPUs: one thread each running KVM_RUN, PIO/MMIO exits dispatched to the
 * machine's buses, and the initial register state for the Linux entry points.
 */
#ifndef KEEL_VMM_VCPU_H
#define KEEL_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/kvm.h"

/* What a vCPU tells its machine. Called on the vCPU's thread. */
enum vcpu_event {
	VCPU_EVENT_RESET,	/* triple fault (KVM_EXIT_SHUTDOWN) or a reset system event */
	VCPU_EVENT_POWEROFF,	/* a shutdown system event */
	VCPU_EVENT_FAIL,	/* KVM could not go on: internal error, failed entry */
};

struct vcpu_host {
	struct bus *pio;
	struct bus *mmio;
	void (*event)(void *opaque, unsigned int index, enum vcpu_event ev);
	void *opaque;
};

struct vcpu {
	unsigned int index;
	int fd;
	struct kvm_run *run;
	int run_size;
	struct vcpu_host host;
	pthread_t thread;
	bool started;
	volatile int stop;	/* written by the main thread, read before each KVM_RUN */
	int tid;		/* the thread's Linux TID, for query-cpus-fast */
	/* Pause (QMP stop/cont): the thread parks outside KVM_RUN while asked to. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req;
	bool parked;
	bool exited;
};

/* Install the kick signal handler and block it in the calling thread (call once, early). */
int vcpu_signals_init(void);

/* Create vCPU index (APIC ID = index) of nr_cpus with its CPUID, MSRs and LAPIC. */
int vcpu_create(struct vcpu *vcpu, struct kvm *kvm, unsigned int index, unsigned int nr_cpus,
		const struct vcpu_host *host);
void vcpu_destroy(struct vcpu *vcpu);

/* Boot vCPU: Linux 64-bit boot protocol (bzImage) or PVH 32-bit entry. */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry);
/* Real mode at cs:ip, for small test guests. */
int vcpu_set_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip);

int vcpu_start(struct vcpu *vcpu);
/* Kick out of KVM_RUN and join the thread. */
void vcpu_stop(struct vcpu *vcpu);

/* Park the vCPU outside KVM_RUN and wait until it is; resume lets it run again. */
void vcpu_pause(struct vcpu *vcpu);
void vcpu_resume(struct vcpu *vcpu);

/* Log general registers, segments, control registers and EFER at error level. */
void vcpu_dump(struct vcpu *vcpu, enum log_level level);

#endif
