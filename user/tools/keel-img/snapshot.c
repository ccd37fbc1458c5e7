/* keel-img snapshot: list, create, apply and delete internal snapshots. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

int kimg_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *name = NULL;
	struct block_snapshot_info *list;
	struct block_dev *bd;
	int c, ret, n, action = 0;

	while ((c = getopt_long(argc, argv, "la:c:d:f:qUh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'a':
		case 'c':
		case 'd':
			if (action) {
				kimg_err("Cannot mix '-l', '-a', '-c', '-d'");
				return 1;
			}
			action = c;
			name = optarg;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 'q':
		case 'U':
			break;
		default:
			fprintf(stderr, "usage: keel-img snapshot [-q] [-l | -a snapshot | "
				"-c snapshot | -d snapshot] [-f fmt] filename\n");
			return 1;
		}
	}
	if (optind != argc - 1) {
		kimg_err("Expecting one image file name");
		return 1;
	}
	if (!action)
		action = 'l';
	if (kimg_open(&bd, argv[optind], fmt, action != 'l', BLOCK_CACHE_WRITEBACK,
		      BLOCK_AIO_URING, true, NULL) < 0)
		return 1;
	switch (action) {
	case 'l':
		ret = block_snapshot_list(bd, &list, &n);
		if (ret >= 0) {
			printf("Snapshot list:\n");
			kimg_print_snapshots(list, n);
			free(list);
		}
		break;
	case 'c':
		ret = block_snapshot_create(bd, name);
		break;
	case 'a':
		ret = block_snapshot_apply(bd, name);
		break;
	default:
		ret = block_snapshot_delete(bd, name);
		break;
	}
	if (!ret && action != 'l')
		ret = block_flush(bd);
	if (ret < 0) {
		static const char *const what[] = { ['l'] = "list", ['c'] = "create",
						    ['a'] = "apply", ['d'] = "delete" };

		if (ret == -ENOTSUP)
			kimg_err("Could not %s snapshot: format %s has no internal snapshots",
				 what[action], bd->drv->name);
		else
			kimg_err("Could not %s snapshot '%s': %s", what[action],
				 name ? name : "", strerror(-ret));
		block_close(bd);
		return 1;
	}
	block_close(bd);
	return 0;
}
