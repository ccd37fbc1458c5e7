/*
 * The migration stream (Documentation/migration.md, "The stream"): a header
 * (magic, stream version, machine type and its version), then records:
 * device sections (name, instance, version, length, CRC-32), RAM pages
 * (normal, zero, XBZRLE delta) and an end marker. Written to and read from
 * a file descriptor (socket, pipe, file); the reader treats every byte as
 * hostile.
 */
#ifndef KEEL_MIGRATE_STREAM_H
#define KEEL_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_STREAM_VERSION	1
#define MIG_PAGE_SIZE		4096u
#define MIG_NAME_MAX		64		/* section and instance names, with the NUL */
#define MIG_SECTION_MAX		(16u << 20)	/* the largest section a reader takes */

enum mig_page_kind {
	MIG_PAGE_NORMAL,	/* MIG_PAGE_SIZE bytes */
	MIG_PAGE_ZERO,		/* no payload */
	MIG_PAGE_XBZRLE,	/* a delta against the page the destination holds */
};

/* A stream being written: buffered writes to fd (not owned). */
struct mig_out;

struct mig_out *mig_out_new(int fd);
/* Flush and free; returns the first error seen (sticky), or 0. */
int mig_out_close(struct mig_out *o);
int mig_out_flush(struct mig_out *o);
/* Bytes handed to the fd so far, and buffered. */
uint64_t mig_out_bytes(const struct mig_out *o);
/* The first write error (-errno), or 0; every put after one fails fast. */
int mig_out_error(const struct mig_out *o);

int mig_put_header(struct mig_out *o, const char *machine, unsigned int machine_version);
int mig_put_section(struct mig_out *o, const char *name, const char *instance,
		    unsigned int version, const void *data, size_t len);
/* One page at a page-aligned guest-physical address; len: NORMAL 4096, ZERO 0, XBZRLE delta. */
int mig_put_page(struct mig_out *o, enum mig_page_kind kind, uint64_t gpa, const void *data,
		 size_t len);
int mig_put_end(struct mig_out *o);

/* A stream being read from fd (not owned). */
struct mig_in;

struct mig_in *mig_in_new(int fd);
void mig_in_free(struct mig_in *in);
uint64_t mig_in_bytes(const struct mig_in *in);

struct mig_header {
	unsigned int stream_version;
	char machine[MIG_NAME_MAX];
	unsigned int machine_version;
};

enum mig_rec_kind {
	MIG_REC_SECTION,
	MIG_REC_PAGE,
	MIG_REC_END,
};

struct mig_record {
	enum mig_rec_kind kind;
	/* MIG_REC_SECTION */
	char name[MIG_NAME_MAX];
	char instance[MIG_NAME_MAX];
	unsigned int version;
	/* MIG_REC_PAGE */
	enum mig_page_kind page_kind;
	uint64_t gpa;
	/* Payload of a section or a page; valid until the next mig_get_record(). */
	const uint8_t *data;
	size_t len;
};

/*
 * The header: bad magic, an unknown stream version, a name that is not
 * printable: -EINVAL with err ("not a keel migration stream", ...).
 * EOF or a read error: -EIO / -errno with err.
 */
int mig_get_header(struct mig_in *in, struct mig_header *h, char *err, size_t errlen);
/*
 * The next record: a checksum mismatch, a length past MIG_SECTION_MAX, an
 * unaligned or oversized page, an unknown record tag, EOF before the end
 * marker: -EINVAL / -EIO with err naming the offset and what was wrong.
 */
int mig_get_record(struct mig_in *in, struct mig_record *r, char *err, size_t errlen);

#endif
