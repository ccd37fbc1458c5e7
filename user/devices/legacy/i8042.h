/* i8042 keyboard controller: enough for Linux to probe it cleanly and to reset the machine. */
#ifndef KEEL_DEVICES_LEGACY_I8042_H
#define KEEL_DEVICES_LEGACY_I8042_H

#include "devices/machine.h"

struct i8042;

struct i8042 *i8042_new(const struct machine_services *ms);
void i8042_reset(struct i8042 *kbc);
void i8042_free(struct i8042 *kbc);

#endif
