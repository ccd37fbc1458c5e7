/* VHDX log replay in memory (MS-VHDX 2.3: entries, zero/data descriptors, data
 * sectors, CRC-32C; 2.3.3: find the active sequence, replay tail..head). The file is
 * never written: replayed writes are kept in memory and laid over every file read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/vhdx/vhdx.h"
#include "lib/crc32c.h"
#include "lib/log.h"

#define VHDX_LOG_HDR_SIZE	64
#define VHDX_LOG_DESC_SIZE	32

struct vhdx_log_entry {
	uint32_t length;
	uint32_t tail;
	uint64_t seq;
	uint32_t ndesc;
	uint32_t ndata;
	uint64_t flushed_file_offset;
	uint64_t last_file_offset;
};

struct vhdx_log_scan {
	const uint8_t *log;		/* log bytes, twice in a row: entries may wrap */
	uint32_t len;
	const uint8_t *guid;
};

static uint32_t vhdx_log_crc(const uint8_t *e, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t crc;

	crc = crc32c(0, e, 4);
	crc = crc32c(crc, zero, 4);
	return crc32c(crc, e + 8, len - 8);
}

/* Is there a valid entry at byte offset off of the log? Checks everything 2.3.1 asks. */
static bool vhdx_log_entry_parse(const struct vhdx_log_scan *s, uint32_t off,
				 struct vhdx_log_entry *e)
{
	const uint8_t *h = s->log + off;
	uint64_t desc_area;
	uint32_t ndata = 0;

	if (memcmp(h, "loge", 4))
		return false;
	e->length = vhdx_le32(h + 8);
	e->tail = vhdx_le32(h + 12);
	e->seq = vhdx_le64(h + 16);
	e->ndesc = vhdx_le32(h + 24);
	e->flushed_file_offset = vhdx_le64(h + 48);
	e->last_file_offset = vhdx_le64(h + 56);
	if (e->length < VHDX_LOG_SECTOR || e->length % VHDX_LOG_SECTOR || e->length > s->len)
		return false;
	if (e->tail % VHDX_LOG_SECTOR || e->tail >= s->len || e->seq == 0)
		return false;
	if (e->ndesc > (e->length - VHDX_LOG_HDR_SIZE) / VHDX_LOG_DESC_SIZE)
		return false;
	if (memcmp(h + 32, s->guid, 16))
		return false;
	desc_area = VHDX_LOG_HDR_SIZE + (uint64_t)VHDX_LOG_DESC_SIZE * e->ndesc;
	desc_area = (desc_area + VHDX_LOG_SECTOR - 1) / VHDX_LOG_SECTOR * VHDX_LOG_SECTOR;
	if (desc_area > e->length)
		return false;
	for (uint32_t i = 0; i < e->ndesc; i++) {
		const uint8_t *d = h + VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * i;

		if (vhdx_le64(d + 24) != e->seq || vhdx_le64(d + 16) % VHDX_LOG_SECTOR)
			return false;
		if (!memcmp(d, "zero", 4)) {
			uint64_t zl = vhdx_le64(d + 8);

			if (zl == 0 || zl % VHDX_LOG_SECTOR)
				return false;
		} else if (!memcmp(d, "desc", 4)) {
			const uint8_t *ds;

			if (desc_area + (uint64_t)(ndata + 1) * VHDX_LOG_SECTOR > e->length)
				return false;
			ds = h + desc_area + (uint64_t)ndata * VHDX_LOG_SECTOR;
			if (memcmp(ds, "data", 4) ||
			    vhdx_le32(ds + 4) != (uint32_t)(e->seq >> 32) ||
			    vhdx_le32(ds + 4092) != (uint32_t)e->seq)
				return false;
			ndata++;
		} else {
			return false;
		}
	}
	if (desc_area + (uint64_t)ndata * VHDX_LOG_SECTOR != e->length)
		return false;
	e->ndata = ndata;
	return vhdx_log_crc(h, e->length) == vhdx_le32(h + 4);
}

