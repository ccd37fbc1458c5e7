/*
 * keel-sockcat: the L2 end of a keel unix-socket chardev (F27 scenarios):
 * connect, send stdin, then copy what comes back to stdout until N lines
 * arrived, the peer closed, or SECS seconds passed.
 *   keel-sockcat [-w SECS] [-n LINES] PATH      exit 0 when LINES lines arrived
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long secs = 10, want = -1, lines = 0, deadline;
	char buf[4096];
	int fd, c;
	ssize_t n;

	while ((c = getopt(argc, argv, "w:n:")) != -1) {
		if (c == 'w')
			secs = atol(optarg);
		else if (c == 'n')
			want = atol(optarg);
		else
			return 2;
	}
	if (optind + 1 != argc || strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: keel-sockcat [-w SECS] [-n LINES] PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[optind]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "keel-sockcat: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n)) {
			fprintf(stderr, "keel-sockcat: send: %s\n", strerror(errno));
			return 1;
		}
	deadline = now_ms() + secs * 1000L;
	while (want < 0 || lines < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t i;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
		if (write_all(STDOUT_FILENO, buf, (size_t)n))
			return 1;
	}
	close(fd);
	return want < 0 || lines >= want ? 0 : 1;
}
