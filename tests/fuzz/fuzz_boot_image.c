/*
 * libFuzzer target for the Linux boot loaders (user/vmm/boot*.c): hostile
 * kernel images into boot_probe, the bzImage loader and the PVH ELF loader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/boot.h"
#include "vmm/guest_mem.h"

/* Enough for the seeds' kernels (16 MiB + a little), small enough to stay fast. */
#define FUZZ_RAM	(24ULL << 20)
#define FUZZ_INITRD	(1U << 20)

static struct guest_mem fuzz_mem;
static uint8_t *fuzz_initrd;

static void fuzz_setup(void)
{
	void *ram;

	if (fuzz_initrd)
		return;
	if (guest_mem_layout(&fuzz_mem, FUZZ_RAM) < 0)
		abort();
	ram = mmap(NULL, FUZZ_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		abort();
	fuzz_mem.regions[0].hva = ram;
	fuzz_initrd = calloc(1, FUZZ_INITRD);
	if (!fuzz_initrd)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry entry;
	const char *why = NULL;
	size_t initrd_len;
	int kind, ret;

	fuzz_setup();
	/* The last byte picks an initrd size (0..1 MiB) to move placement around. */
	initrd_len = size ? (size_t)data[size - 1] * (FUZZ_INITRD / 256) : 0;

	kind = boot_probe(data, size, &why);
	if (kind < 0 && (!why || !*why))
		__builtin_trap();	/* every refusal has a reason */

	ret = boot_bzimage_load(&fuzz_mem, data, size, fuzz_initrd, initrd_len,
				"console=ttyS0", 0xe0000, &entry);
	if (ret == 0 && (kind != BOOT_BZIMAGE || entry.rip != BOOT_KERNEL_ADDR + 0x200))
		__builtin_trap();

	ret = boot_pvh_load(&fuzz_mem, data, size, fuzz_initrd, initrd_len,
			    "console=ttyS0", 0xe0000, &entry);
	if (ret == 0 && (kind < 0 || !guest_mem_hva(&fuzz_mem, entry.rip, 1)))
		__builtin_trap();
	return 0;
}
