/* SPDX-License-Identifier: MIT */
/*
 * What host memory may back guest memory: private and shared anonymous
 * memory, a memfd, transparent and hugetlbfs huge pages, and a range far
 * larger than the host's RAM of which the guest touches a few pages. For
 * each, the guest stores a value and reads it back, and the host reads it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../machine.h"
#include "../truth.h"

#define BACKING_PAGES 16
#define SIZE_2M UINT64_C(0x200000)
#define GPA_A UINT64_C(0x40000000)
#define VALUE UINT64_C(0xbacced0000000042)

/*
 * The guest stores VALUE at gpa + offset and reads it back; the host then
 * reads host + offset. Returns 1 when all three agree.
 */
static int guest_store_host_sees(struct hvp_machine *m, unsigned vcpu_id, uint8_t *host, uint64_t gpa,
				 uint64_t offset)
{
	uint64_t arg[4] = { gpa + offset, VALUE, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, vcpu_id, &hvp_prog_load_store, arg);
	struct hvp_guest_result r;
	uint64_t seen;

	char label[48];

	hvp_guest_run(m, vcpu, &r);
	snprintf(label, sizeof(label), "read back at +0x%" PRIx64, offset);
	hvp_need_guest(m->ctx, &r, 2, label);
	hvp_vcpu_destroy(m, vcpu);
	memcpy(&seen, host + offset, sizeof(seen));
	hvp_guest_value(m->ctx, label, r.value[1]);
	return r.value[1] == VALUE && seen == VALUE;
}

/*
 * Maps host memory of one kind and answers whether the guest used it. huge:
 * whether the memory is what the question asks about beyond being used (a
 * huge page): 1 yes, 0 no, -1 unknown (no answer then); always 1 elsewhere.
 */
static void answer_backing_huge(struct hvp_ctx *ctx, uint8_t *host, uint64_t size, const char *kind,
				const char *extra, int huge)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_status st = hvp_map_try(m, host, GPA_A, size, HVP_PROT_RWX);
	int used;

	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "mapping %s memory", kind);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s memory could not be mapped: %s %s", kind, st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	used = guest_store_host_sees(m, 0, host, GPA_A, 0);
	used &= guest_store_host_sees(m, 1, host, GPA_A, size - 8);
	ctx->f->guest_verified = true;
	if (used && huge < 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED,
				   "%s memory backs the guest, but whether the page is huge could not be read%s", kind, extra);
	else if (used && !huge)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "%s memory backs the guest, but the host gave it small pages%s", kind, extra);
	else if (used)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "%s memory backs the guest: its writes at both ends were read back by it and by the host%s",
				   kind, extra);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s memory was mapped, but the guest's writes did not come back",
				   kind);
}

static void answer_backing(struct hvp_ctx *ctx, uint8_t *host, uint64_t size, const char *kind, const char *extra)
{
	answer_backing_huge(ctx, host, size, kind, extra, 1);
}

/* Host memory of the kind asked for, aligned to the page hvprobe maps in. */
static void *map_or_abort(struct hvp_ctx *ctx, uint64_t size, int flags, int fd, const char *what)
{
	void *p = hvp_host_mmap(ctx, size, flags, fd);

	HVP_ASSERT(ctx, p != MAP_FAILED, "mmap of %s: %s", what, strerror(errno));
	return p;
}

static void run_backing_private(struct hvp_ctx *ctx)
{
	uint64_t size = BACKING_PAGES * hvp_page_size(ctx);

	answer_backing(ctx, map_or_abort(ctx, size, MAP_PRIVATE | MAP_ANONYMOUS, -1, "private memory"), size,
		       "private anonymous (MAP_PRIVATE)", "");
}

static void run_backing_shared(struct hvp_ctx *ctx)
{
	uint64_t size = BACKING_PAGES * hvp_page_size(ctx);

	answer_backing(ctx, map_or_abort(ctx, size, MAP_SHARED | MAP_ANONYMOUS, -1, "shared memory"), size,
		       "shared anonymous (MAP_SHARED)", "");
}

