/*
 * libFuzzer target for user/lib/opts.c: the input is an option string (its
 * first byte: bit 0 implies "driver", bit 1 allows bare flags; the seeds use
 * '0'..'3') applied to a table with every property type; then the value
 * grammars, set and del on what was read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/opts.h"

struct fuzz_conf {
	char name[8];
	bool ro;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	uint64_t size;
	int mode;
	char path[32];
};

static const char *const fuzz_modes[] = { "threads", "native", "io_uring", NULL };

static const struct opt_desc fuzz_table[] = {
	OPT_D_STR(struct fuzz_conf, name, "name", "n", "a short string"),
	OPT_D_BOOL(struct fuzz_conf, ro, "readonly", "off", "a boolean"),
	OPT_D_UINT(struct fuzz_conf, u8, "u8", "1", 0, 0, "a byte"),
	OPT_D_UINT(struct fuzz_conf, u16, "u16", NULL, 2, 60000, "a bounded half"),
	OPT_D_UINT(struct fuzz_conf, u32, "u32", "0x10", 1, 1ULL << 40, "a word"),
	OPT_D_UINT(struct fuzz_conf, u64, "u64", NULL, 0, 0, "a quad"),
	OPT_D_SIZE(struct fuzz_conf, size, "size", "1M", 4096, 1ULL << 40, "a size"),
	OPT_D_ENUM(struct fuzz_conf, mode, "mode", "native", fuzz_modes, "an enum"),
	OPT_D_STR(struct fuzz_conf, path, "driver", NULL, NULL),
	{ .name = NULL },
};

static void fuzz_check_conf(const struct fuzz_conf *c)
{
	if (!memchr(c->name, '\0', sizeof(c->name)) || !memchr(c->path, '\0', sizeof(c->path)))
		abort();
	if ((c->u16 && c->u16 < 2) || c->u16 > 60000 || !c->u32)
		abort();
	if (c->size < 4096 || c->size > (1ULL << 40) || c->mode < 0 || c->mode > 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static FILE *devnull;
	char *buf, err[256], key[OPTS_KEY_MAX];
	struct fuzz_conf c;
	struct opts o;
	unsigned int i;
	uint64_t v;
	bool b;
	int ret;

	if (!len)
		return 0;
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		if (devnull)
			opts_help(devnull, fuzz_table);
	}
	buf = malloc(len);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len - 1);
	buf[len - 1] = '\0';

	opt_parse_bool(buf, &b);
	opt_parse_uint(buf, &v);
	opt_parse_size(buf, &v);
	opt_parse_enum(buf, fuzz_modes);

	err[0] = '\0';
	ret = opts_parse(&o, buf, data[0] & 1 ? "driver" : NULL, data[0] & 2, err, sizeof(err));
	if (ret < 0 && !err[0])
		abort();	/* every refusal says why */
	if (o.n > OPTS_MAX_PAIRS)
		abort();
	for (i = 0; i < o.n; i++)
		if (!o.pair[i].key[0] || strlen(o.pair[i].key) >= OPTS_KEY_MAX)
			abort();
	if (ret == 0) {
		err[0] = '\0';
		ret = opts_apply(&o, fuzz_table, &c, "fuzz", err, sizeof(err));
		if (ret == 0)
			fuzz_check_conf(&c);
		else if (!err[0] || strncmp(err, "fuzz: key '", 11))
			abort();
		opts_check_used(&o, "fuzz", err, sizeof(err));
	}
	/* Rewrite what was read: replace each value, add one key, drop the first. */
	for (i = 0; i < o.n && i < 4; i++) {
		snprintf(key, sizeof(key), "%s", o.pair[i].key);
		if (opts_set(&o, key, buf) || strcmp(opts_peek(&o, key), buf))
			abort();
	}
	ret = opts_set(&o, "fuzz-extra", "1");
	if (ret && ret != -ENOSPC)
		abort();
	if (o.n) {
		snprintf(key, sizeof(key), "%s", o.pair[0].key);
		opts_del(&o, key);
		if (opts_peek(&o, key))
			abort();
	}
	opts_free(&o);
	free(buf);
	return 0;
}
