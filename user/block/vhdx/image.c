/* VHDX image: open/close and the file view with the replayed log laid over it
 * (MS-VHDX 2.1 layout, 2.3.3 log replay applied in memory for read-only use). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/vhdx/vhdx.h"
#include "lib/log.h"

void vhdx_guid_format(const uint8_t g[16], char out[39])
{
	snprintf(out, 39, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		 vhdx_le32(g), vhdx_le16(g + 4), vhdx_le16(g + 6), g[8], g[9], g[10], g[11],
		 g[12], g[13], g[14], g[15]);
}

/* The file as it would be after replaying the log: disk bytes, then each logged
 * write in log order over them. Callers check ranges against v->file_end. */
int vhdx_file_read(struct vhdx_image *v, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	int ret;

	if (off > v->file_end || len > v->file_end - off)
		return -EIO;
	if (off < v->file_size) {
		size_t n = len;

		if (n > v->file_size - off)
			n = v->file_size - off;
		ret = v->pread(v->opaque, out, n, off);
		if (ret < 0)
			return ret;
		memset(out + n, 0, len - n);
	} else {
		memset(out, 0, len);
	}
	for (unsigned int i = 0; i < v->log_nwrites; i++) {
		const struct vhdx_log_write *w = &v->log_writes[i];
		uint64_t s, e;

		s = w->offset > off ? w->offset : off;
		e = w->offset + w->length < off + len ? w->offset + w->length : off + len;
		if (s >= e)
			continue;
		if (w->data)
			memcpy(out + (s - off), w->data + (s - w->offset), e - s);
		else
			memset(out + (s - off), 0, e - s);
	}
	return 0;
}

static int vhdx_ident_check(struct vhdx_image *v)
{
	uint8_t sig[8];
	int ret;

	if (v->file_size < VHDX_MIB) {
		log_err("%s: file of %llu bytes is too small for VHDX (1 MiB of headers)",
			v->name, (unsigned long long)v->file_size);
		return -EINVAL;
	}
	ret = v->pread(v->opaque, sig, sizeof(sig), 0);
	if (ret < 0)
		return ret;
	if (memcmp(sig, "vhdxfile", 8)) {
		log_err("%s: no VHDX file type identifier", v->name);
		return -EINVAL;
	}
	return 0;
}

int vhdx_image_open(struct vhdx_image **out, const char *name, vhdx_pread_fn pread,
		    void *opaque, uint64_t file_size)
{
	struct vhdx_image *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->name, sizeof(v->name), "%s", name ? name : "vhdx");
	v->pread = pread;
	v->opaque = opaque;
	v->file_size = file_size;
	v->file_end = file_size;

	ret = vhdx_ident_check(v);
	if (!ret)
		ret = vhdx_header_load(v);
	if (!ret)
		ret = vhdx_log_replay(v);
	if (!ret)
		ret = vhdx_region_load(v);
	if (!ret)
		ret = vhdx_meta_load(v);
	if (!ret)
		ret = vhdx_bat_load(v);
	if (ret) {
		vhdx_image_close(v);
		return ret;
	}
	*out = v;
	return 0;
}

void vhdx_image_close(struct vhdx_image *v)
{
	if (!v)
		return;
	vhdx_log_free(v);
	free(v->bat);
	free(v);
}
