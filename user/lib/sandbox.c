/*
 * The seccomp sandbox (seccomp(2), SECCOMP_RET_TRAP; libseccomp): per-role
 * allow-lists. Filters stack, so a thread started by an already sandboxed
 * thread is held to both lists: every role list is a subset of the main one.
 */
#include <errno.h>
#include <pthread.h>
#include <execinfo.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sandbox.h"

#define SANDBOX_MAX_NR	512

static bool sandbox_on;
static int sandbox_selftest_role = -1;
static __thread int sandbox_my_role = -1;
/* System call names, resolved once so the SIGSYS reporter needs no allocation. */
static char *sandbox_names[SANDBOX_MAX_NR];
#define SANDBOX_FRAMES	24
static void *sandbox_frames[SANDBOX_FRAMES];

/* What every thread does: memory, locks, time, signals, its own exit. */
static const char *const sandbox_common[] = {
	"read", "write", "readv", "writev", "close", "futex", "futex_waitv",
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk",
	"clock_gettime", "gettimeofday", "nanosleep", "clock_nanosleep",
	"getpid", "gettid", "getrandom", "sched_yield", "sched_getaffinity",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigtimedwait", "sigaltstack",
	"set_robust_list", "rseq", "prctl", "exit", "exit_group", "restart_syscall",
	"fstat", "newfstatat", "lseek", "fcntl", "dup", "eventfd2",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "timerfd_settime", "timerfd_gettime",
	"ioctl", "seccomp",
	NULL,
};

/* Block I/O engines (io_uring, libaio, synchronous) and the file calls behind them. */
static const char *const sandbox_io[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"io_setup", "io_destroy", "io_submit", "io_getevents", "io_pgetevents",
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"fsync", "fdatasync", "fallocate", "ftruncate", "sync_file_range",
	"ppoll", "poll",
	NULL,
};

/* The main loop also builds machines, talks QMP and opens chardevs and files. */
static const char *const sandbox_main[] = {
	"openat", "open", "creat", "unlink", "unlinkat", "rename", "renameat",
	"statx", "stat", "lstat", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "mkdir", "fchmod", "fchown", "umask", "getcwd",
	"socket", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"sendto", "sendmsg", "recvfrom", "recvmsg", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "socketpair", "pipe2", "dup2", "dup3",
	"epoll_create1", "timerfd_create", "signalfd4", "memfd_create",
	"rt_sigaction", "select", "pselect6", "sysinfo", "uname",
	"getuid", "geteuid", "getgid", "getegid", "getrlimit", "prlimit64",
	"sched_setaffinity", "membarrier", "wait4", "set_tid_address",
	"fadvise64", "flock", "copy_file_range", "setpriority",
	NULL,
};

/* vCPU threads: KVM_RUN and device models, which may start queues and engines. */
static const char *const sandbox_vcpu[] = {
	"io_uring_setup", "io_uring_register", "io_setup", "io_destroy",
	"pwrite64", "pread64",
	/* A guest reset drains a main-loop disk's engine on the vCPU that asked. */
	"io_uring_enter", "io_getevents", "io_pgetevents", "io_submit",
	NULL,
};

const char *sandbox_role_name(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_MAIN:
		return "main";
	case SANDBOX_VCPU:
		return "vcpu";
	case SANDBOX_IO:
		return "io";
	default:
		return "?";
	}
}

bool sandbox_enabled(void)
{
	return sandbox_on;
}

static void sandbox_put(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));

	(void)r;
}

