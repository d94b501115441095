#!/bin/bash
# SPDX-License-Identifier: MIT
# The real binary against real KVM: the seed's questions, answered by guests.
. "$(dirname "$0")/lib.bash"

kvm_usable || skip_all "KVM end-to-end tests need KVM: $kvm_reason"
command -v jq >/dev/null || skip_all "jq is needed to read the JSON report (apt-get install jq)"

seed="vm.sequential_in_one_thread vm.two_in_one_thread vm.destroy_after_refused_create
vm.two_in_two_threads vm.two_in_two_processes mem.two_maps"

run json --format json
ok "the default run exits 0 (nothing deviates)" [ "$(rc json)" = 0 ]
ok "the JSON report parses" jq -e . "$tmp/json.out"
ok "it has schema_version 1" jq -e '.schema_version == 1' "$tmp/json.out"
ok "its host block names the backend" jq -e '.host.backend == "kvm"' "$tmp/json.out"
for id in $seed; do
	ok "$id: answered yes, as documented" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes" and .verdict == "as documented"' "$tmp/json.out"
	ok "$id: proven by a guest" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .guest_verified and (.guest | length) >= 2' "$tmp/json.out"
	ok "$id: every call is evidence with its native result" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | (.evidence | length) > 3 and all(.evidence[]; .errno == "OK")' "$tmp/json.out"
done
ok "mem.two_maps: the guest read each region's own value" \
	jq -e '.findings[] | select(.id == "mem.two_maps") | [.guest[].value] == ["0x5eed00000000a001", "0x5eed00000000b002"]' "$tmp/json.out"
ok "vm.two_in_one_thread: VM B did not see VM A's value" \
	jq -e '.findings[] | select(.id == "vm.two_in_one_thread") | .guest[2].value == "0x0"' "$tmp/json.out"

# ok_schema DESCRIPTION FILE: the report validates against docs/report-schema.json, or a stated skip.
ok_schema() {
	if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
		ok "$1" /usr/bin/python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$2" "$top/docs/report-schema.json"
	else
		n=$((n + 1)); echo "ok $n - # SKIP python3-jsonschema is not installed"
	fi
}
ok_schema "the report validates against docs/report-schema.json" "$tmp/json.out"

run tap --format tap
ok "TAP run exits 0" [ "$(rc tap)" = 0 ]
ok "prove accepts the TAP report" bash -c "prove -e cat '$tmp/tap.out' >/dev/null 2>&1"

nprobes=$(jq '.findings | length' "$tmp/json.out")
ok "no probe crashed or hung" jq -e 'all(.findings[]; .answer == "yes" or .answer == "no" or .answer == "skipped")' "$tmp/json.out"
ok "every documented answer is as documented" jq -e 'all(.findings[]; .verdict != "deviates")' "$tmp/json.out"
for id in mem.overlap_partial mem.overlap_identical mem.overlap_contained; do
	ok "$id: refused with EEXIST, the first map still read by the guest" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified and .evidence[.decisive].errno == "EEXIST"' "$tmp/json.out"
done
for id in mem.many_maps mem.adjacent_maps mem.alias mem.unmapped_access mem.unmap_then_access mem.move \
	mem.remap_new_host_memory mem.readonly mem.coherence mem.dirty_log mem.backing_private mem.backing_shared \
	mem.backing_memfd mem.backing_hugepages mem.sparse_large; do
	ok "$id: yes, proven by the guest" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$tmp/json.out"
done
ok "fork.vm_used_in_child: the child's calls fail with EIO" \
	jq -e '.findings[] | select(.id == "fork.vm_used_in_child") | .answer == "no" and .evidence[.decisive].errno == "EIO"' "$tmp/json.out"
ok "fork.fd_passed: a VM handed over is refused to the receiver with EIO" \
	jq -e '.findings[] | select(.id == "fork.fd_passed") | .answer == "no" and .evidence[.decisive].errno == "EIO"' "$tmp/json.out"
for id in vcpu.run_from_other_thread vcpu.regs_from_other_thread vcpu.two_parallel vcpu.one_thread_two_vcpus \
	fork.child_own_vm fork.guest_memory_private fork.guest_memory_shared limits.threads_running_vcpus \
	lifecycle.close_vm_keep_vcpu lifecycle.use_after_destroy lifecycle.destroy_while_running; do
	ok "$id: yes, proven by the guest" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$tmp/json.out"
done
ok "vcpu.kick and vcpu.signal_during_run: run returned EINTR" \
	jq -e '[.findings[] | select(.id == "vcpu.kick" or .id == "vcpu.signal_during_run") | .answer == "yes" and .evidence[.decisive].errno == "EINTR"] == [true, true]' "$tmp/json.out"
ok "exec.native_cpl0/cpl3: a measured answer with the guest's own timing" \
	jq -e '[.findings[] | select(.id | startswith("exec.native_")) | (.answer == "yes" or .answer == "no") and .guest_verified and (.reason | test("ns per instruction"))] == [true, true]' "$tmp/json.out"
