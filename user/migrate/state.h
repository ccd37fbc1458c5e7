/*
 * Device state descriptions (Documentation/migration.md, "Device state"):
 * a device says once which fields of a plain struct make up its migratable
 * state, with a version and the oldest version it still loads. The stream
 * code walks these descriptions and knows no device type.
 */
#ifndef KEEL_MIGRATE_STATE_H
#define KEEL_MIGRATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mig_type {
	MIG_END = 0,		/* terminates a field list */
	MIG_U8,
	MIG_U16,
	MIG_U32,
	MIG_U64,		/* integers: little-endian on the wire */
	MIG_BOOL,		/* a bool in memory; one byte 0 or 1 on the wire */
	MIG_BYTES,		/* size bytes as they are (register files, config space) */
	MIG_STRUCT,		/* a nested description (sub) over a member struct */
};

struct dev_state_desc;

/*
 * One field: a member of the plain struct, or a fixed array of them (count
 * elements of size bytes each), or a variable array whose length is the
 * uint32_t at count_off (at most count elements; a longer length in a
 * stream is refused; on the wire the array carries its own length, which
 * load stores at count_off). since: the first section version holding the field;
 * loading an older version leaves it as the device initialised it.
 */
struct mig_field {
	const char *name;
	enum mig_type type;
	size_t offset;
	size_t size;			/* one element in memory */
	unsigned int count;		/* elements; 0 means 1 */
	bool varray;			/* the length is the uint32_t at count_off */
	size_t count_off;
	unsigned int since;
	const struct dev_state_desc *sub;	/* MIG_STRUCT */
};

struct dev_state_desc {
	const char *name;		/* the section name: "serial", "virtio-blk", "cpu" */
	unsigned int version;		/* what this build writes */
	unsigned int min_version;	/* the oldest this build loads */
	const struct mig_field *fields;	/* ends with an entry of type MIG_END */
	/* The plain struct the fields describe for this instance; NULL: opaque itself. */
	void *(*state)(void *opaque);
	/* Vcpus stopped, I/O drained: bring the plain struct up to date. 0 or -errno. */
	int (*pre_save)(void *opaque);
	/*
	 * After the fields were loaded: check them against each other (a
	 * stream is hostile input: an index past a table, a size the device
	 * cannot have) and rebuild the host side (IRQ levels, timers, irqfd
	 * routes, ioeventfds, BAR decode, ring addresses). 0, or -errno with
	 * one sentence in err naming the field.
	 */
	int (*post_load)(void *opaque, unsigned int version, char *err, size_t errlen);
};

/* Compile-time check that a member has the size its field type says. */
#define MIG_SIZE_OF(st, m, want) \
	(sizeof(((st *)0)->m) + 0 * sizeof(char[sizeof(((st *)0)->m) == (want) ? 1 : -1]))
#define MIG_ELEM_OF(st, m, want) \
	(sizeof(((st *)0)->m[0]) + 0 * sizeof(char[sizeof(((st *)0)->m[0]) == (want) ? 1 : -1]))
#define MIG_COUNT_OF(st, m)	(sizeof(((st *)0)->m) / sizeof(((st *)0)->m[0]))

/* Fields; trailing designated initializers add options: MIG_U32(struct s, x, .since = 2) */
#define MIG_SCALAR(st, m, t, sz, ...) { .name = #m, .type = (t), .offset = offsetof(st, m), \
	.size = MIG_SIZE_OF(st, m, sz), __VA_ARGS__ }
#define MIG_U8(st, m, ...)	MIG_SCALAR(st, m, MIG_U8, 1, __VA_ARGS__)
#define MIG_U16(st, m, ...)	MIG_SCALAR(st, m, MIG_U16, 2, __VA_ARGS__)
#define MIG_U32(st, m, ...)	MIG_SCALAR(st, m, MIG_U32, 4, __VA_ARGS__)
#define MIG_U64(st, m, ...)	MIG_SCALAR(st, m, MIG_U64, 8, __VA_ARGS__)
#define MIG_BOOL(st, m, ...)	MIG_SCALAR(st, m, MIG_BOOL, sizeof(bool), __VA_ARGS__)

#define MIG_ARRAY(st, m, t, sz, ...) { .name = #m, .type = (t), .offset = offsetof(st, m), \
	.size = MIG_ELEM_OF(st, m, sz), .count = MIG_COUNT_OF(st, m), __VA_ARGS__ }
