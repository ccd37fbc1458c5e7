/*
 * keelctl's QMP connection (Documentation/qmp.md; QEMU's qmp-spec 2 and 4):
 * greeting, qmp_capabilities, commands with ids, and line-framed messages.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/keelctl/client.h"

static int client_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int client_pending(const struct client *cl)
{
	return cl->len && memchr(cl->buf, '\n', cl->len) != NULL;
}

json_t *client_recv(struct client *cl, int timeout_ms)
{
	for (;;) {
		char *nl = cl->len ? memchr(cl->buf, '\n', cl->len) : NULL;
		struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };
		json_error_t jerr;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - cl->buf) + 1;
			json_t *j = json_loadb(cl->buf, l, JSON_DECODE_ANY, &jerr);

			memmove(cl->buf, cl->buf + l, cl->len - l);
			cl->len -= l;
			if (!j) {
				fprintf(stderr, "keelctl: the server sent bad JSON: %s\n",
					jerr.text);
				continue;
			}
			return j;
		}
		if (cl->len == cl->cap) {
			size_t cap = cl->cap ? cl->cap * 2 : 65536;
			char *p;

			if (cap > CLIENT_MAX_LINE) {
				fprintf(stderr, "keelctl: a message longer than %u bytes\n",
					CLIENT_MAX_LINE);
				return NULL;
			}
			p = realloc(cl->buf, cap);
			if (!p)
				return NULL;
			cl->buf = p;
			cl->cap = cap;
		}
		n = poll(&pfd, 1, timeout_ms);
		if (n == 0)
			return NULL;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		cl->len += (size_t)n;
	}
}

int client_send(struct client *cl, const char *name, json_t *args, json_int_t *id)
{
	json_t *req = json_pack("{s:s,s:I}", "execute", name, "id", cl->next_id);
	char *text;
	int ret;

	if (!req) {
		json_decref(args);
		return -ENOMEM;
	}
	if (args)
		json_object_set_new(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return -ENOMEM;
	ret = client_write_all(cl->fd, text, strlen(text));
	if (!ret)
		ret = client_write_all(cl->fd, "\n", 1);
	free(text);
	if (id)
		*id = cl->next_id;
	cl->next_id++;
	return ret;
}

json_t *client_execute(struct client *cl, const char *name, json_t *args,
		       void (*on_event)(json_t *ev, void *opaque), void *opaque)
{
	json_int_t id;
	json_t *msg, *mid;

	if (client_send(cl, name, args, &id))
		return NULL;
	while ((msg = client_recv(cl, -1))) {
		mid = json_object_get(msg, "id");
		if (json_is_integer(mid) && json_integer_value(mid) == id)
			return msg;
		if (on_event && json_object_get(msg, "event"))
			on_event(msg, opaque);
		json_decref(msg);
	}
	return NULL;
}

int client_open(struct client *cl, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *reply;
	int ret;

	memset(cl, 0, sizeof(*cl));
	cl->next_id = 1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "keelctl: socket path '%s' is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cl->fd < 0 || connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		fprintf(stderr, "keelctl: cannot connect to '%s': %s\n", path, strerror(errno));
		client_close(cl);
		return ret;
	}
	cl->greeting = client_recv(cl, 5000);
	if (!json_is_object(json_object_get(cl->greeting, "QMP"))) {
		fprintf(stderr, "keelctl: '%s' did not greet like a QMP server\n", path);
		client_close(cl);
		return -EPROTO;
	}
	reply = client_execute(cl, "qmp_capabilities", NULL, NULL, NULL);
	if (!json_object_get(reply, "return")) {
		fprintf(stderr, "keelctl: capabilities negotiation failed\n");
		json_decref(reply);
		client_close(cl);
		return -EPROTO;
	}
	json_decref(reply);
	return 0;
}

void client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	json_decref(cl->greeting);
	cl->greeting = NULL;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
}
