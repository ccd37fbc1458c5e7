/* qcow2 metadata cache: L2 tables and refcount blocks in preallocated cluster
 * slots, hashed by file offset, clock eviction, write-back with ordering hooks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2.h"

static unsigned cache_hash(const struct qcow2_cache *c, uint64_t offset)
{
	uint64_t h = (offset >> c->q->cluster_bits) * 0x9e3779b97f4a7c15ULL;

	return (unsigned)(h >> 32) & c->hash_mask;
}

int qcow2_cache_init(struct qcow2_cache *c, struct qcow2 *q, const char *what, unsigned n)
{
	unsigned hn = 1;

	memset(c, 0, sizeof(*c));
	c->q = q;
	c->what = what;
	c->n = n < 4 ? 4 : n;
	while (hn < 2 * c->n)
		hn <<= 1;
	c->hash_mask = hn - 1;
	c->slots = calloc(c->n, sizeof(*c->slots));
	c->hash = malloc(hn * sizeof(*c->hash));
	c->mem = aligned_alloc(4096, qcow2_align_up((uint64_t)c->n * q->cluster_size, 4096));
	if (!c->slots || !c->hash || !c->mem) {
		qcow2_cache_destroy(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < hn; i++)
		c->hash[i] = -1;
	for (unsigned i = 0; i < c->n; i++) {
		c->slots[i].buf = c->mem + (size_t)i * q->cluster_size;
		c->slots[i].next = -1;
	}
	return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	free(c->slots);
	free(c->hash);
	free(c->mem);
	c->slots = NULL;
	c->hash = NULL;
	c->mem = NULL;
}

static int cache_find(struct qcow2_cache *c, uint64_t offset)
{
	for (int i = c->hash[cache_hash(c, offset)]; i >= 0; i = c->slots[i].next)
		if (c->slots[i].offset == offset)
			return i;
	return -1;
}

static void cache_unlink(struct qcow2_cache *c, int idx)
{
	int *pp = &c->hash[cache_hash(c, c->slots[idx].offset)];

	while (*pp >= 0) {
		if (*pp == idx) {
			*pp = c->slots[idx].next;
			break;
		}
		pp = &c->slots[*pp].next;
	}
	c->slots[idx].offset = 0;
	c->slots[idx].next = -1;
}

static int cache_writeback(struct qcow2_cache *c, int idx)
{
	struct qcow2_cache_slot *s = &c->slots[idx];
	int ret;

	if (!s->dirty)
		return 0;
	if (c->before_writeback) {
		ret = c->before_writeback(c->q);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_pwrite_meta(c->q, s->offset, s->buf, c->q->cluster_size);
	if (ret < 0)
		return ret;
	s->dirty = false;
	c->n_dirty--;
	return 0;
}

int qcow2_cache_get(struct qcow2_cache *c, uint64_t offset, bool fill, uint8_t **buf)
{
	int idx = cache_find(c, offset), ret;
	struct qcow2_cache_slot *s;

	if (idx >= 0) {
		c->slots[idx].ref = true;
		*buf = c->slots[idx].buf;
		return 0;
	}
	/* Clock: skip recently used slots once, prefer clean ones. */
	for (unsigned tries = 0;; tries++) {
		s = &c->slots[c->hand];
		idx = (int)c->hand;
		c->hand = (c->hand + 1) % c->n;
		if (!s->offset)
			break;
		if (s->ref && tries < 2 * c->n) {
			s->ref = false;
			continue;
		}
		if (s->dirty && tries < c->n)
			continue;
		break;
	}
	if (s->offset) {
		ret = cache_writeback(c, idx);
		if (ret < 0)
			return ret;
		cache_unlink(c, idx);
	}
	if (fill) {
		ret = qcow2_pread_meta(c->q, offset, s->buf, c->q->cluster_size);
		if (ret < 0)
			return ret;
	} else {
		memset(s->buf, 0, c->q->cluster_size);
	}
	s->offset = offset;
	s->ref = true;
	s->dirty = false;
	unsigned h = cache_hash(c, offset);

	s->next = c->hash[h];
	c->hash[h] = idx;
	*buf = s->buf;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, uint64_t offset)
{
	int idx = cache_find(c, offset);

	if (idx >= 0 && !c->slots[idx].dirty) {
		c->slots[idx].dirty = true;
		c->n_dirty++;
	}
}

int qcow2_cache_flush(struct qcow2_cache *c)
{
	int ret;

	if (!c->n_dirty)
		return 0;
	for (unsigned i = 0; i < c->n; i++) {
		ret = cache_writeback(c, (int)i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Forget a table whose cluster was freed (its contents no longer matter). */
void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
	int idx = cache_find(c, offset);

	if (idx < 0)
		return;
	if (c->slots[idx].dirty) {
		c->slots[idx].dirty = false;
		c->n_dirty--;
	}
	cache_unlink(c, idx);
}

void qcow2_cache_drop_all(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slots[i].offset)
			qcow2_cache_discard(c, c->slots[i].offset);
}
