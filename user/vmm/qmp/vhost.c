/*
 * QMP query-vhost (Documentation/qmp.md "query-vhost"): one entry per disk served
 * by vhost-blk, with the counters VHOST_BLK_GET_STATS returns for each queue.
 */
#include <errno.h>
#include <stdlib.h>

#include "vmm/qmp/commands.h"
#include "vmm/qmp/vhost.h"

#define QMP_VHOST_MAX	64

static json_t *qmp_vhost_queue(unsigned int idx, const struct qmp_vhost_queue *q)
{
	return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "queue", (int)idx,
			 "requests", (json_int_t)q->requests,
			 "read-bytes", (json_int_t)q->read_bytes,
			 "write-bytes", (json_int_t)q->write_bytes,
			 "errors", (json_int_t)q->errors,
			 "inflight", (json_int_t)q->inflight,
			 "queued", (json_int_t)q->queued, "broken", q->broken);
}

int qmp_cmd_query_vhost(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	struct qmp_vhost_disk *d;
	json_t *list = json_array();
	unsigned int i, j, n = 0;

	d = calloc(QMP_VHOST_MAX, sizeof(*d));
	if (!d || !list) {
		free(d);
		json_decref(list);
		return -ENOMEM;
	}
	if (m->ops->vhost_disks)
		n = m->ops->vhost_disks(m->opaque, d, QMP_VHOST_MAX);
	for (i = 0; i < n && i < QMP_VHOST_MAX; i++) {
		json_t *queues = json_array();

		for (j = 0; j < d[i].nr_queues && j < QMP_VHOST_MAX_QUEUES; j++)
			json_array_append_new(queues, qmp_vhost_queue(j, &d[i].q[j]));
		json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "device", d[i].device,
						      "backend", d[i].backend, "queues", queues));
	}
	free(d);
	*ret = list;
	return 0;
}