ok "cpu.hypercall: handled in the kernel, the guest got -KVM_ENOSYS" \
	jq -e '.findings[] | select(.id == "cpu.hypercall") | .answer == "yes" and .guest[0].value == "0xfffffffffffffc18"' "$tmp/json.out"
ok "cpu.hlt: a hlt exit" jq -e '.findings[] | select(.id == "cpu.hlt") | .answer == "yes"' "$tmp/json.out"
ok "exec.vendor: the scheme from the module, and both rings measured" \
	jq -e '.findings[] | select(.id == "exec.vendor") | .guest_verified and (.reason | test("module kvm_") and test("measured: ring 0 .*ring 3 "))' "$tmp/json.out"
ok "exec.real_mode: answered; a yes is proven by the guest (CR0.PE clear)" \
	jq -e '.findings[] | select(.id == "exec.real_mode") | (.answer == "yes" and .guest_verified) or .answer == "no"' "$tmp/json.out"
for id in cpu.cpuid_applied_cpl0 cpu.cpuid_applied_cpl3 cpu.msr_applied time.tsc_rate time.tsc_offset; do
	ok "$id: yes, the guest read what the VMM set" \
		jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$tmp/json.out"
done
ok "cpu.cpuid_applied_cpl3: the guest's CPUID at ring 3 reported the VMM's marker" \
	jq -e '.findings[] | select(.id == "cpu.cpuid_applied_cpl3") | [.guest[].value] == ["0x72707668", "0x2d65626f", "0x69757063", "0x6b6f2d64"]' "$tmp/json.out"
ok "cpu.msr_applied: the filtered read exited to the VMM, whose value the guest got" \
	jq -e '.findings[] | select(.id == "cpu.msr_applied") | any(.evidence[]; .call == "KVM_X86_SET_MSR_FILTER" and .errno == "OK") and any(.guest[]; .value == "0x6b6b0badc000")' "$tmp/json.out"
ok "time.tsc_rate: the measured rate is stated against the API's" \
	jq -e '.findings[] | select(.id == "time.tsc_rate") | .reason | test("the API says [0-9]+ kHz; .* ran at [0-9]+-[0-9]+ kHz")' "$tmp/json.out"
ok "vcpu.duplicate_id: EEXIST" \
	jq -e '.findings[] | select(.id == "vcpu.duplicate_id") | .answer == "yes" and .evidence[.decisive].errno == "EEXIST"' "$tmp/json.out"
ok "limits.vcpus_per_vm: refused at the limit, or the cap" \
	jq -e '.findings[] | select(.id == "limits.vcpus_per_vm") | (.answer == "yes" and .guest_verified) or .answer == "skipped"' "$tmp/json.out"
ok "mem.readonly: the VMM saw the guest's write value" \
	jq -e '.findings[] | select(.id == "mem.readonly") | any(.guest[]; .value == "0x5707e0000000d00d")' "$tmp/json.out"
ok "mem.max_maps: a refusal from KVM itself, or the cap" \
	jq -e '.findings[] | select(.id == "mem.max_maps") | (.answer == "yes" and .evidence[.decisive].call == "KVM_SET_USER_MEMORY_REGION") or .answer == "skipped"' "$tmp/json.out"

run text --color=never
ok "the text report exits 0" [ "$(rc text)" = 0 ]
ok "it has one line per probe" [ "$(grep -cE '^[a-z0-9_]+\.[a-z0-9_.]+ +(yes|no|skipped|crashed|hung) ' "$tmp/text.out")" = "$nprobes" ]
ok "and the summary" grep -q "^$nprobes probes in .* 0 deviate" "$tmp/text.out"
ok "no colour codes when asked" bash -c "! grep -q $'\033' '$tmp/text.out'"
ok "how this host runs guests leads the text report" \
	bash -c "head -n 20 '$tmp/text.out' | grep -q '^How this host runs guests:' && grep -q '^  exec.vendor ' '$tmp/text.out'"

run md --format markdown
ok "the markdown report exits 0" [ "$(rc md)" = 0 ]
ok "it is a document about the host's KVM" grep -q '^# What kvm allows on this host' "$tmp/md.out"
for section in 'How this host runs guests' 'VMs and processes' 'Threads and vCPUs' 'Memory' 'Limits' 'Teardown'; do
	ok "it has the section '$section'" grep -q "^## $section\$" "$tmp/md.out"
done
ok "it answers the seed's two-maps question with the guest's proof" \
	grep -q '^### `mem.two_maps`: yes (as documented)' "$tmp/md.out"

run junit --format junit
ok "the JUnit report exits 0" [ "$(rc junit)" = 0 ]
ok "python3's XML parser reads it: one testcase per probe, no failure" /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
cases = r.findall("./testsuite/testcase")
sys.exit(0 if len(cases) == int(sys.argv[2]) and not r.findall(".//failure") and not r.findall(".//error") else 1)' "$tmp/junit.out" "$nprobes"

