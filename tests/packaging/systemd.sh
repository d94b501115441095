#!/bin/bash
# SPDX-License-Identifier: MIT
# The systemd units in contrib/systemd, as systemd reads them: systemd-analyze
# verify (unit syntax, the commands they run, the man page they cite), with
# the hvprobe and man page of this tree standing in for the installed ones.
# Then the service's commands, run here on a saved report, write both files.
. "$(dirname "$0")/../e2e/lib.bash"
units=$top/contrib/systemd
service=$units/hvprobe-refresh.service
ok "the service and the timer are there" eval '[ -s "$service" ] && [ -s "$units/hvprobe-refresh.timer" ]'
ok "the service renders both files from one saved run" \
	eval 'grep -q "^ExecStart=/usr/bin/hvprobe run --format json --output /var/lib/hvprobe/hvprobe.json$" "$service" &&
	grep -q "^ExecStartPost=/usr/bin/hvprobe report .* --format prometheus --output \${HVPROBE_PROM_DIR}/hvprobe.prom$" "$service" &&
	grep -q "^ExecStartPost=/usr/bin/hvprobe report .* --format nfd --output \${HVPROBE_NFD_DIR}/hvprobe$" "$service"'
ok "the timer starts the service every 6 hours, enabled by timers.target" \
	eval 'grep -qx "OnUnitActiveSec=6h" "$units/hvprobe-refresh.timer" && grep -qx "WantedBy=timers.target" "$units/hvprobe-refresh.timer"'

# The service's own commands, with its directories under $tmp: each output is
# there, and nothing else (no temporary file left where a collector reads).
prom=$tmp/prom nfd=$tmp/nfd state=$tmp/state
mkdir -p "$prom" "$nfd" "$state"
cp "$top/docs/examples/matrix/kvm-x86_64.json" "$state/hvprobe.json"
sed -n 's/^ExecStartPost=//p' "$service" |
	sed -e "s|/usr/bin/hvprobe|$HVPROBE|" -e "s|/var/lib/hvprobe|$state|" -e "s|\${HVPROBE_PROM_DIR}|$prom|" \
		-e "s|\${HVPROBE_NFD_DIR}|$nfd|" >"$tmp/commands"
ok "its commands write the textfile and the feature file from the saved run" \
	eval '[ "$(wc -l <"$tmp/commands")" = 2 ] && bash -e "$tmp/commands" && grep -q "^hvprobe_probe_answer{" "$prom/hvprobe.prom" &&
	grep -q "^hvprobe.feature.node.kubernetes.io/kvm=true$" "$nfd/hvprobe" && [ "$(ls -A "$prom")" = hvprobe.prom ] && [ "$(ls -A "$nfd")" = hvprobe ]'

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify accepts the units" "systemd-analyze is not installed (systemd)"
	done_testing
	exit
fi
# verify runs every command the units name and `man` on the pages they cite.
mkdir -p "$tmp/units" "$tmp/man/man1"
cp "$top/docs/hvprobe.1" "$tmp/man/man1/"
for u in "$units"/*; do sed "s|/usr/bin/hvprobe|$HVPROBE|g" "$u" >"$tmp/units/${u##*/}"; done
(cd "$tmp/units" && MANPATH=$tmp/man systemd-analyze verify hvprobe-refresh.service hvprobe-refresh.timer) >"$tmp/verify.log" 2>&1
status=$?
sed 's/^/# /' "$tmp/verify.log"
ok "systemd-analyze verify accepts the units" eval '[ $status = 0 ] && ! grep -q . "$tmp/verify.log"'
sed 's|^ExecStart=.*|ExecStart=/nonexistent/hvprobe run|' "$tmp/units/hvprobe-refresh.service" >"$tmp/units/broken.service"
ok "and refuses a unit whose command is missing (the check can fail)" \
	eval '! (cd "$tmp/units" && MANPATH=$tmp/man systemd-analyze verify broken.service) >/dev/null 2>&1'
done_testing
