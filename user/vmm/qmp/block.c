/*
 * QMP query-blockstats (qmp/block.h): one entry per disk a device serves,
 * {device, qdev, node-name, stats}, the stats named as QEMU's
 * BlockDeviceStats so that existing monitoring reads them unchanged.
 */
#include <errno.h>
#include <stddef.h>

#include "vmm/blockdev.h"
#include "vmm/qmp/block.h"
#include "vmm/qmp/commands.h"
#include "vmm/qmp/devices.h"

static const struct {
	const char *name;
	size_t off;
} qmp_blockstats_fields[] = {
#define F(x) { #x, offsetof(struct blk_stats, x) }
	F(rd_bytes), F(wr_bytes), F(unmap_bytes),
	F(rd_operations), F(wr_operations), F(flush_operations), F(unmap_operations),
	F(rd_total_time_ns), F(wr_total_time_ns), F(flush_total_time_ns),
	F(unmap_total_time_ns),
	F(failed_rd_operations), F(failed_wr_operations), F(failed_flush_operations),
	F(failed_unmap_operations),
	F(invalid_rd_operations), F(invalid_wr_operations), F(invalid_flush_operations),
	F(invalid_unmap_operations),
#undef F
};

json_t *qmp_blockstats_json(const struct blk_stats *s)
{
	json_t *o = json_object();
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < sizeof(qmp_blockstats_fields) / sizeof(qmp_blockstats_fields[0]); i++) {
		uint64_t v = *(const uint64_t *)((const char *)s + qmp_blockstats_fields[i].off);

		json_object_set_new(o, qmp_blockstats_fields[i].name, json_integer((json_int_t)v));
	}
	/* What QEMU always reports and keel does not track: requests are never merged. */
	json_object_set_new(o, "rd_merged", json_integer(0));
	json_object_set_new(o, "wr_merged", json_integer(0));
	json_object_set_new(o, "unmap_merged", json_integer(0));
	json_object_set_new(o, "account_invalid", json_true());
	json_object_set_new(o, "account_failed", json_true());
	json_object_set_new(o, "timed_stats", json_array());
	return o;
}

int qmp_cmd_query_blockstats(void *opaque, json_t *args, json_t **ret, struct qmp_error *err)
{
	struct qmp_machine *m = opaque;
	struct qmp_devices *d = m->devices;
	json_t *list = json_array();
	struct blockdev *b;

	if (!list)
		return -ENOMEM;
	for (b = d && d->blockdevs ? d->blockdevs->head : NULL; b; b = b->next) {
		struct blk_stats st;

		/* As QEMU: block backends, i.e. nodes a device serves. */
		if (!b->claimed || !b->be)
			continue;
		blk_backend_stats(b->be, &st);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "device", b->device,
						      "qdev", b->device, "node-name", b->node,
						      "stats", qmp_blockstats_json(&st)));
	}
	*ret = list;
	return 0;
}
