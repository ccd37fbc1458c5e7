/*
 * ACPI table builder (ACPI 6.x ch. 5.2): tables appended into one growing
 * buffer that maps to guest-physical `base`, standard headers (ch. 5.2.6),
 * pointer fixups between tables and checksums applied last.
 */
#ifndef KEEL_VMM_ACPI_TABLE_H
#define KEEL_VMM_ACPI_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_HEADER_LEN		36
#define ACPI_HDR_LENGTH		4	/* offsets inside the header */
#define ACPI_HDR_REVISION	8
#define ACPI_HDR_CHECKSUM	9
#define ACPI_OEM_ID		"KEEL  "
#define ACPI_OEM_TABLE_ID	"KEELVM  "
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"KEEL"
#define ACPI_CREATOR_REVISION	1

enum acpi_fixup_kind {
	ACPI_FIXUP_PTR32,	/* u32 at `at` = base + target */
	ACPI_FIXUP_PTR64,	/* u64 at `at` = base + target */
	ACPI_FIXUP_CSUM,	/* u8 at `at` makes [target, target+len) sum to 0 */
};

struct acpi_fixup {
	enum acpi_fixup_kind kind;
	size_t at;
	size_t target;
	size_t len;
};

struct acpi_blob {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;		/* guest-visible size limit */
	uint64_t base;		/* guest-physical address of buf[0] */
	struct acpi_fixup *fix;
	size_t nr_fix;
	size_t cap_fix;
	int err;		/* first error, sticky */
};

void acpi_blob_init(struct acpi_blob *b, uint64_t base, size_t max);
void acpi_blob_free(struct acpi_blob *b);
/* Apply pointers, then checksums in the order they were added. */
int acpi_blob_finish(struct acpi_blob *b);

/* Zeroed space of n bytes at an offset aligned to align (power of 2). */
size_t acpi_blob_alloc(struct acpi_blob *b, size_t n, size_t align);
size_t acpi_blob_append(struct acpi_blob *b, const void *data, size_t n);

/* Little-endian stores at an offset inside the buffer (bounds-checked). */
void acpi_put8(struct acpi_blob *b, size_t off, uint8_t v);
void acpi_put16(struct acpi_blob *b, size_t off, uint16_t v);
void acpi_put32(struct acpi_blob *b, size_t off, uint32_t v);
void acpi_put64(struct acpi_blob *b, size_t off, uint64_t v);
void acpi_put_bytes(struct acpi_blob *b, size_t off, const void *data, size_t n);

void acpi_blob_add_ptr32(struct acpi_blob *b, size_t at, size_t target);
void acpi_blob_add_ptr64(struct acpi_blob *b, size_t at, size_t target);
void acpi_blob_add_checksum(struct acpi_blob *b, size_t at, size_t start,
			    size_t len);

/* A table with the standard header; returns its offset. */
size_t acpi_table_begin(struct acpi_blob *b, const char sig[4], uint8_t rev);
/* Set the header length to what was appended since begin; checksum later. */
void acpi_table_end(struct acpi_blob *b, size_t table);

uint8_t acpi_checksum(const void *data, size_t n);

#endif
