#!/bin/bash
# SPDX-License-Identifier: MIT
# hvprobe report, matrix and --format nfd on real reports (docs/examples,
# written by hvprobe on KVM), with no hypervisor: a saved run renders in every
# format (JSON byte for byte as saved), many runs side by side in every
# matrix form, the NFD feature file labels only what was proven, and bad,
# missing or newer reports are refused with the cause named.
. "$(dirname "$0")/lib.bash"
# The reports are files on this machine: report and matrix run here, even when the probes run in a VM.
HVPROBE=$HVPROBE_LOCAL
command -v jq >/dev/null || skip_all "jq is not installed"
"$HVPROBE" report /dev/null 2>&1 | grep -q 'built without json-c' && skip_all "this hvprobe was built without json-c"

x86=$top/docs/examples/matrix/kvm-x86_64.json
arm=$top/docs/examples/matrix/kvm-arm64.json
nprobes=$(jq '.findings | length' "$x86")
ok "the example runs are there ($nprobes probes)" [ "${nprobes:-0}" -gt 0 ]

# No hypervisor is needed: a device that does not exist is never opened.
run json report --kvm-device=/nonexistent -f json "$x86"
ok "report -f json: exit 0, with no hypervisor" [ "$(rc json)" = 0 ]
ok "it is the saved report byte for byte" cmp "$x86" "$out/json.out"
run armjson report -f json "$arm"
ok "the arm64 one too" cmp "$arm" "$out/armjson.out"
ok_schema "and it validates against docs/report-schema.json" "$out/json.out"

run text report "$x86"
ok "report: text by default, how the host runs guests first" \
	eval 'exits text 0 && head -n 20 "$out/text.out" | grep -q "^How this host runs guests:"'
run tap report -f tap "$x86"
ok "-f tap: a plan for every probe" eval 'exits tap 0 && grep -qx "1..$nprobes" "$out/tap.out"'
run md report -f markdown "$x86"
ok "-f markdown: the findings document" eval 'exits md 0 && grep -q "^# What kvm allows on this host" "$out/md.out"'
for f in junit html; do
	run "$f" report -f "$f" "$x86"
	if command -v xmllint >/dev/null; then
		ok "-f $f: well-formed XML" eval "exits $f 0 && [ -s '$out/$f.out' ] && xmllint --noout '$out/$f.out'"
	else
		skip "-f $f: well-formed XML" "xmllint is not installed (libxml2-utils)"
	fi
done
ok "-f junit: a test case per probe" eval '[ "$(grep -c "<testcase " "$out/junit.out")" = "$nprobes" ]'
run prom report -f prometheus "$x86"
ok "-f prometheus: the run's own time, from the report" \
	eval 'exits prom 0 && grep -qx "hvprobe_last_run_timestamp_seconds $(jq .summary.ended_unix "$x86")" "$out/prom.out"'
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	ok "python3-prometheus-client parses it, one answer per probe" /usr/bin/python3 -c "
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = {f.name: f for f in parse(open(sys.argv[1]).read())}
sys.exit(0 if len(fams['hvprobe_probe_answer'].samples) == int(sys.argv[2]) else 1)" "$out/prom.out" "$nprobes"
else
	skip "python3-prometheus-client parses it" "python3-prometheus-client is not installed"
fi

# The Node Feature Discovery file: features.d lines, a label only for a yes.
run nfd report -f nfd "$x86"
label=hvprobe.feature.node.kubernetes.io
ok "-f nfd: exit 0, every line a comment or a label set to true" \
	eval 'exits nfd 0 && [ -s "$out/nfd.out" ] && ! grep -vE "^(#.*|$label/[a-z0-9]([-a-z0-9._]*[a-z0-9])?=true)$" "$out/nfd.out"'
ok "it expires a day after the run ended" \
	grep -qx "# +expiry-time=$(date -u -d "@$(($(jq .summary.ended_unix "$x86") + 86400))" +%Y-%m-%dT%H:%M:%SZ)" "$out/nfd.out"
