/*
 * Character device backends: where a guest serial port's bytes go to and come
 * from. stdio (raw terminal, restored at exit), file:PATH (output only),
 * unix:PATH (listening socket, one client at a time), pty (prints its name),
 * null.
 */
#ifndef KEEL_LIB_CHARDEV_H
#define KEEL_LIB_CHARDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct chardev;

/*
 * Called on the loop's thread with bytes from the outside world; returns how
 * many it took. Taking fewer than len pauses input (the rest is kept) until
 * the receiver calls chardev_input_resume(): backpressure, no byte dropped.
 */
typedef size_t (*chardev_input_fn)(void *opaque, const uint8_t *buf, size_t len);

/* spec: "stdio", "file:PATH", "unix:PATH", "pty", "null". NULL + log line on error. */
struct chardev *chardev_open(const char *spec, struct loop *loop);
void chardev_close(struct chardev *cd);

/*
 * Set (or clear with fn == NULL) the receiver of input bytes. Call it on the
 * loop's thread (or before the loop runs). Without a receiver input pauses.
 */
void chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque);

/* Thread-safe: the receiver has room again; input resumes on the loop's thread. */
void chardev_input_resume(struct chardev *cd);

/* Write guest output; never blocks a vCPU for long (drops when the peer is gone). */
ssize_t chardev_write(struct chardev *cd, const void *buf, size_t len);

/* The pty backend's slave path (/dev/pts/N); NULL for other backends. */
const char *chardev_pty_path(const struct chardev *cd);

/* Restore terminal state (also done by chardev_close); safe to call from atexit. */
void chardev_restore_all(void);

#endif
