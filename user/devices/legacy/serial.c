/*
 * 16550A UART (8250 family; TI/NS PC16550D data sheet, sections 8.1-8.10):
 * registers, divisor latch, 16-byte RX FIFO, IIR priorities, loopback, and
 * an interrupt line that gets a fresh edge for every new condition.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy/serial.h"
#include "lib/chardev.h"
#include "lib/log.h"

/* Register offsets (DLAB selects DLL/DLM at 0/1). */
#define UART_RBR	0	/* read: receive buffer; write: THR */
#define UART_IER	1
#define UART_IIR	2	/* read: IIR; write: FCR */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define UART_NR_REGS	8

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* THR empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_CTI		0x0c	/* character timeout */
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_DMA		0x08
#define FCR_TRIGGER	0xc0

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_DELTAS	0x0f
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define SERIAL_FIFO_LEN	16

/* Pending conditions, as a mask, to spot the ones that are new. */
#define SINT_LS		0x1
#define SINT_RX		0x2
#define SINT_TX		0x4
#define SINT_MS		0x8

struct serial {
	const struct machine_services *ms;
	char name[32];
	uint16_t port;
	unsigned int irq;
	struct chardev *cd;
	pthread_mutex_t lock;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t lsr_err;	/* sticky error bits (OE), cleared by reading LSR */
	uint8_t msr;
	uint8_t rx[SERIAL_FIFO_LEN];
	unsigned int rx_head, rx_count;
	bool thre_pending;	/* THR-empty interrupt not yet acknowledged */
	bool irq_level;
	bool rx_blocked;	/* the chardev holds bytes we refused */
	bool overrun_logged;
};

static unsigned int serial_rx_capacity(const struct serial *s)
{
	return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_LEN : 1;
}

static unsigned int serial_rx_trigger(const struct serial *s)
{
	static const unsigned int levels[4] = { 1, 4, 8, 14 };

	return levels[s->fcr >> 6];
}

static unsigned int serial_pending(const struct serial *s)
{
	unsigned int m = 0;

	if ((s->ier & IER_RLSI) && s->lsr_err)
		m |= SINT_LS;
	if ((s->ier & IER_RDI) && s->rx_count)
		m |= SINT_RX;
	if ((s->ier & IER_THRI) && s->thre_pending)
		m |= SINT_TX;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		m |= SINT_MS;
	return m;
}

/*
 * The ISA line is edge-triggered at the interrupt controller, so a condition
 * that appears while the line is already high would be lost: lower the line
 * and raise it again to give the guest a new edge.
 */
static void serial_update_irq(struct serial *s, unsigned int old)
{
	unsigned int now = serial_pending(s);

	if (now) {
		if (s->irq_level && !(now & ~old))
			return;
		if (s->irq_level)
			machine_irq_set(s->ms, s->irq, 0);
		machine_irq_set(s->ms, s->irq, 1);
		s->irq_level = true;
	} else if (s->irq_level) {
		machine_irq_set(s->ms, s->irq, 0);
		s->irq_level = false;
	}
}

static uint8_t serial_iir(const struct serial *s)
{
	unsigned int m = serial_pending(s);
	uint8_t iir;

	if (m & SINT_LS)
		iir = IIR_RLSI;
	else if (m & SINT_RX)
		/* Below the trigger level the timeout indication is given at once. */
		iir = ((s->fcr & FCR_ENABLE) && s->rx_count < serial_rx_trigger(s)) ?
		      IIR_CTI : IIR_RDI;
	else if (m & SINT_TX)
		iir = IIR_THRI;
	else if (m & SINT_MS)
		iir = IIR_MSI;
	else
		iir = IIR_NO_INT;
	if (s->fcr & FCR_ENABLE)
		iir |= IIR_FIFO_ON;
	return iir;
}

/* Modem inputs: asserted by the (absent) modem, or wired to MCR in loopback. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
	uint8_t v = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (s->mcr & MCR_RTS)
		v |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		v |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		v |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		v |= MSR_DCD;
	return v;
}

static void serial_set_modem_inputs(struct serial *s)
{
	uint8_t old = s->msr, now = serial_modem_inputs(s);
	uint8_t delta = old & MSR_DELTAS;

	if ((old ^ now) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI;
	if ((old ^ now) & MSR_DCD)
		delta |= MSR_DDCD;
	s->msr = now | delta;
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/*
 * Room in the RX FIFO again: let the chardev deliver what it held back. Wait
 * for half a FIFO of room so that a burst costs a few wake-ups, not one a byte.
 */
static void serial_rx_unblock(struct serial *s)
{
	if (s->rx_blocked && s->rx_count <= serial_rx_capacity(s) / 2) {
		s->rx_blocked = false;
		if (s->cd)
			chardev_input_resume(s->cd);
	}
}

static bool serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count >= serial_rx_capacity(s))
		return false;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_LEN] = byte;
	s->rx_count++;
	return true;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_LEN;
	s->rx_count--;
	return byte;
}

