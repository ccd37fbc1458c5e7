/*
 * The machine's named chardevs (Documentation/keel-run.md "Chardevs", F27):
 * --chardev on the command line, chardev-add / chardev-remove over QMP; a
 * device port claims one by id and the chardev cannot go while it is claimed.
 */
#ifndef KEEL_VMM_CHARDEVS_H
#define KEEL_VMM_CHARDEVS_H

#include <stdbool.h>
#include <stddef.h>

struct chardev;
struct loop;
struct chardevs;

#define CHARDEVS_ID_MAX		64
#define CHARDEVS_PATH_MAX	108	/* sun_path: a unix socket's path must fit */
#define CHARDEVS_MAX		64

enum chardevs_backend {
	CHARDEVS_NULL,
	CHARDEVS_UNIX,		/* listening unix socket, one client at a time */
	CHARDEVS_FILE,		/* output only, truncated at open */
	CHARDEVS_PTY,
};

struct chardevs_spec {
	char id[CHARDEVS_ID_MAX];
	enum chardevs_backend backend;
	char path[CHARDEVS_PATH_MAX];
	bool server;
};

/*
 * "id=ID,backend=unix|file|pty|null[,path=P][,server=on]" into spec through
 * the option grammar (Documentation/options.md); unix needs path and
 * server=on (client mode is not supported), file needs path.
 * 0 or -EINVAL with one sentence in err, prefixed "--chardev".
 */
int chardevs_parse(const char *opts, struct chardevs_spec *spec, char *err, size_t errlen);
/* The same checks for a spec built another way (QMP chardev-add). */
int chardevs_check(const struct chardevs_spec *spec, char *err, size_t errlen);

struct chardevs *chardevs_new(struct loop *loop);
/* Closes every chardev, claimed or not (the machine is going away). */
void chardevs_free(struct chardevs *reg);

/*
 * Open the backend and register it under spec->id. pty_path (if not NULL)
 * gets the pty's /dev/pts/N. 0, -EEXIST, -ENOSPC or the open's -errno; err says why.
 */
int chardevs_add(struct chardevs *reg, const struct chardevs_spec *spec, char *pty_path,
		 size_t pty_len, char *err, size_t errlen);
/* Close and forget id: -ENOENT, or -EBUSY while a device uses it. */
int chardevs_remove(struct chardevs *reg, const char *id, char *err, size_t errlen);

/* A device takes id for itself: NULL with err (-ENOENT / -EBUSY as *ret). */
struct chardev *chardevs_claim(struct chardevs *reg, const char *id, int *ret, char *err,
			       size_t errlen);
/* The device let go of cd (claimed before). */
void chardevs_release(struct chardevs *reg, struct chardev *cd);

#endif
