# SPDX-License-Identifier: MIT
# The checks of the x86_64 KVM suite, on the outputs of tests/e2e/kvm.batch
# in $out (NAME.out, NAME.err, NAME.rc): real KVM's answers to the seed's
# questions and the rest of the suite, and every report format of a real run.
# Sourced by tests/e2e/kvm.sh after the batch ran, and by
# tests/e2e/checks-fail.sh against bad outputs, where every check must fail.
# Each check reads what it asserts on through jqok/json_ok, or asks for the
# run's exit status together with a complete report. The checks that hold on
# any x86_64 KVM host come first (tests/e2e/kvm-suite-checks.bash).

# shellcheck source=tests/e2e/kvm-suite-checks.bash
. "$(dirname "${BASH_SOURCE[0]}")/kvm-suite-checks.bash"

ok "TAP run exits 0, prove accepting its report" \
	eval 'exits tap 0 && [ -s "$out/tap.out" ] && prove -e cat "$out/tap.out" >/dev/null 2>&1'

T=$out/text.out
echo "# $nprobes probes in the JSON report"
ok "the text report exits 0, ending with its summary" eval 'exits text 0 && complete text'
ok "it has one line per probe" \
	eval 'complete text && [ "$(grep -cE "^[a-z0-9_]+\.[a-z0-9_.]+ +(yes|no|skipped|crashed|hung) " "$T")" = "$nprobes" ]'
ok "and the summary" has text "^$nprobes probes in .* 0 deviate"
ok "no colour codes when asked" eval 'complete text && ! grep -q $'"'\\033'"' "$T"'
ok "how this host runs guests leads the text report" \
	eval 'complete text && head -n 20 "$T" | grep -q "^How this host runs guests:" && grep -q "^  exec.vendor " "$T"'

M=$out/md.out
ok "the markdown report exits 0, a section for every probe" eval 'exits md 0 && complete md'
ok "it is a document about the host's KVM" has md '^# What kvm allows on this host'
for section in 'How this host runs guests' 'VMs and processes' 'Threads and vCPUs' 'Memory' 'Limits' 'Teardown'; do
	ok "it has the section '$section'" has md "^## $section\$"
done
ok "it answers the seed's two-maps question with the guest's proof" \
	has md '^### `mem\.two_maps`: yes \(as documented\)'

