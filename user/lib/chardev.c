/*
 * Character device backends (see chardev.h): stdio, file:PATH, unix:PATH, pty
 * and null. Input is read on the loop's thread and handed to one receiver with
 * backpressure; output is written from any thread and never blocks for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "lib/chardev.h"
#include "lib/log.h"
#include "lib/loop.h"

enum chardev_kind {
	CHARDEV_NULL,
	CHARDEV_STDIO,
	CHARDEV_FILE,
	CHARDEV_UNIX,
	CHARDEV_PTY,
};

struct chardev {
	enum chardev_kind kind;
	struct loop *loop;
	char name[128];

	/*
	 * in_fd is watched by the loop while input flows; out_fd takes guest
	 * output. For unix: both are the client's socket (-1 when none).
	 */
	int in_fd;
	int out_fd;
	int listen_fd;
	int pty_slave_fd;	/* held open so the master never sees a hangup */
	char pty_path[64];	/* the slave's /dev/pts/N */
	char *sock_path;

	/* Loop thread only. */
	chardev_input_fn in_fn;
	void *in_opaque;
	uint8_t in_buf[256];
	size_t in_off, in_len;
	bool watching;		/* in_fd is in the loop's epoll set */
	bool paused;		/* receiver took less than offered */
	bool in_eof;

	/* Under lock: shared with vCPU threads. */
	pthread_mutex_t lock;
	bool resume_queued;
	bool closed;
	bool out_dead;		/* peer gone (EPIPE) */
	bool drop_logged;
};

static struct termios chardev_saved_termios;
static volatile sig_atomic_t chardev_termios_saved;
static bool chardev_stdio_used;

void chardev_restore_all(void)
{
	if (chardev_termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &chardev_saved_termios);
}