static void run_backing_memfd(struct hvp_ctx *ctx)
{
#ifdef __linux__
	uint64_t size = BACKING_PAGES * hvp_page_size(ctx);
	int fd = memfd_create("hvprobe-guest", MFD_CLOEXEC);

	HVP_ASSERT(ctx, fd >= 0, "memfd_create: %s", strerror(errno));
	HVP_ASSERT(ctx, ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	answer_backing(ctx, map_or_abort(ctx, size, MAP_SHARED, fd, "a memfd"), size,
		       "memfd (MAP_SHARED of memfd_create)", "");
	close(fd);
#else
	hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "not applicable: memfd_create is Linux's");
#endif
}

/* Kilobytes of AnonHugePages in the mapping that contains addr, from /proc/self/smaps; -1 if unknown. */
static long thp_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	int inside = 0;
	long kb = -1;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

/* The number in the first line of a file that fmt (one %llu) matches; fallback where there is none. */
static uint64_t number_in_file(const char *path, const char *fmt, uint64_t fallback)
{
	FILE *f = fopen(path, "r");
	unsigned long long n;
	char line[128];
	uint64_t got = fallback;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &n) == 1) {
			got = n;
			break;
		}
	if (f)
		fclose(f);
	return got;
}

/*
 * The host's huge pages are its page tables' blocks, whose size follows the
 * page size (2 MiB over 4 KiB pages, 32 MiB over arm64's 16 KiB ones):
 * hugetlbfs's default size and THP's, as the kernel states them; 2 MiB
 * where it does not say.
 */
/* A size the kernel stated, if it is one a block can have: a power of two, 64 KiB or more. */
static uint64_t huge_or_2m(uint64_t size)
{
	return size >= SIZE_2M / 32 && !(size & (size - 1)) ? size : SIZE_2M;
}

static uint64_t hugetlb_size(void)
{
	return huge_or_2m(number_in_file("/proc/meminfo", "Hugepagesize: %llu kB", SIZE_2M >> 10) << 10);
}

static uint64_t thp_size(void)
{
	return huge_or_2m(number_in_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "%llu", SIZE_2M));
}

/* "2 MiB", "64 KiB" */
static const char *size_text(uint64_t size, char *buf, size_t n)
{
	if (size >= (1u << 20))
		snprintf(buf, n, "%" PRIu64 " MiB", size >> 20);
	else
		snprintf(buf, n, "%" PRIu64 " KiB", size >> 10);
	return buf;
}

/* hugetlbfs, where the administrator configured pages for it; returns 1 when that answered. */
static int answer_hugetlb(struct hvp_ctx *ctx, long pages)
{
#ifdef MAP_HUGETLB
	uint64_t size = hugetlb_size();
	char kind[80], text[24];
	void *huge;

	if (pages <= 0)
		return 0;
	huge = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		return 0;
	snprintf(kind, sizeof(kind), "hugetlbfs %s page (MAP_HUGETLB)", size_text(size, text, sizeof(text)));
	answer_backing(ctx, huge, size, kind, "; backed by a huge page: yes");
	return 1;
#else
	(void)ctx;
	(void)pages;
	return 0;
#endif
}

