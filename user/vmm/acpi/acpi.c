/*
 * ACPI tables of keel's PC machine (ACPI 6.x ch. 5.2): RSDP (ch. 5.2.5),
 * XSDT (ch. 5.2.8), FACS, DSDT, FADT and MADT, laid out in one buffer that
 * the VMM copies to guest RAM at cfg->base.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/dsdt.h"
#include "vmm/acpi/fadt.h"
#include "vmm/acpi/madt.h"
#include "vmm/acpi/mcfg.h"
#include "vmm/acpi/table.h"

#define RSDP_LEN		36
#define RSDP_V1_LEN		20	/* covered by the first checksum */
#define RSDP_CHECKSUM		8
#define RSDP_OEM_ID		9
#define RSDP_REVISION		15
#define RSDP_RSDT_ADDR		16
#define RSDP_LENGTH		20
#define RSDP_XSDT_ADDR		24
#define RSDP_EXT_CHECKSUM	32
#define XSDT_REVISION		1
#define XSDT_MAX_ENTRIES	8

/* The RSDP sits on a 16-byte boundary so a BIOS-area scan finds it. */
static size_t acpi_rsdp_build(struct acpi_blob *b)
{
	size_t r = acpi_blob_alloc(b, RSDP_LEN, 16);

	acpi_put_bytes(b, r, "RSD PTR ", 8);
	acpi_put_bytes(b, r + RSDP_OEM_ID, ACPI_OEM_ID, 6);
	acpi_put8(b, r + RSDP_REVISION, 2);
	acpi_put32(b, r + RSDP_RSDT_ADDR, 0);	/* XSDT only */
	acpi_put32(b, r + RSDP_LENGTH, RSDP_LEN);
	return r;
}

/* Checksums of the RSDP: the 20-byte one first, then the extended one. */
static void acpi_rsdp_finish(struct acpi_blob *b, size_t r, size_t xsdt)
{
	acpi_blob_add_ptr64(b, r + RSDP_XSDT_ADDR, xsdt);
	acpi_blob_add_checksum(b, r + RSDP_CHECKSUM, r, RSDP_V1_LEN);
	acpi_blob_add_checksum(b, r + RSDP_EXT_CHECKSUM, r, RSDP_LEN);
}

static size_t acpi_xsdt_build(struct acpi_blob *b, const size_t *tables,
			      unsigned int n)
{
	size_t t = acpi_table_begin(b, "XSDT", XSDT_REVISION);
	size_t e = acpi_blob_alloc(b, 8 * n, 1);
	unsigned int i;

	for (i = 0; i < n; i++)
		acpi_blob_add_ptr64(b, e + 8 * i, tables[i]);
	acpi_table_end(b, t);
	return t;
}

static int acpi_config_check(const struct acpi_config *cfg)
{
	if (!cfg->nr_cpus || cfg->nr_cpus > MADT_MAX_CPUS) {
		log_err("acpi: %u vCPUs cannot be described (1..%d)",
			cfg->nr_cpus, MADT_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->sci_irq > 15 || cfg->gpe0_len % 2) {
		log_err("acpi: SCI IRQ %u must be an ISA IRQ and GPE0 length %u even",
			cfg->sci_irq, cfg->gpe0_len);
		return -EINVAL;
	}
	if (cfg->nr_virtio_mmio > ACPI_MAX_VIRTIO_MMIO) {
		log_err("acpi: %u virtio-mmio devices cannot be described (at most %d)",
			cfg->nr_virtio_mmio, ACPI_MAX_VIRTIO_MMIO);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->nr_virtio_mmio; i++)
		if (cfg->virtio_mmio[i].base > UINT32_MAX - 0x200) {
			log_err("acpi: virtio-mmio registers above 4 GiB are not supported");
			return -EINVAL;
		}
	if (cfg->base > UINT32_MAX - ACPI_TABLES_SIZE ||
	    cfg->lapic_addr > UINT32_MAX || cfg->ioapic_addr > UINT32_MAX ||
	    cfg->pci_mem32_base + cfg->pci_mem32_size > 1ULL << 32) {
		log_err("acpi: tables or APICs above 4 GiB are not supported");
		return -EINVAL;
	}
	return 0;
}

int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out)
{
	struct acpi_blob b;
	size_t rsdp, facs, dsdt, xsdt, entries[XSDT_MAX_ENTRIES];
	unsigned int n = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = acpi_config_check(cfg);
	if (err)
		return err;
	acpi_blob_init(&b, cfg->base, ACPI_TABLES_SIZE);
	rsdp = acpi_rsdp_build(&b);
	facs = acpi_facs_build(&b);
	dsdt = acpi_dsdt_build(&b, cfg);
	entries[n++] = acpi_fadt_build(&b, cfg, facs, dsdt);
	entries[n++] = acpi_madt_build(&b, cfg);
	if (cfg->pci_ecam_base)
		entries[n++] = acpi_mcfg_build(&b, cfg);
	xsdt = acpi_xsdt_build(&b, entries, n);
	acpi_rsdp_finish(&b, rsdp, xsdt);
	err = acpi_blob_finish(&b);
	if (err) {
		log_err("acpi: building the tables failed: %s", strerror(-err));
		acpi_blob_free(&b);
		return err;
	}
	out->buf = b.buf;
	out->len = b.len;
	out->cap = b.cap;
	out->rsdp_addr = cfg->base + rsdp;
	free(b.fix);
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}
