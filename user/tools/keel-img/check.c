/* keel-img check: consistency check and repair, with qemu-img's exit codes
 * (0 clean, 1 check not completed, 2 corruptions, 3 leaks only, 63 unsupported). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

static void check_human(const struct block_check_result *r)
{
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%d errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       r->corruptions);
	if (r->leaks)
		printf("\n%d leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n", r->leaks);
	if (r->check_errors)
		printf("\n%d internal errors have occurred during the check.\n",
		       r->check_errors);
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, "
		       "%0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->total_clusters,
		       r->allocated_clusters * 100.0 / r->total_clusters,
		       r->fragmented_clusters * 100.0 / r->allocated_clusters,
		       r->compressed_clusters * 100.0 / r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static void check_json(const char *file, const char *fmt, const struct block_check_result *r)
{
	printf("{\n");
	if (r->image_end_offset)
		printf("    \"image-end-offset\": %llu,\n",
		       (unsigned long long)r->image_end_offset);
	if (r->total_clusters)
		printf("    \"total-clusters\": %llu,\n    \"allocated-clusters\": %llu,\n"
		       "    \"fragmented-clusters\": %llu,\n    \"compressed-clusters\": %llu,\n",
		       (unsigned long long)r->total_clusters,
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->fragmented_clusters,
		       (unsigned long long)r->compressed_clusters);
	if (r->corruptions)
		printf("    \"corruptions\": %d,\n", r->corruptions);
	if (r->leaks)
		printf("    \"leaks\": %d,\n", r->leaks);
	if (r->corruptions_fixed)
		printf("    \"corruptions-fixed\": %d,\n", r->corruptions_fixed);
	if (r->leaks_fixed)
		printf("    \"leaks-fixed\": %d,\n", r->leaks_fixed);
	printf("    \"check-errors\": %d,\n    \"filename\": ", r->check_errors);
	kimg_json_str(file);
	printf(",\n    \"format\": ");
	kimg_json_str(fmt);
	printf("\n}\n");
}

int kimg_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "repair", required_argument, NULL, 'r' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *output = "human";
	struct block_check_result r;
	struct block_dev *bd;
	unsigned int fix = 0;
	bool quiet = false, json;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:r:qT:Uh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			output = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks")) {
				fix = BLOCK_FIX_LEAKS;
			} else if (!strcmp(optarg, "all")) {
				fix = BLOCK_FIX_LEAKS | BLOCK_FIX_ERRORS;
			} else {
				kimg_err("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
					 optarg);
				return 1;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
		case 'U':
			break;
		default:
			fprintf(stderr, "usage: keel-img check [-q] [-f fmt] [--output=human|json] "
				"[-r leaks|all] filename\n");
			return 1;
		}
	}
	if (optind != argc - 1) {
		kimg_err("Expecting one image file name");
		return 1;
	}
	if (strcmp(output, "human") && strcmp(output, "json")) {
		kimg_err("--output must be used with human or json as argument.");
		return 1;
	}
	json = !strcmp(output, "json");
	if (kimg_open(&bd, argv[optind], fmt, fix != 0, BLOCK_CACHE_WRITEBACK, BLOCK_AIO_URING,
		      true, NULL) < 0)
		return 1;
	ret = block_check(bd, &r, fix);
	if (ret == -ENOTSUP) {
		kimg_err("This image format does not support checks");
		block_close(bd);
		return KIMG_EXIT_NOTSUP;
	}
	if (ret < 0) {
		kimg_err("Check failed: %s", strerror(-ret));
		block_close(bd);
		return 1;
	}
	if (fix && (r.corruptions_fixed || r.leaks_fixed) && !json && !quiet)
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %d leaked clusters\n    %d corruptions\n\n"
		       "Double checking the fixed image now...\n",
		       r.leaks_fixed, r.corruptions_fixed);
	if (json)
		check_json(argv[optind], bd->drv->name, &r);
	else if (!quiet)
		check_human(&r);
	block_close(bd);
	if (r.check_errors)
		return 1;
	if (r.corruptions)
		return 2;
	if (r.leaks)
		return 3;
	return 0;
}
