/* vmm-watch: runs a VMM inside L2, logs its console, times console markers with
 * CLOCK_MONOTONIC and samples its memory at the first marker (TESTING.md, harness). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct watch_mem {
	long rss_kb;
	long shmem_kb;
	long big_rss_kb;	/* Rss of mappings at least as large as guest RAM */
};

static const char *watch_usage =
	"usage: vmm-watch -o LOG [-m MARKER] [-n COUNT] [-k] [-t SECONDS] [-r RAM_MB]"
	" -- VMM [ARG...]\n"
	"  -k  kill the VMM once COUNT markers were seen (default: wait for exit)\n";

static int64_t watch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long watch_status_kb(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Sample /proc/PID/status and /proc/PID/smaps; guest RAM is the mapping(s)
 * at least ram_mb large (a memfd for keel, anonymous memory for QEMU). */
static void watch_sample(pid_t pid, long ram_mb, struct watch_mem *mem)
{
	char path[64], buf[8192], line[512];
	unsigned long start, end;
	int big = 0;
	ssize_t n;
	FILE *f;
	int fd;

	memset(mem, 0, sizeof(*mem));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			mem->rss_kb = watch_status_kb(buf, "VmRSS:");
			mem->shmem_kb = watch_status_kb(buf, "RssShmem:");
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') &&
		    line[0] != ' ') {
			big = ram_mb > 0 && end - start >= (unsigned long)ram_mb << 20;
			continue;
		}
		if (big && strncmp(line, "Rss:", 4) == 0)
			mem->big_rss_kb += strtol(line + 4, NULL, 10);
	}
	fclose(f);
}

/* Count marker occurrences in the stream; the last mlen-1 bytes are carried
 * over so a marker split across two reads is still counted exactly once. */
/* A one-line file of /proc, without its newline, into buf ("?" if unreadable). */
static void watch_proc_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * Where the VMM's threads are when it did not finish: each thread's name,
 * state, kernel wait channel and system call, so a hang can be told apart
 * from a slow guest (a thread in D inside a module, a main loop in a futex).
 */
static void watch_threads(pid_t pid, const char *why)
{
	char dir[64], path[400], comm[64], stat[512], wchan[128], sys[128];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		watch_proc_line(path, comm, sizeof(comm));
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		watch_proc_line(path, stat, sizeof(stat));
		st = strrchr(stat, ')');
		snprintf(path, sizeof(path), "%s/%s/wchan", dir, e->d_name);
		watch_proc_line(path, wchan, sizeof(wchan));
		snprintf(path, sizeof(path), "%s/%s/syscall", dir, e->d_name);
		watch_proc_line(path, sys, sizeof(sys));
		sys[strcspn(sys, " ")] = 0;
		printf("vmm-watch: thread %s %s state=%c wchan=%s syscall=%s (%s)\n", e->d_name,
		       comm, st && st[1] && st[2] ? st[2] : '?', wchan, sys, why);
	}
	closedir(d);
}

/* Reap pid, but give up after 30 s: a process stuck in the kernel ignores SIGKILL. */
static int watch_reap(pid_t pid, int *status)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(100 * 1000);
	}
	watch_threads(pid, "not gone 30 s after SIGKILL");
	return -1;
}

static int watch_scan(char *carry, size_t *carry_len, const char *data, size_t len,
		      const char *marker)
{
	size_t mlen = strlen(marker), keep = mlen - 1, total, off = 0;
	char win[8192];
	int found = 0;
	char *p;

	if (len > sizeof(win) - *carry_len)
		len = sizeof(win) - *carry_len;
	memcpy(win, carry, *carry_len);
	memcpy(win + *carry_len, data, len);
	total = *carry_len + len;
	while ((p = memmem(win + off, total - off, marker, mlen))) {
		found++;
		off = p - win + mlen;
	}
	if (keep > total - off)
		keep = total - off;
	memcpy(carry, win + total - keep, keep);
	*carry_len = keep;
	return found;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *marker = "KEEL-L3-INIT";
	long timeout_s = 120, ram_mb = 0, count = 1, seen = 0;
	int64_t t0, first_ms = -1, deadline;
	struct watch_mem mem = { -1, -1, -1 };
	char carry[4096], buf[4096];
	size_t carry_len = 0;
	int kill_at_count = 0, timed_out = 0, killed = 0, status = 0, opt, logfd;
	int pipefd[2];
	pid_t pid;

	while ((opt = getopt(argc, argv, "o:m:n:kt:r:")) != -1) {
		switch (opt) {
		case 'o': log_path = optarg; break;
		case 'm': marker = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'k': kill_at_count = 1; break;
		case 't': timeout_s = strtol(optarg, NULL, 10); break;
		case 'r': ram_mb = strtol(optarg, NULL, 10); break;
		default: fputs(watch_usage, stderr); return 2;
		}
	}
	if (!log_path || optind >= argc || count < 1 || timeout_s < 1 || !*marker ||
	    strlen(marker) >= sizeof(carry)) {
		fputs(watch_usage, stderr);
		return 2;
	}
	logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "vmm-watch: %s: %s\n", log_path, strerror(errno));
		return 2;
	}
	t0 = watch_now_ms();
	pid = fork();
	if (pid < 0) {
		perror("vmm-watch: fork");
		return 2;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "vmm-watch: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	deadline = t0 + timeout_s * 1000;
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int64_t left = deadline - watch_now_ms();
		ssize_t n;
		int found;

		if (left <= 0) {
			timed_out = 1;
			watch_threads(pid, "at the timeout");
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(logfd, buf, n) != n)
			break;
		found = watch_scan(carry, &carry_len, buf, n, marker);
		if (found && first_ms < 0) {
			first_ms = watch_now_ms() - t0;
			watch_sample(pid, ram_mb, &mem);
		}
		seen += found;
		if (kill_at_count && seen >= count) {
			killed = 1;
			kill(pid, SIGKILL);
			break;
		}
	}
	/* drain what is left so the log is complete */
	while (!timed_out) {
		ssize_t n = read(pipefd[0], buf, sizeof(buf));

		if (n <= 0 || write(logfd, buf, n) != n)
			break;
	}
	if (timed_out ? watch_reap(pid, &status) : waitpid(pid, &status, 0) != pid) {
		printf("vmm-watch: markers=%ld first_ms=%lld total_ms=%lld timeout=%d "
		       "unkillable=1\n", seen, (long long)first_ms,
		       (long long)(watch_now_ms() - t0), timed_out);
		return 125;
	}
	printf("vmm-watch: markers=%ld first_ms=%lld total_ms=%lld rss_kb=%ld shmem_kb=%ld "
	       "ram_rss_kb=%ld timeout=%d killed=%d ",
	       seen, (long long)first_ms, (long long)(watch_now_ms() - t0),
	       mem.rss_kb, mem.shmem_kb, mem.big_rss_kb, timed_out, killed);
	if (WIFEXITED(status)) {
		printf("exit=%d\n", WEXITSTATUS(status));
		return timed_out ? 124 : WEXITSTATUS(status);
	}
	printf("signal=%d\n", WTERMSIG(status));
	return timed_out ? 124 : 128 + WTERMSIG(status);
}
