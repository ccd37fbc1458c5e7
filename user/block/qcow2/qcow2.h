/* qcow2 driver internals: on-disk constants, image state and the functions the
 * files of user/block/qcow2/ share (QEMU docs/interop/qcow2.txt, versions 2 and 3). */
#ifndef KEEL_BLOCK_QCOW2_QCOW2_H
#define KEEL_BLOCK_QCOW2_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define QCOW2_MAGIC		0x514649fbU
#define QCOW2_V2_HDR_LEN	72
#define QCOW2_V3_HDR_LEN	104
#define QCOW2_HDR_LEN		112	/* v3 + compression_type, padded to 8 */

#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21

/* Bounds on what an image may make us allocate or walk. */
#define QCOW2_MAX_L1_BYTES	(32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS	65536
#define QCOW2_MAX_SNAP_EXTRA	1024
#define QCOW2_MAX_SNAP_TABLE	(64u << 20)
#define QCOW2_MAX_SIZE		(1ULL << 55)
#define QCOW2_MAX_BACKING_NAME	1023
#define QCOW2_MAX_EXTS		64

/* Table entry bits. */
#define QCOW2_OFLAG_COPIED	(1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ULL << 62)
#define QCOW2_OFLAG_ZERO	1ULL
#define QCOW2_L1E_OFFSET_MASK	0x00fffffffffffe00ULL
#define QCOW2_L2E_OFFSET_MASK	0x00fffffffffffe00ULL
#define QCOW2_REFT_OFFSET_MASK	0xfffffffffffffe00ULL
#define QCOW2_L1E_RESERVED	0x7f000000000001ffULL
#define QCOW2_L2E_RESERVED	0x3f000000000001feULL

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY	(1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT	(1ULL << 1)
#define QCOW2_INCOMPAT_DATAFILE	(1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESS	(1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2	(1ULL << 4)
#define QCOW2_INCOMPAT_KNOWN	(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
				 QCOW2_INCOMPAT_COMPRESS)
#define QCOW2_COMPAT_LAZY	(1ULL << 0)
#define QCOW2_AUTOCLEAR_BITMAPS	(1ULL << 0)

/* Header extension types. */
#define QCOW2_EXT_END		0x00000000U
#define QCOW2_EXT_BACKING_FMT	0xe2792acaU
#define QCOW2_EXT_FEATURES	0x6803f857U
#define QCOW2_EXT_BITMAPS	0x23852875U
#define QCOW2_EXT_CRYPTO	0x0537be77U
#define QCOW2_EXT_DATAFILE	0x44415441U

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

/* Header fields in host order. */
struct qcow2_header {
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
};

/* A header extension kept as read (all but backing format), written back as is. */
struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint32_t vm_state_size;
	uint64_t disk_size;
	uint32_t extra_size;
	uint8_t *extra;		/* whole extra data, preserved */
};

/* Cache of cluster-sized tables (L2 tables or refcount blocks), clock eviction. */
struct qcow2_cache_slot {
	uint64_t offset;	/* 0 = empty */
	uint8_t *buf;
	int next;		/* hash chain */
	bool dirty;
	bool ref;
};

struct qcow2_cache {
	struct qcow2 *q;
	const char *what;
	unsigned n;
	struct qcow2_cache_slot *slots;
	int *hash;
	unsigned hash_mask;
	unsigned hand;
	uint8_t *mem;
	unsigned n_dirty;
	/* Called before a dirty slot of this cache is written back. */
	int (*before_writeback)(struct qcow2 *q);
};

/* What a backing image offers: a synchronous read and its size. */
struct qcow2_backing_ops {
	int (*read)(void *opaque, uint64_t off, void *buf, size_t len);
	void (*close)(void *opaque);
};

struct qcow2_free {
	uint64_t offset;
	uint64_t len;
};

struct block_file;

#define QCOW2_BOUNCE_SIZE	(1u << 20)

struct qcow2 {
	char name[64];
	int fd;
	struct block_file *file;	/* when opened through the block layer */
	bool writable;
	bool no_sync;

	struct qcow2_header h;
	struct qcow2_ext *exts;
	unsigned n_exts;
	char *backing_file;
	char *backing_fmt;

	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;
	uint64_t l2_size;

	uint64_t *l1;
	uint32_t l1_size;

	uint64_t *reftable;
	uint64_t reftable_size;
	unsigned refcount_bits;
	unsigned refblock_bits;
	uint64_t refcount_max;

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;

	uint64_t free_hint;	/* cluster index where the free search starts */
	bool append_only;	/* allocate only past the end (repair) */
	uint64_t file_size;

	const struct qcow2_backing_ops *bops;
	void *backing;
	uint64_t backing_size;

	struct qcow2_snapshot *snaps;
	unsigned n_snaps;
	uint64_t snap_table_len;

	bool lazy;
	bool dirty_marked;
	bool meta_dirty;
	bool backing_missing;	/* has a backing file we did not open */

	struct qcow2_free *frees;
	size_t n_frees;
	size_t cap_frees;

	uint8_t *cbuf;		/* compressed input, 2 clusters */
	uint8_t *cow_buf;	/* one cluster for copy-on-write */
	uint8_t *dbuf;		/* last decompressed cluster */
	uint64_t dbuf_entry;	/* its L2 entry, 0 = none */
	uint8_t *bounce;	/* QCOW2_BOUNCE_SIZE */
	uint8_t *zero_buf;	/* one cluster of zeroes */
	void *zstd_dctx;
	void *zstd_cctx;
	void *zs;		/* z_stream for inflate */
	void *zs_def;		/* z_stream for deflate */
	struct qcow2_cpool *cpool;	/* compression workers (convert -c) */
	bool in_drain;
	uint64_t comp_cursor;	/* next byte for compressed writes, 0 = none */
	struct iovec *iov_tmp;
	struct iovec *iov_cow;
	int iov_tmp_max;
};

