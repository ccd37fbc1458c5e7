/*
 * keelctl's side of a QMP connection (Documentation/qmp.md): connect, read the
 * greeting, negotiate, send commands and read CRLF-framed JSON messages.
 */
#ifndef KEEL_TOOLS_KEELCTL_CLIENT_H
#define KEEL_TOOLS_KEELCTL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#define CLIENT_MAX_LINE	(16u << 20)

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	json_int_t next_id;
	json_t *greeting;
};

/* Connect to the UNIX socket and negotiate; 0 or -errno with a message on stderr. */
int client_open(struct client *cl, const char *path);
void client_close(struct client *cl);

/* The next message (new reference), NULL on EOF or error; timeout_ms < 0 waits. */
json_t *client_recv(struct client *cl, int timeout_ms);
/* A message is complete in the buffer already (no need to poll the socket). */
int client_pending(const struct client *cl);

/* Send {"execute": name, "arguments": args (stolen, may be NULL), "id": N}. */
int client_send(struct client *cl, const char *name, json_t *args, json_int_t *id);

/*
 * Run a command and wait for its reply (new reference); on_event gets every
 * event that arrives meanwhile (it may be NULL).
 */
json_t *client_execute(struct client *cl, const char *name, json_t *args,
		       void (*on_event)(json_t *ev, void *opaque), void *opaque);

#endif
