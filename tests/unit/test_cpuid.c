/* Unit tests for user/vmm/cpuid.c: topology and paravirt fix-ups on synthetic KVM tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static struct kvm_cpuid2 *table(const struct kvm_cpuid_entry2 *e, unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(*e));

	assert_non_null(c);
	c->nent = n;
	memcpy(c->entries, e, n * sizeof(*e));
	return c;
}

/* Looks like an Intel host with leaves 4, 0xB, 0x1F and the KVM leaves. */
static struct kvm_cpuid2 *intel_like(void)
{
	const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0x1f },
		{ .function = 1, .eax = 0x906ea, .ebx = 0x12340800, .ecx = 0x7ffafbff,
		  .edx = 0xbfebfbff },
		{ .function = 4, .index = 0, .flags = SIG, .eax = 0x1c004121 },
		{ .function = 4, .index = 1, .flags = SIG, .eax = 0x1c004122 },
		{ .function = 4, .index = 2, .flags = SIG, .eax = 0x1c004143 },
		{ .function = 4, .index = 3, .flags = SIG, .eax = 0x1c03c163 },
		{ .function = 4, .index = 4, .flags = SIG, .eax = 0 },
		{ .function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100,
		  .edx = 7 },
		{ .function = 0xb, .index = 1, .flags = SIG, .eax = 4, .ebx = 12, .ecx = 0x201,
		  .edx = 7 },
		{ .function = 0x1f, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100 },
		{ .function = 0x40000000, .eax = 0x40000001 },
		{ .function = 0x40000001, .eax = 0x01ffffff, .edx = 1 },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000008, .eax = 0x3027, .ecx = 0 },
	};

	return table(e, sizeof(e) / sizeof(e[0]));
}

static void test_leaf1(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *c;
	struct kvm_cpuid_entry2 *e;

	c = cpuid_for_vcpu(s, 3, 4);
	assert_non_null(c);
	e = cpuid_find(c, 1, 0);
	assert_non_null(e);
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_int_equal(e->ebx & 0xffff, 0x0800);	/* CLFLUSH size kept */
	assert_true(e->ecx & (1u << 31));
	assert_true(e->edx & (1u << 28));
	assert_int_equal(e->eax, 0x906ea);
	free(c);

	c = cpuid_for_vcpu(s, 0, 1);
	e = cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1u << 28));
	free(c);
	free(s);
}

static void test_ext_topology(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *c;
	struct kvm_cpuid_entry2 *e;
	unsigned int leaf, i, n;

	c = cpuid_for_vcpu(s, 5, 6);
	for (leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb) {
		n = 0;
		for (i = 0; i < c->nent; i++)
			n += c->entries[i].function == leaf;
		assert_int_equal(n, 3);
		e = cpuid_find(c, leaf, 0);
		assert_non_null(e);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 1);
		assert_int_equal(e->ecx, 0x100);
		assert_int_equal(e->edx, 5);
		e = cpuid_find(c, leaf, 1);
		assert_non_null(e);
		assert_int_equal(e->eax, 3);	/* 6 cores need 3 bits */
		assert_int_equal(e->ebx, 6);
		assert_int_equal(e->ecx, 0x201);
		assert_int_equal(e->edx, 5);
		e = cpuid_find(c, leaf, 2);
		assert_non_null(e);
		assert_int_equal(e->ebx, 0);
		assert_int_equal((e->ecx >> 8) & 0xff, 0);
		assert_int_equal(e->edx, 5);
	}
	free(c);

	c = cpuid_for_vcpu(s, 0, 1);
	e = cpuid_find(c, 0xb, 1);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, 1);
	free(c);
	free(s);
}

static void test_no_leaf_b_when_max_basic_low(void **state)
{
	const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xa },
		{ .function = 1 },
	};
	struct kvm_cpuid2 *s = table(e, 2), *c;

	c = cpuid_for_vcpu(s, 1, 2);
	assert_null(cpuid_find(c, 0xb, 0));
	assert_null(cpuid_find(c, 0x1f, 0));
	assert_int_equal(c->nent, 2);
	free(c);
	free(s);
}

static void test_no_1f_unless_reported(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *c;
	unsigned int i;

	for (i = 0; i < s->nent; i++)
		if (s->entries[i].function == 0x1f)
			s->entries[i].function = 0x1e;
	c = cpuid_for_vcpu(s, 0, 2);
	assert_null(cpuid_find(c, 0x1f, 0));
	assert_non_null(cpuid_find(c, 0xb, 1));
	free(c);
	free(s);
}