/* header.c */
int qcow2_header_parse(struct qcow2 *q, const uint8_t *buf, size_t len, uint64_t file_size);
int qcow2_header_write(struct qcow2 *q);
int qcow2_header_update(struct qcow2 *q);
void qcow2_header_free(struct qcow2 *q);
int qcow2_header_set_backing(struct qcow2 *q, const char *file, const char *fmt);

/* cache.c */
int qcow2_cache_init(struct qcow2_cache *c, struct qcow2 *q, const char *what, unsigned n);
void qcow2_cache_destroy(struct qcow2_cache *c);
int qcow2_cache_get(struct qcow2_cache *c, uint64_t offset, bool fill, uint8_t **buf);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t offset);
int qcow2_cache_flush(struct qcow2_cache *c);
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_drop_all(struct qcow2_cache *c);

/* refcount.c */
int qcow2_refcount_init(struct qcow2 *q);
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_refcount_update(struct qcow2 *q, uint64_t offset, uint64_t len, int64_t delta);
int64_t qcow2_alloc_clusters(struct qcow2 *q, uint64_t n);
int64_t qcow2_alloc_bytes(struct qcow2 *q, uint64_t size);
int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len);
int qcow2_process_frees(struct qcow2 *q);
int qcow2_refcount_flush(struct qcow2 *q);
int qcow2_set_dirty(struct qcow2 *q);
int qcow2_refcount_set_raw(struct qcow2 *q, uint64_t cluster, uint64_t value);
uint64_t qcow2_refblock_get(const struct qcow2 *q, const uint8_t *blk, uint64_t i);
void qcow2_refblock_set(const struct qcow2 *q, uint8_t *blk, uint64_t i, uint64_t v);

/* cluster.c */
int qcow2_l2_load(struct qcow2 *q, unsigned l1_index, bool alloc, uint8_t **l2, uint64_t *l2_off);
int qcow2_readv(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
int qcow2_writev(struct qcow2 *q, uint64_t off, const struct iovec *iov, int iovcnt, size_t len);
int qcow2_place_compressed(struct qcow2 *q, uint64_t off, const void *raw, const uint8_t *comp,
			   size_t clen);

/* compress.c */
size_t qcow2_compress(int type, void **zstd_cctx, void **zs, const void *in, size_t len,
		      uint8_t *out, size_t cap);
int qcow2_write_compressed(struct qcow2 *q, uint64_t off, const void *buf);
int qcow2_compress_drain(struct qcow2 *q);
void qcow2_compress_stop(struct qcow2 *q);
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero);
int qcow2_flush_meta(struct qcow2 *q);
int qcow2_decompress(struct qcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out);
void qcow2_compressed_desc(const struct qcow2 *q, uint64_t l2e, uint64_t *off, uint64_t *len);
int qcow2_grow_l1(struct qcow2 *q, uint64_t min_size);
enum qcow2_kind { QCOW2_UNALLOC, QCOW2_ZERO, QCOW2_DATA, QCOW2_COMPRESSED };
int qcow2_block_status(struct qcow2 *q, uint64_t off, uint64_t *len, int *kind,
		       uint64_t *map);

/* snapshot.c */
int qcow2_snapshot_load(struct qcow2 *q);
void qcow2_snapshot_free_all(struct qcow2 *q);
int qcow2_snapshot_create(struct qcow2 *q, const char *name);
int qcow2_snapshot_apply(struct qcow2 *q, const char *name);
int qcow2_snapshot_delete(struct qcow2 *q, const char *name);
int qcow2_l1_check_unique(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size);
int qcow2_tree_update_refs(struct qcow2 *q, const uint64_t *l1, uint32_t l1_size, int delta);
int qcow2_fix_copied(struct qcow2 *q, bool fix, uint64_t *mismatch);

/* check.c */
struct qcow2_check_result {
	uint64_t corruptions;
	uint64_t leaks;
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t check_errors;
	uint64_t allocated_clusters;
	uint64_t total_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;
};
#define QCOW2_FIX_LEAKS		1
#define QCOW2_FIX_ERRORS	2
int qcow2_check(struct qcow2 *q, int fix, struct qcow2_check_result *res);

/* create.c */
struct qcow2_create_opts {
	uint64_t size;
	unsigned cluster_size;
	unsigned refcount_bits;
	unsigned version;	/* 2 or 3 */
	bool lazy_refcounts;
	enum qcow2_compression compression;
	const char *backing_file;
	const char *backing_fmt;
};
int qcow2_create_file(int fd, const struct qcow2_create_opts *o);

/* qcow2.c */
#define QCOW2_OPEN_RW		1
#define QCOW2_OPEN_NO_SYNC	2
#define QCOW2_OPEN_NO_REPAIR	4
int qcow2_open_fd(struct qcow2 **out, int fd, const char *name, unsigned flags);
void qcow2_attach_backing(struct qcow2 *q, const struct qcow2_backing_ops *ops, void *opaque,
			  uint64_t size);
int qcow2_close_image(struct qcow2 *q);
int qcow2_sync(struct qcow2 *q);
int qcow2_pread_meta(struct qcow2 *q, uint64_t off, void *buf, size_t len);
int qcow2_pwrite_meta(struct qcow2 *q, uint64_t off, const void *buf, size_t len);
int qcow2_begin_write(struct qcow2 *q);
int qcow2_resize(struct qcow2 *q, uint64_t new_size);

static inline uint64_t qcow2_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline bool qcow2_is_aligned(const struct qcow2 *q, uint64_t off)
{
	return (off & (q->cluster_size - 1)) == 0;
}

#endif
