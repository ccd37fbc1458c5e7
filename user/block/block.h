/* Block layer core: the one driver interface every image format implements and every
 * disk consumer uses (issue 3, "The block layer"; Documentation/block.md). */
#ifndef KEEL_BLOCK_BLOCK_H
#define KEEL_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * How a format driver is written
 * ------------------------------
 * 1. Define a `const struct block_driver my_driver = { .name = "myfmt", ... }` and add
 *    it to the table in block.c (block_drivers[]). Only .name, .open, .close and
 *    .submit are mandatory; every other hook may be NULL (the generic layer then
 *    answers -ENOTSUP, or a sensible default: e.g. no .block_status means "all data").
 * 2. .probe(buf, len, filename) gets the first BLOCK_PROBE_SIZE bytes of the file and
 *    returns a score 0..100 (0 = not mine, 100 = magic matched). raw returns 1.
 * 3. .open(bd, opts) is called with bd->file already opened (struct block_file, the
 *    image file with its I/O engine), bd->filename, bd->read_only and bd->aio set. It
 *    reads and checks its metadata (hostile input: check every length, offset, table
 *    size against the file size and against sane bounds), allocates its state in
 *    bd->opaque, sets bd->size (virtual size in bytes), and opens a backing file with
 *    block_open_backing() if it has one (depth limit and loop detection are done there).
 *    Return a negative errno and log once ("file.qcow2: L1 table offset ... beyond
 *    end of file") on failure; .close is NOT called when .open fails, and a backing
 *    device already opened with block_open_backing() is closed by the generic layer.
 * 4. .submit(bd, req) starts an asynchronous request. The generic layer has already
 *    checked op, bounds (offset + len <= bd->size), read-only, and filled req->len for
 *    reads and writes. The driver never changes req->done/opaque and never passes req
 *    itself to block_submit() (use a child request). It finishes it exactly once with
 *    block_req_complete(req, ret) (ret = 0 or -errno). Completion may happen inline,
 *    before .submit returns,
 *    or later on the owning thread of bd->aio. Data I/O goes through
 *    block_file_submit(bd->file, child) with child requests from a per-device
 *    struct block_req_pool (no malloc on the hot path) or, when the driver simply
 *    forwards, with req itself (raw does this). Driver-private per-request state
 *    lives in req->priv. Metadata I/O may use the synchronous block_file_pread/pwrite
 *    helpers (they block the calling I/O thread for one syscall; see block.md).
 *    Reads from a backing device: block_submit(bd->backing, child) (or block_pread).
 *    Read beyond the backing device's size must return zeroes: use
 *    block_read_backing() which does that.
 * 5. All callbacks of one device run on one thread (the owner of bd->aio), so driver
 *    state needs no lock. Sync helpers (block_pread, ...) wait on bd->aio and must be
 *    called from that thread.
 * 6. .create(path, size, opts) makes a new image. Options come as key=value pairs
 *    (struct block_opts, "-o" of keel-img plus backing_file/backing_fmt); fetch them
 *    with block_opts_get*() which marks them used. Any option left unused after create
 *    is reported by the generic layer as "unknown option".
 * 7. .info, .check, .resize, .block_status, .snapshot_* fill the structs below. Add
 *    format specific info lines with block_info_add_{str,int,bool}().
 * 8. Unit tests in tests/unit/test_<fmt>.c; oracle cases in tests/img/cases/<fmt>.sh
 *    (tests/img/README); a fuzz target tests/fuzz/fuzz_<fmt>.c for the parsers.
 */

#define BLOCK_SECTOR_SIZE		512
#define BLOCK_PROBE_SIZE		4096
#define BLOCK_MAX_BACKING_DEPTH		16
#define BLOCK_REQ_INLINE_IOV		16

struct block_dev;
struct block_req;
struct block_file;
struct aio_ctx;

enum block_op {
	BLOCK_OP_READ,
	BLOCK_OP_WRITE,
	BLOCK_OP_FLUSH,
	BLOCK_OP_DISCARD,	/* may free space; later reads return zeroes or old data */
	BLOCK_OP_WRITE_ZEROES,	/* later reads return zeroes */
	BLOCK_OP__COUNT
};

/* req->flags */
#define BLOCK_REQ_FUA		(1u << 0)	/* write: durable when done */
#define BLOCK_REQ_MAY_UNMAP	(1u << 1)	/* write-zeroes: may deallocate */
#define BLOCK_REQ_NO_FALLBACK	(1u << 2)	/* write-zeroes: fail -ENOTSUP instead of writing */

/* Called once per request with 0 or -errno, on the thread owning the device's aio_ctx. */
typedef void (*block_done_fn)(struct block_req *req, int ret);

/*
 * A request. Owned by the caller, who keeps it (and iov[]) alive until done() runs;
 * it can be reused afterwards. Nothing is allocated per request by the layer.
 */
struct block_req {
	/* filled by the caller */
	enum block_op op;
	uint32_t flags;
	uint64_t offset;		/* bytes */
	const struct iovec *iov;	/* read/write */
	int iovcnt;
	uint64_t len;			/* discard/write-zeroes; set by block_submit for r/w */
	block_done_fn done;
	void *opaque;			/* for the caller */

	/* owned by the layer the request was submitted to */
	struct block_dev *bd;
	block_done_fn caller_done;	/* block_submit's bookkeeping; restored before */
	void *caller_opaque;		/* the caller's done() runs */
	struct block_req *next;		/* free lists and queues of the current owner */
	int result;
	uint8_t pool_state;		/* block_req_pool bookkeeping */
	union {				/* format driver scratch */
		uint64_t u64[16];
		void *ptr[16];
		unsigned char bytes[128];
	} priv;
	union {				/* I/O engine scratch (holds a libaio iocb) */
		uint64_t u64[12];
		unsigned char bytes[96];
	} eng;
	struct iovec iov_inline[BLOCK_REQ_INLINE_IOV];	/* for drivers' child requests */
};

/* ---- open options ---- */

enum block_cache {
	BLOCK_CACHE_WRITEBACK,	/* page cache, flush = fdatasync (default) */
	BLOCK_CACHE_NONE,	/* O_DIRECT, flush = fdatasync */
	BLOCK_CACHE_UNSAFE,	/* page cache, flush ignored */
};

enum block_aio {
	BLOCK_AIO_URING,	/* io_uring via liburing (default) */
	BLOCK_AIO_NATIVE,	/* libaio (best with cache=none) */
	BLOCK_AIO_THREADS,	/* worker thread pool doing preadv/pwritev */
};

struct block_open_opts {
	const char *format;	/* NULL: probe (never do that for guest-writable images) */
	bool read_only;
	bool no_backing;	/* do not open the backing file (info on a broken chain) */
	enum block_cache cache;
	enum block_aio aio;
	struct aio_ctx *ctx;	/* engine context to use; NULL: the device makes its own */
	unsigned int queue_depth; /* engine depth when a ctx is made; 0: 128 */
	int max_backing_depth;	/* 0: BLOCK_MAX_BACKING_DEPTH */
};

/* ---- key=value options for create (and keel-img -o) ---- */

#define BLOCK_OPTS_MAX 32

struct block_opts {
	int n;
	struct {
		char *key;
		char *val;
		bool used;
	} kv[BLOCK_OPTS_MAX];
};

void block_opts_init(struct block_opts *o);
void block_opts_free(struct block_opts *o);
/* Append "k=v,k2=v2" (",," escapes a comma in a value). A later key overrides. */
int block_opts_parse(struct block_opts *o, const char *str);
int block_opts_set(struct block_opts *o, const char *key, const char *val);
/* Value of key (marks it used) or NULL. */
const char *block_opts_get(struct block_opts *o, const char *key);
/* 0: absent (*out untouched), 1: present and parsed, -EINVAL: malformed (logged). */
int block_opts_get_size(struct block_opts *o, const char *key, uint64_t *out);
int block_opts_get_bool(struct block_opts *o, const char *key, bool *out);
/* First key never fetched, or NULL. */
const char *block_opts_unused(const struct block_opts *o);
/* "1M", "512", "2G", "64k" -> bytes. */
int block_parse_size(const char *s, uint64_t *out);

/* ---- info, check, status, snapshots ---- */

enum block_info_type { BLOCK_INFO_STR, BLOCK_INFO_INT, BLOCK_INFO_BOOL };

#define BLOCK_INFO_SPECIFIC_MAX 16

struct block_info {
	const char *format;		/* set by the generic layer */
	uint64_t virtual_size;		/* set by the generic layer */
	uint64_t actual_size;		/* host bytes allocated; set by the generic layer */
	uint32_t cluster_size;		/* 0 if the format has none */
	bool dirty;			/* dirty flag set (lazy refcounts, VHDX log) */
	bool encrypted;
	char backing_file[4096];	/* as written in the image */
	char backing_fmt[32];
	int nspecific;			/* "Format specific information" */
	struct {
		char key[32];
		enum block_info_type type;
		char str[64];
		int64_t num;
	} specific[BLOCK_INFO_SPECIFIC_MAX];
};

/* Keys as qemu-img's JSON names them ("lazy-refcounts"); keel-img's human output shows
 * dashes as spaces. Spaces are accepted too and become dashes in JSON. */
void block_info_add_str(struct block_info *info, const char *key, const char *val);
void block_info_add_int(struct block_info *info, const char *key, int64_t val);
void block_info_add_bool(struct block_info *info, const char *key, bool val);

/* check fix flags (keel-img check -r leaks|all) */
#define BLOCK_FIX_LEAKS		(1u << 0)
#define BLOCK_FIX_ERRORS	(1u << 1)

struct block_check_result {
	int corruptions;		/* left after repair */
	int leaks;			/* left after repair */
	int check_errors;		/* could not complete (I/O errors) */
	int corruptions_fixed;
	int leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters;
	uint64_t allocated_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
};

/* block_status result bits */
#define BLOCK_STATUS_DATA	(1 << 0)	/* reads return stored data */
#define BLOCK_STATUS_ZERO	(1 << 1)	/* reads return zeroes */
#define BLOCK_STATUS_ALLOCATED	(1 << 2)	/* this layer decides (else: backing) */
#define BLOCK_STATUS_OFFSET_VALID (1 << 3)	/* *map is the host offset in bd->file */

struct block_snapshot_info {
	char id[32];
	char name[256];
	uint64_t vm_state_size;
	uint64_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size;
	uint64_t icount;		/* UINT64_MAX if absent */
};

/* ---- the driver interface ---- */

struct block_driver {
	const char *name;
	bool read_only;			/* format is read-only in keel (vhdx, vpc) */
	bool is_raw;			/* no metadata: convert may copy sparse as-is */
	int (*probe)(const uint8_t *buf, size_t len, const char *filename);
	int (*open)(struct block_dev *bd, const struct block_open_opts *opts);
	void (*close)(struct block_dev *bd);
	void (*submit)(struct block_dev *bd, struct block_req *req);
	int (*create)(const char *path, uint64_t size, struct block_opts *opts);
	int (*info)(struct block_dev *bd, struct block_info *info);
	int (*check)(struct block_dev *bd, struct block_check_result *res, unsigned int fix);
	int (*resize)(struct block_dev *bd, uint64_t new_size);
	/* Status of [offset, offset+len): returns BLOCK_STATUS_* bits or -errno, and
	 * *pnum (> 0) bytes from offset sharing that status. map may be NULL. */
	int (*block_status)(struct block_dev *bd, uint64_t offset, uint64_t len,
			    uint64_t *pnum, uint64_t *map);
	/* Written when the image is closed cleanly; may be NULL. */
	int (*snapshot_list)(struct block_dev *bd, struct block_snapshot_info **list,
			     int *count);
	int (*snapshot_create)(struct block_dev *bd, const char *name);
	int (*snapshot_apply)(struct block_dev *bd, const char *name_or_id);
	int (*snapshot_delete)(struct block_dev *bd, const char *name_or_id);
	/* Compressed write of one whole cluster at an aligned offset (convert -c);
	 * len == cluster size or the tail of the image. NULL: not supported. */
	int (*write_compressed)(struct block_dev *bd, uint64_t offset, const void *buf,
				size_t len);
	/* Optional split of write_compressed, so that keel-img convert -c compresses on
	 * several threads. .compress must be thread-safe and touch no device state: it
	 * compresses one cluster (len as for write_compressed, buf zero-padded to the
	 * cluster size) into out (outlen >= 2 * cluster size) and returns the compressed
	 * length, or -ENOSPC when that would not be smaller than the cluster (the caller
	 * then writes the cluster normally). .write_precompressed stores such a result
	 * (owner thread only). Both or neither. */
	long (*compress)(struct block_dev *bd, const void *buf, size_t len, void *out,
			 size_t outlen);
	int (*write_precompressed)(struct block_dev *bd, uint64_t offset, const void *cbuf,
				   size_t clen);
};

struct block_dev {
	const struct block_driver *drv;
	void *opaque;			/* driver state */
	char *filename;
	uint64_t size;			/* virtual size, bytes */
	bool read_only;
	enum block_cache cache;
	enum block_aio aio_engine;
	struct block_file *file;	/* the image file */
	struct block_dev *backing;	/* NULL if none (or no_backing) */
	struct block_dev *parent;	/* the device this one backs */
	int backing_depth;		/* 0 for the top image */
	int max_backing_depth;
	struct aio_ctx *aio;		/* completions arrive here */
	struct aio_ctx *home_aio;	/* the one it was opened with (block_set_aio) */
	bool own_aio;
	bool no_backing;		/* opened with opts->no_backing */
	unsigned int inflight;		/* submitted through block_submit, not done */
};

/* ---- the image file and its I/O engine ---- */

struct block_file {
	int fd;
	struct aio_ctx *aio;
	bool read_only;
	bool direct;			/* O_DIRECT: buffers/offsets must be aligned */
	uint32_t align;			/* 1, or the O_DIRECT alignment */
	dev_t dev;
	ino_t ino;
	char *path;
};

/* Open a file with the engine ctx (not owned). */
int block_file_open(struct block_file **out, const char *path, bool read_only,
		    enum block_cache cache, struct aio_ctx *aio);
void block_file_close(struct block_file *f);
/* Async read/write/flush/discard/write-zeroes on the file, offsets in the file. A read
 * past end of file returns zeroes for the missing part. */
void block_file_submit(struct block_file *f, struct block_req *req);
/* Synchronous, for metadata: whole transfer or -errno; reads past EOF give zeroes.
 * Handles O_DIRECT alignment with a bounce buffer. */
int block_file_pread(struct block_file *f, void *buf, size_t len, uint64_t offset);
int block_file_pwrite(struct block_file *f, const void *buf, size_t len, uint64_t offset);
int block_file_flush(struct block_file *f);
int64_t block_file_size(struct block_file *f);
int block_file_truncate(struct block_file *f, uint64_t size);
/* fallocate helpers: -ENOTSUP when the filesystem cannot */
int block_file_discard(struct block_file *f, uint64_t offset, uint64_t len);
int block_file_zero_range(struct block_file *f, uint64_t offset, uint64_t len);
/* Bytes the file occupies on the host (st_blocks * 512). */
int64_t block_file_allocated(struct block_file *f);
/* Aligned allocation good for O_DIRECT (free with free()). */
void *block_alloc_aligned(size_t len);

/* ---- generic API for consumers ---- */

/* Open an image: probe or use opts->format, open the backing chain. */
int block_open(struct block_dev **out, const char *path, const struct block_open_opts *opts);
void block_close(struct block_dev *bd);
/* For drivers' .open: open backing image path (relative to bd's directory) with
 * format fmt (NULL/"" = probe), read-only, same engine and cache mode. Refuses a chain
 * deeper than the limit and a file already in the chain (-ELOOP), with a clear log. */
int block_open_backing(struct block_dev *bd, const char *path, const char *fmt);
/* Create an image of format fmt. Unknown options are an error (-EINVAL). */
int block_create(const char *fmt, const char *path, uint64_t size, struct block_opts *opts);
const struct block_driver *block_driver_find(const char *name);
/* Best driver for the first bytes of a file, or NULL. */
const struct block_driver *block_probe(const uint8_t *buf, size_t len, const char *filename);
/* NULL-terminated table of all drivers. */
extern const struct block_driver *const block_drivers[];

/* Asynchronous: checks the request, then hands it to the driver. Errors found here
 * complete the request inline with -errno. done() may run before this returns. */
void block_submit(struct block_dev *bd, struct block_req *req);
/* For drivers: finish req (calls req->done). */
void block_req_complete(struct block_req *req, int ret);

/*
 * Submit for read-only formats served synchronously on the owner thread:
 * each iovec is read through read(bd, buf, len, offset), flush succeeds,
 * every other operation fails with -EROFS. Completes req inline.
 */
typedef int (*block_sync_read_fn)(struct block_dev *bd, void *buf, size_t len, uint64_t offset);
void block_submit_read_only_sync(struct block_dev *bd, struct block_req *req,
				 block_sync_read_fn read);

/* The fd to poll (EPOLLIN) for bd's completions, and the call to run them. */
int block_event_fd(struct block_dev *bd);
int block_poll(struct block_dev *bd);

/* Synchronous wrappers: submit and wait on bd->aio. Owner thread only. */
int block_preadv(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt);
int block_pwritev(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt,
		  uint32_t flags);
int block_pread(struct block_dev *bd, uint64_t offset, void *buf, size_t len);
int block_pwrite(struct block_dev *bd, uint64_t offset, const void *buf, size_t len);
int block_flush(struct block_dev *bd);
int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len);
int block_write_zeroes(struct block_dev *bd, uint64_t offset, uint64_t len, uint32_t flags);
/* Read [offset, offset+len) of backing (may be NULL) as seen by a device of virtual
 * size limit: zeroes past the backing size or without a backing device. */