static void serial_transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		if (!serial_rx_push(s, byte)) {
			s->lsr_err |= LSR_OE;
			if (!s->overrun_logged) {
				log_debug("%s: loopback receive overrun", s->name);
				s->overrun_logged = true;
			}
		}
		return;
	}
	if (s->cd)
		chardev_write(s->cd, &byte, 1);
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg, unsigned int *old)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		v = serial_rx_pop(s);
		serial_rx_unblock(s);
		return v;
	case UART_IER:
		if (s->lcr & LCR_DLAB)
			return s->dlm;
		return s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | s->lsr_err;
		if (s->rx_count)
			v |= LSR_DR;
		s->lsr_err = 0;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v,
			     unsigned int *old)
{
	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		/*
		 * Writing THR acknowledges THR-empty; the byte leaves at once, so
		 * THR is empty again: a new condition that deserves a new edge.
		 */
		*old &= ~SINT_TX;
		serial_transmit(s, v);
		s->thre_pending = true;
		return;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		v &= 0x0f;
		/* Enabling THRI while THR is empty raises the interrupt (16550). */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = v;
		return;
	case UART_IIR:	/* FCR */
		if ((v ^ s->fcr) & FCR_ENABLE)
			serial_rx_clear(s);
		if (v & FCR_CLEAR_RX)
			serial_rx_clear(s);
		/* TX is drained as it is written: nothing to clear there. */
		if (v & FCR_ENABLE)
			s->fcr = v & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
		else
			s->fcr = 0;
		serial_rx_unblock(s);
		return;
	case UART_LCR:
		s->lcr = v;
		return;
	case UART_MCR: {
		bool was_loop = s->mcr & MCR_LOOP;

		s->mcr = v & MCR_MASK;
		serial_set_modem_inputs(s);
		/* Leaving loopback reconnects the outside world. */
		if (was_loop && !(s->mcr & MCR_LOOP) && s->rx_blocked) {
			s->rx_blocked = false;
			if (s->cd)
				chardev_input_resume(s->cd);
		}
		return;
	}
	case UART_LSR:
	case UART_MSR:
		/* Read-only (factory test on real parts): ignored. */
		return;
	default:
		s->scr = v;
		return;
	}
}

static void serial_io_read(void *dev, uint64_t offset, void *data, unsigned int size)
{
	struct serial *s = dev;
	uint8_t *out = data;
	unsigned int i, old;

	pthread_mutex_lock(&s->lock);
	old = serial_pending(s);
	/* A wide access is split into byte accesses, as the ISA bus would. */
	for (i = 0; i < size; i++)
		out[i] = offset + i < UART_NR_REGS ?
			 serial_read_reg(s, offset + i, &old) : 0xff;
	serial_update_irq(s, old);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(void *dev, uint64_t offset, const void *data, unsigned int size)
{
	struct serial *s = dev;
	const uint8_t *in = data;
	unsigned int i, old;

	pthread_mutex_lock(&s->lock);
	old = serial_pending(s);
	for (i = 0; i < size && offset + i < UART_NR_REGS; i++)
		serial_write_reg(s, offset + i, in[i], &old);
	serial_update_irq(s, old);
	pthread_mutex_unlock(&s->lock);
}

static const struct io_ops serial_io_ops = {
	.read = serial_io_read,
	.write = serial_io_write,
};

/* Chardev input, on the loop's thread: take what fits, hold back the rest. */
static size_t serial_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	unsigned int old;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	old = serial_pending(s);
	/* In loopback the receiver hears only the transmitter. */
	if (!(s->mcr & MCR_LOOP)) {
		while (n < len && serial_rx_push(s, buf[n]))
			n++;
	}
	if (n < len)
		s->rx_blocked = true;
	serial_update_irq(s, old);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->scr = 0;
	s->fcr = 0;
	s->dll = 0x0c;	/* 9600 baud from 1.8432 MHz */
	s->dlm = 0;
	s->lsr_err = 0;
	s->msr = serial_modem_inputs(s);
	s->thre_pending = false;
	serial_rx_clear(s);
	if (s->irq_level)
		machine_irq_set(s->ms, s->irq, 0);
	s->irq_level = false;
	if (s->rx_blocked && s->cd) {
		s->rx_blocked = false;
		chardev_input_resume(s->cd);
	}
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_new(const struct machine_services *ms, const char *name,
			  uint16_t port, unsigned int irq, struct chardev *cd)
{
	struct serial *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return NULL;
	s->ms = ms;
	s->port = port;
	s->irq = irq;
	s->cd = cd;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "serial");
	pthread_mutex_init(&s->lock, NULL);
	serial_reset(s);
	ret = machine_pio_add(ms, port, UART_NR_REGS, &serial_io_ops, s);
	if (ret < 0) {
		log_err("%s: cannot claim ports 0x%x-0x%x", s->name, port,
			port + UART_NR_REGS - 1);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	if (cd)
		chardev_set_input(cd, serial_input, s);
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	if (s->cd)
		chardev_set_input(s->cd, NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
