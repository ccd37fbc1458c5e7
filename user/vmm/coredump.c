/*
 * Guest ELF core writer (ELF-64 gABI ch. 4 program headers and notes, x86-64
 * psABI): ET_CORE, a PT_NOTE of NT_PRSTATUS "CORE" notes, PT_LOADs per RAM region.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "vmm/coredump.h"

#define COREDUMP_ALIGN		4096ULL
#define COREDUMP_NOTE_NAME	"CORE"	/* with its NUL: 5 bytes, padded to 8 */
#define COREDUMP_NAME_SZ	8

/* Header, name padded to 4, descriptor: packed, as notes are 4-byte aligned only. */
#define COREDUMP_NOTE_SZ	(sizeof(Elf64_Nhdr) + COREDUMP_NAME_SZ + \
				 sizeof(struct elf_prstatus))
_Static_assert(sizeof(struct elf_prstatus) % 4 == 0, "note descriptor padding");

void coredump_regs_from_kvm(const struct kvm_regs *r, const struct kvm_sregs *s,
			    struct user_regs_struct *out)
{
	memset(out, 0, sizeof(*out));
	out->r15 = r->r15;
	out->r14 = r->r14;
	out->r13 = r->r13;
	out->r12 = r->r12;
	out->rbp = r->rbp;
	out->rbx = r->rbx;
	out->r11 = r->r11;
	out->r10 = r->r10;
	out->r9 = r->r9;
	out->r8 = r->r8;
	out->rax = r->rax;
	out->rcx = r->rcx;
	out->rdx = r->rdx;
	out->rsi = r->rsi;
	out->rdi = r->rdi;
	out->orig_rax = ~0ULL;	/* not in a system call */
	out->rip = r->rip;
	out->eflags = r->rflags;
	out->rsp = r->rsp;
	if (s) {
		out->cs = s->cs.selector;
		out->ss = s->ss.selector;
		out->ds = s->ds.selector;
		out->es = s->es.selector;
		out->fs = s->fs.selector;
		out->gs = s->gs.selector;
		out->fs_base = s->fs.base;
		out->gs_base = s->gs.base;
	}
}

static int coredump_pwrite(int fd, const void *buf, uint64_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		size_t chunk = len > (1ULL << 30) ? (1ULL << 30) : (size_t)len;
		ssize_t n = pwrite(fd, p, chunk, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int coredump_write_fd(int fd, const struct coredump_region *regions, unsigned int nr_regions,
		      const struct user_regs_struct *cpus, unsigned int nr_cpus)
{
	unsigned int nr_ph = nr_regions + 1, i;
	size_t head_len = sizeof(Elf64_Ehdr) + nr_ph * sizeof(Elf64_Phdr);
	size_t notes_len = (size_t)nr_cpus * COREDUMP_NOTE_SZ;
	uint64_t off;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	uint8_t *notes;
	uint8_t *head;
	int ret;

	if (nr_regions > 0xfff0 || nr_cpus > 0x10000 || (nr_regions && !regions) ||
	    (nr_cpus && !cpus))
		return -EINVAL;
	head = calloc(1, head_len + notes_len);
	if (!head)
		return -ENOMEM;
	eh = (Elf64_Ehdr *)head;
	ph = (Elf64_Phdr *)(head + sizeof(*eh));
	notes = head + head_len;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)nr_ph;

	for (i = 0; i < nr_cpus; i++) {
		uint8_t *n = notes + (size_t)i * COREDUMP_NOTE_SZ;
		Elf64_Nhdr nh = {
			.n_namesz = sizeof(COREDUMP_NOTE_NAME),
			.n_descsz = sizeof(struct elf_prstatus),
			.n_type = NT_PRSTATUS,
		};
		struct elf_prstatus prs;

		memset(&prs, 0, sizeof(prs));
		/* One "thread" per vCPU: gdb numbers them by pid, 0 would be odd. */
		prs.pr_pid = (pid_t)(i + 1);
		memcpy(&prs.pr_reg, &cpus[i], sizeof(prs.pr_reg));
		memcpy(n, &nh, sizeof(nh));
		memcpy(n + sizeof(nh), COREDUMP_NOTE_NAME, sizeof(COREDUMP_NOTE_NAME));
		memcpy(n + sizeof(nh) + COREDUMP_NAME_SZ, &prs, sizeof(prs));
	}
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = head_len;
	ph[0].p_filesz = notes_len;
	ph[0].p_align = 4;

	off = (head_len + notes_len + COREDUMP_ALIGN - 1) & ~(COREDUMP_ALIGN - 1);
	for (i = 0; i < nr_regions; i++) {
		Elf64_Phdr *p = &ph[i + 1];

		p->p_type = PT_LOAD;
		p->p_flags = PF_R | PF_W | PF_X;
		p->p_offset = off;
		/* Guests run paged: no one virtual address fits, gdb reads p_paddr. */
		p->p_vaddr = 0;
		p->p_paddr = regions[i].gpa;
		p->p_filesz = regions[i].size;
		p->p_memsz = regions[i].size;
		p->p_align = COREDUMP_ALIGN;
		off += (regions[i].size + COREDUMP_ALIGN - 1) & ~(COREDUMP_ALIGN - 1);
	}

	ret = coredump_pwrite(fd, head, head_len + notes_len, 0);
	for (i = 0; !ret && i < nr_regions; i++)
		ret = coredump_pwrite(fd, regions[i].hva, regions[i].size, ph[i + 1].p_offset);
	free(head);
	return ret;
}

int coredump_write_file(const char *path, const struct coredump_region *regions,
			unsigned int nr_regions, const struct user_regs_struct *cpus,
			unsigned int nr_cpus)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = coredump_write_fd(fd, regions, nr_regions, cpus, nr_cpus);
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}
