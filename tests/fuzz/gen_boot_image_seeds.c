/*
 * Writes the seed corpus of fuzz_boot_image (tests/fuzz/corpus/boot_image/):
 * small valid bzImages and PVH ELF files from tests/unit/boot_image_gen.h.
 *   cc -Itests/unit -o build/gen_boot_image_seeds tests/fuzz/gen_boot_image_seeds.c
 *   build/gen_boot_image_seeds tests/fuzz/corpus/boot_image
 */
#include <stdio.h>
#include <stdlib.h>

#include "boot_image_gen.h"

static int seed_write(const char *dir, const char *name, uint8_t *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	free(data);
	printf("%s: %zu bytes\n", path, len);
	return 0;
}

int main(int argc, char **argv)
{
	struct gen_bz bz;
	struct gen_elf elf;
	uint8_t *img;
	size_t len;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	bz = gen_bz_default();
	img = gen_bzimage(&bz, &len);
	err |= seed_write(argv[1], "bz-2.15", img, len);
	bz.version = 0x020c;
	bz.setup_sects = 0;
	bz.header_len = 0x62;
	img = gen_bzimage(&bz, &len);
	err |= seed_write(argv[1], "bz-2.12-setup0", img, len);
	bz = gen_bz_default();
	bz.relocatable = 0;
	bz.pref_address = 0x1200000;
	bz.trailer_len = 0x100;
	img = gen_bzimage(&bz, &len);
	err |= seed_write(argv[1], "bz-fixed-trailer", img, len);

	elf = gen_elf_default();
	img = gen_pvh_elf(&elf, &len, NULL, NULL);
	err |= seed_write(argv[1], "pvh-2seg", img, len);
	elf.nr_segs = 1;
	elf.entry_descsz = 4;
	elf.other_notes = false;
	img = gen_pvh_elf(&elf, &len, NULL, NULL);
	err |= seed_write(argv[1], "pvh-1seg-desc4", img, len);
	elf = gen_elf_default();
	elf.entry_descsz = 0;
	img = gen_pvh_elf(&elf, &len, NULL, NULL);
	err |= seed_write(argv[1], "elf-no-entry", img, len);
	return err;
}
