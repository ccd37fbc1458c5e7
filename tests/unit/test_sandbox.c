/* Unit tests for user/lib/sandbox.c: each role's list, run in a child process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sandbox.h"

enum probe { PROBE_GETPID, PROBE_SOCKET, PROBE_OPEN, PROBE_EXECVE, PROBE_PREAD,
	     PROBE_THREAD_EXEC, PROBE_BLOCKED_SOCKET };

static void *sandbox_thread_exec(void *arg)
{
	char *const argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, NULL);
	return NULL;
}

/* Run probe in a child under role; returns its wait status, its stderr in err. */
static int sandbox_run(enum sandbox_role role, enum probe probe, char *err, size_t errlen)
{
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[16];
		char *const argv[] = { "/bin/true", NULL };
		int fd;

		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		if (probe == PROBE_BLOCKED_SOCKET) {
			sigset_t all;

			/* As keel's I/O threads do: every signal blocked. */
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, NULL);
		}
		if (sandbox_init() || sandbox_enter(role))
			_exit(90);
		switch (probe) {
		case PROBE_GETPID:
			_exit(getpid() > 0 ? 0 : 91);
		case PROBE_SOCKET:
		case PROBE_BLOCKED_SOCKET:
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			_exit(fd >= 0 ? 0 : 92);
		case PROBE_OPEN:
			fd = open("/dev/null", O_RDONLY);
			_exit(fd >= 0 ? 0 : 93);
		case PROBE_EXECVE:
			execve(argv[0], argv, NULL);
			_exit(94);
		case PROBE_PREAD:
			_exit(pread(STDIN_FILENO, buf, 0, 0) >= 0 || errno != ENOSYS ? 0 : 95);
		case PROBE_THREAD_EXEC: {
			pthread_t t;

			/* A thread started under the filter inherits it. */
			if (pthread_create(&t, NULL, sandbox_thread_exec, NULL))
				_exit(96);
			pthread_join(t, NULL);
			_exit(97);
		}
		}
		_exit(98);
	}
	close(pfd[1]);
	/* Drain to the end (the report carries a call stack), keep what fits. */
	for (;;) {
		char sink[256];

		if (got < (ssize_t)errlen - 1)
			n = read(pfd[0], err + got, errlen - 1 - (size_t)got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n <= 0)
			break;
		if (got < (ssize_t)errlen - 1)
			got += n;
	}
	err[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_killed(int status, const char *err, const char *call, const char *role)
{
	char want[128];

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	snprintf(want, sizeof(want), "a %s thread made a forbidden system call: %s", role,
		 call);
	assert_non_null(strstr(err, want));
}

static void assert_exit0(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_vcpu_role(void **state)
{
	char err[512];

	assert_exit0(sandbox_run(SANDBOX_VCPU, PROBE_GETPID, err, sizeof(err)));
	assert_killed(sandbox_run(SANDBOX_VCPU, PROBE_SOCKET, err, sizeof(err)), err,
		      "socket", "vcpu");
	assert_killed(sandbox_run(SANDBOX_VCPU, PROBE_OPEN, err, sizeof(err)), err,
		      "openat", "vcpu");
	assert_killed(sandbox_run(SANDBOX_VCPU, PROBE_EXECVE, err, sizeof(err)), err,
		      "execve", "vcpu");
}

static void test_io_role(void **state)
{
	char err[512];

	assert_exit0(sandbox_run(SANDBOX_IO, PROBE_PREAD, err, sizeof(err)));
	assert_killed(sandbox_run(SANDBOX_IO, PROBE_SOCKET, err, sizeof(err)), err,
		      "socket", "io");
	/* A thread with every signal blocked still reports before dying. */
	assert_killed(sandbox_run(SANDBOX_IO, PROBE_BLOCKED_SOCKET, err, sizeof(err)), err,
		      "socket", "io");
}

static void test_main_role(void **state)
{
	char err[512];

	assert_exit0(sandbox_run(SANDBOX_MAIN, PROBE_SOCKET, err, sizeof(err)));
	assert_exit0(sandbox_run(SANDBOX_MAIN, PROBE_OPEN, err, sizeof(err)));
	assert_killed(sandbox_run(SANDBOX_MAIN, PROBE_EXECVE, err, sizeof(err)), err,
		      "execve", "main");
	/* Threads inherit the filter; the reporter names the caller's role. */
	assert_killed(sandbox_run(SANDBOX_MAIN, PROBE_THREAD_EXEC, err, sizeof(err)), err,
		      "execve", "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_role),
		cmocka_unit_test(test_io_role),
		cmocka_unit_test(test_main_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
