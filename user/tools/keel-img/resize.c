/* keel-img resize: grow or (with --shrink) shrink an image's virtual size. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

int kimg_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shrink", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *sz;
	struct block_dev *bd;
	bool quiet = false, shrink = false;
	uint64_t delta, size;
	int c, ret, sign = 0;

	/* "-1G" must reach us as a size, not an option: stop at the first non-option */
	while ((c = getopt_long(argc, argv, "+f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'S':
			shrink = true;
			break;
		default:
			fprintf(stderr, "usage: keel-img resize [-f fmt] [-q] [--shrink] filename "
				"[+ | -]size\n");
			return 1;
		}
	}
	if (optind + 2 != argc) {
		kimg_err("Expecting image file name and size");
		return 1;
	}
	sz = argv[optind + 1];
	if (*sz == '+' || *sz == '-')
		sign = *sz++ == '+' ? 1 : -1;
	if (block_parse_size(sz, &delta) < 0) {
		kimg_err("Invalid image size specified: %s", argv[optind + 1]);
		return 1;
	}
	if (kimg_open(&bd, argv[optind], fmt, true, BLOCK_CACHE_WRITEBACK, BLOCK_AIO_URING,
		      true, NULL) < 0)
		return 1;
	if (sign > 0)
		size = bd->size + delta;
	else if (sign < 0)
		size = delta > bd->size ? 0 : bd->size - delta;
	else
		size = delta;
	if ((sign < 0 && delta > bd->size) || (sign > 0 && size < bd->size)) {
		kimg_err("New image size out of range");
		block_close(bd);
		return 1;
	}
	if (size < bd->size && !shrink) {
		kimg_err("Use the --shrink option to perform a shrink operation.");
		block_close(bd);
		return 1;
	}
	ret = block_resize(bd, size);
	if (!ret)
		ret = block_flush(bd);
	if (ret < 0) {
		kimg_err("Error resizing image: %s", strerror(-ret));
		block_close(bd);
		return 1;
	}
	block_close(bd);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}
