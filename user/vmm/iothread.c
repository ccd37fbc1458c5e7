/*
 * I/O threads (ARCHITECTURE.md "Threads"): one struct loop per thread, started
 * once per keel run and stopped at exit; disks' kicks and completions run here.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "block/backend.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/sandbox.h"
#include "vmm/iothread.h"

static void *iothread_main(void *opaque)
{
	struct iothread *it = opaque;
	int code;

	if (sandbox_enter(SANDBOX_IO))
		_exit(1);	/* never serve guest I/O unsandboxed; sandbox_enter said why */
	sandbox_selftest(SANDBOX_IO);
	code = loop_run(it->loop);
	if (code < 0)
		log_err("iothread-%s: event loop failed: %s", it->id, strerror(-code));
	return NULL;
}

int iothread_start(struct iothread *it, const char *id)
{
	char name[16];
	sigset_t all, old;
	int ret;

	memset(it, 0, sizeof(*it));
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->loop = loop_new();
	if (!it->loop) {
		log_err("iothread-%s: cannot create its event loop", id);
		return -ENOMEM;
	}
	/* Made before the thread runs the loop: it only ever polls it. */
	it->engine = blk_engine_hold(it->loop, BLOCK_AIO_URING);
	if (!it->engine)
		log_warn("iothread-%s: no io_uring engine yet; the first disk makes one", id);
	/* Signals belong to the main thread's signalfd and the vCPUs' kick. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&it->thread, NULL, iothread_main, it);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		log_err("iothread-%s: cannot start the thread: %s", id, strerror(-ret));
		blk_engine_release(it->engine);
		it->engine = NULL;
		loop_free(it->loop);
		it->loop = NULL;
		return ret;
	}
	it->started = true;
	/* The kernel keeps 15 bytes of a thread name. */
	snprintf(name, sizeof(name), "iothread-%s", id);
	pthread_setname_np(it->thread, name);
	return 0;
}

void iothread_stop(struct iothread *it)
{
	if (it->started) {
		loop_stop(it->loop, 0);
		pthread_join(it->thread, NULL);
		it->started = false;
	}
	/* The thread is gone: no handler of the engine can still run. */
	blk_engine_release(it->engine);
	it->engine = NULL;
	loop_free(it->loop);
	it->loop = NULL;
}

struct loop *iothread_find(struct iothread *its, unsigned int n, const char *id)
{
	unsigned int i;

	for (i = 0; id && i < n; i++)
		if (its[i].started && !strcmp(its[i].id, id))
			return its[i].loop;
	return NULL;
}
