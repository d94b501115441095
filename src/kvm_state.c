/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's snapshots, architecture-independent part: the blob a
 * vCPU's state travels in to another process. It is a header (magic,
 * version, architecture) and one section per class of state, each a tag, a
 * size and the bytes the class's ioctl gave (kvm_<arch>_state.c), so a
 * reader can say what a blob carries without knowing the classes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_internal.h"

#define BLOB_MAGIC 0x53505648u /* "HVPS" */
#define BLOB_VERSION 1u
#if defined(__x86_64__)
#define BLOB_ARCH 1u
#else
#define BLOB_ARCH 2u
#endif

struct blob_header {
	uint32_t magic, version, arch, reserved;
};

struct section_header {
	uint32_t tag, size;
};

static void blob_append(struct kvm_blob *b, const void *data, size_t size)
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

void kvm_blob_put(struct kvm_blob *b, uint32_t tag, const void *data, uint32_t size)
{
	struct section_header h = { tag, size };

	blob_append(b, &h, sizeof(h));
	blob_append(b, data, size);
}

/* Calls fn on each section of a well-formed blob of this architecture; returns -1 for any other bytes. */
static int walk(const uint8_t *blob, size_t len, int (*fn)(void *arg, uint32_t tag, const uint8_t *data, uint32_t size),
		void *arg)
{
	struct blob_header bh;
	size_t off = sizeof(bh);

	if (!blob || len < sizeof(bh))
		return -1;
	memcpy(&bh, blob, sizeof(bh));
	if (bh.magic != BLOB_MAGIC || bh.version != BLOB_VERSION || bh.arch != BLOB_ARCH)
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

const void *kvm_blob_find(const uint8_t *blob, size_t len, uint32_t tag, uint32_t *size)
{
	struct find_arg f = { .tag = tag };

	walk(blob, len, find_one, &f);
	*size = f.size;
	return f.data;
}

struct list_arg {
	struct hvp_state_class *out;
	unsigned n, max;
};

static int list_one(void *arg, uint32_t tag, const uint8_t *data, uint32_t size)
{
	struct list_arg *l = arg;
	const char *name = kvm_arch_state_tag_name(tag);

	(void)data;
	if (l->n >= l->max)
		return 1;
	snprintf(l->out[l->n].name, sizeof(l->out[l->n].name), "%s", name ? name : "unknown");
	l->out[l->n++].size = size;
	return 0;
}

unsigned kvm_vcpu_state_classes(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max)
{
	struct list_arg l = { out, 0, max };

	return walk(blob, len, list_one, &l) ? 0 : l.n;
}

struct hvp_status kvm_vcpu_state_save(struct hvp_vcpu *vcpu, uint8_t **blob, size_t *len)
{
	struct blob_header bh = { BLOB_MAGIC, BLOB_VERSION, BLOB_ARCH, 0 };
	struct kvm_blob b = { 0 };
	struct hvp_status st;

	*blob = NULL;
	*len = 0;
	/* An exit's operation completes on the next entry: until then the registers are not the guest's (api.rst, KVM_RUN). */
	kvm_complete_pending_exit(vcpu);
	blob_append(&b, &bh, sizeof(bh));
	st = kvm_arch_state_save(vcpu, &b);
	if (st.err == HVP_OK && b.err)
		st = kvm_status("malloc", b.err);
	if (st.err != HVP_OK) {
		free(b.p);
		return st;
	}
	*blob = b.p;
	*len = b.len;
	return hvp_ok("KVM_GET_* (vcpu state)"); /* every class's call succeeded */
}

struct hvp_status kvm_vcpu_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	if (walk(blob, len, NULL, NULL)) { /* not a snapshot of this backend and architecture: no call made */
		struct hvp_status st = kvm_status("snapshot", EINVAL);
		st.unmade = true;
		return st;
	}
	struct hvp_status st = kvm_arch_state_restore(vcpu, blob, len);

	return st.err == HVP_OK ? hvp_ok("KVM_SET_* (vcpu state)") : st;
}
