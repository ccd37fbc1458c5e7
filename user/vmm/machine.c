/*
 * The PC machine (ARCHITECTURE.md "Lifecycle", "Guest memory"): builds RAM,
 * the in-kernel irqchip and PIT, COM1/i8042/RTC/ACPI PM, ACPI tables and the
 * kernel, runs vCPUs, and on reset tears everything down and builds it again.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pc_io.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "devices/machine.h"
#include "devices/pci/host.h"
#include "devices/pci/pvpanic_pci.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/rng.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/sandbox.h"
#include "vmm/acpi/acpi.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/chardevs.h"
#include "vmm/coredump.h"
#include "vmm/disk.h"
#include <linux/vhost_blk.h>
#include "vmm/guest_mem.h"
#include "vmm/iothread.h"
#include "vmm/machine.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"
#include "vmm/qmp/pci.h"
#include "vmm/qmp/qmp.h"
#include "vmm/vcpu.h"

#define PC_LAPIC_ADDR	0xFEE00000ULL
#define PC_IOAPIC_ADDR	0xFEC00000ULL
/* PCI hole layout: a 32-bit BAR window, then ECAM for bus 0 (reserved in e820). */
#define PC_PCI_MEM32_BASE	0xC0000000ULL
#define PC_PCI_MEM32_SIZE	0x20000000ULL
#define PC_PCI_ECAM_BASE	0xE0000000ULL
/* I/O BARs; the 64-bit BAR window starts at a 1 GiB boundary above RAM and 4 GiB. */
#define PC_PCI_IO_BASE		0xC000
#define PC_PCI_IO_SIZE		0x4000
#define PC_PCI_MEM64_ALIGN	(1ULL << 30)
#define PC_PCI_MEM64_SIZE	(32ULL << 30)

/* Why the main loop stopped; the first request wins, a failure always wins. */
enum pc_outcome {
	PC_NONE,
	PC_POWEROFF,
	PC_RESET,
	PC_FAIL,
	PC_SIGNAL,
	PC_QUIT,	/* QMP quit */
	PC_PANIC_OFF,	/* guest panic under --on-panic poweroff */
	PC_PANIC_DUMPED,	/* guest panic under coredump-destroy, core written */
};

struct pc {
	struct kvm *kvm;
	const struct cli_config *cfg;
	struct loop *loop;		/* lives across resets */
	struct chardev *console;	/* lives across resets: output keeps flowing */
	int sigfd;
	int pending;			/* enum pc_outcome, set once per incarnation */
	unsigned int boots;
	struct qmp_server *qmp;		/* lives across resets; NULL without --qmp */
	struct qmp_machine qmp_machine;
	bool paused;			/* QMP stop: kept across resets */
	bool qmp_reset;			/* the pending reset came from system_reset */
	bool panic_reset;		/* the pending reset came from --on-panic restart */
	bool panicked;			/* paused by a guest panic, until cont or reset */
	unsigned int panic_events;	/* pvpanic bits not yet acted on (atomic) */

	/* One incarnation of the machine: rebuilt on every reset. */
	struct guest_mem mem;
	struct bus pio, mmio;
	struct machine_services ms;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct serial *com1;
	struct i8042 *kbc;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct pvpanic *pvpanic;
	struct pci_host *pci;
	struct pvpanic_pci *pvpanic_pci;	/* --device pvpanic-pci */
	struct virtio_rng *rng;		/* --rng */
	bool irq_err_logged;

	/* --iothread threads and --disk images: once per run; devices per incarnation. */
	struct iothread iothreads[CLI_MAX_IOTHREADS];
	unsigned int nr_iothreads;
	struct pc_disk *disks;
	unsigned int nr_disks;

	/* --chardev registry and the virtio-serial model: once per run (F27). */
	struct chardevs *chardevs;
	struct virtio_console *vserial;
	struct qmp_devices qmp_devices;
};

/* One --disk: the image stays open across resets, the device is rebuilt. */
struct pc_disk {
	char name[24];			/* "virtio-blk0" */
	struct disk_conf conf;
	struct block_dev *bd;
	struct virtio_blk *blk;
	int vhost_fd, vhost_backend_fd;	/* accel=vhost, else -1 (disk_accel_open) */
};

static void pc_reset_now(void *opaque);
static void pc_panic_now(void *opaque);

/* Called from vCPU threads and from the main loop. */
static void pc_outcome(struct pc *pc, enum pc_outcome what)
{
	int none = PC_NONE;

	if (what == PC_FAIL) {
		__atomic_store_n(&pc->pending, PC_FAIL, __ATOMIC_SEQ_CST);
		loop_stop(pc->loop, PC_FAIL);
		return;
	}
	if (!__atomic_compare_exchange_n(&pc->pending, &none, what, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	/* A reset without --no-reboot rebuilds the machine inside the running loop. */
	if (what == PC_RESET && !pc->cfg->no_reboot) {
		if (loop_call(pc->loop, pc_reset_now, pc) == 0)
			return;
		what = PC_FAIL;
	}
	loop_stop(pc->loop, what);
}

static int pc_pio_add(void *opaque, uint16_t base, uint16_t len, const struct io_ops *ops,
		      void *dev)
{
	struct pc *pc = opaque;

	if ((uint32_t)base + len > 0x10000)
		return -EINVAL;
	/* 0xCF9 lies inside the PCI address dword: the host bridge forwards its bytes. */
	if (pc->pci && base == PCI_HOST_RESET_CTL && len == 1) {
		pci_host_set_cf9(pc->pci, ops, dev);
		return 0;
	}
	return bus_add(&pc->pio, base, len, ops, dev);
}

static int pc_mmio_add(void *opaque, uint64_t base, uint64_t len, const struct io_ops *ops,
		       void *dev)
{
	struct pc *pc = opaque;

	return bus_add(&pc->mmio, base, len, ops, dev);
}

static void pc_irq_set(void *opaque, unsigned int gsi, int level)
{
	struct pc *pc = opaque;
	int ret = kvm_irq_line(pc->kvm, gsi, level);

	if (ret && !pc->irq_err_logged) {
		pc->irq_err_logged = true;
		log_err("irqchip: cannot set GSI %u to %d: %s", gsi, level, strerror(-ret));
	}
}

static void *pc_gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	struct pc *pc = opaque;

	return guest_mem_hva(&pc->mem, gpa, len);
}

static int pc_ram_regions(void *opaque, struct machine_ram_region *out, unsigned int max)
{
	struct pc *pc = opaque;
	unsigned int i;

	for (i = 0; i < pc->mem.nr_regions && i < max; i++) {
		out[i].gpa = pc->mem.regions[i].gpa;
		out[i].size = pc->mem.regions[i].size;
		out[i].hva = pc->mem.regions[i].hva;
	}
	return (int)pc->mem.nr_regions;
}

static void pc_pause_now(void *opaque);

static void pc_request(void *opaque, enum machine_request req)
{
	struct pc *pc = opaque;

	if (req == MACHINE_PAUSE) {
		if (loop_call(pc->loop, pc_pause_now, pc))
			log_err("machine: cannot hand a pause request to the main loop");
		return;
	}
	pc_outcome(pc, req == MACHINE_POWEROFF ? PC_POWEROFF : PC_RESET);
}

/* ---- PCI platform services: MSI, irqfd, ioeventfd (devices/machine.h) ---- */

static int pc_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct pc *pc = opaque;

	return kvm_msi_send(pc->kvm, addr, data);
}