ok "kvm is labelled: guests ran and reported" grep -qx "$label/kvm=true" "$out/nfd.out"
for pair in hardware-virtualization=exec.vendor readonly-memory=mem.readonly dirty-log=mem.dirty_log \
	arm64-nisv=arm64.nisv; do
	name=${pair%%=*} id=${pair#*=}
	answer=$(jq -r --arg id "$id" '.findings[] | select(.id == $id) | .answer' "$x86")
	if [ "$answer" = yes ]; then
		ok "$name is labelled: $id answered yes" grep -qx "$label/$name=true" "$out/nfd.out"
	else
		ok "$name is not labelled: $id answered ${answer:-nothing}" \
			eval "[ -n '$answer' ] && grep -q '/kvm=true' '$out/nfd.out' && ! grep -q '/$name=' '$out/nfd.out'"
	fi
done
jq '(.findings[] | select(.id == "mem.readonly")) |= (.answer = "crashed")' "$x86" >"$tmp/crashed.json"
run nfdcrashed report -f nfd "$tmp/crashed.json"
ok "a probe that crashed gives no label" eval 'exits nfdcrashed 0 && grep -q "/kvm=true" "$out/nfdcrashed.out" && ! grep -q "readonly-memory" "$out/nfdcrashed.out"'
nfdfile=$tmp/features.d/hvprobe
mkdir -p "$tmp/features.d"
run nfdfile report -f nfd -o "$nfdfile" "$x86"
ok "-o writes the feature file, the same as stdout, nothing else left in features.d" \
	eval 'exits nfdfile 0 && cmp "$nfdfile" "$out/nfd.out" && [ "$(ls -A "$tmp/features.d")" = hvprobe ]'

# Refusals: the cause and the place named, exit 2.
run missing report "$tmp/nonexistent.json"
ok "a missing report: exit 2, naming it and the cause" \
	eval 'exits missing 2 && grep -q "nonexistent.json: cannot read: No such file" "$out/missing.err"'
run directory report "$tmp"
ok "a directory: exit 2, saying so" eval 'exits directory 2 && grep -q ": is a directory, not a JSON report" "$out/directory.err"'
head -c 2000 "$x86" >"$tmp/truncated.json"
run truncated report "$tmp/truncated.json"
ok "a truncated report: exit 2, with the place" \
	eval 'exits truncated 2 && grep -q "truncated.json: byte 2000 (line .*): the JSON text ends early" "$out/truncated.err"'
jq '.schema_version = 2' "$x86" >"$tmp/newer.json"
run newer report "$tmp/newer.json"
ok "a report of a newer schema: exit 2, saying to upgrade" \
	eval 'exits newer 2 && grep -q "newer.json: .schema_version: 2: a newer hvprobe wrote this (this one reads schema 1); upgrade hvprobe" "$out/newer.err"'
jq '.findings[3].guest_verified = "yes"' "$x86" >"$tmp/field.json"
run field report "$tmp/field.json"
ok "a field of the wrong type: exit 2, naming it" \
	eval 'exits field 2 && grep -q "field.json: .findings\[3\].guest_verified: expected boolean, got string" "$out/field.err"'
run two report "$x86" "$arm"
ok "report takes one report" eval 'exits two 2 && grep -q "report renders one JSON report" "$out/two.err"'
run badfmt report -f yaml "$x86"
ok "an unknown format: exit 2, naming the formats" eval 'exits badfmt 2 && grep -q "use text, json, tap, markdown, junit, prometheus, html, nfd" "$out/badfmt.err"'

# The matrix, in every form.
run mtext matrix "$x86" "$arm"
ok "matrix of x86_64 and arm64: exit 1, for their answers differ" [ "$(rc mtext)" = 1 ]
ok "text: the hosts by letter, with backend, arch and kernel" \
	eval 'grep -qE "^  A  kvm-x86_64: kvm x86_64, Linux " "$out/mtext.out" && grep -qE "^  B  kvm-arm64: kvm arm64, Linux " "$out/mtext.out"'
ok "a row for every probe of either run" \
	eval '[ "$(grep -cE "^[* ] [a-z0-9]+\.[a-z0-9_.]+ " "$out/mtext.out")" = "$(jq -s "[.[].findings[].id] | unique | length" "$x86" "$arm")" ]'
ok "x86-only probes differ: skipped on arm64, marked" grep -qE '^\* exec\.real_mode +yes +skipped$' "$out/mtext.out"
ok "probes that agree are not marked" grep -qE '^  vm\.two_in_one_thread +yes +yes$' "$out/mtext.out"
run mjson matrix -f json "$x86" "$arm"
jqok "json: two hosts, every probe, cells as the reports answer" \
	'.matrix_version == 1 and (.hosts | map(.arch)) == ["x86_64", "arm64"] and .summary.differ > 0
	 and (.probes[] | select(.id == "exec.real_mode") | .differs and .cells[0].answer == "yes" and .cells[1].answer == "skipped")
	 and .summary.differ == ([.probes[] | select(.differs)] | length)' "$out/mjson.out"
ok "json: as many differing rows as the text marks" \
	eval '[ "$(jq .summary.differ "$out/mjson.out")" = "$(grep -c "^\* " "$out/mtext.out")" ]'
run mmd matrix -f markdown "$x86" "$arm"
ok "markdown: a table per topic, a column per host, differing rows marked" \
	eval 'exits mmd 1 && grep -q "^| probe | kvm-x86\\\\_64 | kvm-arm64 | differs |$" "$out/mmd.out" && grep -q "^| \`exec.real_mode\` | \*\*yes\*\* | \*\*skipped\*\* | ≠ |$" "$out/mmd.out"'
run mhtml matrix -f html "$x86" "$arm"
if command -v xmllint >/dev/null; then
	ok "html: well-formed, a differing row marked" \
		eval 'exits mhtml 1 && xmllint --noout "$out/mhtml.out" && grep -q "<tr class=\"differs\"><td title=\"[^\"]*\"><code>exec.real_mode</code>" "$out/mhtml.out"'
else
	skip "html: well-formed, a differing row marked" "xmllint is not installed (libxml2-utils)"
fi
run msame matrix "$x86" "$x86"
ok "a report beside itself: exit 0, nothing marked" \
	eval 'exits msame 0 && grep -q "^hvprobe matrix: 2 hosts, $nprobes probes, 0 differ$" "$out/msame.out" && ! grep -q "^\* " "$out/msame.out"'
run mtap matrix -f tap "$x86" "$arm"
ok "matrix writes text, markdown, html or json only" eval 'exits mtap 2 && grep -q "matrix. writes text, markdown, html or json" "$out/mtap.err"'
run mnone matrix
ok "matrix needs reports" eval 'exits mnone 2 && grep -q "matrix puts JSON reports side by side" "$out/mnone.err"'
run mbad matrix "$x86" "$tmp/truncated.json"
ok "a bad report among them: exit 2, naming it" eval 'exits mbad 2 && grep -q "truncated.json: byte 2000" "$out/mbad.err"'
run help --help
ok "--help explains report, matrix and nfd" \
	eval 'grep -q "^  report FILE.json" "$out/help.out" && grep -q "^  matrix FILE.json" "$out/help.out" && grep -q "nfd: a Node Feature Discovery" "$out/help.out"'
done_testing
