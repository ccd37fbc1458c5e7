/*
 * Machine services: what a device model may ask of the machine it is plugged
 * into. Declared here, implemented by user/vmm/ (and by a fake machine in
 * tests/unit), so that devices never include anything from user/vmm/.
 */
#ifndef KEEL_DEVICES_MACHINE_H
#define KEEL_DEVICES_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

/*
 * A port-I/O or MMIO region's handlers. offset is relative to the region's
 * base; size is 1, 2, 4 or 8. Handlers run on a vCPU thread with the
 * device's own lock held by the caller's choice (the bus takes none).
 * A read handler must fill all size bytes of data.
 */
struct io_ops {
	void (*read)(void *dev, uint64_t offset, void *data, unsigned int size);
	void (*write)(void *dev, uint64_t offset, const void *data, unsigned int size);
};

/* Requests a device may make of the machine as a whole. */
enum machine_request {
	MACHINE_POWEROFF,	/* ACPI S5, or any "switch off" */
	MACHINE_RESET,		/* reset register, i8042 pulse, 0xCF9 */
};

struct machine_services {
	void *opaque;

	int (*pio_add)(void *opaque, uint16_t base, uint16_t len,
		       const struct io_ops *ops, void *dev);
	int (*mmio_add)(void *opaque, uint64_t base, uint64_t len,
			const struct io_ops *ops, void *dev);

	/* Drive an interrupt line (GSI) of the in-kernel irqchip. */
	void (*irq_set)(void *opaque, unsigned int gsi, int level);

	/*
	 * Bounds-checked guest-physical to host-virtual translation: returns
	 * NULL unless [gpa, gpa + len) lies entirely inside one RAM region.
	 */
	void *(*gpa_to_hva)(void *opaque, uint64_t gpa, uint64_t len);

	/* Ask for power-off or reset; acted on by the main loop, not inline. */
	void (*request)(void *opaque, enum machine_request req);

	/* The main thread's event loop, for chardevs and timers. */
	struct loop *loop;
};

/* Convenience wrappers so device code reads naturally. */
static inline int machine_pio_add(const struct machine_services *ms, uint16_t base,
				  uint16_t len, const struct io_ops *ops, void *dev)
{
	return ms->pio_add(ms->opaque, base, len, ops, dev);
}

static inline int machine_mmio_add(const struct machine_services *ms, uint64_t base,
				   uint64_t len, const struct io_ops *ops, void *dev)
{
	return ms->mmio_add(ms->opaque, base, len, ops, dev);
}

static inline void machine_irq_set(const struct machine_services *ms, unsigned int gsi,
				   int level)
{
	ms->irq_set(ms->opaque, gsi, level);
}

static inline void *machine_gpa_to_hva(const struct machine_services *ms, uint64_t gpa,
				       uint64_t len)
{
	return ms->gpa_to_hva(ms->opaque, gpa, len);
}

static inline void machine_request(const struct machine_services *ms,
				   enum machine_request req)
{
	ms->request(ms->opaque, req);
}

#endif
