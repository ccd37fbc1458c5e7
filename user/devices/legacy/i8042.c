/*
 * i8042 keyboard controller (IBM PC/AT technical reference, "Keyboard
 * Controller") with a minimal PS/2 keyboard behind it and no mouse: enough for
 * Linux's i8042/atkbd probes to finish at once, plus the reset pulse.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"
#include "lib/log.h"

/* Status register (read at 0x64). */
#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* system flag (self-test passed) */
#define STS_CMD		0x08	/* last write went to the command port */
#define STS_UNLOCKED	0x10	/* keyboard not inhibited */
#define STS_AUXDATA	0x20	/* output buffer holds aux data */
#define STS_TIMEOUT	0x40

/* Command byte ("controller RAM" byte 0). */
#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40

/* Output port bits. */
#define OUTP_RESET	0x01	/* active low: 0 holds the CPU in reset */
#define OUTP_A20	0x02

/* Keyboard replies. */
#define KBD_ACK		0xfa
#define KBD_RESEND	0xfe
#define KBD_BAT_OK	0xaa
#define KBD_ECHO	0xee

#define I8042_QUEUE_LEN	16

struct i8042_byte {
	uint8_t val;
	bool aux;
	bool timeout;
};

struct i8042 {
	const struct machine_services *ms;
	pthread_mutex_t lock;

	uint8_t ram[32];	/* ram[0] is the command byte */
	uint8_t outport;
	bool last_was_cmd;
	bool sys;
	uint8_t pending_cmd;	/* controller command waiting for its data byte */
	uint8_t kbd_pending;	/* keyboard command waiting for its argument */
	bool kbd_scanning;
	uint8_t kbd_set;	/* scan code set */

	struct i8042_byte queue[I8042_QUEUE_LEN];
	unsigned int q_head, q_count;

	int kbd_irq, aux_irq;	/* levels as last driven */
	bool reset_logged;	/* until the machine resets us */
};

static void i8042_set_line(struct i8042 *kbc, unsigned int gsi, int *cur, int level,
			   bool fresh)
{
	/* A new byte while the line is high needs a new edge. */
	if (level && *cur && fresh)
		machine_irq_set(kbc->ms, gsi, 0);
	if (level != *cur || (level && fresh))
		machine_irq_set(kbc->ms, gsi, level);
	*cur = level;
}

static void i8042_update_irq(struct i8042 *kbc, bool fresh)
{
	int kbd = 0, aux = 0;

	if (kbc->q_count) {
		const struct i8042_byte *b = &kbc->queue[kbc->q_head];

		if (b->aux)
			aux = !!(kbc->ram[0] & CTR_AUXINT);
		else
			kbd = !!(kbc->ram[0] & CTR_KBDINT);
	}
	i8042_set_line(kbc, PC_I8042_KBD_IRQ, &kbc->kbd_irq, kbd, fresh);
	i8042_set_line(kbc, PC_I8042_AUX_IRQ, &kbc->aux_irq, aux, fresh);
}

static void i8042_push(struct i8042 *kbc, uint8_t val, bool aux, bool timeout)
{
	struct i8042_byte *b;

	if (kbc->q_count == I8042_QUEUE_LEN) {
		log_debug("i8042: output queue full, byte 0x%02x dropped", val);
		return;
	}
	b = &kbc->queue[(kbc->q_head + kbc->q_count) % I8042_QUEUE_LEN];
	b->val = val;
	b->aux = aux;
	b->timeout = timeout;
	kbc->q_count++;
	if (kbc->q_count == 1)
		i8042_update_irq(kbc, true);
}

static uint8_t i8042_pop(struct i8042 *kbc)
{
	uint8_t val;

	if (!kbc->q_count) {
		/* Reading an empty buffer returns the last byte on real parts. */
		return kbc->queue[(kbc->q_head + I8042_QUEUE_LEN - 1) % I8042_QUEUE_LEN].val;
	}
	val = kbc->queue[kbc->q_head].val;
	kbc->q_head = (kbc->q_head + 1) % I8042_QUEUE_LEN;
	kbc->q_count--;
	i8042_update_irq(kbc, kbc->q_count != 0);
	return val;
}

static void i8042_kbd_reply(struct i8042 *kbc, uint8_t val)
{
	i8042_push(kbc, val, false, false);
}

