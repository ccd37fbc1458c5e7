/*
 * QMP-compatible control socket server (Documentation/qmp.md; QEMU's
 * docs/interop/qmp-spec 2.2 greeting, 2.3 commands, 2.4 events, 4 negotiation).
 * Every byte a client sends is hostile: documents are framed by a bracket
 * scanner that caps size and nesting before jansson ever sees them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/qmp/qmp.h"

struct qmp_client {
	struct qmp_server *srv;
	struct qmp_client *next;
	int fd;
	unsigned int id;
	bool negotiated;
	bool dead;

	/* The document being framed. */
	char *in;
	size_t in_len, in_cap;
	int depth;
	bool in_str, esc, too_deep;

	char *out;
	size_t out_len, out_cap;
	bool want_out;
};

struct qmp_server {
	struct loop *loop;
	struct qmp_version ver;
	const struct qmp_command *cmds;
	size_t nr_cmds;
	void *opaque;
	int listen_fd;
	char *path;
	struct qmp_client *clients;
	unsigned int nr_clients, next_id;
	int busy;		/* > 0 while a client is being served: no freeing */
	bool full_logged;
};

static void qmp_client_on_fd(void *opaque, uint32_t events);

int qmp_error_set(struct qmp_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void qmp_client_drop(struct qmp_client *c, const char *why)
{
	if (c->dead)
		return;
	/* A client going away is normal; being thrown out is worth a line. */
	if (strcmp(why, "disconnected"))
		log_info("qmp: client %u dropped: %s", c->id, why);
	else
		log_debug("qmp: client %u disconnected", c->id);
	c->dead = true;
}

static void qmp_client_free(struct qmp_client *c)
{
	struct qmp_server *srv = c->srv;
	struct qmp_client **pp;

	for (pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->nr_clients--;
	loop_del_fd(srv->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Free dropped clients once nobody is inside one of them. */
static void qmp_reap(struct qmp_server *srv)
{
	struct qmp_client *c, *next;

	if (srv->busy)
		return;
	for (c = srv->clients; c; c = next) {
		next = c->next;
		if (c->dead)
			qmp_client_free(c);
	}
}

static void qmp_client_flush(struct qmp_client *c)
{
	size_t off = 0;
	ssize_t n;

	while (!c->dead && off < c->out_len) {
		n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				qmp_client_drop(c, "disconnected");
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				qmp_client_drop(c, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (c->dead)
		return;
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
	if (!!c->out_len != c->want_out) {
		c->want_out = !!c->out_len;
		loop_mod_fd(c->srv->loop, c->fd, EPOLLIN | (c->want_out ? EPOLLOUT : 0));
	}
}

/* Queue one JSON line (stolen) for the client and try to write it now. */
static void qmp_client_send(struct qmp_client *c, json_t *msg)
{
	char *text;
	size_t len, need;

	if (c->dead) {
		json_decref(msg);
		return;
	}
	text = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	json_decref(msg);
	if (!text) {
		qmp_client_drop(c, "cannot encode a reply");
		return;
	}
	len = strlen(text);
	need = c->out_len + len + 2;
	/* A client that never reads must not make us hold unbounded memory. */
	if (need > QMP_MAX_OUTBUF) {
		free(text);
		qmp_client_drop(c, "it does not read its replies and events");
		return;
	}
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			free(text);
			qmp_client_drop(c, "out of memory");
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	memcpy(c->out + c->out_len + len, "\r\n", 2);
	c->out_len += len + 2;
	free(text);
	qmp_client_flush(c);
}

static json_t *qmp_version_json(const struct qmp_server *srv)
{
	return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "major", srv->ver.major,
			 "minor", srv->ver.minor, "micro", srv->ver.micro, "package",
			 srv->ver.package ? srv->ver.package : "");
}

static void qmp_send_error(struct qmp_client *c, json_t *id, const char *cls,
			   const char *desc)
{
	json_t *reply = json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);

	if (reply && id)
		json_object_set(reply, "id", id);
	if (reply)
		qmp_client_send(c, reply);
}

static const char *qmp_type_name(enum qmp_arg_type t)
{
	switch (t) {
	case QMP_ARG_STR:
		return "string";
	case QMP_ARG_INT:
		return "integer";
	case QMP_ARG_BOOL:
		return "boolean";
	case QMP_ARG_NUMBER:
		return "number";
	case QMP_ARG_OBJECT:
		return "object";
	default:
		return "any";
	}
}

static bool qmp_type_ok(enum qmp_arg_type t, const json_t *v)
{
	switch (t) {
	case QMP_ARG_STR:
		return json_is_string(v);
	case QMP_ARG_INT:
		return json_is_integer(v);
	case QMP_ARG_BOOL:
		return json_is_boolean(v);
	case QMP_ARG_NUMBER:
		return json_is_number(v);
	case QMP_ARG_OBJECT:
		return json_is_object(v);
	default:
		return true;
	}
}

/* Check args against the command's schema; 0 or -EINVAL with err filled. */
static int qmp_check_args(const struct qmp_command *cmd, json_t *args, struct qmp_error *err)
{
	const struct qmp_arg *a;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		for (a = cmd->args; a < cmd->args + QMP_MAX_ARGS && a->name; a++)
			if (!strcmp(a->name, key))
				break;
		if (a == cmd->args + QMP_MAX_ARGS || !a->name) {
			if (cmd->open_args)
				continue;
			return qmp_error_set(err, "Parameter '%.64s' is unexpected", key);
		}
		if (!qmp_type_ok(a->type, v))
			return qmp_error_set(err, "Invalid parameter type for '%s', expected: %s",
					     a->name, qmp_type_name(a->type));
	}
	for (a = cmd->args; a < cmd->args + QMP_MAX_ARGS && a->name; a++)
		if (!a->optional && !json_object_get(args, a->name))
			return qmp_error_set(err, "Parameter '%s' is missing", a->name);
	return 0;
}

/* qmp_capabilities: we offer no capabilities, so enable must be empty. */
static int qmp_negotiate(json_t *args, struct qmp_error *err)
{
	json_t *enable = json_object_get(args, "enable"), *v;
	const char *key;
	size_t i;

	json_object_foreach(args, key, v)
		if (strcmp(key, "enable"))
			return qmp_error_set(err, "Parameter '%.64s' is unexpected", key);
	if (!enable)
		return 0;
	if (!json_is_array(enable))
		return qmp_error_set(err, "Invalid parameter type for 'enable', expected: array");
	json_array_foreach(enable, i, v) {
		if (!json_is_string(v))
			return qmp_error_set(err, "Invalid parameter type for 'enable', "
					     "expected: array of strings");
		return qmp_error_set(err, "Capability '%.64s' not available",
				     json_string_value(v));
	}
	return 0;
}

static const struct qmp_command *qmp_find(const struct qmp_server *srv, const char *name)
{
	size_t i;

	for (i = 0; i < srv->nr_cmds; i++)
		if (!strcmp(srv->cmds[i].name, name))
			return &srv->cmds[i];
	return NULL;
}

static json_t *qmp_list_commands(const struct qmp_server *srv)
{
	static const char *const builtin[] = { "qmp_capabilities", "query-commands",
					       "query-version" };
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		json_array_append_new(list, json_pack("{s:s}", "name", builtin[i]));
	for (i = 0; i < srv->nr_cmds; i++)
		json_array_append_new(list, json_pack("{s:s}", "name", srv->cmds[i].name));
	return list;
}

/* Run a command; 0 with *ret, or an error with err filled. */
static int qmp_run(struct qmp_client *c, const char *name, json_t *args, json_t **ret,
		   struct qmp_error *err)
{
	struct qmp_server *srv = c->srv;
	const struct qmp_command *cmd;
	int r;

	*ret = NULL;
	if (!strcmp(name, "qmp_capabilities")) {
		if (c->negotiated) {
			err->cls = "CommandNotFound";
			return qmp_error_set(err, "Capabilities negotiation is already "
					     "complete, command ignored");
		}
		r = qmp_negotiate(args, err);
		if (!r)
			c->negotiated = true;
		return r;
	}
	if (!c->negotiated) {
		err->cls = "CommandNotFound";
		return qmp_error_set(err, "Expecting capabilities negotiation with "
				     "'qmp_capabilities'");
	}
	if (!strcmp(name, "query-version") || !strcmp(name, "query-commands")) {
		if (json_object_size(args))
			return qmp_error_set(err, "Parameter '%.64s' is unexpected",
					     json_object_iter_key(json_object_iter(args)));
		*ret = name[6] == 'v' ? qmp_version_json(srv) : qmp_list_commands(srv);
		return *ret ? 0 : qmp_error_set(err, "out of memory");
	}
	cmd = qmp_find(srv, name);
	if (!cmd) {
		err->cls = "CommandNotFound";
		return qmp_error_set(err, "The command %.64s has not been found", name);
	}
	r = qmp_check_args(cmd, args, err);
	if (r)
		return r;
	r = cmd->fn(srv->opaque, args, ret, err);
	if (r && !err->desc[0])
		qmp_error_set(err, "%s failed: %s", cmd->name, strerror(r < 0 ? -r : r));
	return r;
}

/* One parsed request (QMP spec 2.3): validate the envelope, run, reply. */
static void qmp_dispatch(struct qmp_client *c, json_t *req)
{
	struct qmp_error err = { .cls = "GenericError" };
	json_t *id, *args = NULL, *exe = NULL, *v, *ret = NULL, *reply;
	const char *key;

	if (!json_is_object(req)) {
		qmp_send_error(c, NULL, "GenericError", "QMP input must be a JSON object");
		return;
	}
	id = json_object_get(req, "id");
	json_object_foreach(req, key, v) {
		if (!strcmp(key, "execute")) {
			exe = v;
		} else if (!strcmp(key, "arguments")) {
			args = v;
		} else if (strcmp(key, "id")) {
			qmp_error_set(&err, "QMP input member '%.64s' is unexpected", key);
			goto fail;
		}
	}
	if (!exe) {
		qmp_error_set(&err, "QMP input lacks member 'execute'");
		goto fail;
	}
	if (!json_is_string(exe)) {
		qmp_error_set(&err, "QMP input member 'execute' must be a string");
		goto fail;
	}
	if (args && !json_is_object(args)) {
		qmp_error_set(&err, "QMP input member 'arguments' must be an object");
		goto fail;
	}
	if (!args)
		args = json_object();
	else
		json_incref(args);
	if (qmp_run(c, json_string_value(exe), args, &ret, &err)) {
		json_decref(args);
		goto fail;
	}
	json_decref(args);
	reply = json_object();
	json_object_set_new(reply, "return", ret ? ret : json_object());
	if (id)
		json_object_set(reply, "id", id);
	qmp_client_send(c, reply);
	return;
fail:
	qmp_send_error(c, id, err.cls ? err.cls : "GenericError", err.desc);
}

static void qmp_frame_done(struct qmp_client *c)
{
	json_error_t jerr;
	json_t *req;
	char desc[QMP_DESC_MAX];

	if (c->too_deep) {
		snprintf(desc, sizeof(desc), "JSON nesting deeper than %d levels", QMP_MAX_DEPTH);
		qmp_send_error(c, NULL, "GenericError", desc);
	} else {
		req = json_loadb(c->in, c->in_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				 &jerr);
		if (!req) {
			snprintf(desc, sizeof(desc), "JSON parse error, %s", jerr.text);
			qmp_send_error(c, NULL, "GenericError", desc);
		} else {
			qmp_dispatch(c, req);
			json_decref(req);
		}
	}
	c->in_len = 0;
	c->depth = 0;
	c->in_str = c->esc = c->too_deep = false;
}

static int qmp_in_push(struct qmp_client *c, char b)
{
	if (c->in_len >= QMP_MAX_MSG) {
		char desc[QMP_DESC_MAX];

		snprintf(desc, sizeof(desc), "JSON document larger than %u bytes", QMP_MAX_MSG);
		qmp_send_error(c, NULL, "GenericError", desc);
		qmp_client_drop(c, "oversized document");
		return -EMSGSIZE;
	}
	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
		char *p;

		if (cap > QMP_MAX_MSG)
			cap = QMP_MAX_MSG;
		p = realloc(c->in, cap);
		if (!p) {
			qmp_client_drop(c, "out of memory");
			return -ENOMEM;
		}
		c->in = p;
		c->in_cap = cap;
	}
	c->in[c->in_len++] = b;
	return 0;
}

/* Frame documents out of the byte stream: a top-level value ends where its
 * brackets balance, or at a newline for a stray scalar. */
static void qmp_scan(struct qmp_client *c, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && !c->dead; i++) {
		char b = buf[i];

		if (!c->in_len && !c->in_str &&
		    (b == ' ' || b == '\t' || b == '\r' || b == '\n'))
			continue;
		if (qmp_in_push(c, b))
			return;
		if (c->in_str) {
			if (c->esc)
				c->esc = false;
			else if (b == '\\')
				c->esc = true;
			else if (b == '"')
				c->in_str = false;
			continue;
		}
		switch (b) {
		case '"':
			c->in_str = true;
			break;
		case '{':
		case '[':
			if (++c->depth > QMP_MAX_DEPTH)
				c->too_deep = true;
			break;
		case '}':
		case ']':
			if (--c->depth <= 0)
				qmp_frame_done(c);
			break;
		case '\n':
			if (c->depth <= 0)
				qmp_frame_done(c);
			break;
		default:
			break;
		}
	}
}

int qmp_client_feed(struct qmp_client *c, const void *buf, size_t len)
{
	struct qmp_server *srv = c->srv;
	bool dead;

	srv->busy++;
	qmp_scan(c, buf, len);
	dead = c->dead;
	srv->busy--;
	qmp_reap(srv);
	return dead ? -EPIPE : 0;
}

static void qmp_client_on_fd(void *opaque, uint32_t events)
{
	struct qmp_client *c = opaque;
	struct qmp_server *srv = c->srv;
	char buf[65536];
	ssize_t n;

	if (events & EPOLLOUT) {
		srv->busy++;
		qmp_client_flush(c);
		srv->busy--;
	}
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		/* One read per wakeup: a chatty client cannot starve the loop. */
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			qmp_client_feed(c, buf, (size_t)n);
			return;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			qmp_client_drop(c, n == 0 ? "disconnected" : strerror(errno));
	}
	qmp_reap(srv);
}

