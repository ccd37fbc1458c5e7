/*
 * The machine's named chardevs (chardevs.h; Documentation/keel-run.md
 * "Chardevs"): --chardev parsing (lib/opts.h), a registry by id, claims by
 * device ports.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errmsg.h"
#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/opts.h"
#include "vmm/chardevs.h"

struct chardevs_entry {
	char id[CHARDEVS_ID_MAX];
	struct chardev *cd;
	bool claimed;
};

struct chardevs {
	struct loop *loop;
	struct chardevs_entry e[CHARDEVS_MAX];
};

#define chardevs_err(err, errlen, ret, ...) errmsg_set(err, errlen, ret, __VA_ARGS__)

static bool chardevs_id_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

int chardevs_check(const struct chardevs_spec *spec, char *err, size_t errlen)
{
	if (!chardevs_id_ok(spec->id))
		return chardevs_err(err, errlen, -EINVAL, "chardev id '%s' must be letters, "
				    "digits, '.', '-' or '_'", spec->id);
	switch (spec->backend) {
	case CHARDEVS_UNIX:
		if (!spec->server)
			return chardevs_err(err, errlen, -EINVAL, "chardev '%s': only server "
					    "sockets are supported (server=on)", spec->id);
		/* fall through */
	case CHARDEVS_FILE:
		if (!spec->path[0])
			return chardevs_err(err, errlen, -EINVAL, "chardev '%s' needs path=",
					    spec->id);
		break;
	case CHARDEVS_NULL:
	case CHARDEVS_PTY:
		if (spec->path[0])
			return chardevs_err(err, errlen, -EINVAL, "chardev '%s': this backend "
					    "takes no path", spec->id);
		break;
	default:
		return chardevs_err(err, errlen, -EINVAL, "chardev '%s': unknown backend",
				    spec->id);
	}
	return 0;
}

static const char *const chardevs_backends[] = {
	[CHARDEVS_NULL] = "null", [CHARDEVS_UNIX] = "unix",
	[CHARDEVS_FILE] = "file", [CHARDEVS_PTY] = "pty", NULL,
};

/* OPT_ENUM fills an int: the backend field must be one. */
_Static_assert(sizeof(enum chardevs_backend) == sizeof(int), "backend is not an int");

static const struct opt_desc chardevs_props[] = {
	OPT_D_STR(struct chardevs_spec, id, "id", NULL, "the chardev's name for device ports"),
	OPT_D_ENUM(struct chardevs_spec, backend, "backend", "null", chardevs_backends,
		   "what the chardev is"),
	OPT_D_STR(struct chardevs_spec, path, "path", NULL, "the socket or file (unix, file)"),
	OPT_D_BOOL(struct chardevs_spec, server, "server", "off",
		   "listen (unix: the default, and the only mode)"),
	{ 0 },
};

int chardevs_parse(const char *str, struct chardevs_spec *spec, char *err, size_t errlen)
{
	struct opts o;
	bool have_backend, have_server;
	char why[200];
	int ret;

	memset(spec, 0, sizeof(*spec));
	if (!str)
		return chardevs_err(err, errlen, -EINVAL, "--chardev needs options");
	ret = opts_parse(&o, str, NULL, false, why, sizeof(why));
	if (ret) {
		opts_free(&o);
		return chardevs_err(err, errlen, ret, "--chardev: %s", why);
	}
	have_backend = opts_peek(&o, "backend");
	have_server = opts_peek(&o, "server");
	ret = opts_apply(&o, chardevs_props, spec, "--chardev", err, errlen);
	if (!ret)
		ret = opts_check_used(&o, "--chardev", err, errlen);
	opts_free(&o);
	if (ret)
		return -EINVAL;
	if (!spec->id[0])
		return chardevs_err(err, errlen, -EINVAL, "--chardev needs id=ID");
	if (!have_backend)
		return chardevs_err(err, errlen, -EINVAL, "--chardev '%s' needs backend=",
				    spec->id);
	/* A unix chardev listens: server=on is the default on the command line. */
	if (spec->backend == CHARDEVS_UNIX && !have_server)
		spec->server = true;
	return chardevs_check(spec, err, errlen);
}

