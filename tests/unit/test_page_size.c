/* SPDX-License-Identifier: MIT */
/*
 * Pages other than 4 KiB. Apple silicon maps guest memory in 16 KiB pages
 * and refuses anything else, so a probe that maps 4 KiB there is refused,
 * and an overlap probe is refused for its alignment, not for the overlap.
 * Here every question probe runs on the mock twice more: once with the
 * API's own page at 16 KiB (the mock then refuses what is not aligned to
 * it, host memory included), and once with the API's page at 4 KiB but
 * hvprobe asked to map in 16 KiB (--page-size). Each must answer as it does
 * with 4 KiB pages; and the probes whose question is about pages must say
 * which page they mean.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "builtin_contract.h"
#include "cli.h"
#include "contract.h"
#include "machine.h"
#include "mock_backend.h"
#include "probe.h"
#include "runner.h"
#include "tap.h"

#define PAGE_16K UINT64_C(16384)

/* Runs one probe on the mock, mapping in asked (0: the API's page), judged by KVM's contract. */
static struct hvp_finding run_probe(const struct hvp_probe *p, uint64_t asked, const struct hvp_contract *contract)
{
	struct hvp_run_opts o = { .be = &hvp_backend_mock, .open = { .page_size = asked }, .timeout_s = 20,
				  .caps = { .maps = 600, .vms = 600, .vcpus = 0 },
				  .bench = { .duration_s = 0.1, .pin_cpu = -1 } };
	struct hvp_finding f;
	int interrupted;

	memset(&f, 0, sizeof(f));
	hvp_run_probes(&p, 1, &o, &f, &interrupted);
	hvp_contract_judge(contract, &f);
	return f;
}

/* Whether every map the API accepted in f was whole pages of page at an address aligned to it. */
static bool maps_aligned(const struct hvp_finding *f, uint64_t page, char *bad, size_t bad_size)
{
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		const char *at = strstr(e->detail, "gpa=0x");
		uint64_t gpa, size;

		if (strcmp(e->call, "mock_map") != 0 || e->result != 0 || !at ||
		    sscanf(at, "gpa=0x%" SCNx64 " size=0x%" SCNx64, &gpa, &size) != 2)
			continue;
		if ((gpa | size) % page) {
			snprintf(bad, bad_size, "%s", e->detail);
			return false;
		}
	}
	return true;
}

/*
 * Every question probe for the mock's architecture, with 4 KiB pages and
 * then as configured: the same answer, never a deviation the 4 KiB run did
 * not have. asked is what hvprobe is told to map in (0: the API's page).
 */
static void same_answers(struct tap *t, const struct hvp_contract *contract, uint64_t api_page, uint64_t asked,
			 const char *how)
{
	unsigned probes = 0, same = 0;

	for (unsigned i = 0; i < hvp_n_probes; i++) {
		const struct hvp_probe *p = hvp_probes[i];
		struct hvp_finding base, f;
		char bad[HVP_DETAIL_MAX] = "";

		if (p->kind == HVP_PROBE_BENCH || (p->arch && strcmp(p->arch, hvp_backend_mock.arch) != 0))
			continue;
		mock_faults.page_size = 0;
		base = run_probe(p, 0, contract);
		mock_faults.page_size = api_page;
		f = run_probe(p, asked, contract);
		mock_faults.page_size = 0;
		probes++;
		same += ok(t, f.answer == base.answer && (f.verdict != HVP_VERDICT_DEVIATES || base.verdict == f.verdict) &&
				      maps_aligned(&f, PAGE_16K, bad, sizeof(bad)),
			   "%s, %s: %s (%s), as with 4 KiB pages: %s%s%s", p->id, how, hvp_answer_name(f.answer), f.reason,
			   hvp_answer_name(base.answer), *bad ? "; a map the API took is not whole 16 KiB pages: " : "",
			   bad);
	}
	ok(t, probes > 20 && same == probes, "%s: %u of %u question probes answered as with 4 KiB pages", how, same,
	   probes);
}

