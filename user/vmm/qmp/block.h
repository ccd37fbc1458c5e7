/*
 * QMP query-blockstats (Documentation/qmp.md "query-blockstats"): each disk's
 * block backend counters in QEMU's BlockStats shape.
 */
#ifndef KEEL_VMM_QMP_BLOCK_H
#define KEEL_VMM_QMP_BLOCK_H

#include <jansson.h>

#include "block/backend.h"
#include "vmm/qmp/qmp.h"

/* Handler for the machine's command table; opaque is a struct qmp_machine. */
int qmp_cmd_query_blockstats(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);

/* One BlockDeviceStats object for s (tests and keelctl read these names). */
json_t *qmp_blockstats_json(const struct blk_stats *s);

#endif