ok "the JUnit report exits 0; python3's XML parser reads it: one testcase per probe, no failure" \
	eval 'exits junit 0 && /usr/bin/python3 -c "
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
cases = r.findall(\"./testsuite/testcase\")
sys.exit(0 if len(cases) == int(sys.argv[2]) and not r.findall(\".//failure\") and not r.findall(\".//error\") else 1)" "$out/junit.out" "$nprobes"'

if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	ok "the Prometheus report exits 0; python3-prometheus-client parses it, one answer per probe" \
		eval 'exits prom 0 && /usr/bin/python3 -c "
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
fams = {f.name: f for f in parse(open(sys.argv[1]).read())}
sys.exit(0 if len(fams[\"hvprobe_probe_answer\"].samples) == int(sys.argv[2]) else 1)" "$out/prom.out" "$nprobes"'
else
	skip "the Prometheus report parses, one answer per probe" "python3-prometheus-client is not installed"
fi

ok "a glob runs a subset" eval 'exits subset 0 && complete subset && [ "$(grep -cE "^vm\.two_in_[a-z_]+ +yes " "$out/subset.out")" = 3 ]'

B=$out/bench.out
ok "bench exits 0, its report complete JSON" eval 'exits bench 0 && json_ok "$B"'
jqok "bench runs only the benchmarks asked for" '[.findings[] | select(.bench)] | length == 4' "$B"
jqok "and says whether each ring runs natively here, yes exactly when it measured native" \
	'[.findings[] | select(.id | startswith("exec.native_cpl")) | .guest_verified and '"$agrees"'] == [true, true]' "$B"
jqok "every benchmark measured: samples, ordered statistics" \
	'[.findings[] | select(.bench)] | length > 0 and all(.[]; .answer == "yes" and .bench.samples >= 5 and .bench.min_ns <= .bench.median_ns and .bench.median_ns <= .bench.p99_ns and .bench.p99_ns <= .bench.max_ns)' "$B"
jqok "the guest-timed CPUID exit comes in cycles too, with the TSC frequency" \
	'.findings[] | select(.id == "bench.exit.cpuid") | .answer == "yes" and .bench.tsc_khz > 0 and .bench.median_cycles > 0' "$B"
jqok "the raw baseline gives the harness ratio" \
	'.findings[] | select(.id == "bench.exit.raw_baseline") | .answer == "yes" and .bench.harness_ratio > 0' "$B"
ok_schema "the bench report validates against the schema" "$B"
ok "the text bench report prints the harness overhead" \
	eval 'exits benchtext 0 && has benchtext "^harness overhead: .* = [0-9.]+"'
ok "and the doorbell's cost against the exit it saves, with their ratio" \
	eval 'exits benchtext 0 && has benchtext "^doorbells: median [0-9]+ ns per doorbell write .* ratio [0-9.]+$"'
IB=$out/irqbench.out
ok "the notification benchmarks exit 0, their report complete JSON" eval 'exits irqbench 0 && json_ok "$IB"'
jqok "each of the three measured, the guest proving every sample" \
	'[.findings[] | select(.bench) | select(.id | test("^bench\\.(io|irq)\\.")) | .answer == "yes" and .guest_verified and .bench.samples >= 5 and .bench.median_ns > 0 and .bench.median_ns <= .bench.p99_ns] == [true, true, true]' "$IB"
jqok "bench.io.ioeventfd states the exit it saves and the ratio" \
	'.findings[] | select(.id == "bench.io.ioeventfd") | .answer == "yes" and (.reason | test("ns per port write that exits to userspace .*: ratio [0-9]+\\.[0-9]+$"))' "$IB"
jqok "the latency benchmarks' guest took only their vector" \
	'[.findings[] | select((.id | test("^bench\\.irq\\.")) and .answer == "yes") | .guest[] | select(.label == "vector the handler took first") | .value] == ["0x41", "0x50"]' "$IB"

H=$out/html.out
ok "the HTML report of a real run exits 0" eval 'exits html 0 && complete html'
ok "it holds a plot of every benchmark's samples" eval 'complete html && [ "$(grep -o "<svg " "$H" | wc -l)" = 2 ]'
cp "$H" "$tmp/report.html" 2>/dev/null || : >"$tmp/report.html"
"$top/tests/e2e/html-in-chromium" "$tmp/report.html" "$tmp/report.png" cpuid 1 >"$tmp/chromium.log"
case $? in
77) skip "headless Chromium renders the HTML report" "headless Chromium: $(cat "$tmp/chromium.log")" ;;
*) ok "headless Chromium renders it, and its filter shows only bench.exit.cpuid for 'cpuid'" [ ! -s "$tmp/chromium.log" ] ;;
esac

"$HVPROBE_LOCAL" diff "$out/again1.out" "$out/again2.out" >"$tmp/again.diff" 2>&1
ok "two runs on this host: diff finds nothing changed" \
	eval "[ $? = 0 ] && exits again1 0 && exits again2 0 && grep -q '^no changes: 10 findings the same' '$tmp/again.diff'"
jq '(.findings[] | select(.id == "vm.two_in_one_thread")) |= (.answer = "no" | .verdict = "deviates")' \
	"$out/again2.out" >"$tmp/planted.json" 2>/dev/null
"$HVPROBE_LOCAL" diff "$out/again1.out" "$tmp/planted.json" >"$tmp/planted.diff" 2>&1
ok "and finds a change planted in a real report" \
	bash -c "[ $? = 1 ] && grep -qE '^answer +vm\.two_in_one_thread +yes' '$tmp/planted.diff'"

ok "a finding that deviates from the contract exits 1" eval 'exits wrong 1 && jq_true ".summary.failing > 0" "$out/wrong.out"'
jqok "and is reported as deviating" \
	'.findings[0].id == "mem.two_maps" and .findings[0].verdict == "deviates" and .findings[0].expected == "no"' "$out/wrong.out"

# Interrupts and I/O notification: every answer from the guest's own report.
for id in irq.chip irq.irqfd irq.irqfd_resample irq.msi irq.route_limit irq.inject_userspace irq.guest_timer \
	io.ioeventfd_pio io.ioeventfd_mmio io.ioeventfd_datamatch io.ioeventfd_mmio_any_length io.coalesced_mmio; do
	jqok "$id: yes, proven by the guest" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$J" --arg id "$id"
done
vec() { printf '[.findings[] | select(.id == "%s" and .answer == "yes") | .guest[] | select(.label == "vector the guest'"'"'s handler took") | .value] | sort == %s' "$1" "$2"; }
jqok "irq.chip: the guest's handler took its self-IPI's vector" "$(vec irq.chip '["0x40"]')" "$J"
jqok "irq.irqfd: the eventfd write arrived as the IOAPIC pin's vector" "$(vec irq.irqfd '["0x41"]')" "$J"
jqok "irq.irqfd_resample: the level line's vector, and the resample eventfd counted the guest's EOI" \
	"($(vec irq.irqfd_resample '["0x47"]')) and ([.findings[] | select(.id == \"irq.irqfd_resample\") | .guest[] | select(.label | test(\"resample\")) | .value] == [\"0x1\"])" "$J"
jqok "irq.msi: both MSIs, the signalled and the routed one" "$(vec irq.msi '["0x42", "0x43"]')" "$J"
jqok "irq.route_limit: KVM's table of 4096 routes (KVM_MAX_IRQ_ROUTES), one more refused with EINVAL, its last route delivered" \
	'.findings[] | select(.id == "irq.route_limit") | .answer == "yes" and .evidence[.decisive].errno == "EINVAL" and (.reason | test("^the largest routing table accepted has 4096 entries")) and ([.guest[] | select(.label == "vector the guest'"'"'s handler took") | .value] == ["0x44"])' "$J"
jqok "irq.inject_userspace: the injected vector" "$(vec irq.inject_userspace '["0x45"]')" "$J"
jqok "irq.guest_timer: the timer's vector with no exit to userspace while the guest waited" \
	"($(vec irq.guest_timer '["0x46"]')) and ([.findings[] | select(.id == \"irq.guest_timer\") | .guest[] | select(.label | test(\"exits to userspace\")) | .value] == [\"0x0\"])" "$J"
bell() { printf '[.findings[] | select(.id == "%s" and .answer == "yes") | .guest[] | .value] == %s' "$1" "$2"; }
jqok "io.ioeventfd_pio: 8 writes, the eventfd counted 8, no exit at the doorbell" "$(bell io.ioeventfd_pio '["0x8", "0x8", "0x0"]')" "$J"
jqok "io.ioeventfd_mmio: 8 writes, the eventfd counted 8, no exit at the doorbell" "$(bell io.ioeventfd_mmio '["0x8", "0x8", "0x0"]')" "$J"
jqok "io.ioeventfd_datamatch: 8 matching writes counted, the 8 others exited" "$(bell io.ioeventfd_datamatch '["0x8", "0x8", "0x8"]')" "$J"
jqok "io.ioeventfd_mmio_any_length: 32 writes of four widths, all counted" "$(bell io.ioeventfd_mmio_any_length '["0x20", "0x20", "0x0"]')" "$J"
jqok "io.coalesced_mmio: the ring held the guest's stores in order, no exit at the zone" \
	"$(bell io.coalesced_mmio '["0x1", "0x2", "0x3", "0x4", "0x0"]')" "$J"

# DESIGN.md, "Truth rules": a host process limit is never the API's answer.
U=$out/ulimit.out
for id in limits.vms_per_process limits.vcpus_per_vm; do
	jqok "$id under ulimit -n 100: skipped at the process's open-file limit (EMFILE), not the API's limit" \
		'.findings[] | select(.id == $id) | .answer == "skipped" and (.reason | test("EMFILE, a limit of this process, not of the API"))' \
		"$U" --arg id "$id"
done
ok "kill -9 of hvprobe mid-run (a probe's process running) leaves none of its processes behind" \
	eval 'grep -qE "^before=([2-9]|[1-9][0-9]+)$" "$out/kill9.out" && grep -qx "left=0" "$out/kill9.out"'

# Pages of 16 KiB: each probe answers and is judged as in the API's own pages
# (the capped searches stop at the cap in one and search on in the other).
P=$out/p16k.out
ok "the suite in 16 KiB pages exits 0, its report complete JSON" eval 'exits p16k 0 && json_ok "$P"'
before=$failed
ok "every probe answers in 16 KiB pages as in 4 KiB pages, with the same verdict" eval 'exits p16k 0 && json_ok "$P" && json_ok "$J" &&
	[ -z "$(jq -rn --slurpfile a "$J" --slurpfile b "$P" '\''
		($a[0].findings | map({key: .id, value: [.answer, .verdict]}) | from_entries) as $own
		| $b[0].findings[] | select(.id != "limits.vms_per_process" and .id != "mem.max_maps")
		| select([.answer, .verdict] != $own[.id]) | .id'\'')" ] &&
	[ "$(jq ".findings | length" "$P")" = "$(jq ".findings | length" "$J")" ]'
if [ "$failed" != "$before" ] && json_ok "$J" && json_ok "$P"; then
	for id in $(jq -rn --slurpfile a "$J" --slurpfile b "$P" '($a[0].findings | map({key: .id, value: [.answer,
		.verdict]}) | from_entries) as $own | $b[0].findings[] | select(.id != "limits.vms_per_process" and .id != "mem.max_maps")
		| select([.answer, .verdict] != $own[.id]) | .id'); do
		show_finding "$J" "$id"
		show_finding "$P" "$id"
	done
fi

# The guest CPU model (host.cpu_model): what KVM offers, proven by guests
# (cpu.model), compared for a migration and turned into a Firecracker
# template.
before=$failed
jqok "cpu.model: a guest saw a feature of KVM's model, and guests at ring 0 and ring 3 did not once the VMM cleared it" \
	'.findings[] | select(.id == "cpu.model") | .answer == "yes" and .verdict == "as documented" and .guest_verified
	and ([.guest[] | select(.label | startswith("reduced model, ring 3: "))] | length) == 4
	and (.reason | test("guests at ring 0 and ring 3 did not"))' "$J"
[ "$failed" = "$before" ] || show_finding "$J" cpu.model
jqok "the host block holds the guest CPU model: KVM's CPUID table, feature MSRs, named features, XSAVE sizes" \
	'.host.cpu_model | .arch == "x86_64" and (.cpuid | length) > 10 and (.msrs | length) > 0
	and (.features | index("sse2")) != null and .xsave.size_max >= 576' "$J"
ok "info --cpu shows the named features, XSAVE and KVM's CPUID table" \
	eval 'exits cpuinfo 0 && has cpuinfo "^features offered:" && has cpuinfo "^xsave: components 0x[0-9a-f]+ .*largest area [0-9]+ bytes" &&
	has cpuinfo "^  0x00000007\.0 +eax="'

# The real report with one feature its model offers removed (sse4_2, avx2 or
# popcnt, whichever it has), as another host's would be.
plant_missing_feature() {
	/usr/bin/python3 - "$J" "$tmp/nofeature.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for name, leaf, reg, bit in (("sse4_2", "0x1", "ecx", 20), ("avx2", "0x7", "ebx", 5), ("popcnt", "0x1", "ecx", 23)):
    for e in r["host"]["cpu_model"]["cpuid"]:
        if e["leaf"] == leaf and e["subleaf"] == "0x0" and int(e[reg], 16) >> bit & 1:
            e[reg] = hex(int(e[reg], 16) & ~(1 << bit))
            json.dump(r, open(sys.argv[2], "w"))
            print(name)
            sys.exit(0)
sys.exit(1)
PY
}
removed=$(plant_missing_feature 2>/dev/null)
echo "# the feature removed: ${removed:-none}"
"$HVPROBE_LOCAL" diff "$J" "$J" >"$tmp/self.diff" 2>&1
ok "diff of the report with itself: migration compatible" \
	bash -c "[ $? = 0 ] && grep -qE '^migration .* -> .*: compatible' '$tmp/self.diff' && [ -n '$removed' ]"
"$HVPROBE_LOCAL" diff "$J" "$tmp/nofeature.json" >"$tmp/nofeature.diff" 2>&1
ok "diff to the report with a feature removed: migration incompatible, the feature named" \
	bash -c "[ $? = 1 ] && [ -n '$removed' ] && grep -qE '^migration .*: incompatible \\(the destination lacks 1 thing ' '$tmp/nofeature.diff' &&
	grep -qE '^  lacks feature +$removed\$' '$tmp/nofeature.diff'"
"$HVPROBE_LOCAL" diff --format json "$J" "$tmp/nofeature.json" >"$tmp/nofeature.json.diff" 2>/dev/null
jqok "and its JSON carries the verdict and the feature" \
	'.migration.verdict == "incompatible" and .migration.lacking == [{"kind": "feature", "what": $f}]' \
	"$tmp/nofeature.json.diff" --arg f "${removed:-none}"
"$HVPROBE_LOCAL" diff --format json "$tmp/nofeature.json" "$J" >"$tmp/back.json.diff" 2>/dev/null
jqok "the other way, to the host that offers more: compatible" '.migration.verdict == "compatible"' "$tmp/back.json.diff"

# Firecracker's custom CPU template (its docs/cpu_templates/cpu-templates.md
# and schema.json): cpuid_modifiers of leaf, subleaf (strings holding an
# integer), flags (an integer) and modifiers of register (eax..edx) and a
# bitmap 0b[01x]{32}; msr_modifiers of addr and a bitmap 0b[01x]{64}.
"$HVPROBE_LOCAL" baseline "$J" "$tmp/nofeature.json" >"$tmp/baseline.json" 2>"$tmp/baseline.err"
jqok "baseline of the two: a Firecracker template with exactly the documented members and forms" \
	'def int_string: type == "string" and test("^(0x[0-9a-fA-F]+|[0-9]+)$");
	(keys == ["cpuid_modifiers", "msr_modifiers"])
	and all(.cpuid_modifiers[]; (keys == ["flags", "leaf", "modifiers", "subleaf"]) and (.leaf | int_string)
		and (.subleaf | int_string) and (.flags | type == "number" and floor == .)
		and all(.modifiers[]; keys == ["bitmap", "register"] and (.register | IN("eax", "ebx", "ecx", "edx"))
			and (.bitmap | test("^0b[01x]{32}$"))))
	and all(.msr_modifiers[]; keys == ["addr", "bitmap"] and (.addr | int_string) and (.bitmap | test("^0b[01x]{64}$")))
	and (.cpuid_modifiers | length) == 1' "$tmp/baseline.json"
jqok "it clears the one feature the hosts do not share, and nothing else" \
	'([.cpuid_modifiers[].modifiers[].bitmap[2:] | explode[] | select(. == 48)] | length) == 1 and .msr_modifiers == []' \
	"$tmp/baseline.json"

# The run read back (hvprobe report, here, with no hypervisor): the same JSON,
# and Node Feature Discovery labels for what it proved.
"$HVPROBE_LOCAL" report -f json "$J" >"$tmp/readback.json" 2>"$tmp/readback.err"
ok "the JSON report read back (hvprobe report -f json) is the same, byte for byte" \
	eval 'exits json 0 && json_ok "$J" && cmp "$J" "$tmp/readback.json"'
"$HVPROBE_LOCAL" report -f nfd "$J" >"$tmp/nfd" 2>&1
ok "its NFD labels: kvm, and hardware virtualization exactly when exec.vendor answered yes" \
	eval 'exits json 0 && grep -qx "hvprobe.feature.node.kubernetes.io/kvm=true" "$tmp/nfd" &&
	[ "$(jq -r ".findings[] | select(.id == \"exec.vendor\") | .answer" "$J")" = yes ] &&
	grep -qx "hvprobe.feature.node.kubernetes.io/hardware-virtualization=true" "$tmp/nfd"'

# Snapshots and dirty tracking (issue 16): each answered by its guest, with KVM's own calls in the evidence.
jqok "state.save_restore: yes, the guest restored in a new process found every class it set intact" \
	'.findings[] | select(.id == "state.save_restore") | .answer == "yes" and .guest_verified
	and (.evidence[.decisive].detail | startswith("new process:")) and any(.guest[]; .label | startswith("classes")) and (.guest[] | select(.label | startswith("classes")) | .value) == "0x0"' "$J"
jqok "state.save_restore: the state saved through KVM's calls, every class named, restored in the new process" \
	'.findings[] | select(.id == "state.save_restore") | .answer == "yes"
	and any(.evidence[]; .call == "KVM_GET_* (vcpu state)" and .errno == "OK" and (.detail | test("regs sregs xsave2? xcrs lapic msrs debugregs vcpu_events")))
	and any(.evidence[]; .call == "KVM_SET_* (vcpu state)" and .errno == "OK" and (.detail | startswith("new process:")))' "$J"
# x86 KVM always offers KVM_CAP_IRQCHIP, so the local APIC must have gone with the rest.
jqok "state.save_restore: the local APIC too: both VMs made with KVM_CREATE_IRQCHIP, the lapic class restored, the guest found CR8, the APIC's registers, its timer and the IRR intact" \
	'.findings[] | select(.id == "state.save_restore") | .answer == "yes" and .guest_verified
	and any(.evidence[]; .call == "KVM_CREATE_IRQCHIP" and .errno == "OK" and (.detail | startswith("saving VM")))
	and any(.evidence[]; .call == "KVM_CREATE_IRQCHIP" and .errno == "OK" and (.detail | startswith("new process:")))
	and any(.evidence[]; .call == "KVM_GET_* (vcpu state)" and (.detail | test(" lapic ")))
	and (.reason | test("its local APIC \\([0-9]+ registers, CR8, timer, IRR\\)$"))' "$J"
jqok "state.xsave_size: yes, the guest's XSAVE area fits the class KVM_GET_XSAVE2 fills" \
	'.findings[] | select(.id == "state.xsave_size") | .answer == "yes" and .guest_verified and (.reason | test("xsave2? class carries [0-9]+ bytes"))' "$J"
jqok "state.tsc_across_restore: yes, the guest's TSC went on, read before and after by the guest" \
	'.findings[] | select(.id == "state.tsc_across_restore") | .answer == "yes" and .guest_verified
	and (.guest | length) == 2 and (.reason | test("ms at [0-9]+ kHz while"))' "$J"
jqok "mem.dirty_log_manual_protect: yes, pages stayed dirty until KVM_CLEAR_DIRTY_LOG" \
	'.findings[] | select(.id == "mem.dirty_log_manual_protect") | .answer == "yes" and .guest_verified
	and .evidence[.decisive].call == "KVM_CLEAR_DIRTY_LOG" and .evidence[.decisive].errno == "OK"' "$J"
jqok "mem.dirty_ring: yes, the ring filled (KVM_EXIT_DIRTY_RING_FULL) and named the pages written" \
	'.findings[] | select(.id == "mem.dirty_ring") | .answer == "yes" and .guest_verified
	and (.evidence[.decisive].detail | test("dirty ring full")) and any(.evidence[]; .call == "KVM_RESET_DIRTY_RINGS" and .errno == "OK")' "$J"
jqok "mem.dirty_ring: with the ring on, x86 KVM refuses the bitmap (ENXIO)" \
	'.findings[] | select(.id == "mem.dirty_ring") | .answer == "yes" and any(.evidence[]; .call == "KVM_GET_DIRTY_LOG" and .errno == "ENXIO")' "$J"
BS=$out/benchstate.out
ok "the snapshot and dirty-tracking benchmarks exit 0, their report complete JSON" eval 'exits benchstate 0 && json_ok "$BS"'
jqok "each of the five measured: samples, ordered statistics, per GiB for the harvests" \
	'[.findings[] | select(.bench)] | length == 5 and all(.[]; .answer == "yes" and .bench.samples >= 5 and .bench.min_ns <= .bench.median_ns
	and .bench.median_ns <= .bench.max_ns and ((.id | startswith("bench.mem.dirty_harvest")) == (.bench.per | startswith("GiB"))))' "$BS"