int block_read_backing(struct block_dev *backing, uint64_t offset, void *buf, size_t len);
/*
 * Serve bd and its backing chain through ctx, an engine context other images
 * share (a block backend's I/O thread), or through the one it was opened with
 * again (ctx NULL). ctx must be of bd->aio_engine's kind; nothing may be in
 * flight (-EBUSY).
 */
int block_set_aio(struct block_dev *bd, struct aio_ctx *ctx);
/* Wait until bd has no request in flight (other devices sharing bd->aio may go on). */
int block_drain(struct block_dev *bd);

int block_get_info(struct block_dev *bd, struct block_info *info);
int block_check(struct block_dev *bd, struct block_check_result *res, unsigned int fix);
int block_resize(struct block_dev *bd, uint64_t new_size);
/* Default when the driver has none: whole range is DATA|ALLOCATED. */
int block_status(struct block_dev *bd, uint64_t offset, uint64_t len, uint64_t *pnum,
		 uint64_t *map);
int block_snapshot_list(struct block_dev *bd, struct block_snapshot_info **list, int *count);
int block_snapshot_create(struct block_dev *bd, const char *name);
int block_snapshot_apply(struct block_dev *bd, const char *name_or_id);
int block_snapshot_delete(struct block_dev *bd, const char *name_or_id);
int block_write_compressed(struct block_dev *bd, uint64_t offset, const void *buf, size_t len);
/* True if the driver has .compress and .write_precompressed. */
bool block_can_compress_parallel(struct block_dev *bd);
long block_compress(struct block_dev *bd, const void *buf, size_t len, void *out, size_t outlen);
int block_write_precompressed(struct block_dev *bd, uint64_t offset, const void *cbuf,
			      size_t clen);

