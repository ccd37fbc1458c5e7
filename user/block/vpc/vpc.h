/* VPC / VHD read-only image parser (Microsoft Virtual Hard Disk Image Format
 * Specification 1.0): footer, dynamic disk header, BAT, sector bitmaps, parent
 * locators. Core independent of block.c, shared by the driver, tests and fuzzing. */
#ifndef KEEL_BLOCK_VPC_VPC_H
#define KEEL_BLOCK_VPC_VPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPC_FOOTER_SIZE		512
#define VPC_DYN_HEADER_SIZE	1024
#define VPC_SECTOR		512

#define VPC_TYPE_FIXED		2
#define VPC_TYPE_DYNAMIC	3
#define VPC_TYPE_DIFF		4

/* qemu-img's limits, which keel follows so that both read the same images */
#define VPC_MAX_GEOMETRY	(65535ull * 16 * 255)	/* sectors */
#define VPC_MAX_SECTORS		0xff000000ull		/* 2040 GiB */
#define VPC_MAX_BLOCK_SIZE	(256u << 20)
#define VPC_BAT_UNUSED		0xffffffffu
#define VPC_PARENT_LOCATORS	8
#define VPC_BAT_MAX_BYTES	(64u << 20)	/* keel's bound: 16M blocks */

typedef int (*vpc_pread_fn)(void *opaque, void *buf, size_t len, uint64_t off);
typedef int (*vpc_parent_fn)(void *opaque, void *buf, size_t len, uint64_t off);

struct vpc_image {
	char name[256];
	vpc_pread_fn pread;
	void *opaque;
	uint64_t file_size;

	/* footer */
	uint32_t disk_type;
	uint64_t current_size;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors_per_track;
	char creator_app[5];
	uint8_t unique_id[16];
	uint64_t virtual_size;		/* as qemu-img reports it */
	bool size_from_chs;

	/* dynamic and differencing */
	uint64_t bat_offset;
	uint32_t max_table_entries;
	uint32_t block_size;
	uint32_t bitmap_size;		/* bytes before each block's data, sector aligned */
	uint32_t *bat;			/* host byte order, sector numbers */
	uint8_t parent_id[16];
	char parent_name[1024];		/* UTF-8, "" if none */
	char parent_paths[VPC_PARENT_LOCATORS][1024];	/* in preference order */
	int nparent_paths;
};

enum vpc_map_kind { VPC_MAP_DATA, VPC_MAP_ZERO, VPC_MAP_PARENT };

int vpc_image_open(struct vpc_image **out, const char *name, vpc_pread_fn pread,
		   void *opaque, uint64_t file_size);
void vpc_image_close(struct vpc_image *p);
/* kind of [off, off+len): *pnum bytes (> 0), *file_off for DATA. */
int vpc_image_map(struct vpc_image *p, uint64_t off, uint64_t len, uint64_t *pnum,
		  uint64_t *file_off);
/* parent may be NULL: parent data then reads as zeroes. */
int vpc_image_read(struct vpc_image *p, void *buf, size_t len, uint64_t off,
		   vpc_parent_fn parent, void *parent_opaque);
/* The one's complement checksum of the footer or dynamic header (checksum_at skipped). */
uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t checksum_at);

#endif