/* Where the chosen sequence starts, how many entries, and its head. */
struct vhdx_log_seq {
	uint32_t start;
	uint32_t count;
	uint64_t head_seq;
	struct vhdx_log_entry head;
};

/*
 * Find the active sequence: chains of valid entries with consecutive sequence numbers
 * whose head's tail points inside the chain; the one with the highest head wins.
 * Work is bounded: every chain start is tried once, and a chain is at most as long
 * as the log has sectors.
 */
static int vhdx_log_find(const struct vhdx_log_scan *s, struct vhdx_log_seq *best)
{
	uint32_t nsec = s->len / VHDX_LOG_SECTOR;
	uint8_t *visited;
	uint32_t *chain;

	visited = calloc(nsec, 1);
	chain = calloc(nsec, sizeof(*chain));
	if (!visited || !chain) {
		free(visited);
		free(chain);
		return -ENOMEM;
	}
	best->count = 0;
	best->head_seq = 0;
	for (uint32_t sct = 0; sct < nsec; sct++) {
		struct vhdx_log_entry e, head;
		uint32_t off = sct * VHDX_LOG_SECTOR, n = 0;

		if (visited[sct] || !vhdx_log_entry_parse(s, off, &e))
			continue;
		for (;;) {
			struct vhdx_log_entry next;
			uint32_t noff;

			chain[n++] = off;
			visited[off / VHDX_LOG_SECTOR] = 1;
			head = e;
			if (n >= nsec)
				break;
			noff = (uint32_t)(((uint64_t)off + e.length) % s->len);
			if (!vhdx_log_entry_parse(s, noff, &next) || next.seq != e.seq + 1)
				break;
			off = noff;
			e = next;
		}
		for (uint32_t t = 0; t < n; t++) {
			if (chain[t] != head.tail)
				continue;
			if (head.seq > best->head_seq) {
				best->start = chain[t];
				best->count = n - t;
				best->head_seq = head.seq;
				best->head = head;
			}
			break;
		}
	}
	free(visited);
	free(chain);
	return 0;
}

/* Check a logged write's target and record it. */
static int vhdx_log_add(struct vhdx_image *v, uint64_t off, uint64_t len, const uint8_t *data)
{
	struct vhdx_log_write *w;

	if (off < VHDX_REGION1_OFFSET || off > v->file_end || len > v->file_end - off ||
	    (off < v->hdr.log_offset + v->hdr.log_length && v->hdr.log_offset < off + len)) {
		log_err("%s: VHDX log entry writes %llu bytes at %llu, outside the allowed area",
			v->name, (unsigned long long)len, (unsigned long long)off);
		return -EINVAL;
	}
	w = &v->log_writes[v->log_nwrites++];
	w->offset = off;
	w->length = len;
	w->data = data;
	return 0;
}

