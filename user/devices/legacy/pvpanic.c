/*
 * pvpanic at an ISA I/O port (QEMU docs/specs/pvpanic.txt): reads give the
 * supported events (PANICKED | CRASH_LOADED), writes report them to the machine.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/pvpanic.h"
#include "lib/log.h"

struct pvpanic {
	uint16_t port;
	void (*on_event)(void *opaque, unsigned int events);
	void *opaque;
	bool junk_logged;	/* unknown bits: said once per device */
};

static void pvpanic_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	memset(data, 0, size);
	*(uint8_t *)data = PVPANIC_EVENTS;
}

static void pvpanic_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct pvpanic *p = dev;
	unsigned int val = *(const uint8_t *)data;
	bool junk;

	/* Only the first byte is the register: wider writes keep their low byte. */
	junk = (val & ~PVPANIC_EVENTS) != 0;
	if (junk && !__atomic_exchange_n(&p->junk_logged, true, __ATOMIC_RELAXED))
		log_warn("pvpanic: guest wrote %#x to port %#x; unknown bits %#x ignored",
			 val, p->port, val & ~PVPANIC_EVENTS);
	val &= PVPANIC_EVENTS;
	if (val && p->on_event)
		p->on_event(p->opaque, val);
}

static const struct io_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

struct pvpanic *pvpanic_new(const struct machine_services *ms, uint16_t port,
			    void (*on_event)(void *opaque, unsigned int events), void *opaque)
{
	struct pvpanic *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->port = port;
	p->on_event = on_event;
	p->opaque = opaque;
	if (machine_pio_add(ms, port, 1, &pvpanic_ops, p)) {
		log_err("pvpanic: I/O port %#x is already taken", port);
		free(p);
		return NULL;
	}
	return p;
}

void pvpanic_free(struct pvpanic *p)
{
	free(p);
}