/* Restore the terminal before a fatal signal's default action ends us. */
static void chardev_fatal_signal(int sig)
{
	chardev_restore_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void chardev_hook_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction old, sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chardev_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* Leave handlers the VMM installed itself alone. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* A vanished reader must not kill the VMM: EPIPE is handled per write. */
static void chardev_ignore_sigpipe(void)
{
	struct sigaction old, sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		sigaction(SIGPIPE, &sa, NULL);
}

static int chardev_tty_raw(void)
{
	struct termios t;
	static bool atexit_done;

	if (tcgetattr(STDIN_FILENO, &t) < 0)
		return -errno;
	chardev_saved_termios = t;
	chardev_termios_saved = 1;
	if (!atexit_done) {
		atexit(chardev_restore_all);
		atexit_done = true;
	}
	chardev_hook_signals();
	cfmakeraw(&t);
	/* Keep ^C / ^\ as signals so a user can always leave keel. */
	t.c_lflag |= ISIG;
	/* Keep output processing: our log lines on the same tty end in \n only. */
	t.c_oflag |= OPOST;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

static void chardev_on_input(void *opaque, uint32_t events);

static void chardev_watch(struct chardev *cd, bool on)
{
	if (cd->in_fd < 0 || on == cd->watching)
		return;
	if (on) {
		int ret = loop_add_fd(cd->loop, cd->in_fd, EPOLLIN, chardev_on_input, cd);

		if (ret < 0) {
			/* e.g. stdin is /dev/null or a regular file: no input. */
			log_debug("%s: input not pollable (%s), ignored", cd->name,
				  strerror(-ret));
			cd->in_eof = true;
			return;
		}
	} else {
		loop_del_fd(cd->loop, cd->in_fd);
	}
	cd->watching = on;
}

/* Hand buffered input to the receiver; pause when it takes less. */
static void chardev_deliver(struct chardev *cd)
{
	while (cd->in_len) {
		size_t n = 0;

		if (cd->in_fn)
			n = cd->in_fn(cd->in_opaque, cd->in_buf + cd->in_off, cd->in_len);
		if (n > cd->in_len)
			n = cd->in_len;
		cd->in_off += n;
		cd->in_len -= n;
		if (!n)
			break;
	}
	if (!cd->in_len)
		cd->in_off = 0;
	cd->paused = cd->in_len != 0;
	chardev_watch(cd, !cd->paused && !cd->in_eof);
}

static void chardev_drop_client(struct chardev *cd)
{
	int fd = cd->in_fd;

	if (fd < 0)
		return;
	chardev_watch(cd, false);
	pthread_mutex_lock(&cd->lock);
	cd->in_fd = -1;
	cd->out_fd = -1;
	pthread_mutex_unlock(&cd->lock);
	close(fd);
	log_info("%s: client disconnected", cd->name);
}

static void chardev_on_input(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	ssize_t n;

	if (cd->in_len)		/* paused: not expected, but never overwrite */
		return;
	n = read(cd->in_fd, cd->in_buf, sizeof(cd->in_buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (cd->kind == CHARDEV_UNIX) {
			chardev_drop_client(cd);
		} else {
			/* EOF on stdin just stops input. */
			chardev_watch(cd, false);
			cd->in_eof = true;
		}
		return;
	}
	cd->in_off = 0;
	cd->in_len = n;
	chardev_deliver(cd);
}

static void chardev_on_accept(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	int fd = accept4(cd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (cd->in_fd >= 0) {
		/* One client at a time: a second one is turned away. */
		close(fd);
		log_info("%s: second client refused", cd->name);
		return;
	}
	pthread_mutex_lock(&cd->lock);
	cd->in_fd = fd;
	cd->out_fd = fd;
	cd->out_dead = false;
	pthread_mutex_unlock(&cd->lock);
	cd->in_eof = false;
	log_info("%s: client connected", cd->name);
	if (!cd->paused)
		chardev_watch(cd, true);
}

static int chardev_open_unix(struct chardev *cd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("%s: socket path too long", cd->name);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run is replaced; any other file is not. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		ret = -errno;
		log_err("%s: cannot listen on %s: %s", cd->name, path, strerror(errno));
		close(fd);
		return ret;
	}
	cd->listen_fd = fd;
	cd->sock_path = strdup(path);
	ret = loop_add_fd(cd->loop, fd, EPOLLIN, chardev_on_accept, cd);
	if (ret < 0)
		return ret;
	return 0;
}

static int chardev_open_pty(struct chardev *cd)
{
	struct termios t;
	const char *name;
	int fd;

	fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
		int ret = -errno;

		log_err("%s: cannot create a pty: %s", cd->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	cd->in_fd = fd;
	cd->out_fd = fd;
	snprintf(cd->pty_path, sizeof(cd->pty_path), "%s", name);
	cd->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	/* Our own slave fd must not echo guest output back as input. */
	if (cd->pty_slave_fd >= 0 && tcgetattr(cd->pty_slave_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(cd->pty_slave_fd, TCSANOW, &t);
	}
	log_info("serial on %s", name);
	return 0;
}

struct chardev *chardev_open(const char *spec, struct loop *loop)
{
	struct chardev *cd;
	int ret = 0;

	if (!spec) {
		log_err("chardev: no backend given");
		return NULL;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return NULL;
	cd->loop = loop;
	cd->in_fd = cd->out_fd = cd->listen_fd = cd->pty_slave_fd = -1;
	pthread_mutex_init(&cd->lock, NULL);
	snprintf(cd->name, sizeof(cd->name), "chardev %s", spec);
	chardev_ignore_sigpipe();

	if (!strcmp(spec, "null")) {
		cd->kind = CHARDEV_NULL;
	} else if (!strcmp(spec, "stdio")) {
		cd->kind = CHARDEV_STDIO;
		if (chardev_stdio_used) {
			log_err("%s: stdio is already in use", cd->name);
			ret = -EBUSY;
		} else {
			chardev_stdio_used = true;
			cd->in_fd = STDIN_FILENO;
			cd->out_fd = STDOUT_FILENO;
			if (isatty(STDIN_FILENO))
				ret = chardev_tty_raw();
		}
	} else if (!strncmp(spec, "file:", 5) && spec[5]) {
		cd->kind = CHARDEV_FILE;
		cd->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (cd->out_fd < 0) {
			ret = -errno;
			log_err("%s: cannot open: %s", cd->name, strerror(errno));
		}
	} else if (!strncmp(spec, "unix:", 5) && spec[5]) {
		cd->kind = CHARDEV_UNIX;
		ret = chardev_open_unix(cd, spec + 5);
	} else if (!strcmp(spec, "pty")) {
		cd->kind = CHARDEV_PTY;
		ret = chardev_open_pty(cd);
	} else {
		log_err("chardev: unknown backend '%s' (stdio, file:PATH, unix:PATH, pty, null)",
			spec);
		ret = -EINVAL;
	}
	if (ret < 0) {
		chardev_close(cd);
		return NULL;
	}
	/* Nobody receives yet: input starts paused until chardev_set_input(). */
	cd->paused = true;
	return cd;
}

static void chardev_free(struct chardev *cd)
{
	pthread_mutex_destroy(&cd->lock);
	free(cd->sock_path);
	free(cd);
}

void chardev_close(struct chardev *cd)
{
	bool defer;

	if (!cd)
		return;
	chardev_watch(cd, false);
	if (cd->listen_fd >= 0) {
		loop_del_fd(cd->loop, cd->listen_fd);
		close(cd->listen_fd);
		if (cd->sock_path)
			unlink(cd->sock_path);
	}
	pthread_mutex_lock(&cd->lock);
	if (cd->kind == CHARDEV_STDIO) {
		if (cd->in_fd == STDIN_FILENO) {
			chardev_restore_all();
			chardev_termios_saved = 0;
			chardev_stdio_used = false;
		}
	} else {
		if (cd->in_fd >= 0)
			close(cd->in_fd);
		else if (cd->out_fd >= 0)
			close(cd->out_fd);
	}
	if (cd->pty_slave_fd >= 0)
		close(cd->pty_slave_fd);
	cd->in_fd = cd->out_fd = -1;
	cd->closed = true;
	defer = cd->resume_queued;
	pthread_mutex_unlock(&cd->lock);
	/* A queued resume still points at cd: it frees it when it runs. */
	if (!defer)
		chardev_free(cd);
}

void chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque)
{
	cd->in_fn = fn;
	cd->in_opaque = opaque;
	if (fn)
		chardev_deliver(cd);
	else
		chardev_watch(cd, false);
	if (!fn)
		cd->paused = true;
}

static void chardev_resume_cb(void *opaque)
{
	struct chardev *cd = opaque;
	bool closed;

	pthread_mutex_lock(&cd->lock);
	cd->resume_queued = false;
	closed = cd->closed;
	pthread_mutex_unlock(&cd->lock);
	if (closed) {
		chardev_free(cd);
		return;
	}
	if (cd->paused && cd->in_fn)
		chardev_deliver(cd);
}

void chardev_input_resume(struct chardev *cd)
{
	bool queue;

	pthread_mutex_lock(&cd->lock);
	queue = !cd->resume_queued && !cd->closed;
	if (queue)
		cd->resume_queued = true;
	pthread_mutex_unlock(&cd->lock);
	if (queue && loop_call(cd->loop, chardev_resume_cb, cd) < 0) {
		pthread_mutex_lock(&cd->lock);
		cd->resume_queued = false;
		pthread_mutex_unlock(&cd->lock);
	}
}

/* Blocking backends (stdio, file) behave like a console; sockets and ptys drop. */
static ssize_t chardev_write_locked(struct chardev *cd, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (cd->kind == CHARDEV_UNIX)
			n = send(cd->out_fd, buf + done, len - done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = write(cd->out_fd, buf + done, len - done);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!cd->drop_logged) {
				log_warn("%s: reader is not keeping up, output dropped",
					 cd->name);
				cd->drop_logged = true;
			}
			return len;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == EIO)) {
			/* Peer gone: drop from now on (a unix client is reaped on read). */
			if (cd->kind != CHARDEV_UNIX)
				cd->out_dead = true;
			return len;
		}
		return n < 0 ? -errno : (ssize_t)done;
	}
	return len;
}

ssize_t chardev_write(struct chardev *cd, const void *buf, size_t len)
{
	ssize_t ret;

	if (!cd || !len)
		return 0;
	pthread_mutex_lock(&cd->lock);
	if (cd->out_fd < 0 || cd->out_dead)
		ret = len;	/* null backend, or no client: dropped */
	else
		ret = chardev_write_locked(cd, buf, len);
	pthread_mutex_unlock(&cd->lock);
	return ret;
}

const char *chardev_pty_path(const struct chardev *cd)
{
	return cd && cd->kind == CHARDEV_PTY ? cd->pty_path : NULL;
}
