/* 16550A UART (8250 family) on port I/O, feeding a chardev. */
#ifndef KEEL_DEVICES_LEGACY_SERIAL_H
#define KEEL_DEVICES_LEGACY_SERIAL_H

#include <stdint.h>

#include "devices/machine.h"

struct chardev;
struct serial;

struct serial *serial_new(const struct machine_services *ms, const char *name,
			  uint16_t port, unsigned int irq, struct chardev *cd);
void serial_reset(struct serial *s);
void serial_free(struct serial *s);

#endif
