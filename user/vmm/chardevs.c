/*
 * The machine's named chardevs (chardevs.h; Documentation/keel-run.md
 * "Chardevs"): --chardev parsing, a registry by id, claims by device ports.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errmsg.h"
#include "lib/chardev.h"
#include "lib/log.h"
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

static int chardevs_set(char *dst, size_t cap, const char *val, size_t len, const char *key,
			char *err, size_t errlen)
{
	if (len >= cap)
		return chardevs_err(err, errlen, -EINVAL, "--chardev %s= is longer than %zu bytes",
				    key, cap - 1);
	memcpy(dst, val, len);
	dst[len] = '\0';
	return 0;
}

int chardevs_parse(const char *opts, struct chardevs_spec *spec, char *err, size_t errlen)
{
	static const char *const backends[] = {
		[CHARDEVS_NULL] = "null", [CHARDEVS_UNIX] = "unix",
		[CHARDEVS_FILE] = "file", [CHARDEVS_PTY] = "pty",
	};
	const char *p = opts;
	bool have_backend = false, have_server = false;

	memset(spec, 0, sizeof(*spec));
	if (!opts)
		return chardevs_err(err, errlen, -EINVAL, "--chardev needs options");
	while (*p) {
		const char *end = strchr(p, ','), *eq, *val;
		size_t len = end ? (size_t)(end - p) : strlen(p), klen, vlen;
		unsigned int i;
		int ret = 0;

		eq = memchr(p, '=', len);
		if (!eq)
			return chardevs_err(err, errlen, -EINVAL, "--chardev '%.*s' is not key=value",
					    (int)len, p);
		klen = (size_t)(eq - p);
		val = eq + 1;
		vlen = len - klen - 1;
		if (klen == 2 && !strncmp(p, "id", 2)) {
			ret = chardevs_set(spec->id, sizeof(spec->id), val, vlen, "id", err, errlen);
		} else if (klen == 4 && !strncmp(p, "path", 4)) {
			ret = chardevs_set(spec->path, sizeof(spec->path), val, vlen, "path", err,
					   errlen);
		} else if (klen == 7 && !strncmp(p, "backend", 7)) {
			for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
				if (strlen(backends[i]) == vlen && !strncmp(val, backends[i], vlen))
					break;
			if (i == sizeof(backends) / sizeof(backends[0]))
				return chardevs_err(err, errlen, -EINVAL, "--chardev backend '%.*s' "
						    "is not one of unix, file, pty, null", (int)vlen,
						    val);
			spec->backend = i;
			have_backend = true;
		} else if (klen == 6 && !strncmp(p, "server", 6)) {
			if ((vlen == 2 && !strncmp(val, "on", 2)) || (vlen == 4 && !strncmp(val, "true", 4)))
				spec->server = true;
			else if ((vlen == 3 && !strncmp(val, "off", 3)) ||
				 (vlen == 5 && !strncmp(val, "false", 5)))
				spec->server = false;
			else
				return chardevs_err(err, errlen, -EINVAL, "--chardev server= is on "
						    "or off");
			have_server = true;
		} else {
			return chardevs_err(err, errlen, -EINVAL, "--chardev option '%.*s' is not "
					    "one of id, backend, path, server", (int)klen, p);
		}
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
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