struct qmp_client *qmp_server_attach(struct qmp_server *srv, int fd)
{
	struct qmp_client *c;
	json_t *greeting;

	if (srv->nr_clients >= QMP_MAX_CLIENTS) {
		if (!srv->full_logged)
			log_warn("qmp: %u clients connected already: refusing more",
				 QMP_MAX_CLIENTS);
		srv->full_logged = true;
		close(fd);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->srv = srv;
	c->fd = fd;
	c->id = srv->next_id++;
	if (loop_add_fd(srv->loop, fd, EPOLLIN, qmp_client_on_fd, c)) {
		close(fd);
		free(c);
		return NULL;
	}
	c->next = srv->clients;
	srv->clients = c;
	srv->nr_clients++;
	greeting = json_pack("{s:{s:o,s:[]}}", "QMP", "version", qmp_version_json(srv),
			     "capabilities");
	if (greeting)
		qmp_client_send(c, greeting);
	return c;
}

static void qmp_on_listen(void *opaque, uint32_t events)
{
	struct qmp_server *srv = opaque;
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	qmp_server_attach(srv, fd);
	qmp_reap(srv);
}

int qmp_server_listen(struct qmp_server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("qmp: socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		log_err("qmp: cannot listen on '%s': %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	ret = loop_add_fd(srv->loop, fd, EPOLLIN, qmp_on_listen, srv);
	if (ret) {
		close(fd);
		unlink(path);
		return ret;
	}
	srv->listen_fd = fd;
	srv->path = strdup(path);
	return 0;
}

struct qmp_server *qmp_server_new(struct loop *loop, const struct qmp_version *ver,
				  const struct qmp_command *cmds, size_t nr_cmds, void *opaque)
{
	struct qmp_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->ver = *ver;
	srv->cmds = cmds;
	srv->nr_cmds = nr_cmds;
	srv->opaque = opaque;
	srv->listen_fd = -1;
	return srv;
}

unsigned int qmp_server_nr_clients(const struct qmp_server *srv)
{
	return srv->nr_clients;
}

void qmp_server_event(struct qmp_server *srv, const char *name, json_t *data)
{
	struct qmp_client *c;
	struct timespec ts;
	json_t *ev;

	clock_gettime(CLOCK_REALTIME, &ts);
	ev = json_pack("{s:s,s:{s:I,s:I}}", "event", name, "timestamp",
		       "seconds", (json_int_t)ts.tv_sec,
		       "microseconds", (json_int_t)(ts.tv_nsec / 1000));
	if (!ev) {
		json_decref(data);
		return;
	}
	if (data)
		json_object_set_new(ev, "data", data);
	srv->busy++;
	for (c = srv->clients; c; c = c->next)
		if (c->negotiated && !c->dead)
			qmp_client_send(c, json_incref(ev));
	srv->busy--;
	json_decref(ev);
	qmp_reap(srv);
}

void qmp_server_flush(struct qmp_server *srv)
{
	struct qmp_client *c;

	srv->busy++;
	for (c = srv->clients; c; c = c->next)
		qmp_client_flush(c);
	srv->busy--;
	qmp_reap(srv);
}

void qmp_server_free(struct qmp_server *srv)
{
	if (!srv)
		return;
	qmp_server_flush(srv);
	while (srv->clients)
		qmp_client_free(srv->clients);
	if (srv->listen_fd >= 0) {
		loop_del_fd(srv->loop, srv->listen_fd);
		close(srv->listen_fd);
	}
	if (srv->path)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
