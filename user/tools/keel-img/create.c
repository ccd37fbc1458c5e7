/* keel-img create: make a new image of any writable format (qemu-img create subset). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

/* Size of the backing image, for "create -b base top" without a size. */
static int create_backing_size(const char *top, const char *backing, const char *fmt,
			       uint64_t *size)
{
	struct block_dev *bd;
	char *full = NULL;
	const char *slash = strrchr(top, '/');
	int ret;

	if (backing[0] != '/' && slash) {
		if (asprintf(&full, "%.*s/%s", (int)(slash - top), top, backing) < 0)
			return -ENOMEM;
	}
	ret = kimg_open(&bd, full ? full : backing, fmt, false, BLOCK_CACHE_WRITEBACK,
			BLOCK_AIO_URING, true, NULL);
	free(full);
	if (ret < 0)
		return ret;
	*size = bd->size;
	block_close(bd);
	return 0;
}

int kimg_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL, *path;
	struct block_opts opts;
	bool quiet = false, unsafe = false;
	uint64_t size = 0;
	bool have_size = false;
	int c, ret, i;

	block_opts_init(&opts);
	while ((c = getopt_long(argc, argv, "qf:b:F:uo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			backing_fmt = optarg;
			break;
		case 'u':
			unsafe = true;
			break;
		case 'o':
			if (block_opts_parse(&opts, optarg) < 0) {
				kimg_err("Invalid options: %s", optarg);
				goto fail;
			}
			break;
		default:
			fprintf(stderr, "usage: keel-img create [-q] [-f fmt] [-b backing_file "
				"[-F backing_fmt]] [-u] [-o options] filename [size]\n");
			goto fail;
		}
	}
	if (optind >= argc) {
		kimg_err("Expecting image file name");
		goto fail;
	}
	path = argv[optind++];
	if (optind < argc) {
		const char *s = argv[optind++];

		if (block_parse_size(s, &size) < 0) {
			kimg_err("Invalid image size specified. You may use k, M, G, T, P or E "
				 "suffixes for kilobytes, megabytes, gigabytes, terabytes, "
				 "petabytes and exabytes.");
			goto fail;
		}
		have_size = true;
	}
	if (optind < argc) {
		kimg_err("Unexpected argument: %s", argv[optind]);
		goto fail;
	}
	if (backing)
		block_opts_set(&opts, "backing_file", backing);
	if (backing_fmt)
		block_opts_set(&opts, "backing_fmt", backing_fmt);
	for (i = 0; i < opts.n; i++) {
		if (!strcmp(opts.kv[i].key, "size")) {
			if (block_parse_size(opts.kv[i].val, &size) < 0) {
				kimg_err("Invalid size: %s", opts.kv[i].val);
				goto fail;
			}
			opts.kv[i].used = true;
			have_size = true;
		}
	}
	if (!have_size) {
		const char *b = block_opts_get(&opts, "backing_file");

		if (!b || unsafe) {
			kimg_err("Image creation needs a size parameter");
			goto fail;
		}
		if (create_backing_size(path, b, block_opts_get(&opts, "backing_fmt"),
					&size) < 0)
			goto fail;
		/* fetched only to size the image; the driver reads them again */
		for (i = 0; i < opts.n; i++)
			if (!strcmp(opts.kv[i].key, "backing_file") ||
			    !strcmp(opts.kv[i].key, "backing_fmt"))
				opts.kv[i].used = false;
	}
	if (!quiet) {
		printf("Formatting '%s', fmt=%s", path, fmt);
		for (i = 0; i < opts.n; i++)
			if (strcmp(opts.kv[i].key, "size"))
				printf(" %s=%s", opts.kv[i].key, opts.kv[i].val);
		printf(" size=%llu\n", (unsigned long long)size);
		fflush(stdout);
	}
	ret = block_create(fmt, path, size, &opts);
	if (ret < 0) {
		kimg_err("%s: %s", path, strerror(-ret));
		goto fail;
	}
	block_opts_free(&opts);
	return 0;
fail:
	block_opts_free(&opts);
	return 1;
}
