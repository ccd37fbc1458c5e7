/*
 * Unit tests for kvm_routing_build() (user/vmm/kvm.c): the whole GSI routing
 * table KVM_SET_GSI_ROUTING receives — PIC and IOAPIC routes of the PC
 * (ISA IRQ 0 on IOAPIC pin 2, no cascade) and one MSI entry per live route.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kvm.h"

static struct kvm_irq_routing *table(unsigned int cap)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + cap * sizeof(r->entries[0]));

	assert_non_null(r);
	return r;
}

/* How many entries route gsi to (chip, pin); -1 chip: MSI entries. */
static int count(const struct kvm_irq_routing *r, unsigned int gsi, int chip, unsigned int pin)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < r->nr; i++) {
		const struct kvm_irq_routing_entry *e = &r->entries[i];

		if (e->gsi != gsi)
			continue;
		if (chip < 0 ? e->type == KVM_IRQ_ROUTING_MSI :
		    e->type == KVM_IRQ_ROUTING_IRQCHIP && e->u.irqchip.irqchip == (unsigned int)chip &&
		    e->u.irqchip.pin == pin)
			n++;
	}
	return n;
}

static int routes_of(const struct kvm_irq_routing *r, unsigned int gsi)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < r->nr; i++)
		n += r->entries[i].gsi == gsi;
	return n;
}

static void test_irqchip_routes(void **state)
{
	struct kvm_irq_routing *r = table(64);
	unsigned int g;

	assert_int_equal(kvm_routing_build(r, 64, NULL, 0), KVM_IRQCHIP_ROUTES);
	assert_int_equal(r->nr, KVM_IRQCHIP_ROUTES);
	for (g = 0; g < 16; g++) {
		if (g == 2) {
			/* The cascade: neither PIC route nor IOAPIC pin 2 under GSI 2. */
			assert_int_equal(routes_of(r, 2), 0);
			continue;
		}
		assert_int_equal(count(r, g, g < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				       g & 7), 1);
	}
	/* The PIT's GSI 0 goes to IOAPIC pin 2, as the MADT override says. */
	assert_int_equal(count(r, 0, KVM_IRQCHIP_IOAPIC, 2), 1);
	assert_int_equal(count(r, 0, KVM_IRQCHIP_IOAPIC, 0), 0);
	for (g = 1; g < KVM_IOAPIC_PINS; g++)
		if (g != 2)
			assert_int_equal(count(r, g, KVM_IRQCHIP_IOAPIC, g), 1);
	/* PCI INTx lines 16-23: IOAPIC only. */
	for (g = 16; g < 24; g++)
		assert_int_equal(routes_of(r, g), 1);
	free(r);
}

static void test_msi_routes(void **state)
{
	struct kvm_msi_route msi[5] = {
		[0] = { .used = true, .addr = 0xfee00000, .data = 0x4041 },
		[2] = { .used = true, .addr = 0x1fee01000ULL, .data = 0x4022 },
		[4] = { .used = false, .addr = 0xdead, .data = 1 },
	};
	struct kvm_irq_routing *r = table(64);
	unsigned int i;
	const struct kvm_irq_routing_entry *e = NULL;

	assert_int_equal(kvm_routing_build(r, 64, msi, 5), KVM_IRQCHIP_ROUTES + 2);
	/* The irqchip routes are still all there: the table replaces the old one. */
	assert_int_equal(count(r, 4, KVM_IRQCHIP_IOAPIC, 4), 1);
	assert_int_equal(count(r, 4, KVM_IRQCHIP_PIC_MASTER, 4), 1);
	assert_int_equal(count(r, KVM_MSI_GSI_BASE + 0, -1, 0), 1);
	assert_int_equal(count(r, KVM_MSI_GSI_BASE + 1, -1, 0), 0);
	assert_int_equal(count(r, KVM_MSI_GSI_BASE + 2, -1, 0), 1);
	assert_int_equal(count(r, KVM_MSI_GSI_BASE + 4, -1, 0), 0);
	for (i = 0; i < r->nr; i++)
		if (r->entries[i].gsi == KVM_MSI_GSI_BASE + 2)
			e = &r->entries[i];
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, 0xfee01000);
	assert_int_equal(e->u.msi.address_hi, 1);
	assert_int_equal(e->u.msi.data, 0x4022);
	assert_int_equal(e->flags, 0);
	/* MSI GSIs never collide with the IOAPIC's. */
	assert_true(KVM_MSI_GSI_BASE >= KVM_IOAPIC_PINS);
	free(r);
}

static void test_too_small(void **state)
{
	struct kvm_msi_route msi[1] = { { .used = true, .addr = 0xfee00000, .data = 1 } };
	struct kvm_irq_routing *r = table(64);

	assert_int_equal(kvm_routing_build(r, 10, NULL, 0), -ENOSPC);
	assert_int_equal(kvm_routing_build(r, KVM_IRQCHIP_ROUTES, msi, 1), -ENOSPC);
	assert_int_equal(kvm_routing_build(r, KVM_IRQCHIP_ROUTES + 1, msi, 1),
			 KVM_IRQCHIP_ROUTES + 1);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_irqchip_routes),
		cmocka_unit_test(test_msi_routes),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
