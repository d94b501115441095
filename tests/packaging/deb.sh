#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package: dpkg-buildpackage -us -uc -b in a copy of this tree (it
# writes its outputs next to the tree, so the tree itself stays as it is),
# then lintian, which must report no error, and the package's contents: the
# binary, which runs, its man page and the systemd units. Skipped, saying
# why, where the tools or the build dependencies are missing
# (scripts/install-deps.sh installs them).
. "$(dirname "$0")/../e2e/lib.bash"
command -v dpkg-buildpackage >/dev/null || skip_all "dpkg-buildpackage is not installed (apt-get install dpkg-dev)"
command -v dh >/dev/null || skip_all "debhelper is not installed (apt-get install debhelper)"
command -v lintian >/dev/null || skip_all "lintian is not installed (apt-get install lintian)"
arch=$(dpkg --print-architecture)
grep -q "^Architecture:.* $arch\b" "$top/debian/control" ||
	skip_all "the package is built for $(sed -n 's/^Architecture: //p' "$top/debian/control"), not $arch"
(cd "$top" && dpkg-checkbuilddeps) 2>"$tmp/builddeps" ||
	skip_all "$(sed 's/^dpkg-checkbuilddeps: error: //' "$tmp/builddeps" | tr '\n' ' ')(scripts/install-deps.sh)"

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$tmp/hvprobe-$version
mkdir -p "$src"
# What is in the tree, tracked or not, but nothing git ignores (builds, binaries).
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z -co --exclude-standard | tar --null -cf - -T -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude=./build --exclude=./hvprobe --exclude='./test_two_*' -cf - .) | tar -xf - -C "$src"
fi
ok "the tree is copied, debian/ with it" [ -x "$src/debian/rules" ]
before=$(cd "$top" && git status --porcelain 2>/dev/null | md5sum)
(cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
status=$?
[ $status = 0 ] || tail -n 30 "$tmp/build.log" | sed 's/^/# /'
deb=$tmp/hvprobe_${version}_$arch.deb
ok "dpkg-buildpackage -us -uc -b builds the package" eval '[ $status = 0 ] && [ -s "$deb" ]'
ok "and leaves this tree as it was" [ "$(cd "$top" && git status --porcelain 2>/dev/null | md5sum)" = "$before" ]

lintian --fail-on error "$tmp/hvprobe_${version}_$arch.changes" >"$tmp/lintian.log" 2>&1
status=$?
grep -v "running with root privileges" "$tmp/lintian.log" | sed 's/^/# /'
ok "lintian reports no error" eval '[ $status = 0 ] && ! grep -q "^E: " "$tmp/lintian.log"'

dpkg-deb -c "$deb" >"$tmp/contents" 2>&1
# The units go to /lib/systemd/system or /usr/lib/systemd/system, as the release's debhelper has it.
for f in ' ./usr/bin/hvprobe' ' ./usr/share/man/man1/hvprobe.1.gz' ' ./usr/share/doc/hvprobe/copyright' \
	'/lib/systemd/system/hvprobe-refresh.service' '/lib/systemd/system/hvprobe-refresh.timer'; do
	ok "it installs ${f# ./}" grep -q "${f//./\\.}$" "$tmp/contents"
done
dpkg-deb -x "$deb" "$tmp/root"
ok "the packaged hvprobe runs" eval '"$tmp/root/usr/bin/hvprobe" --version | grep -qx "hvprobe $version"'
ok "the packaged service runs the packaged binary" \
	grep -q '^ExecStart=/usr/bin/hvprobe run ' "$tmp"/root/*lib/systemd/system/hvprobe-refresh.service

# The lintian check can fail: the same package without its copyright file is an error.
dpkg-deb -R "$deb" "$tmp/broken"
rm "$tmp/broken/usr/share/doc/hvprobe/copyright"
sed -i '/usr\/share\/doc\/hvprobe\/copyright/d' "$tmp/broken/DEBIAN/md5sums"
dpkg-deb -b "$tmp/broken" "$tmp/broken.deb" >/dev/null 2>&1
ok "lintian fails a package with an error (no copyright file)" \
	eval '[ -s "$tmp/broken.deb" ] && ! lintian --fail-on error "$tmp/broken.deb" >/dev/null 2>&1'
done_testing
