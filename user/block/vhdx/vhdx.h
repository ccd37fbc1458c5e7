/* VHDX read-only image parser (MS-VHDX v1.0): file identifier, headers, region
 * tables, log replay, metadata, BAT and the read path. Core independent of block.c. */
#ifndef KEEL_BLOCK_VHDX_VHDX_H
#define KEEL_BLOCK_VHDX_VHDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHDX_KIB			1024ull
#define VHDX_MIB			(1024ull * 1024)
#define VHDX_HEADER1_OFFSET		(64 * VHDX_KIB)
#define VHDX_HEADER2_OFFSET		(128 * VHDX_KIB)
#define VHDX_HEADER_SIZE		(4 * VHDX_KIB)
#define VHDX_REGION1_OFFSET		(192 * VHDX_KIB)
#define VHDX_REGION2_OFFSET		(256 * VHDX_KIB)
#define VHDX_REGION_TABLE_SIZE		(64 * VHDX_KIB)
#define VHDX_REGION_MAX_ENTRIES		2047
#define VHDX_METADATA_TABLE_SIZE	(64 * VHDX_KIB)
#define VHDX_METADATA_MAX_ENTRIES	2047
#define VHDX_METADATA_ITEM_MAX		VHDX_MIB
#define VHDX_LOG_SECTOR			4096
#define VHDX_MAX_VIRTUAL_SIZE		(64ull << 40)
/* keel's own bounds (not the spec's): memory for the log and the BAT. */
#define VHDX_LOG_MAX_LENGTH		(64 * VHDX_MIB)
#define VHDX_BAT_MAX_BYTES		(256 * VHDX_MIB)

/* BAT entry states (MS-VHDX 2.5.1.1, 2.5.1.2) */
#define VHDX_PAYLOAD_NOT_PRESENT	0
#define VHDX_PAYLOAD_UNDEFINED		1
#define VHDX_PAYLOAD_ZERO		2
#define VHDX_PAYLOAD_UNMAPPED		3
#define VHDX_PAYLOAD_FULLY_PRESENT	6
#define VHDX_PAYLOAD_PARTIALLY_PRESENT	7
#define VHDX_SB_NOT_PRESENT		0
#define VHDX_SB_PRESENT			6

/* Reads bytes [off, off+len) of the image file; zeroes past end of file. 0 or -errno. */
typedef int (*vhdx_pread_fn)(void *opaque, void *buf, size_t len, uint64_t off);
/* Reads bytes of the parent disk (differencing images). 0 or -errno. */
typedef int (*vhdx_parent_fn)(void *opaque, void *buf, size_t len, uint64_t off);

/* One write recovered from the log, applied over the file image in memory. */
struct vhdx_log_write {
	uint64_t offset;
	uint64_t length;
	const uint8_t *data;		/* NULL: zeroes */
};

struct vhdx_header {
	uint64_t seq;
	uint8_t file_write_guid[16];
	uint8_t data_write_guid[16];
	uint8_t log_guid[16];
	uint32_t log_length;
	uint64_t log_offset;
};

struct vhdx_image {
	char name[256];			/* for messages: the file name */
	vhdx_pread_fn pread;
	void *opaque;
	uint64_t file_size;		/* as found on disk */
	uint64_t file_end;		/* max(file_size, log's LastFileOffset) */

	struct vhdx_header hdr;		/* the current header */
	int hdr_index;			/* 1 or 2 */

	/* log replayed in memory (empty when the log was clean) */
	struct vhdx_log_write *log_writes;
	unsigned int log_nwrites;
	uint8_t *log_data;
	uint64_t log_replayed_seq;	/* sequence number of the head entry, 0: none */

	uint64_t bat_offset;
	uint32_t bat_length;
	uint64_t meta_offset;
	uint32_t meta_length;

	/* metadata */
	uint32_t block_size;
	bool leave_blocks_allocated;
	bool has_parent;
	uint64_t virtual_size;
	uint32_t logical_sector_size;
	uint32_t physical_sector_size;
	uint8_t page83[16];
	bool have_page83;
	char parent_linkage[64];	/* "{xxxxxxxx-...}" or "" */
	char parent_linkage2[64];
	char parent_relative[1024];	/* '/'-separated, or "" */
	char parent_absolute[1024];	/* absolute_win32_path, '/'-separated, or "" */
	char parent_volume[1024];

	/* BAT */
	uint64_t *bat;
	uint64_t bat_entries;
	uint64_t payload_blocks;
	uint64_t chunk_ratio;
	uint64_t sb_blocks;
};

/* What a range of the virtual disk maps to (vhdx_image_map). */
enum vhdx_map_kind {
	VHDX_MAP_DATA,		/* file bytes at *file_off */
	VHDX_MAP_ZERO,
	VHDX_MAP_PARENT,	/* read the parent at the same offset */
	VHDX_MAP_LOGGED,	/* data overlaps a replayed log write: use vhdx_image_read */
};

/* Open and check everything up to the BAT. The pread callback must stay valid. */
int vhdx_image_open(struct vhdx_image **out, const char *name, vhdx_pread_fn pread,
		    void *opaque, uint64_t file_size);
void vhdx_image_close(struct vhdx_image *v);
/* Read virtual disk bytes. parent may be NULL when the image has no parent: then
 * parent data reads as zeroes. */
int vhdx_image_read(struct vhdx_image *v, void *buf, size_t len, uint64_t off,
		    vhdx_parent_fn parent, void *parent_opaque);
/* Map [off, off+len): returns kind, *pnum bytes (> 0) sharing it, *file_off for DATA. */
int vhdx_image_map(struct vhdx_image *v, uint64_t off, uint64_t len, uint64_t *pnum,
		   uint64_t *file_off);
/* "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" of a GUID in on-disk byte order. */
void vhdx_guid_format(const uint8_t guid[16], char out[39]);

/* internal, between the parser's files */
int vhdx_file_read(struct vhdx_image *v, void *buf, size_t len, uint64_t off);
int vhdx_header_load(struct vhdx_image *v);
int vhdx_region_load(struct vhdx_image *v);
int vhdx_log_replay(struct vhdx_image *v);
void vhdx_log_free(struct vhdx_image *v);
int vhdx_meta_load(struct vhdx_image *v);
int vhdx_bat_load(struct vhdx_image *v);

static inline uint16_t vhdx_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vhdx_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t vhdx_le64(const uint8_t *p)
{
	return (uint64_t)vhdx_le32(p) | (uint64_t)vhdx_le32(p + 4) << 32;
}

#endif
