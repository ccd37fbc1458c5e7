/* A fake machine for device unit tests: see fake_machine.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void fake_record_msi(struct fake_machine *fm, uint64_t addr, uint32_t data, int route)
{
	if (fm->nr_msi == FAKE_MAX_MSI)
		abort();	/* a test that sends this many has a bug */
	fm->msi[fm->nr_msi].addr = addr;
	fm->msi[fm->nr_msi].data = data;
	fm->msi[fm->nr_msi].route = route;
	fm->nr_msi++;
}

static int fake_ms_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;

	if (fm->msi_send_ret < 0)
		return fm->msi_send_ret;
	fake_record_msi(fm, addr, data, -1);
	return 0;
}

static int fake_ms_irqfd_add(void *opaque, int efd, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;
	int i;

	fm->irqfd_adds++;
	if (fm->irqfd_add_ret < 0)
		return fm->irqfd_add_ret;
	if (efd < 0)
		return -EBADF;
	if (fake_irqfd_route(fm, efd) >= 0)
		return -EBUSY;	/* KVM: an eventfd is one irqfd at a time */
	for (i = 0; i < FAKE_MAX_ROUTES; i++) {
		struct fake_route *r = &fm->routes[i];

		if (!r->used) {
			r->used = true;
			r->efd = efd;
			r->addr = addr;
			r->data = data;
			return i;
		}
	}
	return -ENOSPC;
}

static int fake_ms_irqfd_update(void *opaque, int route, uint64_t addr, uint32_t data)
{
	struct fake_machine *fm = opaque;

	fm->irqfd_updates++;
	if (route < 0 || route >= FAKE_MAX_ROUTES || !fm->routes[route].used)
		return -EINVAL;
	fm->routes[route].addr = addr;
	fm->routes[route].data = data;
	return 0;
}

static void fake_ms_irqfd_del(void *opaque, int route, int efd)
{
	struct fake_machine *fm = opaque;

	fm->irqfd_dels++;
	/* Deleting a route that is not live, or with the wrong efd, is a device bug. */
	if (route < 0 || route >= FAKE_MAX_ROUTES || !fm->routes[route].used ||
	    fm->routes[route].efd != efd)
		abort();
	fm->routes[route].used = false;
}

/* KVM's rule: same address and length collide unless both carry different values. */
static bool fake_ioeventfd_collides(const struct fake_ioeventfd *e, uint64_t addr,
				    unsigned int len, bool pio, bool dm, uint64_t data)
{
	if (e->addr != addr || e->pio != pio)
		return false;
	if (e->len && len && e->len != len)
		return false;
	return !e->dm || !dm || e->data == data;
}

