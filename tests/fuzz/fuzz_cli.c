/* libFuzzer target for user/vmm/cli.c: argv vectors (NUL-separated input) and sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"

#define FUZZ_MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *buf = malloc(len + 1), *argv[FUZZ_MAX_ARGS + 1], err[CLI_ERR_MAX];
	struct cli_limits lim = { .max_memory = 1ULL << 34, .max_cpus = 16 };
	struct cli_config cfg;
	unsigned int n;
	uint64_t size;
	int argc = 1, ret;
	size_t i;

	if (!buf)
		return 0;
	memcpy(buf, data, len);
	buf[len] = '\0';
	cli_parse_size(buf, &size);
	cli_parse_uint(buf, &n);

	argv[0] = "keel";
	argv[argc++] = buf;
	for (i = 0; i < len && argc < FUZZ_MAX_ARGS; i++)
		if (buf[i] == '\0')
			argv[argc++] = &buf[i + 1];
	argv[argc] = NULL;
	ret = cli_parse(argc, argv, &cfg, err, sizeof(err));
	if (ret == CLI_RUN) {
		if (!cfg.kernel || cfg.cpus == 0 || cfg.memory < CLI_MIN_MEMORY || !cfg.serial)
			abort();
		cli_check_limits(&cfg, &lim, err, sizeof(err));
	} else if (ret < 0 && !err[0]) {
		abort();	/* every refusal must say why */
	}
	free(buf);
	return 0;
}
