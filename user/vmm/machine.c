/*
 * The machine core (ARCHITECTURE.md "Lifecycle", "Guest memory", "The device
 * model"): RAM, the in-kernel irqchip and vCPUs, the machine services devices
 * use, the user's device instances and block nodes, the board of the chosen
 * machine type (board.h), QMP, and on reset tearing the incarnation down and
 * building it again. It names no device type.
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

#include <linux/vhost_blk.h>

#include "devices/legacy/pvpanic.h"
#include "lib/chardev.h"
#include "lib/errmsg.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/sandbox.h"
#include "vmm/board.h"
#include "vmm/boot.h"
#include "vmm/chardevs.h"
#include "vmm/coredump.h"
#include "vmm/machine.h"
#include "vmm/machine_type.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"
#include "vmm/qmp/qmp.h"
#include "vmm/vcpu.h"

/* Why the main loop stopped; the first request wins, a failure always wins. */
enum machine_outcome {
	MACH_NONE,
	MACH_POWEROFF,
	MACH_RESET,
	MACH_FAIL,
	MACH_SIGNAL,
	MACH_QUIT,	/* QMP quit */
	MACH_PANIC_OFF,	/* guest panic under --on-panic poweroff */
	MACH_PANIC_DUMPED,	/* guest panic under coredump-destroy, core written */
};

static void mach_reset_now(void *opaque);
static void mach_panic_now(void *opaque);

/* Called from vCPU threads and from the main loop. */
static void mach_outcome(struct machine *m, enum machine_outcome what)
{
	int none = MACH_NONE;

	if (what == MACH_FAIL) {
		__atomic_store_n(&m->pending, MACH_FAIL, __ATOMIC_SEQ_CST);
		loop_stop(m->loop, MACH_FAIL);
		return;
	}
	if (!__atomic_compare_exchange_n(&m->pending, &none, what, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	/* A reset without --no-reboot rebuilds the machine inside the running loop. */
	if (what == MACH_RESET && !m->cfg->no_reboot) {
		if (loop_call(m->loop, mach_reset_now, m) == 0)
			return;
		what = MACH_FAIL;
	}
	loop_stop(m->loop, what);
}

static int mach_pio_add(void *opaque, uint16_t base, uint16_t len, const struct io_ops *ops,
		      void *dev)
{
	struct machine *m = opaque;

	if ((uint32_t)base + len > 0x10000)
		return -EINVAL;
	if (m->pio_claim && m->pio_claim(m, base, len, ops, dev))
		return 0;
	return bus_add(&m->pio, base, len, ops, dev);
}

static int mach_mmio_add(void *opaque, uint64_t base, uint64_t len, const struct io_ops *ops,
		       void *dev)
{
	struct machine *m = opaque;

	return bus_add(&m->mmio, base, len, ops, dev);
}

static void mach_irq_set(void *opaque, unsigned int gsi, int level)
{
	struct machine *m = opaque;
	int ret = kvm_irq_line(m->kvm, gsi, level);

	if (ret && !m->irq_err_logged) {
		m->irq_err_logged = true;
		log_err("irqchip: cannot set GSI %u to %d: %s", gsi, level, strerror(-ret));
	}
}

static void *mach_gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	return guest_mem_hva(&m->mem, gpa, len);
}

static int mach_ram_regions(void *opaque, struct machine_ram_region *out, unsigned int max)
{
	struct machine *m = opaque;
	unsigned int i;

	for (i = 0; i < m->mem.nr_regions && i < max; i++) {
		out[i].gpa = m->mem.regions[i].gpa;
		out[i].size = m->mem.regions[i].size;
		out[i].hva = m->mem.regions[i].hva;
	}
	return (int)m->mem.nr_regions;
}

static void mach_pause_now(void *opaque);

static void mach_request(void *opaque, enum machine_request req)
{
	struct machine *m = opaque;

	if (req == MACHINE_PAUSE) {
		if (loop_call(m->loop, mach_pause_now, m))
			log_err("machine: cannot hand a pause request to the main loop");
		return;
	}
	mach_outcome(m, req == MACHINE_POWEROFF ? MACH_POWEROFF : MACH_RESET);
}

/* ---- PCI platform services: MSI, irqfd, ioeventfd (devices/machine.h) ---- */

static int mach_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	return kvm_msi_send(m->kvm, addr, data);
}

static int mach_irqfd_add(void *opaque, int efd, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	return kvm_irqfd_add(m->kvm, efd, addr, data);
}

static int mach_irqfd_update(void *opaque, int route, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	return kvm_irqfd_update(m->kvm, route, addr, data);
}

