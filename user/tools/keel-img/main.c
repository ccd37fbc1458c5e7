/* keel-img: image tool for raw, qcow2, VHDX and VPC images; the subset of qemu-img's
 * commands keel supports, with the same meanings and exit codes (issue 3, "keel-img"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "tools/keel-img/keel_img.h"

void kimg_err(const char *fmt, ...)
{
	va_list ap;

	fputs("keel-img: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int kimg_open(struct block_dev **bd, const char *path, const char *fmt, bool writable,
	      enum block_cache cache, enum block_aio aio, bool no_backing,
	      struct aio_ctx *ctx)
{
	struct block_open_opts o = {
		.format = fmt,
		.read_only = !writable,
		.no_backing = no_backing,
		.cache = cache,
		.aio = aio,
		.ctx = ctx,
	};
	int ret = block_open(bd, path, &o);

	if (ret < 0)
		kimg_err("Could not open '%s': %s", path, strerror(-ret));
	return ret;
}

int kimg_parse_cache(const char *s, enum block_cache *out)
{
	if (!strcmp(s, "writeback"))
		*out = BLOCK_CACHE_WRITEBACK;
	else if (!strcmp(s, "none") || !strcmp(s, "directsync"))
		*out = BLOCK_CACHE_NONE;
	else if (!strcmp(s, "unsafe"))
		*out = BLOCK_CACHE_UNSAFE;
	else {
		kimg_err("Invalid cache option: %s (use writeback, none or unsafe)", s);
		return -EINVAL;
	}
	return 0;
}

int kimg_parse_aio(const char *s, enum block_aio *out)
{
	if (aio_engine_parse(s, out) < 0) {
		kimg_err("Invalid aio option: %s (use io_uring, native or threads)", s);
		return -EINVAL;
	}
	return 0;
}

void kimg_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int i = 0;

	/* the unit that keeps the printed number below 1000 */
	while (i < 6 && (double)v * 1.024 >= (double)(1ULL << (10 * (i + 1))))
		i++;
	snprintf(buf, len, "%0.3g %sB", (double)v / (double)(1ULL << (i * 10)), unit[i]);
}

void kimg_progress(double pct, bool final)
{
	static double last = -1;

	if (pct != last)
		printf("    (%3.2f/100%%)\r", pct);
	last = pct;
	if (final)
		putchar('\n');
	fflush(stdout);
}

