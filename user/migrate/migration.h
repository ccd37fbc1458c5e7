/*
 * Migration (Documentation/migration.md): the outgoing side runs on its own
 * thread (RAM pre-copy with dirty logging, XBZRLE, the bandwidth limit,
 * auto-converge, statistics), then asks the machine to stop and writes the
 * rest of RAM and the device state; the incoming side reads a stream into
 * guest RAM and hands each device section to the machine. The machine
 * (user/vmm/) supplies the ops below; this layer knows no device or vCPU.
 */
#ifndef KEEL_MIGRATE_MIGRATION_H
#define KEEL_MIGRATE_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate/stream.h"

/* QEMU's MigrationStatus strings, in order. */
enum mig_status {
	MIG_STATUS_NONE,
	MIG_STATUS_SETUP,
	MIG_STATUS_CANCELLING,
	MIG_STATUS_CANCELLED,
	MIG_STATUS_ACTIVE,
	MIG_STATUS_DEVICE,		/* the switch: vCPUs stopped, device state going */
	MIG_STATUS_COMPLETED,
	MIG_STATUS_FAILED,
};

const char *mig_status_name(enum mig_status s);	/* "none", "setup", ..., "failed" */

struct mig_ram_block {
	uint64_t gpa;
	uint64_t size;			/* a multiple of MIG_PAGE_SIZE */
	void *hva;
};

#define MIG_RAM_BLOCKS_MAX	8

/* What the machine provides. Called on the migration thread unless said otherwise. */
struct mig_ops {
	void *opaque;
	/* Guest RAM: up to max blocks; returns how many, or -errno. */
	int (*ram_blocks)(void *opaque, struct mig_ram_block *out, unsigned int max);
	/* Start dirty tracking of all guest RAM (KVM, in-kernel backends, device writes). */
	int (*dirty_start)(void *opaque);
	/*
	 * OR into bitmap (one bit per page of block i, as unsigned longs) the
	 * pages written since dirty_start or the previous sync, and re-arm them.
	 */
	int (*dirty_sync)(void *opaque, unsigned int block, unsigned long *bitmap);
	void (*dirty_stop)(void *opaque);
	/* The switch: stop the vCPUs and drain device I/O. 0 or -errno. */
	int (*stop)(void *opaque);
	/* After a failed or cancelled migration past stop: run the guest again. */
	void (*resume)(void *opaque);
	/* Slow the vCPUs to (100 - percent)% of their time (auto-converge); 0: full speed. */
	void (*throttle)(void *opaque, unsigned int percent);
	/*
	 * With the machine stopped: every device and vCPU section, written with
	 * mig_put_section(). 0, or -errno with err (a device that cannot migrate).
	 */
	int (*save_state)(void *opaque, struct mig_out *o, char *err, size_t errlen);
	/* The state changed (MIGRATION event); pass ends (MIGRATION_PASS). Any thread. */
	void (*status_changed)(void *opaque, enum mig_status s);
	void (*pass_done)(void *opaque, unsigned int pass);
	/* The outgoing migration ended (completed, failed, cancelled): on the migration thread. */
	void (*finished)(void *opaque, enum mig_status s, const char *err);
};

/* migrate-set-capabilities */
struct mig_caps {
	bool xbzrle;
	bool auto_converge;
	bool events;
	bool multifd;
	bool pause_before_switchover;
};

/* migrate-set-parameters, with QEMU's defaults (mig_params_default). */
struct mig_params {
	uint64_t max_bandwidth;		/* bytes/s; 128 MiB/s */
	uint64_t downtime_limit;	/* ms; 300 */
	uint64_t xbzrle_cache_size;	/* bytes, a power of two; 64 MiB */
	unsigned int cpu_throttle_initial;	/* %; 20 */
	unsigned int cpu_throttle_increment;	/* %; 10 */
	unsigned int multifd_channels;		/* 2 */
};

void mig_params_default(struct mig_params *p);

/* query-migrate: QEMU's names in the comments. */
struct mig_stats {
	enum mig_status status;
	uint64_t total_time_ms;		/* total-time */
	uint64_t expected_downtime_ms;	/* expected-downtime */
	uint64_t downtime_ms;		/* downtime */
	uint64_t setup_time_ms;		/* setup-time */
	double mbps;			/* mbps */
	struct {
		uint64_t transferred, remaining, total, duplicate, normal, normal_bytes;
		uint64_t dirty_pages_rate, dirty_sync_count, pages_per_second;
	} ram;
	struct {
		uint64_t cache_size, bytes, pages, cache_miss, overflow;
		double cache_miss_rate, encoding_rate;
	} xbzrle;
	unsigned int cpu_throttle_percentage;
	char error_desc[256];		/* error-desc when failed */
};

struct migration;

/*
 * Start an outgoing migration to fd (taken over: closed when it ends) on a
 * new thread. 0 or -errno (-EBUSY: one is running).
 */
struct migration *migration_new(const struct mig_ops *ops);
void migration_free(struct migration *mig);
int migration_start(struct migration *mig, int fd, const char *machine,
		    unsigned int machine_version, const struct mig_caps *caps,
		    const struct mig_params *params, char *err, size_t errlen);
/* migrate_cancel: the thread stops at its next step; the guest runs on. */
void migration_cancel(struct migration *mig);
/* Wait for the thread after finished() (main loop). */
void migration_join(struct migration *mig);
/* A consistent copy of the statistics; any thread. */
void migration_stats(struct migration *mig, struct mig_stats *out);
/* migrate-set-parameters while running (max-bandwidth, downtime-limit). */
void migration_set_params(struct migration *mig, const struct mig_params *p);

/* The incoming side: the machine's hook for each device section. */
struct mig_in_ops {
	void *opaque;
	int (*ram_blocks)(void *opaque, struct mig_ram_block *out, unsigned int max);
	/* The header: refuse a machine type or version this build does not have. */
	int (*check_machine)(void *opaque, const struct mig_header *h, char *err, size_t errlen);
	/* One device or vCPU section, in stream order. 0 or -errno with err. */
	int (*load_section)(void *opaque, const struct mig_record *r, char *err, size_t errlen);
};

/*
 * Read a whole stream from fd into the machine (blocking; the vCPUs are
 * not running). Pages go straight to guest RAM (XBZRLE deltas applied to
 * what the page holds). 0 at the end marker, or -errno with err; the
 * stream is hostile input.
 */
int migration_incoming(int fd, const struct mig_in_ops *ops, uint64_t *bytes, char *err,
		       size_t errlen);

#endif