/* The keyboard device: commands and their argument bytes (PS/2 protocol). */
static void i8042_kbd_write(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->kbd_pending;

	if (cmd) {
		kbc->kbd_pending = 0;
		switch (cmd) {
		case 0xf0:	/* scan code set: 0 queries */
			i8042_kbd_reply(kbc, KBD_ACK);
			if (val == 0)
				i8042_kbd_reply(kbc, kbc->kbd_set);
			else if (val <= 3)
				kbc->kbd_set = val;
			return;
		default:	/* 0xed LEDs, 0xf3 typematic: accepted, no effect */
			i8042_kbd_reply(kbc, KBD_ACK);
			return;
		}
	}
	switch (val) {
	case 0xed:	/* set LEDs */
	case 0xf3:	/* set typematic rate */
	case 0xf0:	/* get/set scan code set */
		kbc->kbd_pending = val;
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case 0xee:
		i8042_kbd_reply(kbc, KBD_ECHO);
		break;
	case 0xf2:	/* identify: MF2 keyboard */
		i8042_kbd_reply(kbc, KBD_ACK);
		i8042_kbd_reply(kbc, 0xab);
		i8042_kbd_reply(kbc, 0x83);
		break;
	case 0xf4:
		kbc->kbd_scanning = true;
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case 0xf5:	/* disable and set defaults */
		kbc->kbd_scanning = false;
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case 0xf6:	/* set defaults */
		kbc->kbd_set = 2;
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa:
	case 0xfb: case 0xfc: case 0xfd: case 0xfe:
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case 0xff:	/* reset: ACK, then basic assurance test passed */
		kbc->kbd_scanning = true;
		kbc->kbd_set = 2;
		i8042_kbd_reply(kbc, KBD_ACK);
		i8042_kbd_reply(kbc, KBD_BAT_OK);
		break;
	default:
		i8042_kbd_reply(kbc, KBD_RESEND);
		break;
	}
}

/*
 * No mouse is attached: a byte for it gets 0xfe with the timeout bit, as a
 * controller with an empty aux port answers, so psmouse gives up at once.
 */
static void i8042_aux_write(struct i8042 *kbc, uint8_t val)
{
	i8042_push(kbc, KBD_RESEND, true, true);
}

static void i8042_request_reset(struct i8042 *kbc, const char *how, uint8_t val)
{
	if (!kbc->reset_logged) {
		log_info("i8042: guest pulsed the reset line (%s 0x%02x)", how, val);
		kbc->reset_logged = true;
	}
	machine_request(kbc->ms, MACHINE_RESET);
}

static void i8042_write_outport(struct i8042 *kbc, uint8_t val)
{
	kbc->outport = val | OUTP_RESET;
	if (!(val & OUTP_RESET))
		i8042_request_reset(kbc, "output port", val);
}

static void i8042_data_write(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->pending_cmd;

	kbc->pending_cmd = 0;
	switch (cmd) {
	case 0:
		kbc->ram[0] &= ~CTR_KBDDIS;	/* writing to the keyboard enables it */
		i8042_kbd_write(kbc, val);
		break;
	case 0x60 ... 0x7f:
		kbc->ram[cmd - 0x60] = val;
		if (cmd == 0x60) {
			kbc->sys = val & CTR_SYS;
			i8042_update_irq(kbc, false);
		}
		break;
	case 0xd1:
		i8042_write_outport(kbc, val);
		break;
	case 0xd2:	/* as if the keyboard sent it */
		i8042_push(kbc, val, false, false);
		break;
	case 0xd3:	/* as if the mouse sent it: Linux's aux loop test */
		i8042_push(kbc, val, true, false);
		break;
	case 0xd4:
		i8042_aux_write(kbc, val);
		break;
	}
}

