#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-checks: the tests of the tests. The checks of the x86_64 KVM
# suite (tests/e2e/kvm-checks.bash), of the same on Intel VMX
# (tests/e2e/intel-checks.bash) and of the arm64 one (tests/arm64/checks.bash)
# run against bad outputs, made from real ones:
#
#   empty      every output, exit status included, is an empty file
#   truncated  every report cut to half its length
#   flipped    every answer flipped, yes <-> no (in JSON, the verdicts and
#              the summary with them, as hvprobe would write them; in the
#              other formats, the words)
#
# On an empty or truncated output every check must fail. On a flipped one
# every check must fail but those of the report's form, which do not read
# answers (named below). Each bad run's checks are listed with their result.
#
# The real outputs are those make check kept (build/check/kvm-x86_64,
# build/check/kvm-intel and build/check/kvm-arm64, written by tests/e2e/kvm.sh,
# tests/e2e/intel.sh and tests/arm64/check.sh); where a suite has not run, its
# report in docs/examples stands in (then the checks on the other outputs fail
# for want of them, as they must; the Intel suite's checks of Intel's answers
# too, the x86_64 example being AMD's).
. "$(dirname "$0")/lib.bash"
command -v jq >/dev/null || bail "jq is needed (apt-get install jq)"

# Checks that read the form of a report, not its answers: they pass on a
# flipped one by design (the text summary and JUnit's failures count
# verdicts, which flipping the words of those reports leaves alone). A check
# not named here must fail on it. First those of tests/e2e/kvm-suite-checks.bash,
# which both x86_64 check sets run.
suite_form_only=(
	"the JSON report parses"
	"it has schema_version 1"
	"its host block names the backend"
	"the report validates against docs/report-schema.json"
	"no probe crashed or hung"
	"info exits 0"
	"info names the KVM module"
	"info states how guests run here, measured"
	"info shows the capabilities"
)
x86_form_only=(
	"${suite_form_only[@]}"
	"TAP run exits 0, prove accepting its report"
	"the text report exits 0, ending with its summary"
	"it has one line per probe"
	"and the summary"
	"no colour codes when asked"
	"how this host runs guests leads the text report"
	"the markdown report exits 0, a section for every probe"
	"it is a document about the host's KVM"
	"it has the section 'How this host runs guests'"
	"it has the section 'VMs and processes'"
	"it has the section 'Threads and vCPUs'"
	"it has the section 'Memory'"
	"it has the section 'Limits'"
	"it has the section 'Teardown'"
	"the JUnit report exits 0; python3's XML parser reads it: one testcase per probe, no failure"
	"the Prometheus report exits 0; python3-prometheus-client parses it, one answer per probe"
	"bench exits 0, its report complete JSON"
	"bench runs only the benchmarks asked for"
	"the bench report validates against the schema"
	"the text bench report prints the harness overhead"
	"the HTML report of a real run exits 0"
	"it holds a plot of every benchmark's samples"
	"headless Chromium renders it, and its filter shows only bench.exit.cpuid for 'cpuid'"
	"two runs on this host: diff finds nothing changed"
	"the notification benchmarks exit 0, their report complete JSON"
	"and the doorbell's cost against the exit it saves, with their ratio"
	"the snapshot and dirty-tracking benchmarks exit 0, their report complete JSON"
	# skipped and the process list are no yes or no to flip
	"limits.vms_per_process under ulimit -n 100: skipped at the process's open-file limit (EMFILE), not the API's limit"
	"limits.vcpus_per_vm under ulimit -n 100: skipped at the process's open-file limit (EMFILE), not the API's limit"
	"kill -9 of hvprobe mid-run (a probe's process running) leaves none of its processes behind"
	# the guest CPU model is the API's, not an answer; diff and baseline read the model
	"the host block holds the guest CPU model: KVM's CPUID table, feature MSRs, named features, XSAVE sizes"
	"info --cpu shows the named features, XSAVE and KVM's CPUID table"
	"diff of the report with itself: migration compatible"
	"diff to the report with a feature removed: migration incompatible, the feature named"
	"and its JSON carries the verdict and the feature"
	"the other way, to the host that offers more: compatible"
	"baseline of the two: a Firecracker template with exactly the documented members and forms"
	"it clears the one feature the hosts do not share, and nothing else"
)
# The host block, the count of answers and info's text hold no yes or no.
intel_form_only=(
	"${suite_form_only[@]}"
	"every probe of the default suite answered"
	"the report is from an Intel host with VMX, KVM's module kvm_intel"
	"info names kvm_intel and Intel VMX"
	"the snapshot and dirty-tracking benchmarks exit 0, their report complete JSON"
)
arm64_form_only=(
	"the report is JSON from an arm64 host"
	"it validates against docs/report-schema.json"
	"every probe of the default suite answered"
	"every answer is proven by a guest or by the API's refusal"
	"no probe crashed or hung"
	"the probes about x86 say they are not applicable, and nothing else is skipped but the capped search"
	"the host block holds the guest CPU model: ten ID registers, named features, why no writable masks"
	"info --cpu shows the named features and the ID registers"
	"bench.irq.irqfd_latency runs on arm64, its report complete JSON"
	# Linux 6.1 arm64 has no dirty ring: skipped is no yes or no to flip
	"mem.dirty_ring: answered where the host has a ring, else skipped with the capability's value"
)

# good SUITE DIR: the real outputs of the suite (x86_64, intel or arm64), or
# the example report.
good() {
	local kept=$top/build/check/kvm-$1 entry=json example=kvm-x86_64.json
	if [ -d "$kept" ] && [ -n "$(ls "$kept")" ]; then
		cp -r "$kept/." "$2/"
		echo "# $1: bad outputs made from the last real run ($kept)"
	else
		[ "$1" = arm64 ] && entry=suite example=kvm-arm64.json
		cp "$top/docs/examples/$example" "$2/$entry.out"
		echo 0 >"$2/$entry.rc"
		: >"$2/$entry.err"
		echo "# $1: no real run kept; bad outputs made from docs/examples/$example"
	fi
}

