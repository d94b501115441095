#!/bin/bash
# SPDX-License-Identifier: MIT
# The command line without a hypervisor: help, version, usage errors, exit 3.
# Runs on this machine only: nothing here needs KVM.
. "$(dirname "$0")/lib.bash"

run help --help
ok "--help exits 0" [ "$(rc help)" = 0 ]
ok "--help explains commands, options and exit status" grep -q 'Exit status' "$tmp/help.out"
# The man page and --help agree: every option --help names is in the man page.
man=$top/docs/hvprobe.1
opts_ok=1
for o in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help.out" | sort -u); do
	grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$man" || { echo "# $o is not in the man page"; opts_ok=0; }
done
ok "every option in --help is in the man page" [ "$opts_ok" = 1 ]
for cmd in run bench list info diff baseline; do
	ok "the man page documents '$cmd'" grep -q "^\.B.* $cmd\b\|^\.BR $cmd\b\|^\.B $cmd\b" "$man"
done
if command -v groff >/dev/null; then
	ok "the man page renders without warnings" bash -c "[ -z \"\$(groff -man -ww -z '$man' 2>&1)\" ]"
else
	skip "the man page renders without warnings" "groff is not installed (apt-get install groff-base)"
fi
run version --version
ok "--version prints the version" grep -qE '^hvprobe [0-9]+\.[0-9]+\.[0-9]+' "$tmp/version.out"
run bad --bogus
ok "an unknown option exits 2" [ "$(rc bad)" = 2 ]
ok "and says what and where to look" grep -q "unknown option '--bogus'" "$tmp/bad.err"
ok "with GNU's hint" grep -q "Try 'hvprobe --help'" "$tmp/bad.err"
run badfmt --format=xml
ok "an unknown format exits 2" [ "$(rc badfmt)" = 2 ]
run list list
ok "list exits 0" [ "$(rc list)" = 0 ]
for id in vm.sequential_in_one_thread vm.two_in_one_thread vm.destroy_after_refused_create \
	vm.two_in_two_threads vm.two_in_two_processes mem.two_maps; do
	ok "list names $id" grep -q "^$id " "$tmp/list.out"
done
run listglob list 'vm.two_in_*'
ok "list takes globs" [ "$(wc -l <"$tmp/listglob.out" | tr -d " ")" = 3 ]
run listjson list --format json
jqok "list --format json is a JSON array of ids and questions" \
	'length == $n and all(.[]; (.id | type) == "string" and (.question | type) == "string")' "$tmp/listjson.out" \
	--argjson n "$(wc -l <"$tmp/list.out" | tr -d " ")"
run listtap list --format tap
ok "list refuses TAP with exit 2" [ "$(rc listtap)" = 2 ]
run listout list -o "$tmp/list.txt"
ok "-o writes the report to the file, not stdout" eval '[ -s "$tmp/list.txt" ] && cmp -s "$tmp/list.txt" "$tmp/list.out"'
ok "-o leaves stdout empty" eval 'exits listout 0 && [ ! -s "$tmp/listout.out" ]'
run listbadout list -o /nonexistent-dir/list.txt
ok "an unwritable -o exits 1" [ "$(rc listbadout)" = 1 ]
ok "and names the file and the error" grep -q 'cannot write /nonexistent-dir/list.txt: No such file' "$tmp/listbadout.err"
run benchnomatch bench 'vm.*'
ok "bench refuses a pattern that names no benchmark" [ "$(rc benchnomatch)" = 2 ]
run runbench run 'bench.*'
ok "run points benchmarks to 'hvprobe bench'" grep -q "benchmarks run with 'hvprobe bench'" "$tmp/runbench.err"
run baddur bench --duration=0
ok "a zero --duration exits 2" [ "$(rc baddur)" = 2 ]
run nomatch run 'nothing.*'
run baselinenone baseline
ok "baseline without reports exits 2, saying what it needs" \
	eval '[ "$(rc baselinenone)" = 2 ] && grep -q "baseline needs JSON reports" "$tmp/baselinenone.err"'
run baselinehtml baseline -f html docs/examples/matrix/kvm-x86_64.json
ok "baseline in a format other than JSON exits 2, saying the template is JSON" \
	eval '[ "$(rc baselinehtml)" = 2 ] && grep -q "Firecracker CPU template, which is JSON, not html" "$tmp/baselinehtml.err"'
run baselinemissing baseline /nonexistent.json
ok "baseline of a report that cannot be read exits 2, naming it" \
	eval '[ "$(rc baselinemissing)" = 2 ] && grep -q "/nonexistent.json: cannot read" "$tmp/baselinemissing.err"'
run cpurun run --cpu
ok "--cpu outside info exits 2, pointing to info" \
	eval '[ "$(rc cpurun)" = 2 ] && grep -q "hvprobe info --cpu" "$tmp/cpurun.err"'
ok "a pattern matching no probe exits 2" [ "$(rc nomatch)" = 2 ]
ok "and names the pattern" grep -q "no probe matches 'nothing.\*'" "$tmp/nomatch.err"

# The KVM device's errors: Linux only (macOS has Hypervisor.framework, no device).
if [ "$(uname -s)" = Linux ]; then
	run nodev --kvm-device /nonexistent
	ok "a missing KVM device exits 3" [ "$(rc nodev)" = 3 ]
	ok "naming the device and the native error" grep -q 'cannot use kvm at /nonexistent: open failed with ENOENT' "$tmp/nodev.err"
	ok "and the fix" grep -q 'load kvm_intel or kvm_amd' "$tmp/nodev.err"
	ok "without a report on stdout" [ ! -s "$tmp/nodev.out" ]
	run notkvm --kvm-device /dev/null
	ok "a device that is not KVM exits 3" [ "$(rc notkvm)" = 3 ]
	ok "and says so" grep -q 'not a KVM device' "$tmp/notkvm.err"
	run infonodev info --kvm-device /nonexistent
	ok "info without KVM exits 3 too" [ "$(rc infonodev)" = 3 ]
else
	for d in "a missing KVM device exits 3" "a device that is not KVM exits 3" "info without KVM exits 3 too"; do
		skip "$d" "KVM is Linux's; this is $(uname -s)"
	done
fi

printf '[vm.two_in_one_thread]\nexpected = perhaps\n' >"$tmp/broken.ini"
run badcontract --contract "$tmp/broken.ini"
ok "a broken contract file exits 2" [ "$(rc badcontract)" = 2 ]
ok "naming the line" grep -q 'line 2: expected must be' "$tmp/badcontract.err"

if [ "$HVPROBE" = "$top/hvprobe" ]; then
	"$top/test_two_mmap" list >"$tmp/seed.out" 2>&1
	ok "the seed's test_two_mmap name runs the two-maps probe" grep -qx 'mem.two_maps .*' "$tmp/seed.out"
	ok "and only that" [ "$(wc -l <"$tmp/seed.out" | tr -d " ")" = 1 ]
	"$top/test_two_vms_in_main_thread" list >"$tmp/seed2.out" 2>&1
	ok "test_two_vms_in_main_thread runs the three one-thread VM probes" [ "$(wc -l <"$tmp/seed2.out" | tr -d " ")" = 3 ]
else
	skip "the seed's program names run their probes" "they name ./hvprobe, not $HVPROBE"
fi
done_testing