static void mach_irqfd_del(void *opaque, int route, int efd)
{
	struct machine *m = opaque;

	kvm_irqfd_del(m->kvm, route, efd);
}

static int mach_ioeventfd(void *opaque, int efd, uint64_t addr, unsigned int len, bool pio,
			bool assign)
{
	struct machine *m = opaque;

	return kvm_ioeventfd(m->kvm, efd, addr, len, pio, assign);
}

static int mach_ioeventfd_dm(void *opaque, int efd, uint64_t addr, unsigned int len, bool pio,
			     uint64_t datamatch, bool assign)
{
	struct machine *m = opaque;

	return kvm_ioeventfd_dm(m->kvm, efd, addr, len, pio, datamatch, assign);
}

/* KVM drops the irqfds and ioeventfds with the VM in mach_teardown(). */
static void mach_pci_services(struct machine *m)
{
	m->ms.msi_send = mach_msi_send;
	m->ms.irqfd_add = mach_irqfd_add;
	m->ms.irqfd_update = mach_irqfd_update;
	m->ms.irqfd_del = mach_irqfd_del;
	m->ms.ioeventfd = mach_ioeventfd;
	m->ms.ioeventfd_dm = mach_ioeventfd_dm;
}

static void mach_vcpu_event(void *opaque, unsigned int index, enum vcpu_event ev)
{
	struct machine *m = opaque;

	switch (ev) {
	case VCPU_EVENT_POWEROFF:
		mach_outcome(m, MACH_POWEROFF);
		break;
	case VCPU_EVENT_RESET:
		mach_outcome(m, MACH_RESET);
		break;
	case VCPU_EVENT_FAIL:
		log_err("vcpu%u stopped on an error KVM cannot recover from", index);
		mach_outcome(m, MACH_FAIL);
		break;
	}
}

/*
 * On the panicking vCPU's thread: the main loop acts on it. For pause and
 * coredump-destroy this vCPU parks before it enters the guest again, so a
 * guest booted with panic=N cannot reset itself before keel stops it, and the
 * core holds its registers as they were at the report.
 */
static void mach_pvpanic_event(void *opaque, unsigned int events)
{
	struct machine *m = opaque;
	enum cli_on_panic act = m->cfg->on_panic;
	unsigned int i;

	if ((events & PVPANIC_PANICKED) &&
	    (act == CLI_PANIC_PAUSE || act == CLI_PANIC_COREDUMP)) {
		for (i = 0; i < m->nr_vcpus; i++) {
			struct vcpu *v = &m->vcpus[i];

			if (!v->started || !pthread_equal(v->thread, pthread_self()))
				continue;
			pthread_mutex_lock(&v->pause_lock);
			__atomic_store_n(&v->pause_req, true, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&v->pause_lock);
		}
	}
	if (__atomic_fetch_or(&m->panic_events, events, __ATOMIC_SEQ_CST))
		return;		/* already on its way to the main loop */
	if (loop_call(m->loop, mach_panic_now, m))
		log_err("pvpanic: cannot hand the guest panic to the main loop");
}

/* ---- chardevs, block nodes and devices: once per run ---- */

static struct loop *mach_iothread(void *opaque, const char *id)
{
	struct machine *m = opaque;

	return iothread_find(m->iothreads, m->nr_iothreads, id);
}

static struct chardev *mach_chardev_claim(void *opaque, const char *id, int *ret, char *err,
					size_t errlen)
{
	struct machine *m = opaque;

	return chardevs_claim(m->chardevs, id, ret, err, errlen);
}

static void mach_chardev_release(void *opaque, struct chardev *cd)
{
	struct machine *m = opaque;

	chardevs_release(m->chardevs, cd);
}

static int mach_block_claim(void *opaque, const struct machine_block_req *req,
			  struct machine_block *out, char *err, size_t errlen)
{
	struct machine *m = opaque;
	struct loop *loop = m->loop;

	if (req->iothread) {
		loop = iothread_find(m->iothreads, m->nr_iothreads, req->iothread);
		if (!loop)
			return errmsg_set(err, errlen, -EINVAL, "%s: there is no --iothread id=%s",
					  req->device, req->iothread);
	}
	return blockdevs_claim(&m->blockdevs, req, loop, req->iothread != NULL, out, err,
			       errlen);
}

static void mach_block_release(void *opaque, const char *node)
{
	struct machine *m = opaque;

	blockdevs_release(&m->blockdevs, node);
}

/* On the disk's thread: werror=stop parked a request; tell QMP clients. */
struct mach_disk_error {
	struct machine *m;
	char device[64];
	char node[BLOCKDEV_NODE_MAX];
	bool write;
	int err;
};

