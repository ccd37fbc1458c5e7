/*
 * A small AML writer (ACPI 6.x ch. 20, AML grammar; ch. 6.4, resource
 * descriptors): append-only byte stream with nested elements whose
 * PkgLength is computed when they are closed.
 */
#ifndef KEEL_VMM_ACPI_AML_H
#define KEEL_VMM_ACPI_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH		32
#define AML_PKGLEN_MAX		0x0FFFFFFF	/* 28 bits, ch. 20.2.4 */

/* Opcodes (ch. 20.2) the writer and its users need. */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0A
#define AML_WORD_PREFIX		0x0B
#define AML_DWORD_PREFIX	0x0C
#define AML_STRING_PREFIX	0x0D
#define AML_QWORD_PREFIX	0x0E
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2E
#define AML_MULTI_NAME_PREFIX	0x2F
#define AML_EXT_OP_PREFIX	0x5B
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_PREFIX	'^'
#define AML_MUTEX_OP		0x01	/* after AML_EXT_OP_PREFIX */
#define AML_ACQUIRE_OP		0x23	/* after AML_EXT_OP_PREFIX */
#define AML_RELEASE_OP		0x27	/* after AML_EXT_OP_PREFIX */
#define AML_OPREGION_OP		0x80	/* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP		0x81	/* after AML_EXT_OP_PREFIX */
#define AML_LOCAL0_OP		0x60
#define AML_ARG0_OP		0x68
#define AML_STORE_OP		0x70
#define AML_ADD_OP		0x72
#define AML_SUBTRACT_OP		0x74
#define AML_INCREMENT_OP	0x75
#define AML_SHIFT_LEFT_OP	0x79
#define AML_SHIFT_RIGHT_OP	0x7A
#define AML_AND_OP		0x7B
#define AML_OR_OP		0x7D
#define AML_NOTIFY_OP		0x86
#define AML_CREATE_DWORD_FIELD_OP	0x8A
#define AML_LAND_OP		0x90
#define AML_LOR_OP		0x91
#define AML_LNOT_OP		0x92
#define AML_LEQUAL_OP		0x93
#define AML_LGREATER_OP		0x94
#define AML_LLESS_OP		0x95
#define AML_IF_OP		0xA0
#define AML_ELSE_OP		0xA1
#define AML_WHILE_OP		0xA2
#define AML_RETURN_OP		0xA4
#define AML_ONES_OP		0xFF

/* OperationRegion spaces (ch. 19.6.100) and Field flags (ch. 19.6.48). */
#define AML_SPACE_MEMORY	0x00
#define AML_SPACE_IO		0x01
#define AML_SPACE_PCI_CONFIG	0x02
#define AML_FIELD_ANY_ACC	0x00
#define AML_FIELD_BYTE_ACC	0x01
#define AML_FIELD_WORD_ACC	0x02
#define AML_FIELD_DWORD_ACC	0x03
#define AML_FIELD_QWORD_ACC	0x04
#define AML_FIELD_LOCK		(1u << 4)
#define AML_FIELD_PRESERVE	(0u << 5)
#define AML_FIELD_WRITE_ONES	(1u << 5)
#define AML_FIELD_WRITE_ZEROS	(2u << 5)

/* Extended Interrupt descriptor flags (ch. 6.4.3.6). */
#define AML_IRQ_CONSUMER	(1u << 0)
#define AML_IRQ_EDGE		(1u << 1)	/* clear: level */
#define AML_IRQ_ACTIVE_LOW	(1u << 2)	/* clear: active high */
#define AML_IRQ_SHARED		(1u << 3)
#define AML_IRQ_WAKE		(1u << 4)

/* Address space descriptors (ch. 6.4.3.5): resource type. */
#define AML_RES_MEMORY		0
#define AML_RES_IO		1
#define AML_RES_BUS		2
/* General flags. */
#define AML_ADDR_CONSUMER	(1u << 0)	/* clear: producer (bridges) */
#define AML_ADDR_SUB_DECODE	(1u << 1)
#define AML_ADDR_MIN_FIXED	(1u << 2)
#define AML_ADDR_MAX_FIXED	(1u << 3)
/* Type-specific flags, memory. */
#define AML_MEM_RW		(1u << 0)
#define AML_MEM_CACHEABLE	(1u << 1)
#define AML_MEM_WC		(2u << 1)
#define AML_MEM_PREFETCHABLE	(3u << 1)
/* Type-specific flags, I/O. */
#define AML_IO_RANGE_ENTIRE	3u