struct chardevs *chardevs_new(struct loop *loop)
{
	struct chardevs *reg = calloc(1, sizeof(*reg));

	if (reg)
		reg->loop = loop;
	return reg;
}

void chardevs_free(struct chardevs *reg)
{
	unsigned int i;

	if (!reg)
		return;
	for (i = 0; i < CHARDEVS_MAX; i++)
		if (reg->e[i].cd)
			chardev_close(reg->e[i].cd);
	free(reg);
}

static struct chardevs_entry *chardevs_find(struct chardevs *reg, const char *id)
{
	unsigned int i;

	for (i = 0; id && i < CHARDEVS_MAX; i++)
		if (reg->e[i].cd && !strcmp(reg->e[i].id, id))
			return &reg->e[i];
	return NULL;
}

int chardevs_add(struct chardevs *reg, const struct chardevs_spec *spec, char *pty_path,
		 size_t pty_len, char *err, size_t errlen)
{
	struct chardevs_entry *e = NULL;
	char open_spec[CHARDEVS_PATH_MAX + 8];
	unsigned int i;
	int ret;

	ret = chardevs_check(spec, err, errlen);
	if (ret)
		return ret;
	if (chardevs_find(reg, spec->id))
		return chardevs_err(err, errlen, -EEXIST, "chardev '%s' already exists", spec->id);
	for (i = 0; i < CHARDEVS_MAX && !e; i++)
		if (!reg->e[i].cd)
			e = &reg->e[i];
	if (!e)
		return chardevs_err(err, errlen, -ENOSPC, "no room for more than %d chardevs",
				    CHARDEVS_MAX);
	switch (spec->backend) {
	case CHARDEVS_UNIX:
		snprintf(open_spec, sizeof(open_spec), "unix:%s", spec->path);
		break;
	case CHARDEVS_FILE:
		snprintf(open_spec, sizeof(open_spec), "file:%s", spec->path);
		break;
	case CHARDEVS_PTY:
		snprintf(open_spec, sizeof(open_spec), "pty");
		break;
	default:
		snprintf(open_spec, sizeof(open_spec), "null");
		break;
	}
	e->cd = chardev_open(open_spec, reg->loop);
	if (!e->cd)
		return chardevs_err(err, errlen, -EIO, "chardev '%s': cannot open %s", spec->id,
				    open_spec);
	snprintf(e->id, sizeof(e->id), "%s", spec->id);
	e->claimed = false;
	if (pty_path && pty_len)
		snprintf(pty_path, pty_len, "%s", chardev_pty_path(e->cd) ? chardev_pty_path(e->cd)
			 : "");
	log_info("chardev %s: %s", spec->id, chardev_pty_path(e->cd) ? chardev_pty_path(e->cd)
		 : open_spec);
	return 0;
}

int chardevs_remove(struct chardevs *reg, const char *id, char *err, size_t errlen)
{
	struct chardevs_entry *e = chardevs_find(reg, id);

	if (!e)
		return chardevs_err(err, errlen, -ENOENT, "chardev '%s' not found", id ? id : "");
	if (e->claimed)
		return chardevs_err(err, errlen, -EBUSY, "chardev '%s' is busy: a device uses it",
				    id);
	chardev_close(e->cd);
	e->cd = NULL;
	e->id[0] = '\0';
	return 0;
}

struct chardev *chardevs_claim(struct chardevs *reg, const char *id, int *ret, char *err,
			       size_t errlen)
{
	struct chardevs_entry *e = chardevs_find(reg, id);

	if (!e) {
		*ret = chardevs_err(err, errlen, -ENOENT, "chardev '%s' not found", id ? id : "");
		return NULL;
	}
	if (e->claimed) {
		*ret = chardevs_err(err, errlen, -EBUSY, "chardev '%s' is already in use", id);
		return NULL;
	}
	e->claimed = true;
	*ret = 0;
	return e->cd;
}

void chardevs_release(struct chardevs *reg, struct chardev *cd)
{
	unsigned int i;

	for (i = 0; cd && i < CHARDEVS_MAX; i++)
		if (reg->e[i].cd == cd)
			reg->e[i].claimed = false;
}
