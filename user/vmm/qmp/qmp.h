/*
 * QMP-compatible control socket (Documentation/qmp.md; QEMU's docs/interop/qmp-spec
 * sections 2-4): greeting, capabilities negotiation, commands, events.
 */
#ifndef KEEL_VMM_QMP_QMP_H
#define KEEL_VMM_QMP_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/loop.h"

#define QMP_MAX_MSG		(1u << 20)	/* one incoming document, bytes */
#define QMP_MAX_DEPTH		32		/* nesting of arrays and objects */
#define QMP_MAX_OUTBUF		(1u << 20)	/* unread replies/events per client */
#define QMP_MAX_CLIENTS		16
#define QMP_MAX_ARGS		8
#define QMP_DESC_MAX		256

struct qmp_server;
struct qmp_client;

enum qmp_arg_type {
	QMP_ARG_STR,
	QMP_ARG_INT,
	QMP_ARG_BOOL,
	QMP_ARG_NUMBER,
	QMP_ARG_OBJECT,
	QMP_ARG_ANY,
};

struct qmp_arg {
	const char *name;		/* NULL ends the list */
	enum qmp_arg_type type;
	bool optional;
};

/* What a failed command tells the client: class "GenericError" unless set. */
struct qmp_error {
	const char *cls;
	char desc[QMP_DESC_MAX];
};

/*
 * A command handler runs on the loop's thread with arguments already checked
 * against the schema. Returns 0 and *ret (a new reference; NULL means {}), or
 * a negative errno with err->desc filled (qmp_error_set).
 */
typedef int (*qmp_handler_fn)(void *opaque, json_t *args, json_t **ret,
			      struct qmp_error *err);

struct qmp_command {
	const char *name;
	qmp_handler_fn fn;
	struct qmp_arg args[QMP_MAX_ARGS];
	/* Arguments beyond args[] go to the handler unchecked (device_add's properties). */
	bool open_args;
};

struct qmp_version {
	int major, minor, micro;
	const char *package;
};

int qmp_error_set(struct qmp_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cmds stays owned by the caller and must outlive the server. */
struct qmp_server *qmp_server_new(struct loop *loop, const struct qmp_version *ver,
				  const struct qmp_command *cmds, size_t nr_cmds, void *opaque);
/* Close every client and the listening socket (unlinking its path). */
void qmp_server_free(struct qmp_server *srv);

/* Listen on a UNIX socket at path (a stale socket file there is replaced). */
int qmp_server_listen(struct qmp_server *srv, const char *path);
/* Serve an already connected stream socket (takes ownership of fd). */
struct qmp_client *qmp_server_attach(struct qmp_server *srv, int fd);
unsigned int qmp_server_nr_clients(const struct qmp_server *srv);

/*
 * Feed bytes as if read from the client's socket. Returns 0, or -EPIPE when
 * the client was dropped (it is freed then: do not use it again).
 */
int qmp_client_feed(struct qmp_client *c, const void *buf, size_t len);

/* Send an event to every negotiated client; data (stolen) may be NULL. */
void qmp_server_event(struct qmp_server *srv, const char *name, json_t *data);
/* Best effort: push buffered output out now (before the process exits). */
void qmp_server_flush(struct qmp_server *srv);

#endif