static int fake_ioeventfd_set(struct fake_machine *fm, int efd, uint64_t addr,
			      unsigned int len, bool pio, bool dm, uint64_t data, bool assign)
{
	int i, free_slot = -1;

	fm->ioeventfd_calls++;
	if (fm->ioeventfd_ret < 0)
		return fm->ioeventfd_ret;
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	for (i = 0; i < FAKE_MAX_IOEVENTFDS; i++) {
		struct fake_ioeventfd *e = &fm->ioeventfds[i];

		if (!e->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (assign && fake_ioeventfd_collides(e, addr, len, pio, dm, data))
			return -EEXIST;
		if (!assign && e->addr == addr && e->len == len && e->pio == pio &&
		    e->dm == dm && (!dm || e->data == data)) {
			if (e->efd != efd)
				return -ENOENT;
			e->used = false;
			return 0;
		}
	}
	if (!assign)
		return -ENOENT;
	if (free_slot < 0)
		return -ENOSPC;
	fm->ioeventfds[free_slot] = (struct fake_ioeventfd){
		.used = true, .efd = efd, .addr = addr, .len = len, .pio = pio,
		.dm = dm, .data = data,
	};
	return 0;
}

static int fake_ms_ioeventfd(void *opaque, int efd, uint64_t addr, unsigned int len,
			     bool pio, bool assign)
{
	return fake_ioeventfd_set(opaque, efd, addr, len, pio, false, 0, assign);
}

static int fake_ms_ioeventfd_dm(void *opaque, int efd, uint64_t addr, unsigned int len,
				bool pio, uint64_t datamatch, bool assign)
{
	return fake_ioeventfd_set(opaque, efd, addr, len, pio, true, datamatch, assign);
}

static struct loop *fake_ms_iothread(void *opaque, const char *id)
{
	struct fake_machine *fm = opaque;

	if (!fm->iothread_loop)
		return NULL;
	if (fm->iothread_id && (!id || strcmp(id, fm->iothread_id)))
		return NULL;
	return fm->iothread_loop;
}

int fake_irqfd_count(const struct fake_machine *fm)
{
	int i, n = 0;

	for (i = 0; i < FAKE_MAX_ROUTES; i++)
		n += fm->routes[i].used;
	return n;
}

int fake_ioeventfd_count(const struct fake_machine *fm)
{
	int i, n = 0;

	for (i = 0; i < FAKE_MAX_IOEVENTFDS; i++)
		n += fm->ioeventfds[i].used;
	return n;
}

int fake_irqfd_route(const struct fake_machine *fm, int efd)
{
	int i;

	for (i = 0; i < FAKE_MAX_ROUTES; i++)
		if (fm->routes[i].used && fm->routes[i].efd == efd)
			return i;
	return -1;
}

bool fake_irqfd_message(const struct fake_machine *fm, int efd, uint64_t *addr,
			uint32_t *data)
{
	int r = fake_irqfd_route(fm, efd);

	if (r < 0)
		return false;
	*addr = fm->routes[r].addr;
	*data = fm->routes[r].data;
	return true;
}

int fake_irqfd_deliver(struct fake_machine *fm)
{
	int i, n = 0;

	for (i = 0; i < FAKE_MAX_ROUTES; i++) {
		struct fake_route *r = &fm->routes[i];
		struct pollfd pfd = { .fd = r->efd, .events = POLLIN };
		uint64_t cnt;

		if (!r->used || poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			continue;
		if (read(r->efd, &cnt, sizeof(cnt)) != sizeof(cnt) || !cnt)
			continue;
		fake_record_msi(fm, r->addr, r->data, i);
		n++;
	}
	return n;
}

int fake_ioeventfd_find(const struct fake_machine *fm, uint64_t addr, unsigned int len,
			bool pio)
{
	int i;

	for (i = 0; i < FAKE_MAX_IOEVENTFDS; i++) {
		const struct fake_ioeventfd *e = &fm->ioeventfds[i];

		if (e->used && e->pio == pio && e->addr == addr && (!e->len || e->len == len))
			return e->efd;
	}
	return -1;
}

int fake_ioeventfd_match(const struct fake_machine *fm, uint64_t addr, unsigned int len,
			 bool pio, uint64_t value)
{
	uint64_t mask = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
	int i;

	for (i = 0; i < FAKE_MAX_IOEVENTFDS; i++) {
		const struct fake_ioeventfd *e = &fm->ioeventfds[i];

		if (e->used && e->pio == pio && e->addr == addr && (!e->len || e->len == len) &&
		    (!e->dm || e->data == (value & mask)))
			return e->efd;
	}
	return -1;
}

void fake_msi_clear(struct fake_machine *fm)
{
	fm->nr_msi = 0;
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
	fm->ms.msi_send = fake_ms_msi_send;
	fm->ms.irqfd_add = fake_ms_irqfd_add;
	fm->ms.irqfd_update = fake_ms_irqfd_update;
	fm->ms.irqfd_del = fake_ms_irqfd_del;
	fm->ms.ioeventfd = fake_ms_ioeventfd;
	fm->ms.ioeventfd_dm = fake_ms_ioeventfd_dm;
	fm->ms.iothread = fake_ms_iothread;
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

static void fake_signal(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static int fake_access(struct fake_machine *fm, bool mmio, uint64_t addr, void *data,
		       unsigned int size, bool write)
{
	struct fake_region *r;

	if (write) {
		uint64_t value = 0;
		int efd;

		memcpy(&value, data, size < 8 ? size : 8);
		efd = fake_ioeventfd_match(fm, addr, size, !mmio, value);

		if (efd >= 0) {
			fake_signal(efd);
			return 0;
		}
	}
	r = fake_find(fm, mmio, addr);
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
