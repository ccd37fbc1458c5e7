/*
 * Linux boot: tell a bzImage (boot.rst, 64-bit boot protocol) from a PVH ELF
 * vmlinux, read kernel and initrd files, dispatch to the loader; plus what
 * both loaders share: boot GDT, command line, initrd placement.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/boot_priv.h"

/* No kernel file we can boot is this big; refuse before allocating. */
#define BOOT_KERNEL_FILE_MAX	(1ULL << 30)

const char *boot_why(const char *fmt, ...)
{
	/* Two slots: boot_probe keeps one loader's reason while asking the other. */
	static __thread char buf[2][192];
	static __thread unsigned int slot;
	char *b = buf[slot++ & 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return b;
}

int boot_probe(const void *image, size_t len, const char **why)
{
	static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	const uint8_t *p = image;
	const char *bz_why = NULL, *elf_why = NULL;
	bool hdrs = len >= 0x206 && memcmp(p + 0x202, "HdrS", 4) == 0;
	bool elf = len >= sizeof(elf_magic) && memcmp(p, elf_magic, sizeof(elf_magic)) == 0;

	if (boot_bzimage_check(image, len, &bz_why) == 0)
		return BOOT_BZIMAGE;
	if (elf && boot_pvh_check(image, len, &elf_why) == 0)
		return BOOT_PVH;
	if (why) {
		/* A setup header that is there but unusable says more than "not ELF". */
		if (hdrs)
			*why = bz_why;
		else if (elf)
			*why = elf_why;
		else
			*why = "not a Linux kernel: no HdrS signature and not an ELF file";
	}
	return -ENOEXEC;
}

int boot_write_gdt(struct guest_mem *mem, uint64_t code_desc, struct boot_entry *entry)
{
	uint8_t gdt[BOOT_GDT_ENTRIES * 8] = { 0 };
	int ret;

	boot_put64(gdt + 0x10, code_desc);
	boot_put64(gdt + 0x18, BOOT_GDT_DATA);
	ret = guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));
	if (ret < 0) {
		log_err("boot: GDT at %#x is not in guest RAM", BOOT_GDT_ADDR);
		return ret;
	}
	entry->gdt_addr = BOOT_GDT_ADDR;
	entry->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

int boot_write_cmdline(struct guest_mem *mem, const char *cmdline, size_t max_len,
		       size_t *len)
{
	size_t n = cmdline ? strlen(cmdline) : 0;
	char *dst;

	if (max_len > BOOT_CMDLINE_MAX - 1)
		max_len = BOOT_CMDLINE_MAX - 1;
	if (n > max_len) {
		log_warn("boot: kernel command line is %zu bytes, the kernel takes %zu: "
			 "the rest is dropped", n, max_len);
		n = max_len;
	}
	dst = guest_mem_hva(mem, BOOT_CMDLINE_ADDR, n + 1);
	if (!dst) {
		log_err("boot: command line at %#x is not in guest RAM", BOOT_CMDLINE_ADDR);
		return -EFAULT;
	}
	if (n)
		memcpy(dst, cmdline, n);
	dst[n] = '\0';
	*len = n;
	return 0;
}

/* The e820 RAM entry holding all of [addr, addr + size), or NULL. */
static const struct e820_entry *boot_e820_ram(const struct guest_mem *mem, uint64_t addr,
					      uint64_t size)
{
	unsigned int i;

	for (i = 0; i < mem->nr_e820 && i < E820_MAX_ENTRIES; i++) {
		const struct e820_entry *e = &mem->e820[i];

		if (e->type == E820_RAM && addr >= e->addr && addr - e->addr <= e->size &&
		    size <= e->size - (addr - e->addr))
			return e;
	}
	return NULL;
}

bool boot_range_is_ram(const struct guest_mem *mem, uint64_t addr, uint64_t size)
{
	if (size == 0 || addr + size < addr)
		return false;
	if (!guest_mem_hva(mem, addr, size))
		return false;
	/* Without an e820 map (bare test memory) every region byte is RAM. */
	return mem->nr_e820 == 0 || boot_e820_ram(mem, addr, size) != NULL;
}

/* Highest page-aligned start of size bytes inside [lo, hi), or 0 if none. */
static uint64_t boot_fit_top(uint64_t lo, uint64_t hi, uint64_t size)
{
	uint64_t a;

	if (hi <= lo || hi - lo < size)
		return 0;
	a = (hi - size) & ~(BOOT_PAGE_SIZE - 1);
	return a >= lo ? a : 0;
}