struct aml_frame {
	size_t start;		/* where the PkgLength goes */
	uint8_t kind;
};

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;		/* first error, sticky; 0 when fine */
	unsigned int depth;
	struct aml_frame stack[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
/* 0 when every element is closed and nothing failed, else negative errno. */
int aml_finish(struct aml *a);
void aml_free(struct aml *a);

/* Raw bytes. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *data, size_t n);

/*
 * PkgLength for a body of body_len bytes following it: writes 1-4 bytes to
 * out and returns how many, or -ERANGE when it does not fit in 28 bits.
 */
int aml_pkglen_encode(uint8_t out[4], size_t body_len);

/* NameString: "\\_SB.PCI0", "^^FOO", "_S5"; segments padded with '_'. */
void aml_name(struct aml *a, const char *path);
void aml_null_name(struct aml *a);

/* Data objects. */
void aml_int(struct aml *a, uint64_t v);	/* Zero, One, or smallest prefix */
void aml_ones(struct aml *a);
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);	/* "PNP0501" */
void aml_buffer(struct aml *a, const void *data, size_t n);
void aml_arg(struct aml *a, unsigned int n);	/* Arg0 .. Arg6 */
void aml_local(struct aml *a, unsigned int n);	/* Local0 .. Local7 */

/* Name (path, <next object>). */
void aml_name_decl(struct aml *a, const char *path);
void aml_opregion(struct aml *a, const char *path, uint8_t space,
		  uint64_t offset, uint64_t len);
void aml_mutex(struct aml *a, const char *path, unsigned int sync_level);

/*
 * Nested elements: each *_begin is closed by aml_end(), which patches in
 * the PkgLength (and, for buffers, the buffer size).
 */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
void aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
		      int serialized);
void aml_package_begin(struct aml *a, unsigned int nr_elements);
void aml_if_begin(struct aml *a);	/* then: predicate, then body */
void aml_else_begin(struct aml *a);	/* right after the If's aml_end() */
void aml_buffer_begin(struct aml *a);	/* then: byte list */
void aml_while_begin(struct aml *a);	/* then: predicate, then body */
/* Field (region, flags) { units }: closed by aml_end() too. */
void aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *seg, uint32_t bits);
void aml_field_skip(struct aml *a, uint32_t bits);	/* Offset gap */
void aml_end(struct aml *a);		/* not for aml_res_begin(): aml_res_end() */

/*
 * Operators in prefix form: emit the opcode, then the caller emits the
 * operands in the order of the grammar (targets last; aml_null_name()
 * for "no target").
 */
void aml_return(struct aml *a);		/* ArgObject */
void aml_store(struct aml *a);		/* TermArg SuperName */
void aml_lequal(struct aml *a);		/* Operand Operand */
void aml_and(struct aml *a);		/* Operand Operand Target */
void aml_or(struct aml *a);		/* Operand Operand Target */
void aml_notify(struct aml *a);		/* SuperName TermArg */
void aml_land(struct aml *a);		/* Operand Operand */
void aml_lor(struct aml *a);		/* Operand Operand */
void aml_lnot(struct aml *a);		/* Operand */
void aml_lless(struct aml *a);		/* Operand Operand */
void aml_lgreater(struct aml *a);	/* Operand Operand */
void aml_add(struct aml *a);		/* Operand Operand Target */
void aml_subtract(struct aml *a);	/* Operand Operand Target */
void aml_increment(struct aml *a);	/* SuperName */
void aml_shift_left(struct aml *a);	/* Operand ShiftCount Target */
void aml_shift_right(struct aml *a);	/* Operand ShiftCount Target */
void aml_create_dword_field(struct aml *a);	/* SourceBuff ByteIndex NameString */
void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout);
void aml_release(struct aml *a, const char *mutex);

/* Resource templates: a Buffer of descriptors ended by an End Tag. */
void aml_res_begin(struct aml *a);
void aml_res_end(struct aml *a);	/* End Tag with checksum, closes the Buffer */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
void aml_res_irq(struct aml *a, unsigned int irq);	/* ISA: edge, high */
void aml_res_ext_irq(struct aml *a, uint32_t gsi, unsigned int flags);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, int rw);
void aml_res_word(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		  uint16_t min, uint16_t max, uint16_t tra, uint16_t len);
void aml_res_dword(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		   uint32_t min, uint32_t max, uint32_t tra, uint32_t len);
void aml_res_qword(struct aml *a, uint8_t type, uint8_t gflags, uint8_t tflags,
		   uint64_t min, uint64_t max, uint64_t tra, uint64_t len);

#endif