/* ---- request pool for drivers' child requests (single thread, no lock) ---- */

struct block_req_pool {
	struct block_req *reqs;
	struct block_req *free;
	unsigned int n;
	unsigned int overflow;		/* allocations beyond n (cold path) */
};

int block_req_pool_init(struct block_req_pool *pool, unsigned int n);
void block_req_pool_destroy(struct block_req_pool *pool);
/* Never NULL unless out of memory: falls back to calloc when the pool is empty. */
struct block_req *block_req_get(struct block_req_pool *pool);
void block_req_put(struct block_req_pool *pool, struct block_req *req);

/* ---- iovec helpers ---- */

size_t block_iov_size(const struct iovec *iov, int iovcnt);
/* dst[] = the bytes [off, off+len) of src[]; returns the count or -E2BIG. */
int block_iov_slice(const struct iovec *src, int srccnt, size_t off, size_t len,
		    struct iovec *dst, int dstmax);
void block_iov_memset(const struct iovec *iov, int iovcnt, size_t off, int c, size_t len);
size_t block_iov_to_buf(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len);
size_t block_iov_from_buf(const struct iovec *iov, int iovcnt, size_t off, const void *buf,
			  size_t len);
bool block_buf_is_zero(const void *buf, size_t len);

const char *block_op_name(enum block_op op);

#endif