static void mach_disk_error_now(void *opaque)
{
	struct mach_disk_error *e = opaque;

	if (e->m->qmp)
		qmp_server_event(e->m->qmp, "BLOCK_IO_ERROR",
				 json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "device", e->device,
					   "node-name", e->node,
					   "operation", e->write ? "write" : "read",
					   "action", "stop", "nospace", e->err == -ENOSPC,
					   "reason", strerror(-e->err)));
	free(e);
}

static void mach_block_io_error(void *opaque, const char *node, const char *device, bool write,
			      int err)
{
	struct mach_disk_error *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	e->m = opaque;
	snprintf(e->device, sizeof(e->device), "%s", device);
	snprintf(e->node, sizeof(e->node), "%s", node);
	e->write = write;
	e->err = err;
	if (loop_call(e->m->loop, mach_disk_error_now, e))
		free(e);
}

/* A device unplug completed (the guest let go): DEVICE_DELETED. */
static void mach_device_deleted(void *opaque, struct device *dev)
{
	struct machine *m = opaque;

	qmp_devices_deleted(m->qmp, dev->id);
}

/*
 * --disk: a block node "diskN" (the N-th --disk) and a virtio-blk-pci serving
 * it (the board's disk device instead: virtio-blk-device on microvm).
 */
static int mach_disk_expand(struct machine *m, const char *str, unsigned int index, char *err,
			  size_t errlen)
{
	static const char *const werror[] = { "report", "stop" };
	static const char *const accel[] = { "auto", "vhost", "none" };
	struct disk_conf *c = malloc(sizeof(*c));
	char node[BLOCKDEV_NODE_MAX], num[16];
	struct opts o;
	int ret;

	if (!c)
		return -ENOMEM;
	ret = disk_parse(str, c, err, errlen);
	if (ret)
		goto out;
	snprintf(node, sizeof(node), "disk%u", index);
	ret = blockdevs_add(&m->blockdevs, node, c, err, errlen);
	if (ret) {
		if (errlen)
			err[0] = '\0';		/* disk_open logged the file and why */
		goto out;
	}
	opts_init(&o);
	snprintf(num, sizeof(num), "%u", c->num_queues);
	ret = opts_set(&o, "driver", m->type->board->disk_device ?: "virtio-blk-pci");
	ret = ret ?: opts_set(&o, "drive", node);
	ret = ret ?: opts_set(&o, "num-queues", num);
	ret = ret ?: opts_set(&o, "werror", werror[c->werror]);
	ret = ret ?: opts_set(&o, "accel", accel[c->accel]);
	if (!ret && c->iothread[0])
		ret = opts_set(&o, "iothread", c->iothread);
	if (!ret && c->serial[0])
		ret = opts_set(&o, "serial", c->serial);
	if (!ret && c->id[0])
		ret = opts_set(&o, "id", c->id);
	if (!ret && c->bus[0])
		ret = opts_set(&o, "bus", c->bus);
	if (!ret && c->addr[0])
		ret = opts_set(&o, "addr", c->addr);
	if (!ret)
		ret = device_new(&m->devs, &o, NULL, err, errlen);
	opts_free(&o);
out:
	free(c);
	return ret;
}

static int mach_device_from_string(struct machine *m, const char *spec, char *err, size_t errlen)
{
	struct opts o;
	int ret;

	ret = opts_parse(&o, spec, "driver", false, err, errlen);
	if (!ret)
		ret = device_new(&m->devs, &o, NULL, err, errlen);
	opts_free(&o);
	return ret;
}

/*
 * Once per keel run, before the first incarnation: I/O threads, chardevs,
 * block nodes, then every device in command-line order (their host resources).
 */