run prom --format prometheus
ok "the Prometheus report exits 0" [ "$(rc prom)" = 0 ]
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	ok "python3-prometheus-client parses it, one answer per probe" /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = {f.name: f for f in parse(open(sys.argv[1]).read())}
sys.exit(0 if len(fams["hvprobe_probe_answer"].samples) == int(sys.argv[2]) else 1)' "$tmp/prom.out" "$nprobes"
fi

run subset run 'vm.two_in_*'
ok "a glob runs a subset" [ "$(grep -cE '^vm\.' "$tmp/subset.out")" = 3 ]

run info info
ok "info exits 0" [ "$(rc info)" = 0 ]
ok "info judges by a guest that ran" grep -q '^guest_runs *yes' "$tmp/info.out"
ok "info names the KVM module" grep -q '^kvm_modules ' "$tmp/info.out"
ok "info states how guests run here, measured" grep -q '^virtualization .*measured: ring 0' "$tmp/info.out"
ok "info shows the capabilities" grep -q '^KVM_CAP_NR_MEMSLOTS *[0-9]' "$tmp/info.out"

run bench bench --duration 0.2 --format json 'bench.exit.pio_out' 'bench.exit.raw_baseline' 'bench.exit.cpuid' 'bench.vm.create_destroy'
ok "bench exits 0" [ "$(rc bench)" = 0 ]
ok "bench runs only the benchmarks asked for" jq -e '[.findings[] | select(.bench)] | length == 4' "$tmp/bench.out"
ok "and says whether each ring runs natively here" \
	jq -e '[.findings[] | select(.id | startswith("exec.native_cpl")) | .guest_verified] == [true, true]' "$tmp/bench.out"
ok "every benchmark measured: samples, ordered statistics" \
	jq -e 'all(.findings[] | select(.bench); .answer == "yes" and .bench.samples >= 5 and .bench.min_ns <= .bench.median_ns and .bench.median_ns <= .bench.p99_ns and .bench.p99_ns <= .bench.max_ns)' "$tmp/bench.out"
ok "the guest-timed CPUID exit comes in cycles too, with the TSC frequency" \
	jq -e '.findings[] | select(.id == "bench.exit.cpuid") | .bench.tsc_khz > 0 and .bench.median_cycles > 0' "$tmp/bench.out"
ok "the raw baseline gives the harness ratio" \
	jq -e '.findings[] | select(.id == "bench.exit.raw_baseline") | .bench.harness_ratio > 0' "$tmp/bench.out"
ok_schema "the bench report validates against the schema" "$tmp/bench.out"
run benchtext bench --duration 0.1 'bench.exit.raw_baseline'
ok "the text bench report prints the harness overhead" grep -q '^harness overhead: .* = [0-9.]*' "$tmp/benchtext.out"

run html bench --format html --duration 0.2 'bench.exit.pio_out' 'bench.exit.cpuid'
ok "the HTML report of a real run exits 0" [ "$(rc html)" = 0 ]
ok "it holds a plot of every benchmark's samples" [ "$(grep -o '<svg ' "$tmp/html.out" | wc -l)" = 2 ]
cp "$tmp/html.out" "$tmp/report.html"
"$top/tests/e2e/html-in-chromium" "$tmp/report.html" "$tmp/report.png" cpuid 1 >"$tmp/chromium.log"
case $? in
77) echo "ok $((n += 1)) - # SKIP headless Chromium: $(cat "$tmp/chromium.log")" ;;
*) ok "headless Chromium renders it, and its filter shows only bench.exit.cpuid for 'cpuid'" [ ! -s "$tmp/chromium.log" ] ;;
esac

run again1 run --format json 'vm.*' 'exec.*' mem.two_maps
run again2 run --format json 'vm.*' 'exec.*' mem.two_maps
"$HVPROBE_LOCAL" diff "$tmp/again1.out" "$tmp/again2.out" >"$tmp/again.diff" 2>&1
ok "two runs on this host: diff finds nothing changed" bash -c "[ $? = 0 ] && grep -q '^no changes: 10 findings the same' '$tmp/again.diff'"
jq '(.findings[] | select(.id == "vm.two_in_one_thread")) |= (.answer = "no" | .verdict = "deviates")' \
	"$tmp/again2.out" >"$tmp/planted.json"
"$HVPROBE_LOCAL" diff "$tmp/again1.out" "$tmp/planted.json" >"$tmp/planted.diff" 2>&1
ok "and finds a change planted in a real report" bash -c "[ $? = 1 ] && grep -qE '^answer +vm\.two_in_one_thread +yes' '$tmp/planted.diff'"

printf '[mem.two_maps]\nexpected = no\ncitation = a deliberately wrong contract\n' >"$tmp/wrong.ini"
run wrong run mem.two_maps --contract "$tmp/wrong.ini" --format json
ok "a finding that deviates from the contract exits 1" [ "$(rc wrong)" = 1 ]
ok "and is reported as deviating" jq -e '.findings[0].verdict == "deviates" and .findings[0].expected == "no"' "$tmp/wrong.out"
done_testing