int boot_place_initrd(const struct guest_mem *mem, uint64_t size, uint64_t limit,
		      uint64_t kernel_start, uint64_t kernel_end, uint64_t *addr)
{
	uint64_t top = guest_mem_low_end(mem), best = 0;
	unsigned int i, n = mem->nr_e820 < E820_MAX_ENTRIES ? mem->nr_e820 : E820_MAX_ENTRIES;

	if (limit < top)
		top = limit;
	if (top > GUEST_4G)
		top = GUEST_4G;
	if (size == 0 || size > top)
		return -ENOMEM;
	/* Each RAM window, cut by the kernel into a part below and one above it. */
	for (i = 0; i < (n ? n : 1); i++) {
		uint64_t lo = 0, hi = top, a;

		if (n) {
			const struct e820_entry *e = &mem->e820[i];

			if (e->type != E820_RAM || e->addr >= top)
				continue;
			lo = e->addr;
			if (e->size < top - e->addr)
				hi = e->addr + e->size;
		}
		if (lo < BOOT_LOW_END)
			lo = BOOT_LOW_END;
		a = boot_fit_top(lo, hi < kernel_start ? hi : kernel_start, size);
		if (a > best)
			best = a;
		a = boot_fit_top(lo > kernel_end ? lo : kernel_end, hi, size);
		if (a > best)
			best = a;
	}
	if (!best || !guest_mem_hva(mem, best, size))
		return -ENOMEM;
	*addr = best;
	return 0;
}

/* Read a whole regular file; what names it in messages ("kernel", "initrd"). */
static int boot_read_file(const char *path, const char *what, uint64_t max,
			  uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *data;
	size_t done = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		log_err("%s %s: %s", what, path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("%s %s: not a regular file", what, path);
		ret = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > max) {
		log_err("%s %s does not fit in guest RAM (%lld MiB, at most %llu MiB)",
			what, path, (long long)st.st_size >> 20,
			(unsigned long long)max >> 20);
		ret = -EFBIG;
		goto out_close;
	}
	data = malloc(st.st_size ? st.st_size : 1);
	if (!data) {
		ret = -ENOMEM;
		log_err("%s %s: out of memory reading %lld bytes", what, path,
			(long long)st.st_size);
		goto out_close;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			log_err("%s %s: read failed: %s", what, path,
				n < 0 ? strerror(errno) : "file shrank while reading");
			free(data);
			goto out_close;
		}
		done += n;
	}
	*buf = data;
	*len = done;
	ret = 0;
out_close:
	close(fd);
	return ret;
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *entry)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	const char *why = NULL;
	int kind, ret;

	if (!cfg->kernel_path) {
		log_err("boot: no kernel given");
		return -EINVAL;
	}
	ret = boot_read_file(cfg->kernel_path, "kernel", BOOT_KERNEL_FILE_MAX,
			     &kernel, &kernel_len);
	if (ret < 0)
		return ret;
	kind = boot_probe(kernel, kernel_len, &why);
	if (kind < 0) {
		log_err("kernel %s: %s", cfg->kernel_path, why);
		ret = kind;
		goto out;
	}
	if (cfg->initrd_path) {
		ret = boot_read_file(cfg->initrd_path, "initrd", guest_mem_low_end(mem),
				     &initrd, &initrd_len);
		if (ret < 0)
			goto out;
		if (initrd_len == 0)
			log_warn("initrd %s is empty: booting without one", cfg->initrd_path);
	}
	if (kind == BOOT_BZIMAGE)
		ret = boot_bzimage_load(mem, kernel, kernel_len, initrd, initrd_len,
					cfg->cmdline, cfg->rsdp_addr, entry);
	else
		ret = boot_pvh_load(mem, kernel, kernel_len, initrd, initrd_len,
				    cfg->cmdline, cfg->rsdp_addr, entry);
	if (ret == 0)
		log_debug("boot: %s kernel %s, entry %#llx", kind == BOOT_BZIMAGE ?
			  "bzImage" : "PVH", cfg->kernel_path,
			  (unsigned long long)entry->rip);
out:
	free(initrd);
	free(kernel);
	return ret;
}
