/* keel-img info: describe an image, human or JSON (the fields qemu-img info prints). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/keel-img/keel_img.h"

static void info_human(struct block_dev *bd, const struct block_info *in,
		       const struct block_snapshot_info *snaps, int nsnaps)
{
	char vs[32], ds[32], key[32];
	int i, j;

	kimg_size_str(in->virtual_size, vs, sizeof(vs));
	kimg_size_str(in->actual_size, ds, sizeof(ds));
	printf("image: %s\n", bd->filename);
	printf("file format: %s\n", in->format);
	printf("virtual size: %s (%llu bytes)\n", vs, (unsigned long long)in->virtual_size);
	printf("disk size: %s\n", ds);
	if (in->cluster_size)
		printf("cluster_size: %u\n", in->cluster_size);
	if (in->backing_file[0])
		printf("backing file: %s\n", in->backing_file);
	if (in->backing_fmt[0])
		printf("backing file format: %s\n", in->backing_fmt);
	if (in->dirty)
		printf("cleanly shut down: no\n");
	if (nsnaps) {
		printf("Snapshot list:\n");
		kimg_print_snapshots(snaps, nsnaps);
	}
	if (in->nspecific) {
		printf("Format specific information:\n");
		for (i = 0; i < in->nspecific; i++) {
			snprintf(key, sizeof(key), "%s", in->specific[i].key);
			for (j = 0; key[j]; j++)
				if (key[j] == '-')
					key[j] = ' ';
			printf("    %s: ", key);
			switch (in->specific[i].type) {
			case BLOCK_INFO_STR:
				printf("%s\n", in->specific[i].str);
				break;
			case BLOCK_INFO_INT:
				printf("%lld\n", (long long)in->specific[i].num);
				break;
			case BLOCK_INFO_BOOL:
				printf("%s\n", in->specific[i].num ? "true" : "false");
				break;
			}
		}
	}
}

static void info_json(struct block_dev *bd, const struct block_info *in,
		      const struct block_snapshot_info *s, int nsnaps, const char *indent)
{
	int i;

	printf("%s{\n", indent);
	if (nsnaps) {
		printf("%s    \"snapshots\": [\n", indent);
		for (i = 0; i < nsnaps; i++) {
			printf("%s        {\n", indent);
			if (s[i].icount != UINT64_MAX)
				printf("%s            \"icount\": %llu,\n", indent,
				       (unsigned long long)s[i].icount);
			printf("%s            \"vm-clock-nsec\": %llu,\n", indent,
			       (unsigned long long)(s[i].vm_clock_nsec % 1000000000ULL));
			printf("%s            \"name\": ", indent);
			kimg_json_str(s[i].name);
			printf(",\n%s            \"date-sec\": %llu,\n", indent,
			       (unsigned long long)s[i].date_sec);
			printf("%s            \"date-nsec\": %u,\n", indent, s[i].date_nsec);
			printf("%s            \"vm-clock-sec\": %llu,\n", indent,
			       (unsigned long long)(s[i].vm_clock_nsec / 1000000000ULL));
			printf("%s            \"id\": ", indent);
			kimg_json_str(s[i].id);
			printf(",\n%s            \"vm-state-size\": %llu\n", indent,
			       (unsigned long long)s[i].vm_state_size);
			printf("%s        }%s\n", indent, i + 1 < nsnaps ? "," : "");
		}
		printf("%s    ],\n", indent);
	}
	printf("%s    \"virtual-size\": %llu,\n", indent, (unsigned long long)in->virtual_size);
	printf("%s    \"filename\": ", indent);
	kimg_json_str(bd->filename);
	printf(",\n");
	if (in->cluster_size)
		printf("%s    \"cluster-size\": %u,\n", indent, in->cluster_size);
	printf("%s    \"format\": ", indent);
	kimg_json_str(in->format);
	printf(",\n%s    \"actual-size\": %llu,\n", indent,
	       (unsigned long long)in->actual_size);
	if (in->backing_file[0]) {
		printf("%s    \"backing-filename\": ", indent);
		kimg_json_str(in->backing_file);
		printf(",\n");
	}
	if (in->backing_fmt[0]) {
		printf("%s    \"backing-filename-format\": ", indent);
		kimg_json_str(in->backing_fmt);
		printf(",\n");
	}
	if (in->nspecific) {
		printf("%s    \"format-specific\": {\n%s        \"type\": ", indent, indent);
		kimg_json_str(in->format);
		printf(",\n%s        \"data\": {\n", indent);
		for (i = 0; i < in->nspecific; i++) {
			char key[sizeof(in->specific[i].key)];
			int j;

			/* drivers may name keys either way: JSON uses dashes */
			snprintf(key, sizeof(key), "%s", in->specific[i].key);
			for (j = 0; key[j]; j++)
				if (key[j] == ' ')
					key[j] = '-';
			printf("%s            ", indent);
			kimg_json_str(key);
			printf(": ");
			if (in->specific[i].type == BLOCK_INFO_STR)
				kimg_json_str(in->specific[i].str);
			else if (in->specific[i].type == BLOCK_INFO_INT)
				printf("%lld", (long long)in->specific[i].num);
			else
				printf("%s", in->specific[i].num ? "true" : "false");
			printf("%s\n", i + 1 < in->nspecific ? "," : "");
		}
		printf("%s        }\n%s    },\n", indent, indent);
	}
	printf("%s    \"dirty-flag\": %s\n%s}", indent, in->dirty ? "true" : "false", indent);
}

int kimg_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'B' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *output = "human";
	struct block_snapshot_info *snaps;
	struct block_info *in;
	struct block_dev *bd, *cur;
	bool chain = false, json;
	int c, ret, nsnaps, rc = 0;

	while ((c = getopt_long(argc, argv, "f:Uh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			output = optarg;
			break;
		case 'B':
			chain = true;
			break;
		case 'U':
			break;
		default:
			fprintf(stderr, "usage: keel-img info [-f fmt] [--output=human|json] "
				"[--backing-chain] filename\n");
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
	if (kimg_open(&bd, argv[optind], fmt, false, BLOCK_CACHE_WRITEBACK, BLOCK_AIO_URING,
		      !chain, NULL) < 0)
		return 1;
	in = malloc(sizeof(*in));
	if (!in) {
		block_close(bd);
		return 1;
	}
	if (json && chain)
		printf("[\n");
	for (cur = bd; cur; cur = chain ? cur->backing : NULL) {
		ret = block_get_info(cur, in);
		if (ret < 0) {
			kimg_err("%s: cannot get image information: %s", cur->filename,
				 strerror(-ret));
			rc = 1;
			break;
		}
		if (block_snapshot_list(cur, &snaps, &nsnaps) < 0) {
			snaps = NULL;
			nsnaps = 0;
		}
		if (json) {
			info_json(cur, in, snaps, nsnaps, chain ? "    " : "");
			printf("%s\n", chain && cur->backing ? "," : "");
		} else {
			if (cur != bd)
				printf("\n");
			info_human(cur, in, snaps, nsnaps);
		}
		free(snaps);
	}
	if (json && chain)
		printf("]\n");
	free(in);
	block_close(bd);
	return rc;
}
