/*
 * keel's PCI host bridge: config mechanism #1 at 0xCF8/0xCFC (PCI Local Bus 3.0
 * ch. 3.2.2.3.2) and the ECAM window (PCIe 4.0 ch. 7.2.2) onto bus 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/host.h"
#include "lib/log.h"

#define CF8_ENABLE		0x80000000u
#define CF8_BUS(a)		(((a) >> 16) & 0xff)
#define CF8_DEVFN(a)		(((a) >> 8) & 0xff)
#define CF8_REG(a)		((a) & 0xfc)
/* Bits 30:24 are reserved; bits 1:0 read as zero. */
#define CF8_WRITABLE		0x80fffffcu

static uint32_t pci_host_ones(unsigned int size)
{
	return size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
}

static uint32_t pci_host_load(const void *data, unsigned int size)
{
	const uint8_t *p = data;
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < size && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void pci_host_store(void *data, unsigned int size, uint32_t v)
{
	uint8_t *p = data;
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0xff;
}

static void pci_host_bad_access(struct pci_host *h, const char *what, uint64_t off,
				unsigned int size)
{
	if (h->bad_access_logged)
		return;
	h->bad_access_logged = true;
	log_warn("pci-host: guest made a %u-byte %s access at offset %#llx; ignored",
		 size, what, (unsigned long long)off);
}

/* 0xCF8-0xCFB: only a dword at 0xCF8 is the address register. */
static void pci_host_addr_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v;

	if (off == 1 && size == 1 && h->cf9_ops) {
		h->cf9_ops->read(h->cf9_dev, 0, data, 1);
		return;
	}
	pthread_mutex_lock(&h->lock);
	v = off == 0 && size == 4 ? h->config_addr : pci_host_ones(size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_addr_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;

	if (off == 1 && size == 1 && h->cf9_ops) {
		h->cf9_ops->write(h->cf9_dev, 0, data, 1);
		return;
	}
	if (off != 0 || size != 4)
		return;	/* byte probes at 0xCFB (Linux's type 2 check) do nothing */
	pthread_mutex_lock(&h->lock);
	h->config_addr = pci_host_load(data, 4) & CF8_WRITABLE;
	pthread_mutex_unlock(&h->lock);
}

/* The function the address register selects on bus 0, or -1. */
static int pci_host_cf8_devfn(uint32_t addr)
{
	if (!(addr & CF8_ENABLE) || CF8_BUS(addr) != 0)
		return -1;
	return (int)CF8_DEVFN(addr);
}

static void pci_host_data_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);
	int devfn;

	pthread_mutex_lock(&h->lock);
	devfn = pci_host_cf8_devfn(h->config_addr);
	/* A byte lane access must stay inside the data dword and be aligned. */
	if (devfn >= 0 && off < 4 && size <= 4 - off && !(off & (size - 1)))
		v = pci_bus_cfg_read(&h->bus, (unsigned int)devfn,
				     CF8_REG(h->config_addr) + (unsigned int)off, size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_data_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;
	int devfn;

	pthread_mutex_lock(&h->lock);
	devfn = pci_host_cf8_devfn(h->config_addr);
	if (devfn >= 0 && off < 4 && size <= 4 - off && !(off & (size - 1)))
		pci_bus_cfg_write(&h->bus, (unsigned int)devfn,
				  CF8_REG(h->config_addr) + (unsigned int)off, size,
				  pci_host_load(data, size));
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_host_addr_ops = {
	.read = pci_host_addr_read,
	.write = pci_host_addr_write,
};

static const struct io_ops pci_host_data_ops = {
	.read = pci_host_data_read,
	.write = pci_host_data_write,
};

static bool pci_host_ecam_ok(uint64_t off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
	       off < PCI_ECAM_BUS_SIZE;
}

static void pci_host_ecam_read(void *dev, uint64_t off, void *data, unsigned int size)
{
	struct pci_host *h = dev;
	uint32_t v = pci_host_ones(size);

	pthread_mutex_lock(&h->lock);
	if (pci_host_ecam_ok(off, size))
		v = pci_bus_cfg_read(&h->bus, (unsigned int)(off >> 12), off & 0xfff, size);
	else
		pci_host_bad_access(h, "ECAM read", off, size);
	pthread_mutex_unlock(&h->lock);
	pci_host_store(data, size, v);
}

static void pci_host_ecam_write(void *dev, uint64_t off, const void *data,
				unsigned int size)
{
	struct pci_host *h = dev;

	pthread_mutex_lock(&h->lock);
	if (pci_host_ecam_ok(off, size))
		pci_bus_cfg_write(&h->bus, (unsigned int)(off >> 12), off & 0xfff, size,
				  pci_host_load(data, size));
	else
		pci_host_bad_access(h, "ECAM write", off, size);
	pthread_mutex_unlock(&h->lock);
}

static const struct io_ops pci_host_ecam_ops = {
	.read = pci_host_ecam_read,
	.write = pci_host_ecam_write,
};

struct pci_host *pci_host_new(const struct machine_services *ms, uint64_t ecam_base)
{
	struct pci_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ms = ms;
	h->ecam_base = ecam_base;
	pthread_mutex_init(&h->lock, NULL);
	pci_bus_init(&h->bus);
	h->bridge.name = "pci-host";
	pci_config_init(&h->bridge.cfg, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS,
			0x02, PCI_HEADER_TYPE_NORMAL);
	/* A host bridge neither decodes I/O nor masters through its own header. */
	pci_config_set_wmask(&h->bridge.cfg, PCI_COMMAND, 2, 0);
	pci_config_set(&h->bridge.cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_bus_register(&h->bus, &h->bridge, PCI_DEVFN(0, 0));
	if (machine_pio_add(ms, PCI_HOST_CONFIG_ADDR, 4, &pci_host_addr_ops, h) < 0 ||
	    machine_pio_add(ms, PCI_HOST_CONFIG_DATA, 4, &pci_host_data_ops, h) < 0 ||
	    machine_mmio_add(ms, ecam_base, PCI_ECAM_BUS_SIZE, &pci_host_ecam_ops, h) < 0) {
		log_err("pci-host: cannot claim 0xcf8-0xcff or the ECAM window at %#llx",
			(unsigned long long)ecam_base);
		pci_host_free(h);
		return NULL;
	}
	return h;
}

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void pci_host_set_cf9(struct pci_host *h, const struct io_ops *ops, void *dev)
{
	h->cf9_ops = ops;
	h->cf9_dev = dev;
}

int pci_host_register(struct pci_host *h, struct pci_device *dev, unsigned int devfn)
{
	int ret;

	pthread_mutex_lock(&h->lock);
	ret = pci_bus_register(&h->bus, dev, devfn);
	pthread_mutex_unlock(&h->lock);
	return ret;
}
