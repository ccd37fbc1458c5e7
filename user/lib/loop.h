/* Event loop: epoll over file descriptors, plus one-shot and periodic timers (timerfd). */
#ifndef KEEL_LIB_LOOP_H
#define KEEL_LIB_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

/* Called with the epoll events (EPOLLIN, EPOLLHUP, ...) that fired. */
typedef void (*loop_fd_fn)(void *opaque, uint32_t events);
typedef void (*loop_timer_fn)(void *opaque);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watch fd for events (EPOLLIN etc.); one handler per fd. Safe from any thread. */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *opaque);
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
int loop_del_fd(struct loop *loop, int fd);

/* Timers fire on the loop's thread. period_ns == 0: one shot. */
struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_fn fn, void *opaque);
int loop_timer_arm(struct loop_timer *t, uint64_t delay_ns, uint64_t period_ns);
int loop_timer_disarm(struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

/* Run until loop_stop(); returns the code given to loop_stop(). May run again after. */
int loop_run(struct loop *loop);
/* Thread-safe: wakes the loop and makes loop_run() return code. */
void loop_stop(struct loop *loop, int code);

/* Thread-safe: run fn(opaque) on the loop's thread soon. */
int loop_call(struct loop *loop, loop_timer_fn fn, void *opaque);
/*
 * Thread-safe, never from the loop's own thread: run fn(opaque) (fn may be
 * NULL: a barrier) on the loop's thread and wait until it has run. Once it
 * returns 0, no handler dispatched before the call is still running.
 * -errno if the call could not be queued.
 */
int loop_call_wait(struct loop *loop, loop_timer_fn fn, void *opaque);

#endif