static int mach_devices_open(struct machine *m)
{
	const struct cli_config *cfg = m->cfg;
	char err[CLI_ERR_MAX], id[IOTHREAD_ID_MAX], spec[600];
	unsigned int i, disks = 0;
	int ret;

	for (i = 0; i < cfg->nr_iothreads; i++) {
		if (disk_parse_iothread(cfg->iothreads[i], id, err, sizeof(err))) {
			log_err("%s", err);
			return -EINVAL;
		}
		ret = iothread_start(&m->iothreads[i], id);
		if (ret)
			return ret;
		m->nr_iothreads++;
	}
	m->chardevs = chardevs_new(m->loop);
	if (!m->chardevs)
		return -ENOMEM;
	m->qmp_devices.chardevs = m->chardevs;
	m->qmp_devices.devs = &m->devs;
	m->qmp_devices.blockdevs = &m->blockdevs;
	m->qmp_machine.devices = &m->qmp_devices;
	for (i = 0; i < cfg->nr_chardevs; i++) {
		struct chardevs_spec cs;

		ret = chardevs_parse(cfg->chardevs[i], &cs, err, sizeof(err));
		if (!ret)
			ret = chardevs_add(m->chardevs, &cs, NULL, 0, err, sizeof(err));
		if (ret) {
			if (ret != -EIO)	/* else chardev_open said why */
				log_err("%s", err);
			return ret;
		}
	}
	for (i = 0; i < cfg->nr_blockdevs; i++) {
		char node[BLOCKDEV_NODE_MAX];
		struct disk_conf *c = malloc(sizeof(*c));
		struct opts o;

		if (!c)
			return -ENOMEM;
		ret = opts_parse(&o, cfg->blockdevs[i], NULL, false, err, sizeof(err));
		if (!ret)
			ret = blockdev_parse(&o, node, sizeof(node), c, err, sizeof(err));
		opts_free(&o);
		if (!ret)
			ret = blockdevs_add(&m->blockdevs, node, c, err, sizeof(err));
		free(c);
		if (ret) {
			if (ret == -EINVAL || ret == -EEXIST)
				log_err("--blockdev %s: %s", cfg->blockdevs[i], err);
			return ret;
		}
	}
	err[0] = '\0';
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct cli_dev *d = &cfg->devices[i];

		switch (d->kind) {
		case CLI_DEV_DISK:
			ret = mach_disk_expand(m, d->str, disks++, err, sizeof(err));
			break;
		case CLI_DEV_RNG:
			snprintf(spec, sizeof(spec), "%s%s%s",
				 m->type->board->rng_device ?: "virtio-rng-pci",
				 d->str && *d->str ? "," : "", d->str ? d->str : "");
			ret = mach_device_from_string(m, spec, err, sizeof(err));
			break;
		default:
			ret = mach_device_from_string(m, d->str, err, sizeof(err));
			break;
		}
		if (ret) {
			if (err[0])
				log_err("--%s %s: %s", d->kind == CLI_DEV_DISK ? "disk" :
					d->kind == CLI_DEV_RNG ? "rng" : "device",
					d->str ? d->str : "", err);
			return ret;
		}
	}
	return 0;
}

/* At exit: devices, then images (qcow2 metadata written back), chardevs, threads. */
static void mach_devices_close(struct machine *m)
{
	unsigned int i;

	devices_fini(&m->devs);
	blockdevs_close(&m->blockdevs);
	chardevs_free(m->chardevs);
	m->chardevs = NULL;
	for (i = 0; i < m->nr_iothreads; i++)
		iothread_stop(&m->iothreads[i]);
	m->nr_iothreads = 0;
}

/* QMP cont: requests held by werror=stop go to the images again. */
static void mach_disks_resume(struct machine *m)
{
	struct blockdev *b;

	for (b = m->blockdevs.head; b; b = b->next)
		if (b->ops && b->ops->resume)
			b->ops->resume(b->owner);
}

static unsigned int mach_qmp_block_disks(void *opaque, struct qmp_block_disk *out,
				       unsigned int max)
{
	struct machine *m = opaque;
	struct blockdev *b;
	unsigned int n = 0;

	for (b = m->blockdevs.head; b && n < max; b = b->next, n++) {
		snprintf(out[n].device, sizeof(out[n].device), "%s",
			 b->claimed ? b->device : "");
		snprintf(out[n].node, sizeof(out[n].node), "%s", b->node);
		snprintf(out[n].file, sizeof(out[n].file), "%.*s", (int)sizeof(out[n].file) - 1,
			 b->conf.path);
		snprintf(out[n].format, sizeof(out[n].format), "%s", b->bd->drv->name);
		out[n].read_only = b->conf.read_only;
		out[n].virtual_size = b->bd->size;
		out[n].io_status = b->ops && b->ops->parked && b->ops->parked(b->owner) ?
				   "failed" : "ok";
	}
	return n;
}

