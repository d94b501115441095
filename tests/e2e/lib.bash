# SPDX-License-Identifier: MIT
# TAP helpers for the end-to-end tests, which run the real hvprobe binary.
# HVPROBE names the binary (default ./hvprobe); HVPROBE_KVM=1 says that it
# runs where KVM works even if this machine has no /dev/kvm (QEMU wrapper).

top=$(cd "$(dirname "$0")/../.." && pwd)
HVPROBE=${HVPROBE:-$top/hvprobe}
case $HVPROBE in /*) ;; *) HVPROBE=$top/$HVPROBE ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

echo "TAP version 13"

ok() { # ok DESCRIPTION COMMAND...
	local d=$1; shift
	n=$((n + 1))
	if "$@" >/dev/null; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=$((failed + 1)); fi
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# Whether KVM can be used here: a device that opens, not CPU flags.
kvm_usable() {
	[ "${HVPROBE_KVM:-}" = 1 ] && return 0
	[ -e /dev/kvm ] || { kvm_reason="/dev/kvm does not exist on this machine"; return 1; }
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { kvm_reason="/dev/kvm is not readable and writable by this user"; return 1; }
	return 0
}

# run NAME ARGS...: runs hvprobe, keeping stdout, stderr and status in $tmp/NAME.*
run() {
	local name=$1; shift
	"$HVPROBE" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	echo $? >"$tmp/$name.rc"
}
rc() { cat "$tmp/$1.rc"; }

# The hvprobe binary on this machine, for commands on local files (diff)
# when HVPROBE runs the probes elsewhere (tests/vm/hvprobe-in-qemu).
case $HVPROBE in *hvprobe-in-qemu) HVPROBE_LOCAL=$top/hvprobe ;; *) HVPROBE_LOCAL=$HVPROBE ;; esac
