/* Fuzz target: format probing (every driver's .probe on the first bytes of a hostile
 * file) and the key=value / size parsers of user/block/block.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = calloc(1, BLOCK_PROBE_SIZE);
	struct block_opts o;
	char *str;
	uint64_t v;
	int i;

	if (!buf)
		return 0;
	/* drivers get exactly what block_open gives them: a zero-padded probe buffer */
	memcpy(buf, data, size < BLOCK_PROBE_SIZE ? size : BLOCK_PROBE_SIZE);
	block_probe(buf, size < BLOCK_PROBE_SIZE ? size : BLOCK_PROBE_SIZE, "fuzz.img");
	block_probe(buf, BLOCK_PROBE_SIZE, "fuzz.img");
	free(buf);

	/* option strings come from a command line: a page of text is plenty */
	if (size > 4096)
		size = 4096;
	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	block_parse_size(str, &v);
	block_opts_init(&o);
	block_opts_parse(&o, str);
	for (i = 0; i < o.n; i++) {
		block_opts_get_size(&o, o.kv[i].key, &v);
		block_opts_get_bool(&o, o.kv[i].key, &(bool){ false });
	}
	block_opts_unused(&o);
	block_opts_free(&o);
	free(str);
	return 0;
}