double kimg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void kimg_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void kimg_print_snapshots(const struct block_snapshot_info *s, int n)
{
	char size[32], date[32];
	struct tm tm;
	time_t t;
	uint64_t secs;
	int i;

	printf("%-9s %-17s %7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
	       "VM CLOCK", "ICOUNT");
	for (i = 0; i < n; i++) {
		kimg_size_str(s[i].vm_state_size, size, sizeof(size));
		t = (time_t)s[i].date_sec;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		secs = s[i].vm_clock_nsec / 1000000000ULL;
		printf("%-9s %-17s %7s %19s %02llu:%02llu:%02llu.%03llu", s[i].id, s[i].name,
		       size, date, (unsigned long long)(secs / 3600),
		       (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60),
		       (unsigned long long)(s[i].vm_clock_nsec / 1000000 % 1000));
		if (s[i].icount != UINT64_MAX)
			printf("%11llu", (unsigned long long)s[i].icount);
		else
			printf("%11s", "");
		putchar('\n');
	}
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
} kimg_cmds[] = {
	{ "bench", kimg_bench, "bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] "
	  "[--no-drain] [-i aio] [-n] [-o offset] [--pattern=N] [-q] [-r] [-s buffer_size] "
	  "[-S step_size] [-t cache] [-w] filename",
	  "Time COUNT (75000) reads, or writes with -w, of BUFFER_SIZE (4k) bytes, DEPTH (64)\n"
	  "in flight, from OFFSET by STEP_SIZE (wrapping), or at random offsets with -r.\n"
	  "-i io_uring|native|threads, -t writeback|none|unsafe, -n = -t none.\n" },
	{ "check", kimg_check, "check [-q] [-f fmt] [--output=human|json] [-r leaks|all] "
	  "filename",
	  "Check the image metadata; -r leaks frees leaked clusters, -r all also repairs\n"
	  "corruptions. Exit: 0 clean, 1 check failed, 2 corruptions, 3 leaks, 63 no check.\n" },
	{ "compare", kimg_compare, "compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2",
	  "Compare guest-visible contents. Exit: 0 identical, 1 different, 2 error.\n"
	  "Different sizes compare equal if the extra part is zero, unless -s (strict).\n" },
	{ "convert", kimg_convert, "convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] "
	  "[-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] "
	  "[-S sparse_size] [-m num] [-W] filename [filename2 [...]] output_filename",
	  "Copy the images (concatenated) into a new image of OUTPUT_FMT (raw), sparse.\n"
	  "-c compress, -n write into an existing image, -B make an overlay of\n"
	  "BACKING_FILE holding only the differences, -p progress, -m requests in flight.\n" },
	{ "create", kimg_create, "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] "
	  "[-o options] filename [size]",
	  "Create an image (default raw). -o key=value,... format options (raw:\n"
	  "preallocation; qcow2: cluster_size, refcount_bits, lazy_refcounts,\n"
	  "compression_type, compat). Without SIZE, the backing file's size.\n" },
	{ "info", kimg_info, "info [-f fmt] [--output=human|json] [--backing-chain] [-U] "
	  "filename",
	  "Show format, sizes, backing file, snapshots and format specific details;\n"
	  "--output=json prints qemu-img's JSON fields.\n" },
	{ "resize", kimg_resize, "resize [-f fmt] [-q] [--shrink] filename [+ | -]size",
	  "Set the virtual size, or grow/shrink it by +SIZE/-SIZE; shrinking needs --shrink.\n" },
	{ "snapshot", kimg_snapshot, "snapshot [-q] [-l | -a snapshot | -c snapshot | "
	  "-d snapshot] [-f fmt] filename",
	  "List (-l, default), create (-c), apply (-a) or delete (-d) internal snapshots.\n" },
};

static void kimg_usage(FILE *out)
{
	size_t i;
	int d;

	fprintf(out, "usage: keel-img command [command options]\n"
		"keel disk image utility (raw, qcow2, vhdx, vpc)\n\n"
		"Command syntax:\n");
	for (i = 0; i < sizeof(kimg_cmds) / sizeof(kimg_cmds[0]); i++)
		fprintf(out, "  %s\n", kimg_cmds[i].usage);
	fprintf(out, "\n'keel-img COMMAND --help' explains one command; see keel-img(1).\n"
		"Exit codes: 0 success, 1 error; check: 2 corruptions, 3 leaks;\n"
		"compare: 1 images differ, 2 error.\n\nSupported formats:");
	for (d = 0; block_drivers[d]; d++)
		fprintf(out, " %s", block_drivers[d]->name);
	fprintf(out, "\nRead-only formats:");
	for (d = 0; block_drivers[d]; d++)
		if (block_drivers[d]->read_only)
			fprintf(out, " %s", block_drivers[d]->name);
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	size_t i;

	log_set_program("keel-img");
	if (argc < 2) {
		kimg_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		kimg_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("keel-img 0.1\n");
		return 0;
	}
	for (i = 0; i < sizeof(kimg_cmds) / sizeof(kimg_cmds[0]); i++) {
		if (strcmp(argv[1], kimg_cmds[i].name))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			printf("usage: keel-img %s\n\n%s", kimg_cmds[i].usage, kimg_cmds[i].help);
			return 0;
		}
		return kimg_cmds[i].fn(argc - 1, argv + 1);
	}
	kimg_err("Command not found: %s", argv[1]);
	return 1;
}
