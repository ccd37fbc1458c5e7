/*
 * Smoke test of user/vmm/{kvm,vcpu,bus,guest_mem}.c on the host's /dev/kvm:
 * a few bytes of real-mode guest code doing port I/O, an ACPI S5 write and a
 * triple fault. Skipped (with the reason) where /dev/kvm is missing or unusable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define CODE_ADDR	0x1000
#define PM1A_CNT	0x604
#define SLP_EN		(1u << 13)

struct smoke {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char out[64];
	unsigned int nout;
	int events[3];
	unsigned int pm_writes;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct vcpu vcpus[2];
	unsigned int nr_vcpus;
};

static void com_write(void *dev, uint64_t off, const void *data, unsigned int size)
{
	struct smoke *s = dev;

	pthread_mutex_lock(&s->lock);
	if (off == 0 && s->nout < sizeof(s->out) - 1)
		s->out[s->nout++] = *(const char *)data;
	pthread_mutex_unlock(&s->lock);
}

static void com_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	memset(data, 0, size);
}

static const struct io_ops com_ops = { .read = com_read, .write = com_write };

static void pm_write(void *dev, uint64_t off, const void *data, unsigned int size)
{
	struct smoke *s = dev;
	uint16_t v = 0;

	memcpy(&v, data, size < 2 ? size : 2);
	pthread_mutex_lock(&s->lock);
	s->pm_writes++;
	if (v & SLP_EN)
		s->events[VCPU_EVENT_POWEROFF]++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static const struct io_ops pm_ops = { .read = com_read, .write = pm_write };

static void smoke_event(void *opaque, unsigned int index, enum vcpu_event ev)
{
	struct smoke *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->events[ev]++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait until events[ev] is non-zero or 5 s pass. */
static bool smoke_wait(struct smoke *s, enum vcpu_event ev)
{
	struct timespec t;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	while (!s->events[ev])
		if (pthread_cond_timedwait(&s->cond, &s->lock, &t) == ETIMEDOUT)
			break;
	ok = s->events[ev] != 0;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static int smoke_setup(struct smoke *s, const struct kvm *kvm, const uint8_t *code, size_t len,
		       unsigned int nr, uint64_t ram)
{
	struct vcpu_host host = { .pio = &s->pio, .mmio = &s->mmio, .event = smoke_event,
				  .opaque = s };
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->kvm = *kvm;
	s->kvm.vm_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	bus_init(&s->pio, "pio");
	bus_init(&s->mmio, "mmio");
	assert_int_equal(bus_add(&s->pio, 0x3f8, 8, &com_ops, s), 0);
	assert_int_equal(bus_add(&s->pio, PM1A_CNT, 2, &pm_ops, s), 0);
	assert_int_equal(bus_add(&s->pio, 0x80, 1, &bus_sink_ops, NULL), 0);
	assert_int_equal(guest_mem_init(&s->mem, ram), 0);
	assert_int_equal(guest_mem_write(&s->mem, CODE_ADDR, code, len), 0);
	assert_int_equal(kvm_vm_create(&s->kvm), 0);
	assert_int_equal(kvm_vm_set_memory(&s->kvm, &s->mem), 0);
	for (i = 0; i < nr; i++) {
		assert_int_equal(vcpu_create(&s->vcpus[i], &s->kvm, i, nr, &host), 0);
		s->nr_vcpus++;
	}
	return vcpu_set_real_mode(&s->vcpus[0], 0, CODE_ADDR);
}

static void smoke_teardown(struct smoke *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_vcpus; i++) {
		vcpu_stop(&s->vcpus[i]);
		vcpu_destroy(&s->vcpus[i]);
	}
	kvm_vm_destroy(&s->kvm);
	guest_mem_fini(&s->mem);
	bus_fini(&s->pio);
	bus_fini(&s->mmio);
}

static struct kvm *kvm_state;