/* The probes whose question is about pages, at 16 KiB pages of the API's own: refused for what they ask about. */
static void questions_about_pages(struct tap *t, const struct hvp_contract *contract)
{
	static const char *const overlaps[] = { "mem.overlap_partial", "mem.overlap_identical", "mem.overlap_contained" };
	struct hvp_finding f;

	mock_faults.page_size = PAGE_16K;
	for (unsigned i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		f = run_probe(hvp_probe_find(overlaps[i]), 0, contract);
		ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "EEXIST") && !strstr(f.reason, "EINVAL"),
		   "%s at 16 KiB pages: refused for the overlap, not for alignment: %s", overlaps[i], f.reason);
	}
	f = run_probe(hvp_probe_find("mem.unaligned_guest_addr"), 0, contract);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "not 16 KiB-aligned") && f.n_evidence > 0 &&
		      strstr(f.evidence[f.n_evidence - 1].detail, "gpa=0x10002000 size=0x4000"),
	   "a guest address half a 16 KiB page off is refused as such: %s", f.reason);
	f = run_probe(hvp_probe_find("mem.unaligned_size"), 0, contract);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "multiple of 16 KiB"),
	   "a size of one and a half 16 KiB pages is refused as such: %s", f.reason);
	f = run_probe(hvp_probe_find("mem.dirty_log"), 0, contract);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "pages of 16 KiB"),
	   "the dirty log's bits are the API's 16 KiB pages: %s", f.reason);
	mock_faults.page_size = 0;

	/* Mapping in 16 KiB where the API's page is 4 KiB: misalignment and the log are still the API's. */
	f = run_probe(hvp_probe_find("mem.unaligned_guest_addr"), PAGE_16K, contract);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "not 4 KiB-aligned"),
	   "with --page-size=16384, a guest address off the API's 4 KiB page is what is refused: %s", f.reason);
	f = run_probe(hvp_probe_find("mem.dirty_log"), PAGE_16K, contract);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "pages of 4 KiB"),
	   "with --page-size=16384, the dirty log's bits are still the API's 4 KiB pages: %s", f.reason);
}

/*
 * Host memory is aligned to the page hvprobe maps in, though mmap aligns to
 * the host's 4 KiB only: each request follows a 4 KiB mapping that leaves
 * the host's next free address off a 16 KiB boundary.
 */
static void host_memory_aligned(struct tap *t)
{
	struct hvp_open_opts open = { .page_size = PAGE_16K };
	struct hvp_ctx ctx = { .be = &hvp_backend_mock, .open = &open };
	static const int kinds[] = { MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE };
	unsigned aligned = 0, n = 0;

	ok(t, hvp_page_size(&ctx) == PAGE_16K && hvp_api_page_size(&ctx) == 4096,
	   "--page-size=16384 on an API of 4 KiB pages: hvprobe maps in 16 KiB, the API's page stays 4 KiB");
	for (unsigned i = 0; i < 8; i++) {
		void *off = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *p = hvp_host_mmap(&ctx, (i + 1) * PAGE_16K, kinds[i % 3], -1);

		n++;
		if (p != MAP_FAILED) {
			p[0] = p[(i + 1) * PAGE_16K - 1] = 1; /* usable from end to end */
			aligned += (uintptr_t)p % PAGE_16K == 0;
			hvp_guest_memory_free(p, (i + 1) * PAGE_16K);
		}
		if (off != MAP_FAILED)
			munmap(off, 4096);
	}
	ok(t, aligned == n, "%u of %u host memory requests came back aligned to 16 KiB", aligned, n);
}

#define ARGV(...) ((char *[]){ "hvprobe", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "hvprobe", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(c, err, ...) hvp_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (c), (err), 256)

static void page_size_option(struct tap *t)
{
	struct hvp_cli c;
	char err[256] = "";

	ok(t, PARSE(&c, err, "run") == 0 && c.page_size == 0, "no --page-size: the API's own page");
	ok(t, PARSE(&c, err, "--page-size=16384") == 0 && c.page_size == 16384, "--page-size=16384");
	ok(t, PARSE(&c, err, "--page-size", "65536") == 0 && c.page_size == 65536, "--page-size 65536");
	ok(t, PARSE(&c, err, "--page-size=12288") == -1 && strstr(err, "power of two"), "12288 is refused: %s", err);
	ok(t, PARSE(&c, err, "--page-size=2048") == -1 && strstr(err, "4096 to 65536"), "2048 is refused: %s", err);
	ok(t, PARSE(&c, err, "--page-size=131072") == -1, "131072 is refused");
	ok(t, PARSE(&c, err, "--page-size=16k") == -1, "a unit is refused");
}

int main(void)
{
	struct hvp_contract contract;
	char err[256];
	size_t len;
	const char *text = hvp_builtin_contract("kvm", &len);
	struct tap t;

	TAP_PLAN_LATER(&t);
	page_size_option(&t);
	host_memory_aligned(&t);
	if (!ok(&t, text && hvp_contract_parse(&contract, "kvm", text, len, err, sizeof(err)) == 0, "KVM's contract"))
		return tap_done(&t);
	questions_about_pages(&t, &contract);
	same_answers(&t, &contract, PAGE_16K, 0, "the API's page 16 KiB");
	same_answers(&t, &contract, 0, PAGE_16K, "mapping in 16 KiB (--page-size) where the API's page is 4 KiB");
	hvp_contract_free(&contract);
	return tap_done(&t);
}