static unsigned int mach_qmp_vhost_disks(void *opaque, struct qmp_vhost_disk *out,
				       unsigned int max)
{
	struct machine *m = opaque;
	struct vhost_blk_stats st;
	struct blockdev *b;
	unsigned int j, n = 0;

	for (b = m->blockdevs.head; b && n < max; b = b->next) {
		struct qmp_vhost_disk *o = &out[n];

		if (b->vhost_fd < 0 || !b->ops || !b->ops->vhost_stats ||
		    b->ops->vhost_stats(b->owner, &st))
			continue;
		snprintf(o->device, sizeof(o->device), "%s", b->device);
		snprintf(o->backend, sizeof(o->backend), "%s", DISK_VHOST_BLK_DEV);
		/* The module reports every queue it could serve: show the disk's. */
		o->nr_queues = st.nvqs < b->num_queues ? st.nvqs : b->num_queues;
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

static void mach_teardown(struct machine *m)
{
	unsigned int i;

	/* vCPUs first: no device handler may run while devices go away. */
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_stop(&m->vcpus[i]);
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_destroy(&m->vcpus[i]);
	free(m->vcpus);
	m->vcpus = NULL;
	m->nr_vcpus = 0;
	m->running = false;
	devices_unrealize(&m->devs);
	m->type->board->teardown(m);
	kvm_vm_destroy(m->kvm);
	guest_mem_fini(&m->mem);
	bus_fini(&m->pio);
	bus_fini(&m->mmio);
}

/* The machine services devices use; the same table across incarnations. */
static void mach_services_init(struct machine *m)
{
	m->ms = (struct machine_services){
		.opaque = m,
		.pio_add = mach_pio_add,
		.mmio_add = mach_mmio_add,
		.irq_set = mach_irq_set,
		.gpa_to_hva = mach_gpa_to_hva,
		.request = mach_request,
		.loop = m->loop,
		.iothread = mach_iothread,
		.ram_regions = mach_ram_regions,
		.guest_panic = mach_pvpanic_event,
		.chardev_claim = mach_chardev_claim,
		.chardev_release = mach_chardev_release,
		.block_claim = mach_block_claim,
		.block_release = mach_block_release,
		.block_io_error = mach_block_io_error,
	};
	mach_pci_services(m);
}

static int mach_build(struct machine *m)
{
	const struct cli_config *cfg = m->cfg;
	struct vcpu_host host = {
		.pio = &m->pio, .mmio = &m->mmio, .event = mach_vcpu_event, .opaque = m,
	};
	struct boot_config boot = {
		.kernel_path = cfg->kernel,
		.initrd_path = cfg->initrd,
		.cmdline = cfg->cmdline,
	};
	struct boot_entry entry;
	char err[CLI_ERR_MAX];
	unsigned int i;
	int ret;

	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");
	mach_services_init(m);
	m->irq_err_logged = false;
	__atomic_store_n(&m->panic_events, 0, __ATOMIC_SEQ_CST);
	m->panicked = false;

	ret = guest_mem_init(&m->mem, cfg->memory);
	if (ret) {
		log_err("cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)(cfg->memory >> 20), strerror(-ret));
		return ret;
	}
	ret = kvm_vm_create(m->kvm);
	if (ret)
		return ret;
	ret = kvm_vm_set_memory(m->kvm, &m->mem);
	if (ret)
		return ret;
	ret = m->type->board->build(m);
	if (ret)
		return ret;
	err[0] = '\0';
	ret = devices_realize(&m->devs, err, sizeof(err));
	if (ret) {
		if (err[0])
			log_err("%s", err);
		return ret;
	}
	ret = m->type->board->finish(m, &boot.rsdp_addr);
	if (ret)
		return ret;
	ret = boot_load(&m->mem, &boot, &entry);
	if (ret)
		return ret;

	m->vcpus = calloc(cfg->cpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return -ENOMEM;
	for (i = 0; i < cfg->cpus; i++) {
		ret = vcpu_create(&m->vcpus[i], m->kvm, i, cfg->cpus, &host);
		if (ret)
			return ret;
		m->nr_vcpus++;
	}
	ret = vcpu_set_boot_state(&m->vcpus[0], &entry);
	if (ret) {
		log_err("vcpu0: cannot set the boot state: %s", strerror(-ret));
		return ret;
	}
	__atomic_store_n(&m->pending, MACH_NONE, __ATOMIC_SEQ_CST);
	for (i = 0; i < m->nr_vcpus; i++) {
		ret = vcpu_start(&m->vcpus[i]);
		if (ret)
			return ret;
		if (m->paused)
			vcpu_pause(&m->vcpus[i]);
	}
	m->boots++;
	m->running = true;
	log_debug("machine: %s, %u vCPU(s), %llu MiB, %s entry at %#llx", m->type->name,
		  cfg->cpus,
		  (unsigned long long)(cfg->memory >> 20),
		  entry.kind == BOOT_PVH ? "PVH" : "64-bit bzImage",
		  (unsigned long long)entry.rip);
	return 0;
}

/* A reset ends every PCI unplug the guest had not finished: the devices go. */
static void mach_finish_unplugs(struct machine *m)
{
	struct device *d, *next;

	for (d = m->devs.head; d; d = next) {
		next = d->next;
		if (d->unplug_pending && d->type->bus == DEV_BUS_PCI)
			device_unplug_done(d);
	}
}

/* On the main loop: a guest reset without --no-reboot. */
static void mach_reset_now(void *opaque)
{
	struct machine *m = opaque;

	if (__atomic_load_n(&m->pending, __ATOMIC_SEQ_CST) != MACH_RESET)
		return;
	log_info("guest reset");
	if (m->qmp)
		qmp_server_event(m->qmp, "RESET", json_pack("{s:b,s:s}", "guest", !m->qmp_reset,
			"reason", m->qmp_reset ? "host-qmp-system-reset" :
			m->panic_reset ? "guest-panic" : "guest-reset"));
	m->qmp_reset = false;
	m->panic_reset = false;
	mach_teardown(m);
	mach_finish_unplugs(m);
	if (mach_build(m)) {
		log_err("cannot rebuild the machine after the guest reset");
		loop_stop(m->loop, MACH_FAIL);
	}
}

static void mach_on_signal(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	if (read(m->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("terminated by signal %u (%s)", si.ssi_signo, strsignal(si.ssi_signo));
	mach_outcome(m, MACH_SIGNAL);
	loop_stop(m->loop, MACH_SIGNAL);
}

static int mach_signals_init(struct machine *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked here, before any thread exists, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0)
		return -errno;
	return loop_add_fd(m->loop, m->sigfd, EPOLLIN, mach_on_signal, m);
}

/* QMP's view of the machine (user/vmm/qmp/commands.h); on the main loop. */
static bool mach_qmp_running(void *opaque)
{
	struct machine *m = opaque;

	return !m->paused;
}

static int mach_qmp_stop(void *opaque)
{
	struct machine *m = opaque;
	unsigned int i;

	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_pause(&m->vcpus[i]);
	m->paused = true;
	return 0;
}

static int mach_qmp_cont(void *opaque)
{
	struct machine *m = opaque;
	unsigned int i;

	m->paused = false;
	m->panicked = false;
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_resume(&m->vcpus[i]);
	mach_disks_resume(m);
	return 0;
}

/* On the main loop: a device asked for a pause (a disk's werror=stop). */
static void mach_pause_now(void *opaque)
{
	struct machine *m = opaque;

	if (m->paused || __atomic_load_n(&m->pending, __ATOMIC_SEQ_CST) != MACH_NONE)
		return;
	mach_qmp_stop(m);
	if (m->qmp)
		qmp_server_event(m->qmp, "STOP", NULL);
}

static int mach_qmp_reset(void *opaque)
{
	struct machine *m = opaque;

	if (__atomic_load_n(&m->pending, __ATOMIC_SEQ_CST) != MACH_NONE)
		return -EBUSY;
	m->qmp_reset = true;
	mach_outcome(m, MACH_RESET);
	return 0;
}

static int mach_qmp_powerdown(void *opaque)
{
	struct machine *m = opaque;

	return m->type->board->powerdown(m);
}

static int mach_qmp_quit(void *opaque)
{
	struct machine *m = opaque;

	mach_outcome(m, MACH_QUIT);
	loop_stop(m->loop, MACH_QUIT);
	return 0;
}

static unsigned int mach_qmp_nr_cpus(void *opaque)
{
	struct machine *m = opaque;

	return m->nr_vcpus;
}

static int mach_qmp_cpu_thread_id(void *opaque, unsigned int index)
{
	struct machine *m = opaque;

	return index < m->nr_vcpus ? __atomic_load_n(&m->vcpus[index].tid,
						      __ATOMIC_ACQUIRE) : 0;
}

static bool mach_qmp_panicked(void *opaque)
{
	struct machine *m = opaque;

	return m->panicked;
}

/* Pause, snapshot every vCPU's registers, write the core, resume if it ran. */
static int mach_dump(struct machine *m, const char *path)
{
	struct coredump_region regions[GUEST_MEM_MAX_REGIONS];
	struct user_regs_struct *cpus;
	bool was_running = !m->paused;
	unsigned int i;
	int ret = 0;

	cpus = calloc(m->nr_vcpus ? m->nr_vcpus : 1, sizeof(*cpus));
	if (!cpus)
		return -ENOMEM;
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_pause(&m->vcpus[i]);
	for (i = 0; i < m->nr_vcpus; i++) {
		struct kvm_regs r;
		struct kvm_sregs sr;

		/* The vCPU is parked outside KVM_RUN: its registers are still. */
		if (ioctl(m->vcpus[i].fd, KVM_GET_REGS, &r) < 0 ||
		    ioctl(m->vcpus[i].fd, KVM_GET_SREGS, &sr) < 0) {
			ret = -errno;
			log_err("coredump: cannot read vcpu%u's registers: %s", i, strerror(errno));
			break;
		}
		coredump_regs_from_kvm(&r, &sr, &cpus[i]);
	}
	for (i = 0; !ret && i < m->mem.nr_regions; i++) {
		regions[i].gpa = m->mem.regions[i].gpa;
		regions[i].size = m->mem.regions[i].size;
		regions[i].hva = m->mem.regions[i].hva;
	}
	if (!ret)
		ret = coredump_write_file(path, regions, m->mem.nr_regions, cpus, m->nr_vcpus);
	if (was_running)
		for (i = 0; i < m->nr_vcpus; i++)
			vcpu_resume(&m->vcpus[i]);
	free(cpus);
	return ret;
}

static int mach_qmp_dump(void *opaque, const char *path)
{
	struct machine *m = opaque;
	int ret = mach_dump(m, path);

	if (ret)
		log_err("dump-guest-memory: cannot write '%s': %s", path, strerror(-ret));
	else
		log_info("dump-guest-memory: guest core written to %s", path);
	return ret;
}

static unsigned int mach_qmp_pci_functions(void *opaque, struct qmp_pci_function *out,
					 unsigned int max)
{
	struct machine *m = opaque;

	return m->type->board->pci_functions(m, out, max);
}

static const struct qmp_machine_ops mach_qmp_ops = {
	.pci_functions = mach_qmp_pci_functions,
	.block_disks = mach_qmp_block_disks,
	.vhost_disks = mach_qmp_vhost_disks,
	.running = mach_qmp_running,
	.stop = mach_qmp_stop,
	.cont = mach_qmp_cont,
	.reset = mach_qmp_reset,
	.powerdown = mach_qmp_powerdown,
	.quit = mach_qmp_quit,
	.nr_cpus = mach_qmp_nr_cpus,
	.cpu_thread_id = mach_qmp_cpu_thread_id,
	.panicked = mach_qmp_panicked,
	.dump = mach_qmp_dump,
};

static void mach_panic_event(struct machine *m, const char *name, const char *action)
{
	if (m->qmp)
		qmp_server_event(m->qmp, name, json_pack("{s:s}", "action", action));
}

/*
 * On the main loop: act on a pvpanic report (--on-panic). QEMU's GUEST_PANICKED
 * actions: "pause" when the guest stays stopped, "poweroff" when keel ends,
 * "run" when it goes on (restart).
 */
static void mach_panic_now(void *opaque)
{
	struct machine *m = opaque;
	unsigned int ev = __atomic_exchange_n(&m->panic_events, 0, __ATOMIC_SEQ_CST);
	char path[64];
	const char *file;
	int ret;

	if (!ev || __atomic_load_n(&m->pending, __ATOMIC_SEQ_CST) != MACH_NONE)
		return;
	if (!(ev & PVPANIC_PANICKED)) {
		/* A crash kernel took over: the guest goes on by itself. */
		log_info("pvpanic: guest loaded its crash kernel");
		mach_panic_event(m, "GUEST_CRASHLOADED", "run");
		return;
	}
	switch (m->cfg->on_panic) {
	case CLI_PANIC_PAUSE:
		log_info("pvpanic: guest panicked; vCPUs paused (--on-panic pause)");
		mach_panic_event(m, "GUEST_PANICKED", "pause");
		if (!m->paused) {
			mach_qmp_stop(m);
			if (m->qmp)
				qmp_server_event(m->qmp, "STOP", NULL);
		}
		m->panicked = true;
		break;
	case CLI_PANIC_POWEROFF:
		log_info("pvpanic: guest panicked; powering off (--on-panic poweroff)");
		mach_panic_event(m, "GUEST_PANICKED", "poweroff");
		mach_outcome(m, MACH_PANIC_OFF);
		break;
	case CLI_PANIC_RESTART:
		log_info("pvpanic: guest panicked; resetting (--on-panic restart)");
		mach_panic_event(m, "GUEST_PANICKED", "run");
		m->panic_reset = true;
		mach_outcome(m, MACH_RESET);
		break;
	case CLI_PANIC_COREDUMP:
		file = m->cfg->panic_path;
		if (!file) {
			snprintf(path, sizeof(path), "keel-core.%d", (int)getpid());
			file = path;
		}
		mach_panic_event(m, "GUEST_PANICKED", "poweroff");
		m->paused = true;
		ret = mach_dump(m, file);
		if (ret) {
			log_err("pvpanic: guest panicked; cannot write its core to '%s': %s",
				file, strerror(-ret));
			mach_outcome(m, MACH_FAIL);
		} else {
			log_info("pvpanic: guest panicked; core written to %s", file);
			mach_outcome(m, MACH_PANIC_DUMPED);
		}
		break;
	}
}

static int mach_qmp_init(struct machine *m)
{
	static const struct qmp_version ver = { 0, 1, 0, "keel" };

	m->qmp_machine = (struct qmp_machine){ .ops = &mach_qmp_ops, .opaque = m };
	m->qmp = qmp_server_new(m->loop, &ver, qmp_machine_commands, qmp_machine_nr_commands,
				 &m->qmp_machine);
	if (!m->qmp)
		return -ENOMEM;
	m->qmp_machine.srv = m->qmp;
	return qmp_server_listen(m->qmp, m->cfg->qmp);
}

/* The SHUTDOWN event (QEMU's reasons), sent before the sockets close. */
static void mach_qmp_shutdown(struct machine *m, int code)
{
	const char *reason;

	switch (code) {
	case MACH_POWEROFF:
		reason = "guest-shutdown";
		break;
	case MACH_RESET:
		reason = m->qmp_reset ? "host-qmp-system-reset" :
			 m->panic_reset ? "guest-panic" : "guest-reset";
		break;
	case MACH_SIGNAL:
		reason = "host-signal";
		break;
	case MACH_QUIT:
		reason = "host-qmp-quit";
		break;
	case MACH_PANIC_OFF:
	case MACH_PANIC_DUMPED:
		reason = "guest-panic";
		break;
	default:
		return;
	}
	qmp_server_event(m->qmp, "SHUTDOWN", json_pack("{s:b,s:s}", "guest",
			 code == MACH_POWEROFF || code == MACH_PANIC_OFF || code == MACH_PANIC_DUMPED ||
			 (code == MACH_RESET && !m->qmp_reset),
			 "reason", reason));
}

int machine_run(struct kvm *kvm, const struct cli_config *cfg)
{
	struct machine *m;
	int code, ret = MACHINE_EXIT_FAIL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return MACHINE_EXIT_FAIL;
	m->kvm = kvm;
	m->cfg = cfg;
	m->type = machine_type_find(cfg->machine ? cfg->machine : "m");
	if (!m->type)
		m->type = machine_type_default();
	devices_init(&m->devs, &m->ms);
	m->devs.deleted = mach_device_deleted;
	m->devs.deleted_opaque = m;
	m->sigfd = -1;
	m->mem.memfd = -1;

	if (!cfg->sandbox_off && sandbox_init()) {
		log_err("cannot set up the seccomp sandbox (--sandbox off runs without it)");
		goto out;
	}
	if (vcpu_signals_init()) {
		log_err("cannot set up the vCPU kick signal");
		goto out;
	}
	m->loop = loop_new();
	if (!m->loop) {
		log_err("cannot create the main event loop");
		goto out;
	}
	if (mach_signals_init(m)) {
		log_err("cannot watch termination signals");
		goto out;
	}
	m->console = chardev_open(cfg->serial, m->loop);
	if (!m->console)
		goto out;	/* chardev_open said why */
	if (cfg->qmp[0] && mach_qmp_init(m)) {
		log_err("cannot open the QMP socket '%s'", cfg->qmp);
		goto out;
	}
	/* A disk, chardev or device that cannot be set up is a command-line mistake. */
	mach_services_init(m);
	if (mach_devices_open(m)) {
		ret = MACHINE_EXIT_USAGE;
		goto out;
	}

	if (mach_build(m)) {
		mach_teardown(m);
		goto out;
	}
	/* Everything is open: the main loop narrows itself to its allow-list. */
	if (sandbox_enter(SANDBOX_MAIN)) {
		mach_teardown(m);
		goto out;
	}
	sandbox_selftest(SANDBOX_MAIN);
	code = loop_run(m->loop);
	mach_teardown(m);
	if (m->qmp)
		mach_qmp_shutdown(m, code);
	switch (code) {
	case MACH_POWEROFF:
		log_debug("guest powered off");
		ret = MACHINE_EXIT_OK;
		break;
	case MACH_QUIT:
		log_info("quit requested on the QMP socket");
		ret = MACHINE_EXIT_OK;
		break;
	case MACH_PANIC_OFF:
		ret = MACHINE_EXIT_OK;
		break;
	case MACH_PANIC_DUMPED:
		ret = MACHINE_EXIT_PANIC;
		break;
	case MACH_RESET:
		log_info("guest reset");
		log_info("--no-reboot: exiting instead of restarting the guest");
		ret = MACHINE_EXIT_OK;
		break;
	default:
		ret = MACHINE_EXIT_FAIL;
		break;
	}
out:
	mach_devices_close(m);
	qmp_server_free(m->qmp);
	if (m->console)
		chardev_close(m->console);
	if (m->loop && m->sigfd >= 0)
		loop_del_fd(m->loop, m->sigfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->loop)
		loop_free(m->loop);
	free(m);
	return ret;
}