static int vhdx_log_apply(struct vhdx_image *v, const struct vhdx_log_scan *s,
			  const struct vhdx_log_seq *seq)
{
	uint64_t nwrites = 0, ndata = 0;
	uint32_t off = seq->start;
	uint8_t *data;

	for (uint32_t i = 0; i < seq->count; i++) {
		struct vhdx_log_entry e;

		if (!vhdx_log_entry_parse(s, off, &e))
			return -EIO;
		nwrites += e.ndesc;
		ndata += e.ndata;
		off = (uint32_t)(((uint64_t)off + e.length) % s->len);
	}
	v->log_writes = calloc(nwrites ? nwrites : 1, sizeof(*v->log_writes));
	v->log_data = malloc(ndata ? ndata * VHDX_LOG_SECTOR : 1);
	if (!v->log_writes || !v->log_data)
		return -ENOMEM;
	data = v->log_data;
	off = seq->start;
	for (uint32_t i = 0; i < seq->count; i++) {
		struct vhdx_log_entry e;
		const uint8_t *h = s->log + off;
		uint64_t desc_area;
		uint32_t k = 0;
		int ret;

		vhdx_log_entry_parse(s, off, &e);
		desc_area = VHDX_LOG_HDR_SIZE + (uint64_t)VHDX_LOG_DESC_SIZE * e.ndesc;
		desc_area = (desc_area + VHDX_LOG_SECTOR - 1) / VHDX_LOG_SECTOR * VHDX_LOG_SECTOR;
		for (uint32_t j = 0; j < e.ndesc; j++) {
			const uint8_t *d = h + VHDX_LOG_HDR_SIZE + VHDX_LOG_DESC_SIZE * j;
			uint64_t target = vhdx_le64(d + 16);

			if (!memcmp(d, "zero", 4)) {
				ret = vhdx_log_add(v, target, vhdx_le64(d + 8), NULL);
			} else {
				const uint8_t *ds = h + desc_area + (uint64_t)k++ * VHDX_LOG_SECTOR;

				/* leading 8 and trailing 4 bytes live in the descriptor */
				memcpy(data, d + 8, 8);
				memcpy(data + 8, ds + 8, 4084);
				memcpy(data + 4092, d + 4, 4);
				ret = vhdx_log_add(v, target, VHDX_LOG_SECTOR, data);
				data += VHDX_LOG_SECTOR;
			}
			if (ret)
				return ret;
		}
		off = (uint32_t)(((uint64_t)off + e.length) % s->len);
	}
	return 0;
}

int vhdx_log_replay(struct vhdx_image *v)
{
	static const uint8_t zero[16];
	struct vhdx_log_scan s;
	struct vhdx_log_seq seq;
	uint8_t *buf;
	int ret;

	if (!memcmp(v->hdr.log_guid, zero, 16))
		return 0;
	if (v->hdr.log_length > VHDX_LOG_MAX_LENGTH) {
		log_err("%s: VHDX log needs replay but is %u bytes (keel replays up to %llu)",
			v->name, v->hdr.log_length, (unsigned long long)VHDX_LOG_MAX_LENGTH);
		return -ENOTSUP;
	}
	buf = malloc(2 * (size_t)v->hdr.log_length);
	if (!buf)
		return -ENOMEM;
	ret = v->pread(v->opaque, buf, v->hdr.log_length, v->hdr.log_offset);
	if (ret < 0)
		goto out;
	memcpy(buf + v->hdr.log_length, buf, v->hdr.log_length);
	s.log = buf;
	s.len = v->hdr.log_length;
	s.guid = v->hdr.log_guid;
	ret = vhdx_log_find(&s, &seq);
	if (ret < 0)
		goto out;
	if (seq.count == 0) {
		/* a torn first entry: the file itself is still the consistent state */
		log_info("%s: VHDX log is marked in use but holds no valid sequence",
			 v->name);
		goto out;
	}
	if (seq.head.flushed_file_offset > v->file_size) {
		log_err("%s: VHDX log says the file was %llu bytes but it is %llu: truncated",
			v->name, (unsigned long long)seq.head.flushed_file_offset,
			(unsigned long long)v->file_size);
		ret = -EINVAL;
		goto out;
	}
	if (seq.head.last_file_offset > v->file_end)
		v->file_end = seq.head.last_file_offset;
	ret = vhdx_log_apply(v, &s, &seq);
	if (ret) {
		if (ret == -EIO)
			ret = -EINVAL;
		vhdx_log_free(v);
		v->file_end = v->file_size;
		goto out;
	}
	v->log_replayed_seq = seq.head_seq;
	log_info("%s: replayed %u VHDX log entries (up to sequence %llu) in memory",
		 v->name, seq.count, (unsigned long long)seq.head_seq);
out:
	free(buf);
	return ret;
}

void vhdx_log_free(struct vhdx_image *v)
{
	free(v->log_writes);
	free(v->log_data);
	v->log_writes = NULL;
	v->log_data = NULL;
	v->log_nwrites = 0;
}
