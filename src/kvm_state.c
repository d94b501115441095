/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's snapshots, architecture-independent part: the blob
 * (state_blob.h) with one section per class of state, each as the class's
 * ioctl gave it (kvm_<arch>_state.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "kvm_internal.h"

#if defined(__x86_64__)
#define BLOB_KIND HVP_BLOB_KVM_X86_64
#else
#define BLOB_KIND HVP_BLOB_KVM_ARM64
#endif

unsigned kvm_vcpu_state_classes(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max)
{
	return hvp_blob_classes(blob, len, BLOB_KIND, kvm_arch_state_tag_name, out, max);
}

struct hvp_status kvm_vcpu_state_save(struct hvp_vcpu *vcpu, uint8_t **blob, size_t *len)
{
	struct hvp_blob b = { 0 };
	struct hvp_status st;

	*blob = NULL;
	*len = 0;
	/* An exit's operation completes on the next entry: until then the registers are not the guest's (api.rst, KVM_RUN). */
	kvm_complete_pending_exit(vcpu);
	hvp_blob_begin(&b, BLOB_KIND);
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
	struct hvp_status st;

	if (hvp_blob_check(blob, len, BLOB_KIND)) { /* not a snapshot of this backend and architecture: no call made */
		st = kvm_status("snapshot", EINVAL);
		st.unmade = true;
		return st;
	}
	st = kvm_arch_state_restore(vcpu, blob, len);
	return st.err == HVP_OK ? hvp_ok("KVM_SET_* (vcpu state)") : st;
}