#define MIG_U8_ARRAY(st, m, ...)	MIG_ARRAY(st, m, MIG_U8, 1, __VA_ARGS__)
#define MIG_U16_ARRAY(st, m, ...)	MIG_ARRAY(st, m, MIG_U16, 2, __VA_ARGS__)
#define MIG_U32_ARRAY(st, m, ...)	MIG_ARRAY(st, m, MIG_U32, 4, __VA_ARGS__)
#define MIG_U64_ARRAY(st, m, ...)	MIG_ARRAY(st, m, MIG_U64, 8, __VA_ARGS__)
#define MIG_BOOL_ARRAY(st, m, ...)	MIG_ARRAY(st, m, MIG_BOOL, sizeof(bool), __VA_ARGS__)

/* A byte buffer member (uint8_t x[N], or any plain member copied as it is). */
#define MIG_BYTES(st, m, ...) { .name = #m, .type = MIG_BYTES, .offset = offsetof(st, m), \
	.size = sizeof(((st *)0)->m), __VA_ARGS__ }

/* A member struct described by desc (its state hook is not used). */
#define MIG_STRUCT(st, m, desc, ...) { .name = #m, .type = MIG_STRUCT, \
	.offset = offsetof(st, m), .size = sizeof(((st *)0)->m), .sub = (desc), __VA_ARGS__ }
/* A fixed array of member structs. */
#define MIG_STRUCT_ARRAY(st, m, desc, ...) { .name = #m, .type = MIG_STRUCT, \
	.offset = offsetof(st, m), .size = sizeof(((st *)0)->m[0]), \
	.count = MIG_COUNT_OF(st, m), .sub = (desc), __VA_ARGS__ }
/* An array of structs whose used length is the uint32_t member n (<= the array's size). */
#define MIG_STRUCT_VARRAY(st, m, n, desc, ...) { .name = #m, .type = MIG_STRUCT, \
	.offset = offsetof(st, m), .size = sizeof(((st *)0)->m[0]), \
	.count = MIG_COUNT_OF(st, m), .varray = true, \
	.count_off = offsetof(st, n) + 0 * MIG_SIZE_OF(st, n, 4), .sub = (desc), __VA_ARGS__ }
#define MIG_U64_VARRAY(st, m, n, ...) { .name = #m, .type = MIG_U64, .offset = offsetof(st, m), \
	.size = MIG_ELEM_OF(st, m, 8), .count = MIG_COUNT_OF(st, m), .varray = true, \
	.count_off = offsetof(st, n) + 0 * MIG_SIZE_OF(st, n, 4), __VA_ARGS__ }
#define MIG_U16_VARRAY(st, m, n, ...) { .name = #m, .type = MIG_U16, .offset = offsetof(st, m), \
	.size = MIG_ELEM_OF(st, m, 2), .count = MIG_COUNT_OF(st, m), .varray = true, \
	.count_off = offsetof(st, n) + 0 * MIG_SIZE_OF(st, n, 4), __VA_ARGS__ }
#define MIG_FIELDS_END	{ .type = MIG_END }

/* A growable byte buffer a section is serialised into. */
struct mig_buf {
	uint8_t *data;
	size_t len, cap;
	int err;			/* first failure (-ENOMEM), sticky */
};

void mig_buf_init(struct mig_buf *b);
void mig_buf_free(struct mig_buf *b);
void mig_buf_put(struct mig_buf *b, const void *p, size_t n);

/*
 * Serialise one instance (desc->pre_save first, then the fields of
 * desc->state(opaque), at desc->version) onto out. 0 or -errno.
 */
int mig_state_save(const struct dev_state_desc *desc, void *opaque, struct mig_buf *out);

/*
 * Load a section of the given version into the instance, then run
 * desc->post_load. A version outside [min_version, version], data too
 * short or too long, a bool that is not 0/1, a variable array longer than
 * its member: -EINVAL with err naming the section and field. The data is
 * checked whole before any field is written, so a refused section leaves
 * the instance as it was.
 */
int mig_state_load(const struct dev_state_desc *desc, void *opaque, unsigned int version,
		   const uint8_t *data, size_t len, char *err, size_t errlen);

/* Every field's name, type and offset: for tests and `keel migrate-dump --fields`. */
void mig_state_print(const struct dev_state_desc *desc, const uint8_t *data, size_t len,
		     unsigned int version, void (*line)(void *opaque, const char *s),
		     void *opaque);

#endif
