/*
 * The seccomp sandbox (Documentation/keel-run.md "Sandbox"): one system-call
 * allow-list per thread role, loaded by each thread into itself once its setup
 * is done. A forbidden call is trapped, logged with its name and the thread's
 * role, and kills the process.
 */
#ifndef KEEL_LIB_SANDBOX_H
#define KEEL_LIB_SANDBOX_H

#include <stdbool.h>

enum sandbox_role {
	SANDBOX_MAIN,		/* main loop: QMP, chardevs, machine rebuilds */
	SANDBOX_VCPU,		/* KVM_RUN and device emulation */
	SANDBOX_IO,		/* I/O threads and block-engine workers */
	SANDBOX_NR_ROLES,
};

/*
 * Turn the sandbox on (before any thread enters a role) and install the
 * SIGSYS reporter. Without this call sandbox_enter() does nothing.
 * 0 or -errno (libseccomp missing support, ...).
 */
int sandbox_init(void);
bool sandbox_enabled(void);

/*
 * Load role's allow-list into the calling thread (threads it creates later
 * inherit it). 0, or -errno with a log line; a no-op when the sandbox is off.
 */
int sandbox_enter(enum sandbox_role role);

const char *sandbox_role_name(enum sandbox_role role);

/*
 * Test-only hook: when keel was started with KEEL_SANDBOX_SELFTEST=<role> in its
 * environment, a thread of that role calls this right after sandbox_enter()
 * and makes a system call no list allows, so the kill path can be shown working.
 */
void sandbox_selftest(enum sandbox_role role);

#endif