static int pc_irqfd_add(void *opaque, int efd, uint64_t addr, uint32_t data)
{
	struct pc *pc = opaque;

	return kvm_irqfd_add(pc->kvm, efd, addr, data);
}

static int pc_irqfd_update(void *opaque, int route, uint64_t addr, uint32_t data)
{
	struct pc *pc = opaque;

	return kvm_irqfd_update(pc->kvm, route, addr, data);
}

static void pc_irqfd_del(void *opaque, int route, int efd)
{
	struct pc *pc = opaque;

	kvm_irqfd_del(pc->kvm, route, efd);
}

static int pc_ioeventfd(void *opaque, int efd, uint64_t addr, unsigned int len, bool pio,
			bool assign)
{
	struct pc *pc = opaque;

	return kvm_ioeventfd(pc->kvm, efd, addr, len, pio, assign);
}

/* KVM drops the irqfds and ioeventfds with the VM in pc_teardown(). */
static void pc_pci_services(struct pc *pc)
{
	pc->ms.msi_send = pc_msi_send;
	pc->ms.irqfd_add = pc_irqfd_add;
	pc->ms.irqfd_update = pc_irqfd_update;
	pc->ms.irqfd_del = pc_irqfd_del;
	pc->ms.ioeventfd = pc_ioeventfd;
}

static void pc_vcpu_event(void *opaque, unsigned int index, enum vcpu_event ev)
{
	struct pc *pc = opaque;

	switch (ev) {
	case VCPU_EVENT_POWEROFF:
		pc_outcome(pc, PC_POWEROFF);
		break;
	case VCPU_EVENT_RESET:
		pc_outcome(pc, PC_RESET);
		break;
	case VCPU_EVENT_FAIL:
		log_err("vcpu%u stopped on an error KVM cannot recover from", index);
		pc_outcome(pc, PC_FAIL);
		break;
	}
}

/* The CMOS bytes PC firmware leaves for the OS (memory sizes, CPU count). */
static void pc_cmos_init(struct pc *pc)
{
	uint64_t low = guest_mem_low_end(&pc->mem);
	uint64_t high = pc->mem.ram_size - low;
	uint64_t ext_kb, above16m, above4g;

	ext_kb = ((low < (64ULL << 20) ? low : (64ULL << 20)) - (1ULL << 20)) >> 10;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	above16m = low > (16ULL << 20) ? (low - (16ULL << 20)) >> 16 : 0;
	if (above16m > 0xffff)
		above16m = 0xffff;
	above4g = high >> 16;

	rtc_cmos_set(pc->rtc, 0x15, 640 & 0xff);	/* base memory in KiB */
	rtc_cmos_set(pc->rtc, 0x16, 640 >> 8);
	rtc_cmos_set(pc->rtc, 0x17, ext_kb & 0xff);	/* KiB above 1 MiB */
	rtc_cmos_set(pc->rtc, 0x18, ext_kb >> 8);
	rtc_cmos_set(pc->rtc, 0x30, ext_kb & 0xff);
	rtc_cmos_set(pc->rtc, 0x31, ext_kb >> 8);
	rtc_cmos_set(pc->rtc, 0x34, above16m & 0xff);	/* 64 KiB units above 16 MiB */
	rtc_cmos_set(pc->rtc, 0x35, above16m >> 8);
	rtc_cmos_set(pc->rtc, 0x5b, above4g & 0xff);	/* 64 KiB units above 4 GiB */
	rtc_cmos_set(pc->rtc, 0x5c, (above4g >> 8) & 0xff);
	rtc_cmos_set(pc->rtc, 0x5d, (above4g >> 16) & 0xff);
	rtc_cmos_set(pc->rtc, 0x5f, pc->cfg->cpus - 1);
}

/*
 * On the panicking vCPU's thread: the main loop acts on it. For pause and
 * coredump-destroy this vCPU parks before it enters the guest again, so a
 * guest booted with panic=N cannot reset itself before keel stops it, and the
 * core holds its registers as they were at the report.
 */
static void pc_pvpanic_event(void *opaque, unsigned int events)
{
	struct pc *pc = opaque;
	enum cli_on_panic act = pc->cfg->on_panic;
	unsigned int i;

	if ((events & PVPANIC_PANICKED) &&
	    (act == CLI_PANIC_PAUSE || act == CLI_PANIC_COREDUMP)) {
		for (i = 0; i < pc->nr_vcpus; i++) {
			struct vcpu *v = &pc->vcpus[i];

			if (!v->started || !pthread_equal(v->thread, pthread_self()))
				continue;
			pthread_mutex_lock(&v->pause_lock);
			__atomic_store_n(&v->pause_req, true, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&v->pause_lock);
		}
	}
	if (__atomic_fetch_or(&pc->panic_events, events, __ATOMIC_SEQ_CST))
		return;		/* already on its way to the main loop */
	if (loop_call(pc->loop, pc_panic_now, pc))
		log_err("pvpanic: cannot hand the guest panic to the main loop");
}

/* ---- virtio devices on PCI bus 0 ---- */

#define PC_VIRTIO_RNG_SLOT	6