static void i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	kbc->pending_cmd = 0;
	switch (cmd) {
	case 0x20 ... 0x3f:
		i8042_push(kbc, kbc->ram[cmd - 0x20], false, false);
		break;
	case 0x60 ... 0x7f:
	case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		kbc->pending_cmd = cmd;
		break;
	case 0xa7:
		kbc->ram[0] |= CTR_AUXDIS;
		break;
	case 0xa8:
		kbc->ram[0] &= ~CTR_AUXDIS;
		break;
	case 0xa9:	/* aux interface test: no error */
	case 0xab:	/* keyboard interface test: no error */
		i8042_push(kbc, 0x00, false, false);
		break;
	case 0xaa:	/* controller self-test */
		kbc->sys = true;
		i8042_push(kbc, 0x55, false, false);
		break;
	case 0xad:
		kbc->ram[0] |= CTR_KBDDIS;
		break;
	case 0xae:
		kbc->ram[0] &= ~CTR_KBDDIS;
		break;
	case 0xc0:	/* input port: keyboard not inhibited */
		i8042_push(kbc, 0x80, false, false);
		break;
	case 0xd0:
		i8042_push(kbc, kbc->outport, false, false);
		break;
	case 0xe0:	/* test inputs */
		i8042_push(kbc, 0x00, false, false);
		break;
	case 0xf0 ... 0xff:
		/* Pulse output lines low for 6 us: bit 0 is the CPU reset line. */
		if (!(cmd & 0x01))
			i8042_request_reset(kbc, "command", cmd);
		break;
	default:
		log_debug("i8042: command 0x%02x ignored", cmd);
		break;
	}
}

static uint8_t i8042_status(struct i8042 *kbc)
{
	uint8_t st = STS_UNLOCKED;

	if (kbc->sys)
		st |= STS_SYS;
	if (kbc->last_was_cmd)
		st |= STS_CMD;
	if (kbc->q_count) {
		const struct i8042_byte *b = &kbc->queue[kbc->q_head];

		st |= STS_OBF;
		if (b->aux)
			st |= STS_AUXDATA;
		if (b->timeout)
			st |= STS_TIMEOUT;
	}
	return st;
}

static void i8042_data_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct i8042 *kbc = dev;

	memset(data, 0xff, size);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = i8042_pop(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_data_io_write(void *dev, uint64_t offset, const void *data,
				unsigned int size)
{
	struct i8042 *kbc = dev;

	pthread_mutex_lock(&kbc->lock);
	kbc->last_was_cmd = false;
	i8042_data_write(kbc, *(const uint8_t *)data);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_status_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct i8042 *kbc = dev;

	memset(data, 0xff, size);
	pthread_mutex_lock(&kbc->lock);
	*(uint8_t *)data = i8042_status(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

static void i8042_cmd_io_write(void *dev, uint64_t offset, const void *data,
			       unsigned int size)
{
	struct i8042 *kbc = dev;

	pthread_mutex_lock(&kbc->lock);
	kbc->last_was_cmd = true;
	i8042_command(kbc, *(const uint8_t *)data);
	pthread_mutex_unlock(&kbc->lock);
}

static const struct io_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_io_write,
};

static const struct io_ops i8042_cmd_ops = {
	.read = i8042_status_read,
	.write = i8042_cmd_io_write,
};

void i8042_reset(struct i8042 *kbc)
{
	pthread_mutex_lock(&kbc->lock);
	memset(kbc->ram, 0, sizeof(kbc->ram));
	kbc->ram[0] = CTR_KBDINT | CTR_SYS | CTR_XLATE;
	kbc->outport = OUTP_RESET | OUTP_A20;
	kbc->last_was_cmd = false;
	/* There is no firmware POST: start as it would have left us. */
	kbc->sys = true;
	kbc->pending_cmd = 0;
	kbc->kbd_pending = 0;
	kbc->kbd_scanning = true;
	kbc->kbd_set = 2;
	kbc->q_head = 0;
	kbc->q_count = 0;
	kbc->reset_logged = false;
	memset(kbc->queue, 0, sizeof(kbc->queue));
	i8042_update_irq(kbc, false);
	pthread_mutex_unlock(&kbc->lock);
}

struct i8042 *i8042_new(const struct machine_services *ms)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));

	if (!kbc)
		return NULL;
	kbc->ms = ms;
	pthread_mutex_init(&kbc->lock, NULL);
	i8042_reset(kbc);
	/* Two one-port regions: 0x61-0x63 belong to other devices (PIT, speaker). */
	if (machine_pio_add(ms, PC_I8042_DATA_PORT, 1, &i8042_data_ops, kbc) < 0 ||
	    machine_pio_add(ms, PC_I8042_CMD_PORT, 1, &i8042_cmd_ops, kbc) < 0) {
		log_err("i8042: cannot claim ports 0x60/0x64");
		pthread_mutex_destroy(&kbc->lock);
		free(kbc);
		return NULL;
	}
	return kbc;
}

void i8042_free(struct i8042 *kbc)
{
	if (!kbc)
		return;
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}
