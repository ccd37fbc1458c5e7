/* A fake machine for device unit tests: see fake_machine.h. */
#include <stdlib.h>
#include <string.h>

#include "fake_machine.h"
#include "lib/loop.h"

static int fake_add(struct fake_machine *fm, bool mmio, uint64_t base, uint64_t len,
		    const struct io_ops *ops, void *dev)
{
	struct fake_region *r;

	if (fm->nr_regions == FAKE_MAX_REGIONS)
		return -1;
	r = &fm->regions[fm->nr_regions++];
	r->mmio = mmio;
	r->base = base;
	r->len = len;
	r->ops = ops;
	r->dev = dev;
	return 0;
}

static int fake_ms_pio_add(void *opaque, uint16_t base, uint16_t len,
			   const struct io_ops *ops, void *dev)
{
	return fake_add(opaque, false, base, len, ops, dev);
}

static int fake_ms_mmio_add(void *opaque, uint64_t base, uint64_t len,
			    const struct io_ops *ops, void *dev)
{
	return fake_add(opaque, true, base, len, ops, dev);
}

static void fake_ms_irq_set(void *opaque, unsigned int gsi, int level)
{
	struct fake_machine *fm = opaque;

	if (gsi >= FAKE_MAX_GSI)
		abort();
	if (level && !fm->irq_level[gsi])
		fm->irq_raises[gsi]++;
	fm->irq_level[gsi] = !!level;
}

static void *fake_ms_gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fake_machine *fm = opaque;

	if (gpa >= fm->ram_size || len > fm->ram_size - gpa)
		return NULL;
	return fm->ram + gpa;
}

static void fake_ms_request(void *opaque, enum machine_request req)
{
	struct fake_machine *fm = opaque;

	fm->requests[req]++;
}

void fake_machine_init(struct fake_machine *fm, uint64_t ram_size)
{
	memset(fm, 0, sizeof(*fm));
	fm->ms.opaque = fm;
	fm->ms.pio_add = fake_ms_pio_add;
	fm->ms.mmio_add = fake_ms_mmio_add;
	fm->ms.irq_set = fake_ms_irq_set;
	fm->ms.gpa_to_hva = fake_ms_gpa_to_hva;
	fm->ms.request = fake_ms_request;
	fm->ms.loop = loop_new();
	fm->ram_size = ram_size;
	fm->ram = ram_size ? calloc(1, ram_size) : NULL;
}

void fake_machine_fini(struct fake_machine *fm)
{
	loop_free(fm->ms.loop);
	free(fm->ram);
}

static struct fake_region *fake_find(struct fake_machine *fm, bool mmio, uint64_t addr)
{
	int i;

	for (i = 0; i < fm->nr_regions; i++) {
		struct fake_region *r = &fm->regions[i];

		if (r->mmio == mmio && addr >= r->base && addr - r->base < r->len)
			return r;
	}
	return NULL;
}

static int fake_access(struct fake_machine *fm, bool mmio, uint64_t addr, void *data,
		       unsigned int size, bool write)
{
	struct fake_region *r = fake_find(fm, mmio, addr);

	if (!r) {
		if (!write)
			memset(data, 0xff, size);
		return -1;
	}
	if (write) {
		if (r->ops->write)
			r->ops->write(r->dev, addr - r->base, data, size);
	} else {
		memset(data, 0xff, size);
		if (r->ops->read)
			r->ops->read(r->dev, addr - r->base, data, size);
	}
	return 0;
}

int fake_pio_read(struct fake_machine *fm, uint16_t port, void *data, unsigned int size)
{
	return fake_access(fm, false, port, data, size, false);
}

int fake_pio_write(struct fake_machine *fm, uint16_t port, const void *data, unsigned int size)
{
	return fake_access(fm, false, port, (void *)data, size, true);
}

uint8_t fake_inb(struct fake_machine *fm, uint16_t port)
{
	uint8_t v;

	fake_pio_read(fm, port, &v, 1);
	return v;
}

void fake_outb(struct fake_machine *fm, uint16_t port, uint8_t val)
{
	fake_pio_write(fm, port, &val, 1);
}

int fake_mmio_read(struct fake_machine *fm, uint64_t addr, void *data, unsigned int size)
{
	return fake_access(fm, true, addr, data, size, false);
}

int fake_mmio_write(struct fake_machine *fm, uint64_t addr, const void *data, unsigned int size)
{
	return fake_access(fm, true, addr, (void *)data, size, true);
}
