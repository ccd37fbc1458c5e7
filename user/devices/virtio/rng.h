/*
 * virtio-rng (VIRTIO 1.2 ch. 5.4): one request queue filled from host entropy
 * (getrandom(2), /dev/hwrng or any file), served on the main loop, with an
 * optional rate limit of max-bytes per period (keel-run.md "--rng").
 */
#ifndef KEEL_DEVICES_VIRTIO_RNG_H
#define KEEL_DEVICES_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/machine.h"
#include "devices/virtio/device.h"

struct pci_device;

#define VIRTIO_RNG_SOURCE_MAX		256
#define VIRTIO_RNG_DEFAULT_PERIOD_MS	1000

struct virtio_rng_config {
	char source[VIRTIO_RNG_SOURCE_MAX];	/* "" or "getrandom": getrandom(2) */
	uint64_t max_bytes;			/* 0: no limit */
	uint64_t period_ms;			/* the limit's window */
};

/* The config is filled from the virtio-rng-pci properties (rng_pci.c, lib/opts.h). */

/*
 * The rate limit as a fixed window: at most max bytes in each period that
 * starts when the first byte of it is taken. max 0: unlimited.
 */
struct virtio_rng_budget {
	uint64_t max;
	uint64_t period_ns;
	uint64_t window_start;	/* ns, CLOCK_MONOTONIC */
	uint64_t used;
	bool started;
};

/*
 * Take up to want bytes at time now (ns). Returns the bytes granted; when that
 * is 0, *wait_ns says how long until the next window opens.
 */
uint64_t virtio_rng_budget_take(struct virtio_rng_budget *b, uint64_t now, uint64_t want,
				uint64_t *wait_ns);

/*
 * Can the configured source be opened? 0, or -errno after one log line; for
 * checking the command line before the machine is built.
 */
int virtio_rng_check_source(const struct virtio_rng_config *cfg);

struct virtio_rng;

/*
 * Create virtio-rng device "name", on no transport yet (opens the source: a
 * failure is logged and gives NULL, a start-up error). Bind it with
 * virtio_pci_new() or virtio_mmio_new() on virtio_rng_vdev().
 */
struct virtio_rng *virtio_rng_create(const struct machine_services *ms, const char *name,
				     const struct virtio_rng_config *cfg);
struct virtio_dev *virtio_rng_vdev(struct virtio_rng *rng);
/* Frees the transport still bound too (stopping the device first). */
void virtio_rng_free(struct virtio_rng *rng);

/*
 * Before the device/transport split, for user/vmm/machine.c until it binds
 * transports itself (virtio/pci_devices.c): create the device on its own PCI
 * function, and that function.
 */

/* Bytes handed to the guest so far (for tests and logs). */
uint64_t virtio_rng_bytes(const struct virtio_rng *rng);

#endif
