/* SPDX-License-Identifier: MIT */
/* The saved-state blob (state_blob.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_blob.h"

#define BLOB_MAGIC 0x53505648u /* "HVPS" */
#define BLOB_VERSION 1u

struct blob_header {
	uint32_t magic, version, kind, reserved;
};

struct section_header {
	uint32_t tag, size;
};

static void blob_append(struct hvp_blob *b, const void *data, size_t size)
{
	if (b->err)
		return;
	if (b->len + size > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + size)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, size);
	b->len += size;
}

void hvp_blob_begin(struct hvp_blob *b, enum hvp_blob_kind kind)
{
	struct blob_header h = { BLOB_MAGIC, BLOB_VERSION, (uint32_t)kind, 0 };

	blob_append(b, &h, sizeof(h));
}

void hvp_blob_put(struct hvp_blob *b, uint32_t tag, const void *data, uint32_t size)
{
	struct section_header h = { tag, size };

	blob_append(b, &h, sizeof(h));
	blob_append(b, data, size);
}

/* Calls fn on each section of a well-formed blob of this kind until it returns non-zero; -1 for any other bytes. */
static int walk(const uint8_t *blob, size_t len, enum hvp_blob_kind kind,
		int (*fn)(void *arg, uint32_t tag, const uint8_t *data, uint32_t size), void *arg)
{
	struct blob_header bh;
	size_t off = sizeof(bh);

	if (!blob || len < sizeof(bh))
		return -1;
	memcpy(&bh, blob, sizeof(bh));
	if (bh.magic != BLOB_MAGIC || bh.version != BLOB_VERSION || (kind && bh.kind != (uint32_t)kind))
		return -1;
	while (off < len) {
		struct section_header h;

		if (len - off < sizeof(h))
			return -1;
		memcpy(&h, blob + off, sizeof(h));
		off += sizeof(h);
		if (h.size > len - off)
			return -1;
		if (fn && fn(arg, h.tag, blob + off, h.size))
			return 0;
		off += h.size;
	}
	return 0;
}

int hvp_blob_check(const uint8_t *blob, size_t len, enum hvp_blob_kind kind)
{
	return walk(blob, len, kind, NULL, NULL);
}

struct find_arg {
	uint32_t tag, size;
	const void *data;
};

static int find_one(void *arg, uint32_t tag, const uint8_t *data, uint32_t size)
{
	struct find_arg *f = arg;

	if (tag != f->tag)
		return 0;
	f->data = data;
	f->size = size;
	return 1;
}

const void *hvp_blob_find(const uint8_t *blob, size_t len, uint32_t tag, uint32_t *size)
{
	struct find_arg f = { .tag = tag };

	walk(blob, len, 0, find_one, &f);
	*size = f.size;
	return f.data;
}

struct list_arg {
	const char *(*tag_name)(uint32_t);
	struct hvp_state_class *out;
	unsigned n, max;
};

static int list_one(void *arg, uint32_t tag, const uint8_t *data, uint32_t size)
{
	struct list_arg *l = arg;
	const char *name = l->tag_name(tag);

	(void)data;
	if (l->n >= l->max)
		return 1;
	snprintf(l->out[l->n].name, sizeof(l->out[l->n].name), "%s", name ? name : "unknown");
	l->out[l->n++].size = size;
	return 0;
}

unsigned hvp_blob_classes(const uint8_t *blob, size_t len, enum hvp_blob_kind kind, const char *(*tag_name)(uint32_t),
			  struct hvp_state_class *out, unsigned max)
{
	struct list_arg l = { tag_name, out, 0, max };

	return walk(blob, len, kind, list_one, &l) ? 0 : l.n;
}
