/*
 * keel-vhost: show the disks a running keel serves through vhost-blk and the
 * kernel's per-queue counters, asked over keel's QMP socket (query-vhost;
 * Documentation/vhost-blk.md "keel's side", man keel-vhost(1)).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KV_TIMEOUT_MS	5000
#define KV_MAX_LINE	(1u << 20)

struct kv_conn {
	int fd;
	char *buf;
	size_t len;
};

static void kv_usage(FILE *f)
{
	fprintf(f,
		"usage: keel-vhost [list] [--json] SOCKET\n"
		"Show the disks keel serves through /dev/vhost-blk (--disk ...,accel=vhost)\n"
		"and the kernel's counters for each of their queues, asked over keel's\n"
		"QMP socket (keel --qmp unix:SOCKET,server) with query-vhost.\n"
		"\n"
		"  --json     print query-vhost's reply as it came\n"
		"  -h, --help this text\n"
		"\n"
		"Exit status: 0 answered, 1 keel could not be asked, 2 usage error.\n");
}

static int kv_connect(struct kv_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "keel-vhost: socket path '%s' is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		fprintf(stderr, "keel-vhost: cannot connect to %s: %s\n", path, strerror(err));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -err;
	}
	c->buf = malloc(KV_MAX_LINE);
	c->len = 0;
	return c->buf ? 0 : -ENOMEM;
}

/* The next JSON message (one line), NULL on EOF, timeout or garbage. */
static json_t *kv_recv(struct kv_conn *c)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		json_error_t jerr;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf) + 1;
			json_t *j = json_loadb(c->buf, l, JSON_DECODE_ANY, &jerr);

			memmove(c->buf, c->buf + l, c->len - l);
			c->len -= l;
			if (!j)
				fprintf(stderr, "keel-vhost: keel sent bad JSON: %s\n", jerr.text);
			return j;
		}
		if (c->len == KV_MAX_LINE) {
			fprintf(stderr, "keel-vhost: a message longer than %u bytes\n",
				KV_MAX_LINE);
			return NULL;
		}
		n = poll(&p, 1, KV_TIMEOUT_MS);
		if (n == 0) {
			fprintf(stderr, "keel-vhost: keel did not answer within %d s\n",
				KV_TIMEOUT_MS / 1000);
			return NULL;
		}
		if (n < 0 && errno == EINTR)
			continue;
		n = n < 0 ? -1 : read(c->fd, c->buf + c->len, KV_MAX_LINE - c->len);
		if (n <= 0) {
			fprintf(stderr, "keel-vhost: keel closed the connection\n");
			return NULL;
		}
		c->len += (size_t)n;
	}
}

/* Run one command: its "return" value (new reference) or NULL, said why. */
static json_t *kv_execute(struct kv_conn *c, const char *cmd)
{
	char line[128];
	int len = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\r\n", cmd);
	json_t *m, *r;

	if (write(c->fd, line, len) != len) {
		fprintf(stderr, "keel-vhost: cannot send %s: %s\n", cmd, strerror(errno));
		return NULL;
	}
	while ((m = kv_recv(c))) {
		r = json_object_get(m, "return");
		if (r) {
			json_incref(r);
			json_decref(m);
			return r;
		}
		r = json_object_get(m, "error");
		if (r) {
			fprintf(stderr, "keel-vhost: %s: %s\n", cmd,
				json_string_value(json_object_get(r, "desc")) ?: "error");
			json_decref(m);
			return NULL;
		}
		json_decref(m);		/* an event */
	}
	return NULL;
}

static uint64_t kv_u64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v < 0 ? 0 : (uint64_t)v;
}

static void kv_print(json_t *list)
{
	size_t i, j;
	json_t *d, *q;

	if (!json_array_size(list)) {
		printf("no disk is served by vhost (keel uses its own data plane)\n");
		return;
	}
	printf("%-16s %12s %14s %14s %8s %8s %8s %s\n", "DEVICE/QUEUE", "REQUESTS",
	       "READ_BYTES", "WRITE_BYTES", "ERRORS", "INFLIGHT", "QUEUED", "BROKEN");
	json_array_foreach(list, i, d) {
		const char *name = json_string_value(json_object_get(d, "device"));

		json_array_foreach(json_object_get(d, "queues"), j, q) {
			char id[48];

			snprintf(id, sizeof(id), "%s/%" PRIu64, name ? name : "?",
				 kv_u64(q, "queue"));
			printf("%-16s %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %8" PRIu64
			       " %8" PRIu64 " %8" PRIu64 " %s\n", id, kv_u64(q, "requests"),
			       kv_u64(q, "read-bytes"), kv_u64(q, "write-bytes"),
			       kv_u64(q, "errors"), kv_u64(q, "inflight"), kv_u64(q, "queued"),
			       json_is_true(json_object_get(q, "broken")) ? "yes" : "no");
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kv_conn c = { .fd = -1 };
	bool json = false;
	json_t *greeting, *r;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			kv_usage(stdout);
			return 0;
		} else {
			kv_usage(stderr);
			return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "list"))
		optind++;
	if (optind + 1 != argc) {
		kv_usage(stderr);
		return 2;
	}
	if (kv_connect(&c, argv[optind]))
		return 1;
	greeting = kv_recv(&c);
	if (!greeting || !json_object_get(greeting, "QMP")) {
		fprintf(stderr, "keel-vhost: %s did not greet like a QMP server\n", argv[optind]);
		goto out;
	}
	json_decref(greeting);
	r = kv_execute(&c, "qmp_capabilities");
	if (!r)
		goto out;
	json_decref(r);
	r = kv_execute(&c, "query-vhost");
	if (!r)
		goto out;
	if (json) {
		json_dumpf(r, stdout, JSON_COMPACT);
		printf("\n");
	} else {
		kv_print(r);
	}
	json_decref(r);
	ret = 0;
out:
	close(c.fd);
	free(c.buf);
	return ret;
}
