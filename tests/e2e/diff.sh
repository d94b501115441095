#!/bin/bash
# SPDX-License-Identifier: MIT
# hvprobe diff on real reports (docs/examples, written by hvprobe on KVM):
# nothing between a report and itself, a planted change found, bad input
# refused with the file and the place named. Needs no hypervisor.
. "$(dirname "$0")/lib.bash"
# The reports are files on this machine: diff runs here, even when the probes run in a VM.
HVPROBE=$HVPROBE_LOCAL
command -v jq >/dev/null || skip_all "jq is not installed"
"$HVPROBE" diff /dev/null /dev/null 2>&1 | grep -q 'built without json-c' && skip_all "this hvprobe was built without json-c"

ex=$top/docs/examples/kvm-x86_64.json
bex=$top/docs/examples/kvm-x86_64-bench.json

run same diff "$ex" "$ex"
ok "a report against itself: exit 0" [ "$(rc same)" = 0 ]
ok "and says nothing changed" grep -q '^no changes: [0-9]* findings the same' "$tmp/same.out"

jq '(.findings[] | select(.id == "mem.two_maps")) |= (.answer = "no" | .verdict = "deviates")
    | .findings |= map(select(.id != "vcpu.kick"))' "$ex" >"$tmp/planted.json"
run planted diff "$ex" "$tmp/planted.json"
ok "a planted change: exit 1" [ "$(rc planted)" = 1 ]
ok "the changed answer is named, old and new" grep -qE '^answer +mem\.two_maps +yes \(as documented\) +no \(deviates\)' "$tmp/planted.out"
ok "the probe that disappeared is named" grep -qE '^missing +vcpu\.kick ' "$tmp/planted.out"
ok "and counted" grep -q '^2 changes; ' "$tmp/planted.out"
run plantedjson diff --format json "$ex" "$tmp/planted.json"
jqok "the JSON form says the same" \
	'.changed and ([.changes[] | {id, change}] == [{"id": "mem.two_maps", "change": "changed"}, {"id": "vcpu.kick", "change": "missing"}])' "$tmp/plantedjson.out"

jq '(.findings[] | select(.id == "bench.exit.pio_out") | .bench) |= (.median_ns *= 3 | .samples_ns |= map(. * 3))' "$bex" >"$tmp/slower.json"
run slower diff "$bex" "$tmp/slower.json"
ok "a benchmark three times slower is a change" grep -qE '^bench +bench\.exit\.pio_out .*\+200\.0%' "$tmp/slower.out"
ok "and only that one" grep -q '^1 change; ' "$tmp/slower.out"

head -c 3000 "$ex" >"$tmp/truncated.json"
run truncated diff "$ex" "$tmp/truncated.json"
ok "a truncated report: exit 2" [ "$(rc truncated)" = 2 ]
ok "naming the file and the place" grep -q "truncated.json: byte 3000 (line .*): the JSON text ends early" "$tmp/truncated.err"
run missing diff "$ex" "$tmp/nonexistent.json"
ok "a missing file: exit 2, naming it" bash -c "[ $(rc missing) = 2 ] && grep -q 'nonexistent.json: cannot read: No such file' '$tmp/missing.err'"
printf '{"schema_version": 1, "tool": {"name": "hvprobe", "version": "x"}, "findings": [{"id": "a"}]}' >"$tmp/short.json"
run short diff "$tmp/short.json" "$ex"
ok "a finding without its fields: exit 2, naming the field" grep -q "short.json: .findings\[0\].answer: missing" "$tmp/short.err"
run onearg diff "$ex"
ok "one report is a usage error" bash -c "[ $(rc onearg) = 2 ] && grep -q 'diff compares two JSON reports' '$tmp/onearg.err'"
run mdfmt diff --format markdown "$ex" "$ex"
ok "diff writes text or json only" [ "$(rc mdfmt)" = 2 ]
done_testing
