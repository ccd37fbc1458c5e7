/*
 * I/O threads (--iothread id=ID; ARCHITECTURE.md "Threads"): each runs its own
 * event loop, on which disks with iothread=ID are served.
 */
#ifndef KEEL_VMM_IOTHREAD_H
#define KEEL_VMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

#define IOTHREAD_ID_MAX		32	/* bytes of an id, with its NUL */

struct loop;
struct blk_engine;

struct iothread {
	char id[IOTHREAD_ID_MAX];
	struct loop *loop;
	/*
	 * The thread's one I/O engine (block/backend.h), shared by every disk
	 * served here; held from start to stop so hot-plugged disks reuse it.
	 */
	struct blk_engine *engine;
	pthread_t thread;
	bool started;
};

/*
 * Start a thread named "iothread-ID" running a fresh loop with its I/O engine
 * (io_uring; a disk asking for another aio= adds that kind). 0 or -errno (logged).
 */
int iothread_start(struct iothread *it, const char *id);
/* Stop the loop, join the thread, free the loop; safe on a thread never started. */
void iothread_stop(struct iothread *it);

/* The loop of the thread called id among its[0..n), or NULL. */
struct loop *iothread_find(struct iothread *its, unsigned int n, const char *id);

#endif