/* Async-signal-safe: report the forbidden call, then die of SIGSYS. */
static void sandbox_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char num[16];
	int nr = si->si_syscall, i = (int)sizeof(num) - 1;
	sigset_t set;

	num[i] = '\0';
	do {
		num[--i] = (char)('0' + (nr < 0 ? 0 : nr) % 10);
		nr /= 10;
	} while (nr > 0 && i > 0);
	sandbox_put("keel: sandbox: a ");
	sandbox_put(sandbox_role_name((enum sandbox_role)sandbox_my_role));
	sandbox_put(" thread made a forbidden system call: ");
	if (si->si_syscall >= 0 && si->si_syscall < SANDBOX_MAX_NR &&
	    sandbox_names[si->si_syscall])
		sandbox_put(sandbox_names[si->si_syscall]);
	else
		sandbox_put("?");
	sandbox_put(" (");
	sandbox_put(num + i);
	sandbox_put("); killing keel\n");
	/* Where it came from: offsets into keel and its libraries (addr2line -e). */
	sandbox_put("keel: sandbox: call stack:\n");
	backtrace_symbols_fd(sandbox_frames, backtrace(sandbox_frames, SANDBOX_FRAMES),
			     STDERR_FILENO);
	signal(SIGSYS, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
	_exit(128 + SIGSYS);
}

int sandbox_init(void)
{
	struct sigaction sa = { .sa_sigaction = sandbox_sigsys, .sa_flags = SA_SIGINFO };
	const char *selftest;
	int nr;

	for (nr = 0; nr < SANDBOX_MAX_NR; nr++)
		if (!sandbox_names[nr])
			sandbox_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	/* backtrace() loads its unwinder on first use: do that now, not in the trap. */
	backtrace(sandbox_frames, 1);
	/* glibc reads the time zone file on the first time conversion (even gmtime_r). */
	tzset();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	sandbox_selftest_role = -1;
	selftest = getenv("KEEL_SANDBOX_SELFTEST");
	for (nr = 0; selftest && nr < SANDBOX_NR_ROLES; nr++)
		if (!strcmp(selftest, sandbox_role_name((enum sandbox_role)nr)))
			sandbox_selftest_role = nr;
	sandbox_on = true;
	return 0;
}

void sandbox_selftest(enum sandbox_role role)
{
	long r;

	if (!sandbox_on || (int)role != sandbox_selftest_role)
		return;
	log_warn("sandbox: KEEL_SANDBOX_SELFTEST=%s: making a forbidden call",
		 sandbox_role_name(role));
	/* reboot(2) with a bad magic: refused with EINVAL if it ever got through. */
	r = syscall(SYS_reboot, 0, 0, 0, NULL);
	log_err("sandbox: the forbidden call returned %ld: the filter is not working", r);
}

static int sandbox_allow(scmp_filter_ctx ctx, const char *const *names)
{
	int nr, ret;

	for (; *names; names++) {
		nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not a system call on this architecture */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

/* Threads only: clone() must carry CLONE_THREAD; clone3 says ENOSYS (glibc retries clone). */
static int sandbox_allow_threads(scmp_filter_ctx ctx)
{
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (ret)
		return ret;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static int sandbox_build(scmp_filter_ctx ctx, enum sandbox_role role)
{
	int ret = sandbox_allow(ctx, sandbox_common);

	/* SIGSYS reporter: the process may signal only itself. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	if (!ret)
		ret = sandbox_allow_threads(ctx);
	if (ret)
		return ret;
	switch (role) {
	case SANDBOX_MAIN:
		ret = sandbox_allow(ctx, sandbox_io);
		if (!ret)
			ret = sandbox_allow(ctx, sandbox_main);
		break;
	case SANDBOX_VCPU:
		ret = sandbox_allow(ctx, sandbox_vcpu);
		break;
	case SANDBOX_IO:
		ret = sandbox_allow(ctx, sandbox_io);
		break;
	default:
		ret = -EINVAL;
	}
	return ret;
}

int sandbox_enter(enum sandbox_role role)
{
	sigset_t set;
	scmp_filter_ctx ctx;
	int ret;

	if (!sandbox_on)
		return 0;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		log_err("sandbox: cannot create the %s thread's filter", sandbox_role_name(role));
		return -ENOMEM;
	}
	ret = sandbox_build(ctx, role);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		log_err("sandbox: cannot load the %s thread's filter: %s",
			sandbox_role_name(role), strerror(-ret));
		return ret;
	}
	sandbox_my_role = role;
	/*
	 * The kernel forces SIGSYS on a trapped call, but on a thread that blocks
	 * it the default action replaces our reporter: I/O threads block signals.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}