flip_json() { # the JSON report with every answer flipped, and what follows from it
	jq '
	def flip: if . == "yes" then "no" elif . == "no" then "yes" else . end;
	if type == "object" and has("findings") then
		.findings |= map(
			if .answer == "yes" or .answer == "no" then
				.answer |= flip
				| if .verdict == "as documented" then .verdict = "deviates"
				  elif .verdict == "deviates" then .verdict = "as documented" else . end
			else . end)
		| if has("summary") then
			.summary.as_documented = ([.findings[] | select(.verdict == "as documented")] | length)
			| .summary.deviates = ([.findings[] | select(.verdict == "deviates")] | length)
			| .summary.failing = ([.findings[] | select(.verdict == "deviates" or .answer == "crashed" or .answer == "hung")] | length)
		  else . end
	else . end' "$1"
}

# bad KIND GOOD BAD: BAD made from GOOD.
bad() {
	local kind=$1 from=$2 to=$3 f
	cp -r "$from/." "$to/"
	for f in "$to"/*; do
		[ -f "$f" ] || continue
		case $kind in
		empty) : >"$f" ;;
		truncated)
			case $f in *.out) head -c "$(($(wc -c <"$f") / 2))" "$f" >"$f.new" && mv "$f.new" "$f" ;; esac ;;
		flipped)
			case $f in *.out)
				if json_ok "$f"; then
					flip_json "$f" >"$f.new"
					# the exit status hvprobe gives such a report: 1 when a finding fails
					case $(cat "${f%.out}.rc" 2>/dev/null) in 0 | 1)
						jq -r 'if (.summary.failing? // 0) > 0 then 1 else 0 end' "$f.new" >"${f%.out}.rc" ;;
					esac
				else
					perl -pe 's/\b(yes|no)\b/$1 eq "yes" ? "no" : "yes"/ge' "$f" >"$f.new"
				fi
				mv "$f.new" "$f" ;;
			esac ;;
		esac
	done
	[ "$kind" = empty ] && find "$to" -mindepth 1 -type d -exec sh -c 'rm -rf "$1"/*' sh {} \; 2>/dev/null
	return 0
}

# checks_on CHECKS DIR TAP: the checks' TAP on the outputs in DIR.
checks_on() {
	HVPROBE="$HVPROBE" bash -c '. "$1/tests/e2e/lib.bash"; check_dir "$2" "$3"; done_testing' \
		bash "$top" "$1" "$2" >"$3" 2>/dev/null </dev/null
}
passing() { grep -E '^ok [0-9]+ - ' "$1" | grep -v '# SKIP' | sed -E 's/^ok [0-9]+ - //'; }

# try ARCH CHECKS KIND GOOD FORM_ONLY...: the checks on a bad KIND of output.
# On a flipped output, a check that failed on the real one already (the
# suite reports it) is not held to failing again.
try() {
	local arch=$1 checks=$2 kind=$3 from=$4 dir name passed=() unexpected=() total form=0 failing=0
	shift 4
	dir=$tmp/$arch-$kind
	mkdir -p "$dir"
	bad "$kind" "$from" "$dir"
	checks_on "$checks" "$dir" "$tmp/$arch-$kind.tap"
	total=$(grep -cE '^(not )?ok ' "$tmp/$arch-$kind.tap")
	echo "# $arch checks on $kind output:"
	grep -E '^(not )?ok ' "$tmp/$arch-$kind.tap" | sed 's/^/#   /'
	while IFS= read -r name; do
		passed+=("$name")
		if [ "$kind" = flipped ]; then
			local f found=0
			for f in "$@"; do [ "$f" = "$name" ] && found=1; done
			if [ "$found" = 1 ]; then form=$((form + 1)); continue; fi
			if ! grep -qxF -- "$name" "$tmp/$arch-good.passing"; then failing=$((failing + 1)); continue; fi
		fi
		unexpected+=("$name")
	done < <(passing "$tmp/$arch-$kind.tap")
	for name in "${unexpected[@]}"; do echo "# passed on $kind output: $name"; done
	if [ "$kind" = flipped ]; then
		ok "$arch: on flipped output all $total checks fail but $form of the report's form$([ "$failing" = 0 ] ||
			echo " and $failing failing on the real output")" \
			test "$total" -gt 0 -a "${#unexpected[@]}" = 0
	else
		ok "$arch: on $kind output all $total checks fail" test "$total" -gt 0 -a "${#passed[@]}" = 0
	fi
}

for arch in x86_64 intel arm64; do
	mkdir -p "$tmp/good-$arch"
	good "$arch" "$tmp/good-$arch"
	case $arch in
	x86_64) checks=$top/tests/e2e/kvm-checks.bash form=("${x86_form_only[@]}") ;;
	intel) checks=$top/tests/e2e/intel-checks.bash form=("${intel_form_only[@]}") ;;
	arm64) checks=$top/tests/arm64/checks.bash form=("${arm64_form_only[@]}") ;;
	esac
	checks_on "$checks" "$tmp/good-$arch" "$tmp/$arch-good.tap"
	passing "$tmp/$arch-good.tap" >"$tmp/$arch-good.passing"
	echo "# $arch: $(wc -l <"$tmp/$arch-good.passing") of $(grep -cE '^(not )?ok ' "$tmp/$arch-good.tap") checks pass on the real output"
	for kind in empty truncated flipped; do
		try "$arch" "$checks" "$kind" "$tmp/good-$arch" "${form[@]}"
	done
done
done_testing
