/* SPDX-License-Identifier: MIT */
/*
 * The blob a vCPU's saved state travels in (backend.h, vcpu_state_save):
 * a header (magic, version, which backend and architecture wrote it) and
 * one section per class of state, each a tag, a size and the bytes the
 * class's calls gave, so that a reader can say what a blob carries, and a
 * backend can refuse one it did not write, without knowing the classes.
 */
#ifndef HVP_STATE_BLOB_H
#define HVP_STATE_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Who wrote a blob: one backend on one architecture. */
enum hvp_blob_kind { HVP_BLOB_KVM_X86_64 = 1, HVP_BLOB_KVM_ARM64, HVP_BLOB_HVF_ARM64, HVP_BLOB_HVF_X86_64 };

struct hvp_blob {
	uint8_t *p;
	size_t len, cap;
	int err; /* an errno once an append failed */
};

/* Starts a blob (b zeroed) with its header. */
void hvp_blob_begin(struct hvp_blob *b, enum hvp_blob_kind kind);
void hvp_blob_put(struct hvp_blob *b, uint32_t tag, const void *data, uint32_t size);
/* 0 when blob is well formed and of this kind. */
int hvp_blob_check(const uint8_t *blob, size_t len, enum hvp_blob_kind kind);
/* The section tag holds, or NULL; *size gets its size. */
const void *hvp_blob_find(const uint8_t *blob, size_t len, uint32_t tag, uint32_t *size);
/* The blob's classes, named by tag_name, in order; 0 for a blob not of this kind. */
unsigned hvp_blob_classes(const uint8_t *blob, size_t len, enum hvp_blob_kind kind, const char *(*tag_name)(uint32_t),
			  struct hvp_state_class *out, unsigned max);

#endif
