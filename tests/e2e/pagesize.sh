#!/bin/bash
# SPDX-License-Identifier: MIT
# Pages of 16 KiB on real KVM. Apple silicon maps guest memory in 16 KiB
# pages only; this machine's KVM takes any multiple of its 4 KiB ones. So
# the whole default suite runs on /dev/kvm twice, in the API's own pages and
# with --page-size=16384, and every probe must answer as it does in 4 KiB:
# a probe that still maps 4 KiB somewhere, or asks about alignment or
# overlap in 4 KiB terms, answers otherwise or crashes. The two searches for
# a limit are capped low (they then answer "skipped" at the cap in both).
#
# Runs on this machine's /dev/kvm only (no QEMU boot for it): skipped, with
# the reason, where no guest runs there.
. "$(dirname "$0")/lib.bash"

command -v jq >/dev/null || bail "jq is needed to read the JSON reports (apt-get install jq)"
run probe run --format json mem.two_maps
if ! jq_true '.findings[0].answer == "yes" and .findings[0].guest_verified' "$out/probe.out"; then
	why=$(jq -r '.findings[0].reason // empty' "$out/probe.out" 2>/dev/null)
	skip_all "no guest runs on this machine's KVM (hvprobe mem.two_maps: ${why:-$(head -n 1 "$out/probe.err")})"
fi
api_page=$(jq -r '.host.page_size' "$out/probe.out")
[ "$api_page" = 16384 ] && skip_all "the API's own page is already 16 KiB here: the suite's own run is the 16 KiB run"
echo "# the API's own page: $api_page bytes"

caps="--cap-vms=8 --cap-maps=64"
# shellcheck disable=SC2086
run own --format json $caps
# shellcheck disable=SC2086
run p16k --format json $caps --page-size=16384
reported() { exits "$1" 0 || exits "$1" 1; } # 1: some finding deviates, as it may on this host
ok "the suite ran in the API's own pages (exit $(rc own))" reported own
ok "and in 16 KiB pages (exit $(rc p16k))" reported p16k
jqok "the 16 KiB run says it mapped in 16 KiB pages of its own choosing" \
	'.host.probe_page_size | startswith("16384 (--page-size")' "$out/p16k.out"
jqok "and that the API's own page is still $api_page bytes" ".host.page_size == \"$api_page\"" "$out/p16k.out"

# Each probe's answer in both runs, by id; timings (exec.*, time.*) may well
# differ between any two runs, so only a crash or a hang counts there.
# shellcheck disable=SC2016
pairs='[$own[0].findings[] as $a | ($new[0].findings[] | select(.id == $a.id)) as $b | {id: $a.id, a: $a, b: $b}]'
# shellcheck disable=SC2016
differs='if (.id | test("^(exec|time)\\.")) then (.b.answer | IN("crashed", "hung")) and .a.answer != .b.answer
	else .a.answer != .b.answer end'
# shellcheck disable=SC2016
ok "both runs answered the same probes" jq -n -e --slurpfile own "$out/own.out" --slurpfile new "$out/p16k.out" \
	'($own[0].findings | map(.id)) == ($new[0].findings | map(.id)) and ($own[0].findings | length) > 50'
# A probe that answered otherwise gets up to three more runs of its own in
# each page size: a race that went another way once (some probes here race
# two threads for one vCPU) gives an answer both sizes share; a probe that
# maps 4 KiB somewhere, none.
jq -n --slurpfile own "$out/own.out" --slurpfile new "$out/p16k.out" -r "$pairs"' | .[] | select('"$differs"')
	| "\(.id) \(.a.answer) \(.b.answer)"' >"$tmp/differs"
compared=$?
answer() { jq -r '.findings[0].answer' "$out/$1.out" 2>/dev/null; }
kept=0
while read -r id own p16k; do
	for i in 1 2 3; do
		case " $p16k " in *" $own "*) break ;; esac
		run "own-$id-$i" run --format json "$id"
		run "p16k-$id-$i" run --format json --page-size=16384 "$id"
		own="$own $(answer "own-$id-$i")"
		p16k="$p16k $(answer "p16k-$id-$i")"
		for a in $own; do case " $p16k " in *" $a "*) break 2 ;; esac; done
	done
	shared=
	for a in $own; do case " $p16k " in *" $a "*) shared=$a ;; esac; done
	echo "# $id: in the API's pages $own, in 16 KiB $p16k${shared:+: both $shared}"
	[ -n "$shared" ] || kept=$((kept + 1))
done <"$tmp/differs"
same_answers() { [ "$compared" = 0 ] && [ "$kept" = 0 ]; }
# The same answer is the same verdict: no new crash, and no new deviation.
ok "in 16 KiB pages every probe answers as in the API's own (timings: no new crash or hang)" same_answers
jqok "the memory probes ran in 16 KiB pages (a 16 KiB page at 2^width - 16 KiB)" \
	'[.findings[] | select(.id == "mem.high_guest_addr") | .evidence[].detail | select(test("size=0x4000$"))]
	 | length >= 2' "$out/p16k.out"
jqok "the dirty log still counts in the API's own pages" \
	"[.findings[] | select(.id == \"mem.dirty_log\") | .reason | contains(\"pages of $((api_page / 1024)) KiB\")]
	 | all" "$out/p16k.out"
done_testing