static void run_backing_hugepages(struct hvp_ctx *ctx)
{
	uint64_t huge = thp_size();
	uint8_t *raw, *host;
	long thp, hugetlb_pages = 0;
	char extra[160], kind[80], text[24];
	FILE *f;

	f = fopen("/proc/sys/vm/nr_hugepages", "r");
	if (f && fscanf(f, "%ld", &hugetlb_pages) != 1)
		hugetlb_pages = 0;
	if (f)
		fclose(f);
	if (answer_hugetlb(ctx, hugetlb_pages))
		return;
	/* Transparent huge pages: a region aligned to their size, with MADV_HUGEPAGE. */
	raw = map_or_abort(ctx, 2 * huge, MAP_PRIVATE | MAP_ANONYMOUS, -1, "THP memory");
	host = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
	madvise(host, huge, MADV_HUGEPAGE);
#endif
	host[0] = 1; /* fault it in so that the kernel can give a huge page now */
	thp = thp_kb(host);
	snprintf(extra, sizeof(extra), "; backed by a huge page: %s (AnonHugePages %ld kB%s)",
		 thp >= (long)(huge >> 10) ? "yes" : thp >= 0 ? "no" : "unknown", thp,
		 hugetlb_pages > 0 ? "" : "; no hugetlbfs pages configured (vm.nr_hugepages = 0)");
	snprintf(kind, sizeof(kind), "transparent huge page of %s (MADV_HUGEPAGE)", size_text(huge, text, sizeof(text)));
	answer_backing_huge(ctx, host, huge, kind, extra, thp >= (long)(huge >> 10) ? 1 : thp >= 0 ? 0 : -1);
}

const struct hvp_probe probe_mem_backing_private = {
	.id = "mem.backing_private",
	.question = "Can private anonymous host memory back guest memory?",
	.timeout_s = 10,
	.run = run_backing_private,
};

const struct hvp_probe probe_mem_backing_shared = {
	.id = "mem.backing_shared",
	.question = "Can shared anonymous host memory back guest memory?",
	.timeout_s = 10,
	.run = run_backing_shared,
};

const struct hvp_probe probe_mem_backing_memfd = {
	.id = "mem.backing_memfd",
	.question = "Can a memfd back guest memory?",
	.timeout_s = 10,
	.run = run_backing_memfd,
};

const struct hvp_probe probe_mem_backing_hugepages = {
	.id = "mem.backing_hugepages",
	.question = "Can huge pages (hugetlbfs where configured, else THP) back guest memory, and are they really huge?",
	.timeout_s = 10,
	.run = run_backing_hugepages,
};

static void run_sparse_large(struct hvp_ctx *ctx)
{
	long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : 1ull << 32;
	uint64_t size = ((2 * ram) + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	uint8_t *host = hvp_host_mmap(ctx, size, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	struct hvp_machine *m;
	struct hvp_status st;
	int ok_all = 1;

	if (host == MAP_FAILED) {
		/* Strict overcommit (vm.overcommit_memory = 2) ignores MAP_NORESERVE: the host, not the API, says no. */
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the host would not reserve %" PRIu64 " GiB of address space "
				   "(mmap with MAP_NORESERVE: %s; strict overcommit?)", size >> 30, strerror(errno));
		return;
	}
	m = hvp_machine_create(ctx, "VM");
	st = hvp_map_try(m, host, GPA_A, size, HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "the map of twice the host's RAM");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a %" PRIu64 " GiB map (twice the host's RAM) was refused: %s %s",
				   size >> 30, st.call, ctx->be->native_name(st.native));
		return;
	}
	/* The first page, one in the middle, the last: far apart. */
	ok_all &= guest_store_host_sees(m, 0, host, GPA_A, 0);
	ok_all &= guest_store_host_sees(m, 1, host, GPA_A, (size / 2) & ~(hvp_page_size(ctx) - 1));
	ok_all &= guest_store_host_sees(m, 2, host, GPA_A, size - 8);
	ctx->f->guest_verified = true; /* each access was reported, or the probe ended */
	if (ok_all)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a %" PRIu64 " GiB region (twice the host's RAM, MAP_NORESERVE) was mapped; the guest "
				   "wrote and read pages at its start, middle and end", size >> 30);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "a %" PRIu64 " GiB region was mapped, but the guest's accesses far apart did not all work",
				   size >> 30);
}

const struct hvp_probe probe_mem_sparse_large = {
	.id = "mem.sparse_large",
	.question = "Can a guest-physical range larger than host RAM be mapped, with the guest touching pages far apart?",
	.timeout_s = 20,
	.run = run_sparse_large,
};