/* The preferred slot if free, else the first free one (function 0). */
static int pc_virtio_register(struct pc *pc, struct pci_device *dev, unsigned int slot)
{
	unsigned int s;

	if (!pci_bus_find(&pc->pci->bus, PCI_DEVFN(slot, 0)))
		return pci_host_register(pc->pci, dev, PCI_DEVFN(slot, 0));
	for (s = 1; s < PCI_SLOTS; s++)
		if (!pci_bus_find(&pc->pci->bus, PCI_DEVFN(s, 0)))
			return pci_host_register(pc->pci, dev, PCI_DEVFN(s, 0));
	return -ENOSPC;
}

static int pc_virtio_init(struct pc *pc)
{
	int ret;

	if (!pc->cfg->rng)
		return 0;
	pc->rng = virtio_rng_new(&pc->ms, "virtio-rng0", &pc->cfg->rng_cfg);
	if (!pc->rng)
		return -EINVAL;
	ret = pc_virtio_register(pc, virtio_rng_pci(pc->rng), PC_VIRTIO_RNG_SLOT);
	if (ret)
		log_err("virtio-rng0: cannot put it on PCI bus 0: %s", strerror(-ret));
	return ret;
}

static void pc_virtio_free(struct pc *pc)
{
	virtio_rng_free(pc->rng);
	pc->rng = NULL;
}

/* ---- chardevs and serial ports (--chardev, --device virtio-serial/virtserialport) ---- */

#define PC_VIRTIO_SERIAL_SLOT	5

/* On the main loop: a port is gone; its chardev may be reused or removed. */
static void pc_console_port_gone(void *opaque, const char *id, struct chardev *cd)
{
	struct pc *pc = opaque;

	chardevs_release(pc->chardevs, cd);
	qmp_devices_deleted(pc->qmp, id);
}

/* Once per run: open the --chardev backends, make the model and its ports. */
static int pc_console_open(struct pc *pc)
{
	const struct cli_config *cfg = pc->cfg;
	struct virtio_console_config vcc = {
		.name = "virtio-serial0", .max_ports = cfg->serial_max_ports, .loop = pc->loop,
		.port_gone = pc_console_port_gone, .opaque = pc,
	};
	char err[256];
	unsigned int i;
	int ret = 0;

	pc->chardevs = chardevs_new(pc->loop);
	if (!pc->chardevs)
		return -ENOMEM;
	pc->qmp_devices.chardevs = pc->chardevs;
	pc->qmp_machine.devices = &pc->qmp_devices;
	for (i = 0; i < cfg->nr_chardevs; i++) {
		struct chardevs_spec spec;

		ret = chardevs_parse(cfg->chardevs[i], &spec, err, sizeof(err));
		if (!ret)
			ret = chardevs_add(pc->chardevs, &spec, NULL, 0, err, sizeof(err));
		if (ret) {
			if (ret != -EIO)	/* else chardev_open said why */
				log_err("%s", err);
			return ret;
		}
	}
	if (!cfg->virtio_serial) {
		if (cfg->nr_serial_ports) {
			log_err("--device virtserialport needs --device virtio-serial");
			return -EINVAL;
		}
		return 0;
	}
	pc->vserial = virtio_console_new(&vcc);
	if (!pc->vserial)
		return -ENOMEM;
	pc->qmp_devices.console = pc->vserial;
	for (i = 0; i < cfg->nr_serial_ports; i++) {
		struct virtio_console_port_cfg port;
		struct chardev *cd;

		ret = virtio_console_port_parse(cfg->serial_ports[i], &port, err, sizeof(err));
		if (ret)
			break;
		cd = chardevs_claim(pc->chardevs, port.chardev, &ret, err, sizeof(err));
		if (!cd)
			break;
		ret = virtio_console_port_add(pc->vserial, &port, cd, err, sizeof(err));
		if (ret)
			break;
	}
	if (ret)
		log_err("--device %s: %s", cfg->serial_ports[i], err);
	return ret;
}

/* Every incarnation: the virtio-serial PCI function. */
static int pc_console_attach(struct pc *pc)
{
	struct pci_device *dev;
	int ret;

	if (!pc->vserial)
		return 0;
	dev = virtio_console_attach(pc->vserial, &pc->ms);
	if (!dev)
		return -ENOMEM;
	ret = pc_virtio_register(pc, dev, PC_VIRTIO_SERIAL_SLOT);
	if (ret)
		log_err("virtio-serial0: cannot put it on PCI bus 0: %s", strerror(-ret));
	return ret;
}

static void pc_console_detach(struct pc *pc)
{
	if (pc->vserial)
		virtio_console_detach(pc->vserial);
}

static void pc_console_close(struct pc *pc)
{
	virtio_console_free(pc->vserial);
	pc->vserial = NULL;
	chardevs_free(pc->chardevs);
	pc->chardevs = NULL;
}

/* ---- guest disks (--iothread, --disk): user/vmm/disk.c, devices/virtio/blk.c ---- */

#define PC_VIRTIO_BLK_SLOT	8	/* first preferred slot; disk i takes 8 + i */

static struct loop *pc_iothread(void *opaque, const char *id)
{
	struct pc *pc = opaque;

	return iothread_find(pc->iothreads, pc->nr_iothreads, id);
}

