/*
 * AML writer (ACPI 6.x ch. 20.2 AML grammar, ch. 6.4 resource data types).
 * Errors are sticky in a->err so callers can write long sequences and
 * check once in aml_finish().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/acpi/aml.h"

enum aml_frame_kind {
	AML_FRAME_PKG,		/* PkgLength only */
	AML_FRAME_BUFFER,	/* PkgLength + BufferSize */
	AML_FRAME_RES,		/* resource template: End Tag, then as buffer */
};

#define AML_RES_END_TAG		0x79
#define AML_RES_IO_TAG		0x47
#define AML_RES_IRQ_TAG		0x22	/* IRQ descriptor, 2 bytes: no flags */
#define AML_RES_MEM32F_TAG	0x86
#define AML_RES_DWORD_TAG	0x87
#define AML_RES_WORD_TAG	0x88
#define AML_RES_EXT_IRQ_TAG	0x89
#define AML_RES_QWORD_TAG	0x8A

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

int aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		a->err = -EINVAL;
	return a->err;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static int aml_grow(struct aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *nb;

	if (a->err)
		return a->err;
	if (n > AML_PKGLEN_MAX - a->len) {
		aml_fail(a, -E2BIG);
		return a->err;
	}
	if (a->len + n <= a->cap)
		return 0;
	while (cap < a->len + n)
		cap *= 2;
	nb = realloc(a->buf, cap);
	if (!nb) {
		aml_fail(a, -ENOMEM);
		return a->err;
	}
	a->buf = nb;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *data, size_t n)
{
	if (!n || aml_grow(a, n))
		return;
	memcpy(a->buf + a->len, data, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = v >> (8 * i);
	aml_bytes(a, b, n);
}

/* Make room for n bytes at pos, moving what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *data, size_t n)
{
	if (aml_grow(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, data, n);
	a->len += n;
}

/* Lead byte: bits 7-6 = following byte count, bits 3-0 = low nibble. */
static void aml_pkglen_put(uint8_t out[4], uint32_t value, int n)
{
	int i;

	if (n == 1) {
		out[0] = value;
		return;
	}
	out[0] = ((n - 1) << 6) | (value & 0x0F);
	for (i = 1; i < n; i++)
		out[i] = value >> (4 + 8 * (i - 1));
}

int aml_pkglen_encode(uint8_t out[4], size_t body_len)
{
	int n;

	/* The length counts its own bytes, so try each size in turn. */
	for (n = 1; n <= 4; n++) {
		if (body_len + n < (n == 1 ? 0x40ul : 1ul << (4 + 8 * (n - 1)))) {
			aml_pkglen_put(out, body_len + n, n);
			return n;
		}
	}
	return -ERANGE;
}

/* A plain value in PkgLength form (field widths, ch. 20.2.5.2). */
static int aml_pkglen_value(uint8_t out[4], uint32_t value)
{
	int n;

	for (n = 1; n <= 4; n++) {
		if (value < (n == 1 ? 0x40ul : 1ul << (4 + 8 * (n - 1)))) {
			aml_pkglen_put(out, value, n);
			return n;
		}
	}
	return -ERANGE;
}

static int aml_int_encode(uint8_t out[9], uint64_t v)
{
	unsigned int n, i;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xFF) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xFFFF) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xFFFFFFFF) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = v >> (8 * i);
	return n + 1;
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	aml_bytes(a, b, aml_int_encode(b, v));
}

void aml_ones(struct aml *a)
{
	aml_byte(a, AML_ONES_OP);
}

/* ---- names (ch. 20.2.2) */

static int aml_seg_char_ok(char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !first && c >= '0' && c <= '9';
}

/* Length of the segment at s (up to '.' or end), or -EINVAL. */
static int aml_seg_len(const char *s)
{
	int n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !aml_seg_char_ok(s[n], n == 0))
			return -EINVAL;
		n++;
	}
	return n ? n : -EINVAL;
}

/* Count segments after the prefixes; -EINVAL for a malformed path. */
static int aml_name_segs(const char *s)
{
	int count = 0, n;

	if (!*s)
		return 0;
	for (;;) {
		n = aml_seg_len(s);
		if (n < 0)
			return n;
		count++;
		s += n;
		if (!*s)
			return count > 255 ? -EINVAL : count;
		s++;		/* the '.' */
	}
}

static void aml_name_seg(struct aml *a, const char *s, int n)
{
	char seg[4] = { '_', '_', '_', '_' };

	memcpy(seg, s, n);
	aml_bytes(a, seg, 4);
}