static void test_cache_leaf(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *c;
	struct kvm_cpuid_entry2 *e;

	c = cpuid_for_vcpu(s, 0, 4);
	e = cpuid_find(c, 4, 0);
	assert_int_equal(e->eax >> 26, 3);
	assert_int_equal((e->eax >> 14) & 0xfff, 0);
	assert_int_equal(e->eax & 0x3fff, 0x0121);
	e = cpuid_find(c, 4, 3);
	assert_int_equal(e->eax >> 26, 3);
	assert_int_equal((e->eax >> 14) & 0xfff, 3);
	assert_int_equal(e->eax & 0x3fff, 0x0163);
	e = cpuid_find(c, 4, 4);
	assert_int_equal(e->eax, 0);	/* the terminator stays a terminator */
	free(c);
	free(s);
}

static void test_kvm_leaves(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *c;
	struct kvm_cpuid_entry2 *e;

	c = cpuid_for_vcpu(s, 0, 1);
	e = cpuid_find(c, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000001);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	e = cpuid_find(c, 0x40000001, 0);
	assert_int_equal(e->eax, 0x01ffffff & CPUID_KVM_FEATURES_WANTED);
	assert_true(e->eax & (1u << KVM_FEATURE_CLOCKSOURCE2));
	assert_true(e->eax & (1u << KVM_FEATURE_PV_EOI));
	assert_true(e->eax & (1u << KVM_FEATURE_PV_UNHALT));
	assert_true(e->eax & (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT));
	assert_false(e->eax & (1u << KVM_FEATURE_MIGRATION_CONTROL));
	assert_false(e->eax & (1u << KVM_FEATURE_MSI_EXT_DEST_ID));
	assert_int_equal(e->edx, 0);
	free(c);

	/* Only what KVM reports: a bit KVM lacks is never added. */
	cpuid_find(s, 0x40000001, 0)->eax = 1u << KVM_FEATURE_CLOCKSOURCE2;
	c = cpuid_for_vcpu(s, 0, 1);
	assert_int_equal(cpuid_find(c, 0x40000001, 0)->eax, 1u << KVM_FEATURE_CLOCKSOURCE2);
	free(c);
	free(s);
}

static void test_amd_leaves(void **state)
{
	const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd },
		{ .function = 1, .ebx = 0x00010800 },
		{ .function = 0x80000000, .eax = 0x8000001f },
		{ .function = 0x80000008, .eax = 0x3030, .ecx = 0x700f },
		{ .function = 0x8000001e, .eax = 9, .ebx = 0x109, .ecx = 0x300 },
	};
	struct kvm_cpuid2 *s = table(e, 5), *c;
	struct kvm_cpuid_entry2 *x;

	c = cpuid_for_vcpu(s, 2, 3);
	x = cpuid_find(c, 0x80000008, 0);
	assert_int_equal(x->ecx & 0xff, 2);
	assert_int_equal((x->ecx >> 12) & 0xf, 2);
	assert_int_equal(x->ecx & 0xffff0000, 0);
	assert_int_equal(x->eax, 0x3030);
	x = cpuid_find(c, 0x8000001e, 0);
	assert_int_equal(x->eax, 2);
	assert_int_equal(x->ebx, 2);
	assert_int_equal(x->ecx, 0);
	/* No KVM signature reported: no paravirt leaves invented. */
	assert_null(cpuid_find(c, 0x40000000, 0));
	assert_null(cpuid_find(c, 0x40000001, 0));
	free(c);
	free(s);
}

static void test_supported_unchanged(void **state)
{
	struct kvm_cpuid2 *s = intel_like(), *ref = intel_like(), *c;

	c = cpuid_for_vcpu(s, 7, 8);
	assert_int_equal(s->nent, ref->nent);
	assert_memory_equal(s->entries, ref->entries, s->nent * sizeof(s->entries[0]));
	free(c);
	free(s);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_ext_topology),
		cmocka_unit_test(test_no_leaf_b_when_max_basic_low),
		cmocka_unit_test(test_no_1f_unless_reported),
		cmocka_unit_test(test_cache_leaf),
		cmocka_unit_test(test_kvm_leaves),
		cmocka_unit_test(test_amd_leaves),
		cmocka_unit_test(test_supported_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