/* Start the I/O threads and open every image: once per keel run. */
static int pc_disks_open(struct pc *pc)
{
	const struct cli_config *cfg = pc->cfg;
	char err[CLI_ERR_MAX], id[IOTHREAD_ID_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < cfg->nr_iothreads; i++) {
		if (disk_parse_iothread(cfg->iothreads[i], id, err, sizeof(err))) {
			log_err("%s", err);
			return -EINVAL;
		}
		ret = iothread_start(&pc->iothreads[i], id);
		if (ret)
			return ret;
		pc->nr_iothreads++;
	}
	if (!cfg->nr_disks)
		return 0;
	pc->disks = calloc(cfg->nr_disks, sizeof(*pc->disks));
	if (!pc->disks)
		return -ENOMEM;
	for (i = 0; i < cfg->nr_disks; i++) {
		struct pc_disk *d = &pc->disks[i];

		snprintf(d->name, sizeof(d->name), "virtio-blk%u", i);
		if (disk_parse(cfg->disks[i], &d->conf, err, sizeof(err))) {
			log_err("%s", err);
			return -EINVAL;
		}
		ret = disk_open(&d->conf, &d->bd);
		if (ret)
			return ret;
		d->vhost_fd = d->vhost_backend_fd = -1;
		pc->nr_disks++;
		ret = disk_accel_open(&d->conf, d->bd, d->name, NULL, &d->vhost_fd,
				      &d->vhost_backend_fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* On the disk's thread: werror=stop parked a request; tell QMP clients. */
struct pc_disk_error {
	struct pc *pc;
	char device[32];
	bool write;
	int err;
};

static void pc_disk_error_now(void *opaque)
{
	struct pc_disk_error *e = opaque;

	if (e->pc->qmp)
		qmp_server_event(e->pc->qmp, "BLOCK_IO_ERROR",
				 json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "device", e->device,
					   "node-name", e->device,
					   "operation", e->write ? "write" : "read",
					   "action", "stop", "nospace", e->err == -ENOSPC,
					   "reason", strerror(-e->err)));
	free(e);
}

static void pc_disk_error(void *opaque, const char *name, bool write, int err)
{
	struct pc_disk_error *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	e->pc = opaque;
	snprintf(e->device, sizeof(e->device), "%s", name);
	e->write = write;
	e->err = err;
	if (loop_call(e->pc->loop, pc_disk_error_now, e))
		free(e);
}

/* Every incarnation: a virtio-blk function per open image. */
static int pc_disks_attach(struct pc *pc)
{
	unsigned int i;
	int ret;

	for (i = 0; i < pc->nr_disks; i++) {
		struct pc_disk *d = &pc->disks[i];
		struct virtio_blk_conf conf = {
			.name = d->name,
			.bd = d->bd,
			.read_only = d->conf.read_only,
			.discard = d->conf.discard,
			.serial = d->conf.serial[0] ? d->conf.serial : NULL,
			.num_queues = d->conf.num_queues,
			.iothread = d->conf.iothread[0] ? d->conf.iothread : NULL,
			.werror = d->conf.werror,
			.on_error = pc_disk_error,
			.on_error_opaque = pc,
			.vhost = d->vhost_fd >= 0,
			.vhost_fd = d->vhost_fd,
			.vhost_backend_fd = d->vhost_backend_fd,
		};

		d->blk = virtio_blk_new(&pc->ms, &conf);
		if (!d->blk)
			return -ENOMEM;
		ret = pc_virtio_register(pc, virtio_blk_pci_device(d->blk),
					 (PC_VIRTIO_BLK_SLOT + i) % PCI_SLOTS);
		if (ret) {
			log_err("%s: cannot put it on PCI bus 0: %s", d->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Devices go with the incarnation (vCPUs are stopped); images stay open. */
static void pc_disks_detach(struct pc *pc)
{
	unsigned int i;

	for (i = 0; i < pc->nr_disks; i++) {
		virtio_blk_free(pc->disks[i].blk);
		pc->disks[i].blk = NULL;
	}
}

/* QMP cont: requests held by werror=stop go to the images again. */
static void pc_disks_resume(struct pc *pc)
{
	unsigned int i;

	for (i = 0; i < pc->nr_disks; i++)
		if (pc->disks[i].blk)
			virtio_blk_resume(pc->disks[i].blk);
}

/* At exit: images closed (qcow2 metadata written back), then the threads. */
static void pc_disks_close(struct pc *pc)
{
	unsigned int i;

	for (i = 0; i < pc->nr_disks; i++) {
		block_close(pc->disks[i].bd);
		if (pc->disks[i].vhost_fd >= 0)
			close(pc->disks[i].vhost_fd);
		if (pc->disks[i].vhost_backend_fd >= 0)
			close(pc->disks[i].vhost_backend_fd);
	}
	free(pc->disks);
	pc->disks = NULL;
	pc->nr_disks = 0;
	for (i = 0; i < pc->nr_iothreads; i++)
		iothread_stop(&pc->iothreads[i]);
	pc->nr_iothreads = 0;
}

static unsigned int pc_qmp_block_disks(void *opaque, struct qmp_block_disk *out,
				       unsigned int max)
{
	struct pc *pc = opaque;
	unsigned int i;

	for (i = 0; i < pc->nr_disks && i < max; i++) {
		struct pc_disk *d = &pc->disks[i];

		snprintf(out[i].device, sizeof(out[i].device), "%s", d->name);
		snprintf(out[i].file, sizeof(out[i].file), "%.*s", (int)sizeof(out[i].file) - 1,
			 d->conf.path);
		snprintf(out[i].format, sizeof(out[i].format), "%s", d->bd->drv->name);
		out[i].read_only = d->conf.read_only;
		out[i].virtual_size = d->bd->size;
		out[i].io_status = d->blk && virtio_blk_parked(d->blk) ? "failed" : "ok";
	}
	return i;
}

static unsigned int pc_qmp_vhost_disks(void *opaque, struct qmp_vhost_disk *out,
				       unsigned int max)
{
	struct pc *pc = opaque;
	struct vhost_blk_stats st;
	unsigned int i, j, n = 0;

	for (i = 0; i < pc->nr_disks && n < max; i++) {
		struct pc_disk *d = &pc->disks[i];
		struct qmp_vhost_disk *o = &out[n];

		if (d->vhost_fd < 0 || !d->blk || virtio_blk_vhost_stats(d->blk, &st))
			continue;
		snprintf(o->device, sizeof(o->device), "%s", d->name);
		snprintf(o->backend, sizeof(o->backend), "%s", DISK_VHOST_BLK_DEV);
		/* The module reports every queue it could serve: show the disk's. */
		o->nr_queues = st.nvqs < d->conf.num_queues ? st.nvqs : d->conf.num_queues;
		if (o->nr_queues > QMP_VHOST_MAX_QUEUES)
			o->nr_queues = QMP_VHOST_MAX_QUEUES;
		for (j = 0; j < o->nr_queues && j < VHOST_BLK_MAX_QUEUES; j++) {
			o->q[j].requests = st.q[j].requests;
			o->q[j].read_bytes = st.q[j].read_bytes;
			o->q[j].write_bytes = st.q[j].write_bytes;
			o->q[j].errors = st.q[j].errors;
			o->q[j].inflight = st.q[j].inflight;
			o->q[j].queued = st.q[j].queued;
			o->q[j].broken = st.q[j].broken;
		}
		n++;
	}
	return n;
}

static int pc_devices_init(struct pc *pc)
{
	int ret;

	/* POST codes: firmware-style debug output nobody reads; accept quietly. */
	ret = bus_add(&pc->pio, PC_POST_PORT, 1, &bus_sink_ops, NULL);
	if (ret)
		return ret;
	pc->pci = pci_host_new(&pc->ms, PC_PCI_ECAM_BASE);
	if (!pc->pci)
		return -ENOMEM;
	pc->com1 = serial_new(&pc->ms, "com1", PC_COM1_PORT, PC_COM1_IRQ, pc->console);
	pc->kbc = i8042_new(&pc->ms);
	pc->rtc = rtc_new(&pc->ms);
	pc->pm = acpi_pm_new(&pc->ms);
	pc->pvpanic = pvpanic_new(&pc->ms, PC_PVPANIC_PORT, pc_pvpanic_event, pc);
	if (!pc->com1 || !pc->kbc || !pc->rtc || !pc->pm || !pc->pvpanic) {
		log_err("cannot create the legacy devices");
		return -ENOMEM;
	}
	pc_cmos_init(pc);
	return pc_virtio_init(pc);
}

/*
 * The BAR windows (design/pci.md): 32-bit below the ECAM, I/O at 0xC000, and
 * 64-bit from the first 1 GiB boundary at or above max(4 GiB, top of RAM),
 * 32 GiB long but below the guest's physical address width.
 */
static void pc_pci_windows(struct pc *pc, struct pci_host_windows *w)
{
	uint64_t top = GUEST_4G, limit = 1ULL << kvm_phys_bits(pc->kvm), base;
	unsigned int i;

	*w = (struct pci_host_windows){
		.mem32 = { PC_PCI_MEM32_BASE, PC_PCI_MEM32_SIZE },
		.io = { PC_PCI_IO_BASE, PC_PCI_IO_SIZE },
	};
	for (i = 0; i < pc->mem.nr_regions; i++)
		if (pc->mem.regions[i].gpa + pc->mem.regions[i].size > top)
			top = pc->mem.regions[i].gpa + pc->mem.regions[i].size;
	base = (top + PC_PCI_MEM64_ALIGN - 1) & ~(PC_PCI_MEM64_ALIGN - 1);
	if (base >= limit) {
		log_info("pci: no room for a 64-bit BAR window below the %u-bit physical address limit",
			 kvm_phys_bits(pc->kvm));
		return;
	}
	w->mem64.base = base;
	w->mem64.size = limit - base < PC_PCI_MEM64_SIZE ? limit - base : PC_PCI_MEM64_SIZE;
}

/* First free slot from 1 up (slot 0 is the host bridge). */
static int pc_pci_free_slot(struct pc *pc)
{
	unsigned int s;

	for (s = 1; s < PCI_SLOTS; s++)
		if (!pci_bus_find(&pc->pci->bus, PCI_DEVFN(s, 0)))
			return (int)s;
	return -ENOSPC;
}

/*
 * After every PCI device registered, before the ACPI tables: --device
 * pvpanic-pci, then the windows and BAR placement, as firmware would.
 */
static int pc_pci_platform_init(struct pc *pc)
{
	struct pci_host_windows w;
	int ret, slot;

	if (pc->cfg->pvpanic_pci) {
		pc->pvpanic_pci = pvpanic_pci_new(pc_pvpanic_event, pc);
		slot = pc_pci_free_slot(pc);
		if (!pc->pvpanic_pci || slot < 0) {
			log_err("pvpanic-pci: cannot create it or find a free PCI slot");
			return -ENOSPC;
		}
		ret = pci_host_register(pc->pci, pvpanic_pci_dev(pc->pvpanic_pci),
					PCI_DEVFN(slot, 0));
		if (ret)
			return ret;
	}
	pc_pci_windows(pc, &w);
	ret = pci_host_set_windows(pc->pci, &w);
	if (ret)
		return ret;
	ret = pci_host_place_bars(pc->pci);
	if (ret)
		log_err("pci: the devices' BARs do not fit the PCI windows");
	return ret;
}

static int pc_acpi_init(struct pc *pc, uint64_t *rsdp)
{
	struct acpi_config cfg = {
		.base = ACPI_TABLES_BASE,
		.nr_cpus = pc->cfg->cpus,
		.lapic_addr = PC_LAPIC_ADDR,
		.ioapic_addr = PC_IOAPIC_ADDR,
		/* LAPIC IDs are 0..cpus-1: the I/O APIC takes the next one. */
		.ioapic_id = (uint8_t)pc->cfg->cpus,
		.sci_irq = PC_ACPI_SCI_IRQ,
		.pm1a_evt_port = PC_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PC_ACPI_PM1A_CNT,
		.pm_tmr_port = PC_ACPI_PM_TMR,
		.gpe0_port = PC_ACPI_GPE0,
		.gpe0_len = PC_ACPI_GPE0_LEN,
		.reset_port = PC_RESET_CTL_PORT,
		.reset_value = PC_RESET_VALUE,
		.s5_slp_typ = PC_ACPI_S5_SLP_TYP,
		.com1_port = PC_COM1_PORT,
		.com1_irq = PC_COM1_IRQ,
		.pvpanic_port = PC_PVPANIC_PORT,
		.pci_ecam_base = PC_PCI_ECAM_BASE,
		.pci_mem32_base = PC_PCI_MEM32_BASE,
		.pci_mem32_size = PC_PCI_MEM32_SIZE,
		.pci_mem64_base = pc->pci->win.mem64.base,
		.pci_mem64_size = pc->pci->win.mem64.size,
	};
	struct acpi_tables t = { 0 };
	int ret;

	ret = acpi_build(&cfg, &t);
	if (ret) {
		log_err("cannot build the ACPI tables: %s", strerror(-ret));
		return ret;
	}
	if (t.len > ACPI_TABLES_SIZE ||
	    guest_mem_write(&pc->mem, ACPI_TABLES_BASE, t.buf, t.len)) {
		log_err("ACPI tables (%zu bytes) do not fit at %#x", t.len, ACPI_TABLES_BASE);
		acpi_tables_free(&t);
		return -ENOSPC;
	}
	*rsdp = t.rsdp_addr;
	acpi_tables_free(&t);
	return 0;
}

static void pc_teardown(struct pc *pc)
{
	unsigned int i;

	/* vCPUs first: no device handler may run while devices go away. */
	for (i = 0; i < pc->nr_vcpus; i++)
		vcpu_stop(&pc->vcpus[i]);
	for (i = 0; i < pc->nr_vcpus; i++)
		vcpu_destroy(&pc->vcpus[i]);
	free(pc->vcpus);
	pc->vcpus = NULL;
	pc->nr_vcpus = 0;
	if (pc->com1)
		serial_free(pc->com1);
	if (pc->kbc)
		i8042_free(pc->kbc);
	if (pc->rtc)
		rtc_free(pc->rtc);
	if (pc->pm)
		acpi_pm_free(pc->pm);
	pvpanic_free(pc->pvpanic);
	pc->pvpanic = NULL;
	pc->com1 = NULL;
	pc->kbc = NULL;
	pc->rtc = NULL;
	pc->pm = NULL;
	pc_virtio_free(pc);
	pc_disks_detach(pc);
	pc_console_detach(pc);
	pvpanic_pci_free(pc->pvpanic_pci);
	pc->pvpanic_pci = NULL;
	pci_host_free(pc->pci);
	pc->pci = NULL;
	kvm_vm_destroy(pc->kvm);
	guest_mem_fini(&pc->mem);
	bus_fini(&pc->pio);
	bus_fini(&pc->mmio);
}

static int pc_build(struct pc *pc)
{
	const struct cli_config *cfg = pc->cfg;
	struct vcpu_host host = {
		.pio = &pc->pio, .mmio = &pc->mmio, .event = pc_vcpu_event, .opaque = pc,
	};
	struct boot_config boot = {
		.kernel_path = cfg->kernel,
		.initrd_path = cfg->initrd,
		.cmdline = cfg->cmdline,
	};
	struct boot_entry entry;
	unsigned int i;
	int ret;

	bus_init(&pc->pio, "pio");
	bus_init(&pc->mmio, "mmio");
	pc->ms = (struct machine_services){
		.opaque = pc,
		.pio_add = pc_pio_add,
		.mmio_add = pc_mmio_add,
		.irq_set = pc_irq_set,
		.gpa_to_hva = pc_gpa_to_hva,
		.request = pc_request,
		.loop = pc->loop,
		.iothread = pc_iothread,
		.ram_regions = pc_ram_regions,
	};
	pc_pci_services(pc);
	pc->irq_err_logged = false;
	__atomic_store_n(&pc->panic_events, 0, __ATOMIC_SEQ_CST);
	pc->panicked = false;

	ret = guest_mem_init(&pc->mem, cfg->memory);
	if (ret) {
		log_err("cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)(cfg->memory >> 20), strerror(-ret));
		return ret;
	}
	ret = guest_mem_e820_reserve(&pc->mem, PC_PCI_ECAM_BASE, PCI_ECAM_BUS_SIZE);
	if (ret) {
		log_err("cannot reserve the PCI ECAM window in the e820 map: %s", strerror(-ret));
		return ret;
	}
	ret = kvm_vm_create(pc->kvm);
	if (ret)
		return ret;
	ret = kvm_vm_set_memory(pc->kvm, &pc->mem);
	if (ret)
		return ret;
	ret = pc_devices_init(pc);
	if (ret)
		return ret;
	ret = pc_disks_attach(pc);
	if (ret)
		return ret;
	ret = pc_console_attach(pc);
	if (ret)
		return ret;
	ret = pc_pci_platform_init(pc);
	if (ret)
		return ret;
	ret = pc_acpi_init(pc, &boot.rsdp_addr);
	if (ret)
		return ret;
	ret = boot_load(&pc->mem, &boot, &entry);
	if (ret)
		return ret;

	pc->vcpus = calloc(cfg->cpus, sizeof(*pc->vcpus));
	if (!pc->vcpus)
		return -ENOMEM;
	for (i = 0; i < cfg->cpus; i++) {
		ret = vcpu_create(&pc->vcpus[i], pc->kvm, i, cfg->cpus, &host);
		if (ret)
			return ret;
		pc->nr_vcpus++;
	}
	ret = vcpu_set_boot_state(&pc->vcpus[0], &entry);
	if (ret) {
		log_err("vcpu0: cannot set the boot state: %s", strerror(-ret));
		return ret;
	}
	__atomic_store_n(&pc->pending, PC_NONE, __ATOMIC_SEQ_CST);
	for (i = 0; i < pc->nr_vcpus; i++) {
		ret = vcpu_start(&pc->vcpus[i]);
		if (ret)
			return ret;
		if (pc->paused)
			vcpu_pause(&pc->vcpus[i]);
	}
	pc->boots++;
	log_debug("machine: %u vCPU(s), %llu MiB, %s entry at %#llx", cfg->cpus,
		  (unsigned long long)(cfg->memory >> 20),
		  entry.kind == BOOT_PVH ? "PVH" : "64-bit bzImage",
		  (unsigned long long)entry.rip);
	return 0;
}

/* On the main loop: a guest reset without --no-reboot. */
static void pc_reset_now(void *opaque)
{
	struct pc *pc = opaque;

	if (__atomic_load_n(&pc->pending, __ATOMIC_SEQ_CST) != PC_RESET)
		return;
	log_info("guest reset");
	if (pc->qmp)
		qmp_server_event(pc->qmp, "RESET", json_pack("{s:b,s:s}", "guest", !pc->qmp_reset,
			"reason", pc->qmp_reset ? "host-qmp-system-reset" :
			pc->panic_reset ? "guest-panic" : "guest-reset"));
	pc->qmp_reset = false;
	pc->panic_reset = false;
	pc_teardown(pc);
	if (pc_build(pc)) {
		log_err("cannot rebuild the machine after the guest reset");
		loop_stop(pc->loop, PC_FAIL);
	}
}

static void pc_on_signal(void *opaque, uint32_t events)
{
	struct pc *pc = opaque;
	struct signalfd_siginfo si;

	if (read(pc->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("terminated by signal %u (%s)", si.ssi_signo, strsignal(si.ssi_signo));
	pc_outcome(pc, PC_SIGNAL);
	loop_stop(pc->loop, PC_SIGNAL);
}

static int pc_signals_init(struct pc *pc)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked here, before any thread exists, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	pc->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (pc->sigfd < 0)
		return -errno;
	return loop_add_fd(pc->loop, pc->sigfd, EPOLLIN, pc_on_signal, pc);
}

/* QMP's view of the machine (user/vmm/qmp/commands.h); on the main loop. */
static bool pc_qmp_running(void *opaque)
{
	struct pc *pc = opaque;

	return !pc->paused;
}

static int pc_qmp_stop(void *opaque)
{
	struct pc *pc = opaque;
	unsigned int i;

	for (i = 0; i < pc->nr_vcpus; i++)
		vcpu_pause(&pc->vcpus[i]);
	pc->paused = true;
	return 0;
}

static int pc_qmp_cont(void *opaque)
{
	struct pc *pc = opaque;
	unsigned int i;

	pc->paused = false;
	pc->panicked = false;
	for (i = 0; i < pc->nr_vcpus; i++)
		vcpu_resume(&pc->vcpus[i]);
	pc_disks_resume(pc);
	return 0;
}

/* On the main loop: a device asked for a pause (a disk's werror=stop). */
static void pc_pause_now(void *opaque)
{
	struct pc *pc = opaque;

	if (pc->paused || __atomic_load_n(&pc->pending, __ATOMIC_SEQ_CST) != PC_NONE)
		return;
	pc_qmp_stop(pc);
	if (pc->qmp)
		qmp_server_event(pc->qmp, "STOP", NULL);
}

static int pc_qmp_reset(void *opaque)
{
	struct pc *pc = opaque;

	if (__atomic_load_n(&pc->pending, __ATOMIC_SEQ_CST) != PC_NONE)
		return -EBUSY;
	pc->qmp_reset = true;
	pc_outcome(pc, PC_RESET);
	return 0;
}

static int pc_qmp_powerdown(void *opaque)
{
	struct pc *pc = opaque;

	if (!pc->pm)
		return -ENODEV;
	acpi_pm_power_button(pc->pm);
	return 0;
}

static int pc_qmp_quit(void *opaque)
{
	struct pc *pc = opaque;

	pc_outcome(pc, PC_QUIT);
	loop_stop(pc->loop, PC_QUIT);
	return 0;
}

static unsigned int pc_qmp_nr_cpus(void *opaque)
{
	struct pc *pc = opaque;

	return pc->nr_vcpus;
}

static int pc_qmp_cpu_thread_id(void *opaque, unsigned int index)
{
	struct pc *pc = opaque;

	return index < pc->nr_vcpus ? __atomic_load_n(&pc->vcpus[index].tid,
						      __ATOMIC_ACQUIRE) : 0;
}

static bool pc_qmp_panicked(void *opaque)
{
	struct pc *pc = opaque;

	return pc->panicked;
}

/* Pause, snapshot every vCPU's registers, write the core, resume if it ran. */
static int pc_dump(struct pc *pc, const char *path)
{
	struct coredump_region regions[GUEST_MEM_MAX_REGIONS];
	struct user_regs_struct *cpus;
	bool was_running = !pc->paused;
	unsigned int i;
	int ret = 0;

	cpus = calloc(pc->nr_vcpus ? pc->nr_vcpus : 1, sizeof(*cpus));
	if (!cpus)
		return -ENOMEM;
	for (i = 0; i < pc->nr_vcpus; i++)
		vcpu_pause(&pc->vcpus[i]);
	for (i = 0; i < pc->nr_vcpus; i++) {
		struct kvm_regs r;
		struct kvm_sregs sr;

		/* The vCPU is parked outside KVM_RUN: its registers are still. */
		if (ioctl(pc->vcpus[i].fd, KVM_GET_REGS, &r) < 0 ||
		    ioctl(pc->vcpus[i].fd, KVM_GET_SREGS, &sr) < 0) {
			ret = -errno;
			log_err("coredump: cannot read vcpu%u's registers: %s", i, strerror(errno));
			break;
		}
		coredump_regs_from_kvm(&r, &sr, &cpus[i]);
	}
	for (i = 0; !ret && i < pc->mem.nr_regions; i++) {
		regions[i].gpa = pc->mem.regions[i].gpa;
		regions[i].size = pc->mem.regions[i].size;
		regions[i].hva = pc->mem.regions[i].hva;
	}
	if (!ret)
		ret = coredump_write_file(path, regions, pc->mem.nr_regions, cpus, pc->nr_vcpus);
	if (was_running)
		for (i = 0; i < pc->nr_vcpus; i++)
			vcpu_resume(&pc->vcpus[i]);
	free(cpus);
	return ret;
}

static int pc_qmp_dump(void *opaque, const char *path)
{
	struct pc *pc = opaque;
	int ret = pc_dump(pc, path);

	if (ret)
		log_err("dump-guest-memory: cannot write '%s': %s", path, strerror(-ret));
	else
		log_info("dump-guest-memory: guest core written to %s", path);
	return ret;
}

static unsigned int pc_qmp_pci_functions(void *opaque, struct qmp_pci_function *out,
					 unsigned int max)
{
	struct pc *pc = opaque;

	return qmp_pci_collect(pc->pci, out, max);
}

static const struct qmp_machine_ops pc_qmp_ops = {
	.pci_functions = pc_qmp_pci_functions,
	.block_disks = pc_qmp_block_disks,
	.vhost_disks = pc_qmp_vhost_disks,
	.running = pc_qmp_running,
	.stop = pc_qmp_stop,
	.cont = pc_qmp_cont,
	.reset = pc_qmp_reset,
	.powerdown = pc_qmp_powerdown,
	.quit = pc_qmp_quit,
	.nr_cpus = pc_qmp_nr_cpus,
	.cpu_thread_id = pc_qmp_cpu_thread_id,
	.panicked = pc_qmp_panicked,
	.dump = pc_qmp_dump,
};

static void pc_panic_event(struct pc *pc, const char *name, const char *action)
{
	if (pc->qmp)
		qmp_server_event(pc->qmp, name, json_pack("{s:s}", "action", action));
}

/*
 * On the main loop: act on a pvpanic report (--on-panic). QEMU's GUEST_PANICKED
 * actions: "pause" when the guest stays stopped, "poweroff" when keel ends,
 * "run" when it goes on (restart).
 */
static void pc_panic_now(void *opaque)
{
	struct pc *pc = opaque;
	unsigned int ev = __atomic_exchange_n(&pc->panic_events, 0, __ATOMIC_SEQ_CST);
	char path[64];
	const char *file;
	int ret;

	if (!ev || __atomic_load_n(&pc->pending, __ATOMIC_SEQ_CST) != PC_NONE)
		return;
	if (!(ev & PVPANIC_PANICKED)) {
		/* A crash kernel took over: the guest goes on by itself. */
		log_info("pvpanic: guest loaded its crash kernel");
		pc_panic_event(pc, "GUEST_CRASHLOADED", "run");
		return;
	}
	switch (pc->cfg->on_panic) {
	case CLI_PANIC_PAUSE:
		log_info("pvpanic: guest panicked; vCPUs paused (--on-panic pause)");
		pc_panic_event(pc, "GUEST_PANICKED", "pause");
		if (!pc->paused) {
			pc_qmp_stop(pc);
			if (pc->qmp)
				qmp_server_event(pc->qmp, "STOP", NULL);
		}
		pc->panicked = true;
		break;
	case CLI_PANIC_POWEROFF:
		log_info("pvpanic: guest panicked; powering off (--on-panic poweroff)");
		pc_panic_event(pc, "GUEST_PANICKED", "poweroff");
		pc_outcome(pc, PC_PANIC_OFF);
		break;
	case CLI_PANIC_RESTART:
		log_info("pvpanic: guest panicked; resetting (--on-panic restart)");
		pc_panic_event(pc, "GUEST_PANICKED", "run");
		pc->panic_reset = true;
		pc_outcome(pc, PC_RESET);
		break;
	case CLI_PANIC_COREDUMP:
		file = pc->cfg->panic_path;
		if (!file) {
			snprintf(path, sizeof(path), "keel-core.%d", (int)getpid());
			file = path;
		}
		pc_panic_event(pc, "GUEST_PANICKED", "poweroff");
		pc->paused = true;
		ret = pc_dump(pc, file);
		if (ret) {
			log_err("pvpanic: guest panicked; cannot write its core to '%s': %s",
				file, strerror(-ret));
			pc_outcome(pc, PC_FAIL);
		} else {
			log_info("pvpanic: guest panicked; core written to %s", file);
			pc_outcome(pc, PC_PANIC_DUMPED);
		}
		break;
	}
}

static int pc_qmp_init(struct pc *pc)
{
	static const struct qmp_version ver = { 0, 1, 0, "keel" };

	pc->qmp_machine = (struct qmp_machine){ .ops = &pc_qmp_ops, .opaque = pc };
	pc->qmp = qmp_server_new(pc->loop, &ver, qmp_machine_commands, qmp_machine_nr_commands,
				 &pc->qmp_machine);
	if (!pc->qmp)
		return -ENOMEM;
	pc->qmp_machine.srv = pc->qmp;
	return qmp_server_listen(pc->qmp, pc->cfg->qmp);
}

/* The SHUTDOWN event (QEMU's reasons), sent before the sockets close. */
static void pc_qmp_shutdown(struct pc *pc, int code)
{
	const char *reason;

	switch (code) {
	case PC_POWEROFF:
		reason = "guest-shutdown";
		break;
	case PC_RESET:
		reason = pc->qmp_reset ? "host-qmp-system-reset" :
			 pc->panic_reset ? "guest-panic" : "guest-reset";
		break;
	case PC_SIGNAL:
		reason = "host-signal";
		break;
	case PC_QUIT:
		reason = "host-qmp-quit";
		break;
	case PC_PANIC_OFF:
	case PC_PANIC_DUMPED:
		reason = "guest-panic";
		break;
	default:
		return;
	}
	qmp_server_event(pc->qmp, "SHUTDOWN", json_pack("{s:b,s:s}", "guest",
			 code == PC_POWEROFF || code == PC_PANIC_OFF || code == PC_PANIC_DUMPED ||
			 (code == PC_RESET && !pc->qmp_reset),
			 "reason", reason));
}

int machine_run(struct kvm *kvm, const struct cli_config *cfg)
{
	struct pc *pc;
	int code, ret = MACHINE_EXIT_FAIL;

	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return MACHINE_EXIT_FAIL;
	pc->kvm = kvm;
	pc->cfg = cfg;
	pc->sigfd = -1;
	pc->mem.memfd = -1;

	if (!cfg->sandbox_off && sandbox_init()) {
		log_err("cannot set up the seccomp sandbox (--sandbox off runs without it)");
		goto out;
	}
	if (vcpu_signals_init()) {
		log_err("cannot set up the vCPU kick signal");
		goto out;
	}
	pc->loop = loop_new();
	if (!pc->loop) {
		log_err("cannot create the main event loop");
		goto out;
	}
	if (pc_signals_init(pc)) {
		log_err("cannot watch termination signals");
		goto out;
	}
	pc->console = chardev_open(cfg->serial, pc->loop);
	if (!pc->console)
		goto out;	/* chardev_open said why */
	if (cfg->qmp[0] && pc_qmp_init(pc)) {
		log_err("cannot open the QMP socket '%s'", cfg->qmp);
		goto out;
	}
	/* A disk that cannot be opened is a command-line mistake: exit 2. */
	if (pc_disks_open(pc)) {
		ret = MACHINE_EXIT_USAGE;
		goto out;
	}
	/* So is a chardev or serial port that cannot be set up. */
	if (pc_console_open(pc)) {
		ret = MACHINE_EXIT_USAGE;
		goto out;
	}

	if (pc_build(pc)) {
		pc_teardown(pc);
		goto out;
	}
	/* Everything is open: the main loop narrows itself to its allow-list. */
	if (sandbox_enter(SANDBOX_MAIN)) {
		pc_teardown(pc);
		goto out;
	}
	sandbox_selftest(SANDBOX_MAIN);
	code = loop_run(pc->loop);
	pc_teardown(pc);
	if (pc->qmp)
		pc_qmp_shutdown(pc, code);
	switch (code) {
	case PC_POWEROFF:
		log_debug("guest powered off");
		ret = MACHINE_EXIT_OK;
		break;
	case PC_QUIT:
		log_info("quit requested on the QMP socket");
		ret = MACHINE_EXIT_OK;
		break;
	case PC_PANIC_OFF:
		ret = MACHINE_EXIT_OK;
		break;
	case PC_PANIC_DUMPED:
		ret = MACHINE_EXIT_PANIC;
		break;
	case PC_RESET:
		log_info("guest reset");
		log_info("--no-reboot: exiting instead of restarting the guest");
		ret = MACHINE_EXIT_OK;
		break;
	default:
		ret = MACHINE_EXIT_FAIL;
		break;
	}
out:
	pc_disks_close(pc);
	qmp_server_free(pc->qmp);
	pc_console_close(pc);
	if (pc->console)
		chardev_close(pc->console);
	if (pc->loop && pc->sigfd >= 0)
		loop_del_fd(pc->loop, pc->sigfd);
	if (pc->sigfd >= 0)
		close(pc->sigfd);
	if (pc->loop)
		loop_free(pc->loop);
	free(pc);
	return ret;
}
