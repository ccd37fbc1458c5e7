/*
 * ACPI table builder (ACPI 6.x ch. 5.2.6 system description table header):
 * one buffer, pointer and checksum fixups applied when everything is placed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/acpi/table.h"

void acpi_blob_init(struct acpi_blob *b, uint64_t base, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->base = base;
	b->max = max;
}

void acpi_blob_free(struct acpi_blob *b)
{
	free(b->buf);
	free(b->fix);
	memset(b, 0, sizeof(*b));
}

static void acpi_blob_fail(struct acpi_blob *b, int err)
{
	if (!b->err)
		b->err = err;
}

uint8_t acpi_checksum(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return sum;
}

static int acpi_blob_reserve(struct acpi_blob *b, size_t end)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *nb;

	if (end > b->max) {
		acpi_blob_fail(b, -ENOSPC);
		return b->err;
	}
	if (end <= b->cap)
		return 0;
	while (cap < end)
		cap *= 2;
	nb = realloc(b->buf, cap);
	if (!nb) {
		acpi_blob_fail(b, -ENOMEM);
		return b->err;
	}
	b->buf = nb;
	b->cap = cap;
	return 0;
}

size_t acpi_blob_alloc(struct acpi_blob *b, size_t n, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (b->err || off < b->len || n > SIZE_MAX - off ||
	    acpi_blob_reserve(b, off + n))
		return 0;
	memset(b->buf + b->len, 0, off + n - b->len);
	b->len = off + n;
	return off;
}

size_t acpi_blob_append(struct acpi_blob *b, const void *data, size_t n)
{
	size_t off = acpi_blob_alloc(b, n, 1);

	acpi_put_bytes(b, off, data, n);
	return off;
}

void acpi_put_bytes(struct acpi_blob *b, size_t off, const void *data, size_t n)
{
	if (b->err)
		return;
	if (off > b->len || n > b->len - off) {
		acpi_blob_fail(b, -EFAULT);
		return;
	}
	memcpy(b->buf + off, data, n);
}

static void acpi_put_le(struct acpi_blob *b, size_t off, uint64_t v, int n)
{
	uint8_t le[8];
	int i;

	for (i = 0; i < n; i++)
		le[i] = v >> (8 * i);
	acpi_put_bytes(b, off, le, n);
}

void acpi_put8(struct acpi_blob *b, size_t off, uint8_t v)
{
	acpi_put_le(b, off, v, 1);
}

void acpi_put16(struct acpi_blob *b, size_t off, uint16_t v)
{
	acpi_put_le(b, off, v, 2);
}

void acpi_put32(struct acpi_blob *b, size_t off, uint32_t v)
{
	acpi_put_le(b, off, v, 4);
}

void acpi_put64(struct acpi_blob *b, size_t off, uint64_t v)
{
	acpi_put_le(b, off, v, 8);
}

static void acpi_blob_add_fixup(struct acpi_blob *b, enum acpi_fixup_kind kind,
				size_t at, size_t target, size_t len)
{
	struct acpi_fixup *nf;
	size_t cap;

	if (b->err)
		return;
	if (b->nr_fix == b->cap_fix) {
		cap = b->cap_fix ? 2 * b->cap_fix : 16;
		nf = realloc(b->fix, cap * sizeof(*nf));
		if (!nf) {
			acpi_blob_fail(b, -ENOMEM);
			return;
		}
		b->fix = nf;
		b->cap_fix = cap;
	}
	b->fix[b->nr_fix++] = (struct acpi_fixup){ kind, at, target, len };
}

void acpi_blob_add_ptr32(struct acpi_blob *b, size_t at, size_t target)
{
	acpi_blob_add_fixup(b, ACPI_FIXUP_PTR32, at, target, 0);
}

void acpi_blob_add_ptr64(struct acpi_blob *b, size_t at, size_t target)
{
	acpi_blob_add_fixup(b, ACPI_FIXUP_PTR64, at, target, 0);
}

void acpi_blob_add_checksum(struct acpi_blob *b, size_t at, size_t start,
			    size_t len)
{
	acpi_blob_add_fixup(b, ACPI_FIXUP_CSUM, at, start, len);
}

static void acpi_blob_apply(struct acpi_blob *b, const struct acpi_fixup *f)
{
	uint64_t addr = b->base + f->target;

	if (f->target > b->len) {
		acpi_blob_fail(b, -EFAULT);
		return;
	}
	switch (f->kind) {
	case ACPI_FIXUP_PTR32:
		if (addr > UINT32_MAX)
			acpi_blob_fail(b, -ERANGE);
		acpi_put32(b, f->at, addr);
		break;
	case ACPI_FIXUP_PTR64:
		acpi_put64(b, f->at, addr);
		break;
	case ACPI_FIXUP_CSUM:
		if (f->len > b->len - f->target || f->at - f->target >= f->len) {
			acpi_blob_fail(b, -EFAULT);
			return;
		}
		acpi_put8(b, f->at, 0);
		acpi_put8(b, f->at, -acpi_checksum(b->buf + f->target, f->len));
		break;
	}
}

int acpi_blob_finish(struct acpi_blob *b)
{
	size_t i;

	for (i = 0; i < b->nr_fix && !b->err; i++)
		if (b->fix[i].kind != ACPI_FIXUP_CSUM)
			acpi_blob_apply(b, &b->fix[i]);
	for (i = 0; i < b->nr_fix && !b->err; i++)
		if (b->fix[i].kind == ACPI_FIXUP_CSUM)
			acpi_blob_apply(b, &b->fix[i]);
	return b->err;
}

size_t acpi_table_begin(struct acpi_blob *b, const char sig[4], uint8_t rev)
{
	size_t t = acpi_blob_alloc(b, ACPI_HEADER_LEN, 8);

	acpi_put_bytes(b, t, sig, 4);
	acpi_put8(b, t + ACPI_HDR_REVISION, rev);
	acpi_put_bytes(b, t + 10, ACPI_OEM_ID, 6);
	acpi_put_bytes(b, t + 16, ACPI_OEM_TABLE_ID, 8);
	acpi_put32(b, t + 24, ACPI_OEM_REVISION);
	acpi_put_bytes(b, t + 28, ACPI_CREATOR_ID, 4);
	acpi_put32(b, t + 32, ACPI_CREATOR_REVISION);
	return t;
}

void acpi_table_end(struct acpi_blob *b, size_t table)
{
	size_t len = b->len - table;

	acpi_put32(b, table + ACPI_HDR_LENGTH, len);
	acpi_blob_add_checksum(b, table + ACPI_HDR_CHECKSUM, table, len);
}