static void smoke_pio_and_poweroff(uint64_t ram)
{
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03,	/* mov dx, 0x3f8 */
		0xb0, 'K',		/* mov al, 'K' */
		0xee,			/* out dx, al */
		0xe4, 0x99,		/* in al, 0x99: nobody there, reads 0xff */
		0xee,			/* out dx, al */
		0xb0, 0x42,		/* mov al, 0x42 */
		0xe6, 0x80,		/* out 0x80, al: POST code sink */
		0xb0, '!',		/* mov al, '!' */
		0xee,			/* out dx, al */
		0xba, 0x04, 0x06,	/* mov dx, 0x604 */
		0xb8, 0x00, 0x34,	/* mov ax, SLP_EN | SLP_TYP(5) */
		0xef,			/* out dx, ax */
		0xf4,			/* hlt */
		0xeb, 0xfd,		/* jmp hlt */
	};
	struct smoke s;
	bool ok;

	assert_int_equal(smoke_setup(&s, kvm_state, code, sizeof(code), 2, ram), 0);
	assert_int_equal(vcpu_start(&s.vcpus[0]), 0);
	assert_int_equal(vcpu_start(&s.vcpus[1]), 0);
	ok = smoke_wait(&s, VCPU_EVENT_POWEROFF);
	/* The BSP now sits in hlt and the AP waits for SIPI: both must stop. */
	smoke_teardown(&s);
	assert_true(ok);
	assert_int_equal(s.nout, 3);
	assert_memory_equal(s.out, "K\xff!", 3);
	assert_int_equal(s.pm_writes, 1);
	assert_int_equal(s.events[VCPU_EVENT_FAIL], 0);
	assert_int_equal(s.events[VCPU_EVENT_RESET], 0);
}

static void test_pio_and_poweroff(void **state)
{
	smoke_pio_and_poweroff(2 << 20);
}

/* 5 GiB: RAM below the PCI hole and above 4 GiB, two memslots KVM must accept. */
static void test_high_memory(void **state)
{
	smoke_pio_and_poweroff(5ULL << 30);
}

static void test_triple_fault_is_reset(void **state)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0x1e, 0x00, 0x11,	/* lidt [0x1100]: limit 0 */
		0xcc,				/* int3: no IDT, so #GP, #DF, shutdown */
		0xf4,
	};
	static const uint8_t empty_idt[6] = { 0 };
	struct smoke s;
	bool ok;

	assert_int_equal(smoke_setup(&s, kvm_state, code, sizeof(code), 1, 2 << 20), 0);
	assert_int_equal(guest_mem_write(&s.mem, 0x1100, empty_idt, sizeof(empty_idt)), 0);
	assert_int_equal(vcpu_start(&s.vcpus[0]), 0);
	ok = smoke_wait(&s, VCPU_EVENT_RESET);
	smoke_teardown(&s);
	assert_true(ok);
	assert_int_equal(s.events[VCPU_EVENT_FAIL], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pio_and_poweroff),
		cmocka_unit_test(test_high_memory),
		cmocka_unit_test(test_triple_fault_is_reset),
	};
	struct kvm kvm;
	unsigned int n = 3;
	int ret;

	/*
	 * cmocka reports skips as "not ok ... # SKIP", which TAP counters read
	 * as failures: skipped tests are left out and reported here instead.
	 */
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("ok - test_vcpu # SKIP no usable /dev/kvm on this machine\n");
		return 0;
	}
	log_threshold = LOG_ERR;
	if (kvm_open(&kvm)) {
		printf("ok - test_vcpu # SKIP this KVM lacks capabilities keel needs\n");
		return 0;
	}
	kvm_state = &kvm;
	/*
	 * kvm-pvm emulates all CPL0 code, and KVM's emulator delivers real-mode
	 * interrupts without the IDT limit check, so that guest never faults there.
	 */
	if (!access("/sys/module/kvm_pvm", F_OK))
		n = 2;
	vcpu_signals_init();
	ret = _cmocka_run_group_tests("test_vcpu", tests, n, NULL, NULL);
	if (n == 2)
		printf("ok - test_triple_fault_is_reset # SKIP kvm-pvm does not check the "
		       "real-mode IDT limit\n");
	kvm_close(&kvm);
	return ret;
}
