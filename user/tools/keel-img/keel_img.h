/* keel-img: shared declarations of the subcommands (Documentation/man/keel-img.1). */
#ifndef KEEL_TOOLS_KEEL_IMG_H
#define KEEL_TOOLS_KEEL_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "block/aio/aio.h"
#include "block/block.h"

/* Exit code for "the format cannot do that", as qemu-img (ENOTSUP). */
#define KIMG_EXIT_NOTSUP 63

void kimg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Open with a shared engine context; prints the error. */
int kimg_open(struct block_dev **bd, const char *path, const char *fmt, bool writable,
	      enum block_cache cache, enum block_aio aio, bool no_backing,
	      struct aio_ctx *ctx);
int kimg_parse_cache(const char *s, enum block_cache *out);
int kimg_parse_aio(const char *s, enum block_aio *out);
/* "10 MiB", "196 KiB", "0 B" */
void kimg_size_str(uint64_t v, char *buf, size_t len);
/* -p progress on stdout: "    (12.34/100%)\r" */
void kimg_progress(double pct, bool final);
double kimg_now(void);
/* JSON string, quoted and escaped, to stdout */
void kimg_json_str(const char *s);

int kimg_create(int argc, char **argv);
int kimg_info(int argc, char **argv);
int kimg_check(int argc, char **argv);
int kimg_convert(int argc, char **argv);
int kimg_compare(int argc, char **argv);
int kimg_resize(int argc, char **argv);
int kimg_snapshot(int argc, char **argv);
int kimg_bench(int argc, char **argv);

/* snapshot table printer shared by info and snapshot -l */
void kimg_print_snapshots(const struct block_snapshot_info *s, int n);

#endif