void aml_name(struct aml *a, const char *path)
{
	const char *s = path;
	int segs, n;

	if (*s == AML_ROOT_CHAR)
		s++;
	else
		while (*s == AML_PARENT_PREFIX)
			s++;
	segs = aml_name_segs(s);
	if (segs < 0) {
		aml_fail(a, segs);
		return;
	}
	aml_bytes(a, path, s - path);
	if (segs == 0) {
		aml_null_name(a);
		return;
	}
	if (segs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, segs);
	}
	for (; segs; segs--) {
		n = aml_seg_len(s);
		aml_name_seg(a, s, n);
		s += n + 1;
	}
}

void aml_null_name(struct aml *a)
{
	aml_byte(a, 0x00);
}

/* ---- data objects */

void aml_string(struct aml *a, const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		if ((unsigned char)*p > 0x7F) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, p - s + 1);
}

static int aml_hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* EISA ID: three letters of 5 bits each ('A' = 1) and four hex digits. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[5] = { AML_DWORD_PREFIX };
	int i, l[3], h[4];

	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, -EINVAL);
			return;
		}
		l[i] = id[i] - 'A' + 1;
	}
	for (i = 0; i < 4; i++) {
		h[i] = aml_hex_val(id[3 + i]);
		if (h[i] < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	b[1] = (l[0] << 2) | (l[1] >> 3);
	b[2] = ((l[1] & 7) << 5) | l[2];
	b[3] = (h[0] << 4) | h[1];
	b[4] = (h[2] << 4) | h[3];
	aml_bytes(a, b, sizeof(b));
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6)
		aml_fail(a, -EINVAL);
	else
		aml_byte(a, AML_ARG0_OP + n);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7)
		aml_fail(a, -EINVAL);
	else
		aml_byte(a, AML_LOCAL0_OP + n);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, path);
}

/* ---- nesting */

static void aml_push(struct aml *a, enum aml_frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, -E2BIG);
		return;
	}
	a->stack[a->depth].start = a->len;
	a->stack[a->depth].kind = kind;
	a->depth++;
}

/* Insert the element's header at start: PkgLength, then (buffers) the size. */
static void aml_close(struct aml *a, size_t start, int is_buffer)
{
	uint8_t hdr[4 + 9];
	size_t body = a->len - start;
	int n = 0, m;

	if (is_buffer)
		n = aml_int_encode(hdr + 4, body);
	m = aml_pkglen_encode(hdr, body + n);
	if (m < 0) {
		aml_fail(a, m);
		return;
	}
	memmove(hdr + m, hdr + 4, n);
	aml_insert(a, start, hdr, m + n);
}

/* Close the innermost element, which must be of kind `kind`. */
static void aml_pop(struct aml *a, enum aml_frame_kind kind)
{
	struct aml_frame *f;

	if (a->err)
		return;
	if (!a->depth || a->stack[a->depth - 1].kind != kind) {
		aml_fail(a, -EINVAL);
		return;
	}
	f = &a->stack[--a->depth];
	aml_close(a, f->start, f->kind != AML_FRAME_PKG);
}

/* A resource template is closed by aml_res_end() only: it needs its End Tag. */
void aml_end(struct aml *a)
{
	if (a->depth && a->stack[a->depth - 1].kind == AML_FRAME_BUFFER)
		aml_pop(a, AML_FRAME_BUFFER);
	else
		aml_pop(a, AML_FRAME_PKG);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
		      int serialized)
{
	if (nargs > 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, path);
	aml_byte(a, nargs | (serialized ? 0x08 : 0));
}

void aml_package_begin(struct aml *a, unsigned int nr_elements)
{
	if (nr_elements > 255) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_PACKAGE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_byte(a, nr_elements);
}

void aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	aml_push(a, AML_FRAME_PKG);
}

void aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	aml_push(a, AML_FRAME_PKG);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_push(a, AML_FRAME_BUFFER);
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	aml_buffer_begin(a);
	aml_bytes(a, data, n);
	aml_end(a);
}

/* ---- operators */

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_or(struct aml *a)
{
	aml_byte(a, AML_OR_OP);
}

void aml_notify(struct aml *a)
{
	aml_byte(a, AML_NOTIFY_OP);
}

void aml_land(struct aml *a)
{
	aml_byte(a, AML_LAND_OP);
}

void aml_lor(struct aml *a)
{
	aml_byte(a, AML_LOR_OP);
}

void aml_create_dword_field(struct aml *a)
{
	aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
}

void aml_lnot(struct aml *a)
{
	aml_byte(a, AML_LNOT_OP);
}

void aml_lless(struct aml *a)
{
	aml_byte(a, AML_LLESS_OP);
}

void aml_lgreater(struct aml *a)
{
	aml_byte(a, AML_LGREATER_OP);
}

void aml_add(struct aml *a)
{
	aml_byte(a, AML_ADD_OP);
}

void aml_subtract(struct aml *a)
{
	aml_byte(a, AML_SUBTRACT_OP);
}

void aml_increment(struct aml *a)
{
	aml_byte(a, AML_INCREMENT_OP);
}

