/*
 * Unit tests for user/vmm/coredump.c: a core of fake RAM and registers, read
 * back with <elf.h>, and checked by readelf (and gdb when installed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/coredump.h"

#define LOW_SIZE	(64 * 1024)
#define HIGH_SIZE	(12 * 1024 + 100)	/* not a page multiple */
#define HIGH_GPA	0x100000000ULL

struct ctx {
	char path[64];
	uint8_t *low, *high;
	struct coredump_region regions[2];
	struct user_regs_struct cpus[2];
	uint8_t *file;
	size_t file_len;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct kvm_regs r;
	struct kvm_sregs s;
	unsigned int i;
	int fd;

	strcpy(c->path, "/tmp/keel-test-core.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	close(fd);
	c->low = malloc(LOW_SIZE);
	c->high = malloc(HIGH_SIZE);
	for (i = 0; i < LOW_SIZE; i++)
		c->low[i] = (uint8_t)(i * 7);
	for (i = 0; i < HIGH_SIZE; i++)
		c->high[i] = (uint8_t)(i ^ 0x5a);
	c->regions[0] = (struct coredump_region){ 0, LOW_SIZE, c->low };
	c->regions[1] = (struct coredump_region){ HIGH_GPA, HIGH_SIZE, c->high };
	for (i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		memset(&s, 0, sizeof(s));
		r.rip = 0xffffffff81000000ULL + i;
		r.rsp = 0xffffc90000001000ULL + 8 * i;
		r.rax = 0x1111 * (i + 1);
		r.r15 = 0xf15 + i;
		r.rflags = 0x246;
		s.cs.selector = 0x10;
		s.ss.selector = 0x18;
		s.gs.base = 0xffff888000000000ULL + i;
		coredump_regs_from_kvm(&r, &s, &c->cpus[i]);
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	unlink(c->path);
	free(c->low);
	free(c->high);
	free(c->file);
	free(c);
	return 0;
}

static void load(struct ctx *c)
{
	struct stat st;
	int fd = open(c->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	c->file_len = (size_t)st.st_size;
	c->file = malloc(c->file_len);
	assert_non_null(c->file);
	assert_int_equal(read(fd, c->file, c->file_len), (ssize_t)c->file_len);
	close(fd);
}

static void test_regs_from_kvm(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(c->cpus[1].rip, 0xffffffff81000001ULL);
	assert_int_equal(c->cpus[1].rax, 0x2222);
	assert_int_equal(c->cpus[1].r15, 0xf16);
	assert_int_equal(c->cpus[1].eflags, 0x246);
	assert_int_equal(c->cpus[1].cs, 0x10);
	assert_int_equal(c->cpus[1].ss, 0x18);
	assert_int_equal(c->cpus[1].gs_base, 0xffff888000000001ULL);
}

static void test_layout(void **state)
{
	struct ctx *c = *state;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	size_t off;
	unsigned int i, notes = 0;

	assert_int_equal(coredump_write_file(c->path, c->regions, 2, c->cpus, 2), 0);
	load(c);
	assert_true(c->file_len >= sizeof(*eh));
	eh = (const Elf64_Ehdr *)c->file;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh->e_ident[EI_DATA], ELFDATA2LSB);
	assert_int_equal(eh->e_type, ET_CORE);
	assert_int_equal(eh->e_machine, EM_X86_64);
	assert_int_equal(eh->e_phnum, 3);
	assert_int_equal(eh->e_phentsize, sizeof(Elf64_Phdr));
	assert_true(eh->e_phoff + 3 * sizeof(Elf64_Phdr) <= c->file_len);
	ph = (const Elf64_Phdr *)(c->file + eh->e_phoff);

	/* PT_NOTE: one NT_PRSTATUS "CORE" per vCPU with its registers. */
	assert_int_equal(ph[0].p_type, PT_NOTE);
	assert_true(ph[0].p_offset + ph[0].p_filesz <= c->file_len);
	off = ph[0].p_offset;
	while (off < ph[0].p_offset + ph[0].p_filesz) {
		const Elf64_Nhdr *n = (const Elf64_Nhdr *)(c->file + off);
		const char *name = (const char *)(n + 1);
		struct elf_prstatus prs;

		assert_int_equal(n->n_type, NT_PRSTATUS);
		assert_int_equal(n->n_namesz, 5);
		assert_string_equal(name, "CORE");
		assert_int_equal(n->n_descsz, sizeof(struct elf_prstatus));
		/* Notes are 4-byte aligned: copy the descriptor out. */
		assert_true(off + sizeof(*n) + 8 + sizeof(prs) <= c->file_len);
		memcpy(&prs, name + 8, sizeof(prs));
		assert_memory_equal(&prs.pr_reg, &c->cpus[notes], sizeof(prs.pr_reg));
		assert_int_equal(prs.pr_pid, notes + 1);
		off += sizeof(*n) + 8 + ((n->n_descsz + 3) & ~3u);
		notes++;
	}
	assert_int_equal(notes, 2);

	/* PT_LOADs: guest-physical addresses in p_paddr, the bytes in the file. */
	for (i = 1; i < 3; i++) {
		const struct coredump_region *r = &c->regions[i - 1];

		assert_int_equal(ph[i].p_type, PT_LOAD);
		assert_int_equal(ph[i].p_paddr, r->gpa);
		assert_int_equal(ph[i].p_filesz, r->size);
		assert_int_equal(ph[i].p_memsz, r->size);
		assert_int_equal(ph[i].p_offset % 4096, 0);
		assert_true(ph[i].p_offset >= ph[0].p_offset + ph[0].p_filesz);
		assert_true(ph[i].p_offset + ph[i].p_filesz <= c->file_len);
		assert_memory_equal(c->file + ph[i].p_offset, r->hva, r->size);
	}
	assert_true(ph[2].p_offset >= ph[1].p_offset + ph[1].p_filesz);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_readelf(void **state)
{
	struct ctx *c = *state;
	char cmd[512];
	FILE *f;
	char line[256];
	int loads = 0, prstatus = 0;

	assert_int_equal(coredump_write_file(c->path, c->regions, 2, c->cpus, 2), 0);
	if (run("command -v readelf >/dev/null 2>&1")) {
		skip();	/* binutils is in scripts/install-deps */
		return;
	}
	snprintf(cmd, sizeof(cmd), "readelf -h -l -n -W %s >/dev/null 2>&1", c->path);
	assert_int_equal(run(cmd), 0);
	/* readelf warns but exits 0 on some damage: count what it understood. */
	snprintf(cmd, sizeof(cmd), "readelf -l -n -W %s 2>&1", c->path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_null(strstr(line, "Warning"));
		assert_null(strstr(line, "Error"));
		if (strstr(line, "  LOAD "))
			loads++;
		if (strstr(line, "NT_PRSTATUS"))
			prstatus++;
	}
	assert_int_equal(pclose(f), 0);
	assert_int_equal(loads, 2);
	assert_int_equal(prstatus, 2);
}

static void test_gdb(void **state)
{
	struct ctx *c = *state;
	char cmd[512];
	FILE *f;
	char line[256];
	bool rip = false, rax = false;

	assert_int_equal(coredump_write_file(c->path, c->regions, 2, c->cpus, 2), 0);
	if (run("command -v gdb >/dev/null 2>&1")) {
		skip();	/* gdb is optional */
		return;
	}
	snprintf(cmd, sizeof(cmd), "gdb -nx -batch -ex 'set architecture i386:x86-64' "
		 "-ex 'core-file %s' -ex 'info registers' 2>&1", c->path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* Thread 1 (vCPU 0) is current. */
		if (!strncmp(line, "rip ", 4) && strstr(line, "0xffffffff81000000"))
			rip = true;
		if (!strncmp(line, "rax ", 4) && strstr(line, "0x1111"))
			rax = true;
	}
	assert_int_equal(pclose(f), 0);
	assert_true(rip);
	assert_true(rax);
}

static void test_bad_args(void **state)
{
	struct ctx *c = *state;
	int fd = open(c->path, O_WRONLY);

	assert_int_equal(coredump_write_fd(fd, NULL, 1, c->cpus, 1), -EINVAL);
	assert_int_equal(coredump_write_fd(fd, c->regions, 1, NULL, 1), -EINVAL);
	close(fd);
	/* A read-only fd: the write error comes back, nothing aborts. */
	fd = open(c->path, O_RDONLY);
	assert_int_equal(coredump_write_fd(fd, c->regions, 2, c->cpus, 2), -EBADF);
	close(fd);
	assert_int_equal(coredump_write_file("/nonexistent-dir/core", c->regions, 2, c->cpus, 2),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regs_from_kvm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readelf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gdb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
