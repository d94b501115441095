# SPDX-License-Identifier: MIT
# TAP helpers for the end-to-end tests, which run the real hvprobe binary.
# HVPROBE names the binary on this machine (default ./hvprobe): the one run
# here, and the one the KVM suites take into QEMU.
#
# Every check can fail: an assertion on a report goes through jqok (or
# json_ok), which fails on a report that is missing, empty or not JSON
# before jq -e looks at it (jq 1.6 exits 0 on empty input). A check that
# cannot run here says so with its own "ok N # SKIP reason" line (skip).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HVPROBE=${HVPROBE:-$top/hvprobe}
case $HVPROBE in /*) ;; *) HVPROBE=$top/$HVPROBE ;; esac
# The hvprobe binary on this machine, for commands on local files (diff).
HVPROBE_LOCAL=$HVPROBE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Where run leaves its outputs, and where the checks read them.
out=$tmp
n=0
failed=0

echo "TAP version 13"

ok() { # ok DESCRIPTION COMMAND...
	local d=$1; shift
	n=$((n + 1))
	if "$@" >/dev/null; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=$((failed + 1)); fi
}

skip() { # skip DESCRIPTION REASON: a check that cannot run here, counted and said
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

bail() {
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# json_ok FILE: FILE exists, is not empty, and is one JSON object.
json_ok() {
	[ -s "$1" ] && jq -e 'type == "object" or type == "array"' "$1" >/dev/null 2>&1
}

# jqok DESCRIPTION FILTER FILE [JQ-OPTION...]: a check that FILE is valid
# JSON and that FILTER's last output on it is neither false nor null (and
# that there is one: jq -e exits 4 on no output).
jqok() {
	local d=$1 filter=$2 file=$3
	shift 3
	ok "$d" jq_true "$filter" "$file" "$@"
}
# show_finding FILE ID...: each finding's answer, verdict and reason as TAP
# diagnostics on stderr, so that a failed check on a machine whose outputs are gone
# (a fresh CI tree) says what the run found.
show_finding() {
	local file=$1 id
	shift
	for id in "$@"; do
		jq -r --arg id "$id" '.findings[]? | select(.id == $id)
			| "# \(input_filename): \(.id): \(.answer), \(.verdict): \(.reason)"' "$file" 2>/dev/null ||
			echo "# $file: no JSON report"
	done >&2 # prove shows what a test says on stderr, not its comments
}
jq_true() { # jq_true FILTER FILE [JQ-OPTION...]
	local filter=$1 file=$2
	shift 2
	json_ok "$file" && jq -e "$@" "$filter" "$file" >/dev/null
}

# run NAME ARGS...: runs hvprobe here, keeping stdout, stderr and status in $out/NAME.*
run() {
	local name=$1; shift
	"$HVPROBE" "$@" >"$out/$name.out" 2>"$out/$name.err" </dev/null
	echo $? >"$out/$name.rc"
}
rc() { cat "$out/$1.rc" 2>/dev/null || echo missing; }
# exits NAME STATUS: the run NAME ended, with that status.
exits() { [ -f "$out/$1.rc" ] && [ "$(cat "$out/$1.rc")" = "$2" ]; }

# ok_schema DESCRIPTION FILE: the report validates against docs/report-schema.json, or a stated skip.
ok_schema() {
	if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
		ok "$1" schema_valid "$2"
	else
		skip "$1" "python3-jsonschema is not installed"
	fi
}
schema_valid() {
	json_ok "$1" && /usr/bin/python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$1" "$top/docs/report-schema.json"
}

# suite_batch SCRIPT KEEP SUITE WHERE OUTDIR CMD...: runs a KVM suite's
# batch, CMD... OUTDIR (OUTDIR emptied first; batch_rc its exit status), and
# says what became of it: how long it took; "SUITE: ran on WHERE, its batch
# N s, exit R" on stderr as SCRIPT says it and, for make check's last word,
# in KEEP.ran when KEEP is set; then what the batch said on stderr.
suite_batch() {
	local script=$1 keep=$2 suite=$3 where=$4 dir=$5 start=$SECONDS ran
	shift 5
	rm -rf "$dir"
	mkdir -p "$dir"
	"$@" "$dir" 2>"$tmp/batch.err"
	batch_rc=$?
	echo "# the batch took $((SECONDS - start)) s and exited $batch_rc"
	ran="$suite: ran on $where, its batch $((SECONDS - start)) s, exit $batch_rc"
	echo "$script: $ran" >&2
	[ -z "$keep" ] || echo "$ran" >"$keep.ran"
	sed 's/^/# /' "$tmp/batch.err"
}

# failing REPORT: the findings of the JSON report REPORT that fail, as
# comments, so that the log shows why.
failing() {
	jq -r '.findings[]? | select(.verdict == "deviates" or .answer == "crashed" or .answer == "hung")
		| "# failing: \(.id): \(.answer) (\(.reason))"' "$1" 2>/dev/null
}

# check_dir CHECKS DIR: runs the checks file CHECKS (kvm-checks.bash,
# tests/arm64/checks.bash) against the outputs in DIR.
check_dir() {
	out=$2
	# shellcheck disable=SC1090
	. "$1"
}
