/*
 * QMP query-vhost (Documentation/qmp.md "query-vhost", vhost-blk.md "keel's side"):
 * the in-kernel backends' per-queue counters, which keel-vhost prints.
 */
#ifndef KEEL_VMM_QMP_VHOST_H
#define KEEL_VMM_QMP_VHOST_H

#include <jansson.h>

#include "vmm/qmp/qmp.h"

/* Handler for the machine's command table; opaque is a struct qmp_machine. */
int qmp_cmd_query_vhost(void *opaque, json_t *args, json_t **ret, struct qmp_error *err);

#endif