void aml_shift_left(struct aml *a)
{
	aml_byte(a, AML_SHIFT_LEFT_OP);
}

void aml_shift_right(struct aml *a)
{
	aml_byte(a, AML_SHIFT_RIGHT_OP);
}

void aml_while_begin(struct aml *a)
{
	aml_byte(a, AML_WHILE_OP);
	aml_push(a, AML_FRAME_PKG);
}

/* ---- named objects: regions, fields, mutexes (ch. 20.2.5.2) */

void aml_opregion(struct aml *a, const char *path, uint8_t space,
		  uint64_t offset, uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_name(a, path);
	aml_byte(a, space);
	aml_int(a, offset);
	aml_int(a, len);
}

void aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, region);
	aml_byte(a, flags);
}

static void aml_field_width(struct aml *a, uint32_t bits)
{
	uint8_t pl[4];
	int n = aml_pkglen_value(pl, bits);

	if (n < 0)
		aml_fail(a, n);
	else
		aml_bytes(a, pl, n);
}

void aml_field_unit(struct aml *a, const char *seg, uint32_t bits)
{
	int n = aml_seg_len(seg);

	if (n < 0 || seg[n]) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_name_seg(a, seg, n);
	aml_field_width(a, bits);
}

void aml_field_skip(struct aml *a, uint32_t bits)
{
	aml_byte(a, 0x00);		/* ReservedField */
	aml_field_width(a, bits);
}

void aml_mutex(struct aml *a, const char *path, unsigned int sync_level)
{
	if (sync_level > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_MUTEX_OP);
	aml_name(a, path);
	aml_byte(a, sync_level);
}

void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_ACQUIRE_OP);
	aml_name(a, mutex);
	aml_le(a, timeout, 2);
}

void aml_release(struct aml *a, const char *mutex)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_RELEASE_OP);
	aml_name(a, mutex);
}

/* ---- resource templates (ch. 6.4) */

void aml_res_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_push(a, AML_FRAME_RES);
}

void aml_res_end(struct aml *a)
{
	struct aml_frame *f;
	uint8_t sum = AML_RES_END_TAG;
	size_t i;

	if (a->err)
		return;
	if (!a->depth || a->stack[a->depth - 1].kind != AML_FRAME_RES) {
		aml_fail(a, -EINVAL);
		return;
	}
	f = &a->stack[a->depth - 1];
	/* Checksum byte: all bytes of the template, itself included, sum to 0. */
	for (i = f->start; i < a->len; i++)
		sum += a->buf[i];
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, -sum);
	aml_pop(a, AML_FRAME_RES);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	aml_byte(a, AML_RES_IO_TAG);
	aml_byte(a, 0x01);		/* decodes 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq(struct aml *a, unsigned int irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_RES_IRQ_TAG);
	aml_le(a, 1u << irq, 2);
}

void aml_res_ext_irq(struct aml *a, uint32_t gsi, unsigned int flags)
{
	aml_byte(a, AML_RES_EXT_IRQ_TAG);
	aml_le(a, 6, 2);		/* flags, count, one DWORD */
	aml_byte(a, flags & 0x1F);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, int rw)
{
	aml_byte(a, AML_RES_MEM32F_TAG);
	aml_le(a, 9, 2);
	aml_byte(a, rw ? 1 : 0);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

/*
 * Word, DWord and QWord address space descriptors share one layout with
 * fields of 2, 4 or 8 bytes: granularity, min, max, translation, length.
 * Granularity is 0 (ch. 6.4.3.5: for bus numbers and fixed windows).
 */
static void aml_res_addr(struct aml *a, uint8_t tag, unsigned int w,
			 uint8_t type, uint8_t gflags, uint8_t tflags,
			 const uint64_t v[4])
{
	int i;

	aml_byte(a, tag);
	aml_le(a, 3 + 5 * w, 2);
	aml_byte(a, type);
	aml_byte(a, gflags);
	aml_byte(a, tflags);
	aml_le(a, 0, w);
	for (i = 0; i < 4; i++)
		aml_le(a, v[i], w);
}

void aml_res_word(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		  uint16_t min, uint16_t max, uint16_t tra, uint16_t len)
{
	const uint64_t v[4] = { min, max, tra, len };

	aml_res_addr(a, AML_RES_WORD_TAG, 2, type, gflags, tflags, v);
}

void aml_res_dword(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		   uint32_t min, uint32_t max, uint32_t tra, uint32_t len)
{
	const uint64_t v[4] = { min, max, tra, len };

	aml_res_addr(a, AML_RES_DWORD_TAG, 4, type, gflags, tflags, v);
}

void aml_res_qword(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		   uint64_t min, uint64_t max, uint64_t tra, uint64_t len)
{
	const uint64_t v[4] = { min, max, tra, len };

	aml_res_addr(a, AML_RES_QWORD_TAG, 8, type, gflags, tflags, v);
}
