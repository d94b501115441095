# SPDX-License-Identifier: MIT
#
# What the x86_64 VM wrappers share (tests/vm/hvprobe-in-qemu, AMD SVM in
# QEMU; tests/vm/hvprobe-in-bochs, Intel VMX in Bochs): the distribution's
# kernel with one KVM module, the initramfs that runs a batch
# (tests/vm/batch-run) and powers off, the bounded wait for the emulator,
# and reading the batch back. Sourced; the wrapper sets `me` (its name, for
# messages), `dir` (its kernel cache) and `boot_timeout` (seconds) first.
# In order:
#
#   vm_kernel DIR MODULE      DIR/kernel/vmlinuz, MODULE and what it depends
#                             on (DIR/kernel/modules.load), once
#   vm_initrd DIR BIN ARG...  $work/initrd.gz; ARG... is one hvprobe run, or
#                             --batch BATCH OUTDIR (sets mode and out)
#   vm_boot TRIES BOOT        BOOT starts the emulator (its output in
#                             $work/emulator.log) and returns vm_watch PID
#   vm_results                unpacks the batch and exits as the wrapper does
#
# The guest sends its batch over its second serial port ($work/stream) and
# its console, with a heartbeat every 2 s of guest time, over the first
# ($work/console). boot_timeout bounds the boot up to the start of the
# batch (vm_boot tries again), HVP_VM_TIMEOUT (default 3600) the
# whole run, and HVP_VM_STALL (default 300) the time with nothing from the
# VM on either port: a frozen VM ends as a failure naming the entry it froze
# in, not as a wait without end.

vm_die() { echo "$me: $*" >&2; exit 99; }

# The kernel and the modules MODULE needs, from the distribution's kernel
# package (Debian: linux-image-amd64; Ubuntu: linux-image-generic, with the
# modules in linux-modules-VERSION), kept in DIR. Modules go in
# uncompressed, in the order their .modinfo dependencies ask, listed in
# kernel/modules.load.
vm_kernel() {
	local dir=$1 module=$2 pkg meta
	[ -f "$dir/kernel/modules.load" ] && return 0
	command -v objcopy >/dev/null || vm_die "objcopy missing (apt-get install binutils)"
	rm -rf "$dir/pkg" "$dir/kernel"
	mkdir -p "$dir/pkg" "$dir/kernel"
	pkg=
	for meta in linux-image-amd64 linux-image-generic; do
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
		[ -n "$pkg" ] && break
	done
	[ -n "$pkg" ] || vm_die "cannot resolve linux-image-amd64 or linux-image-generic (run apt-get update)"
	vm_fetch "$dir" "$pkg" || vm_die "apt-get download $pkg failed"
	if [ -z "$(vm_find_module "$dir" "$module")" ]; then
		vm_fetch "$dir" "linux-modules-${pkg#linux-image-}" ||
			vm_die "$module is not in $pkg, and linux-modules-${pkg#linux-image-} cannot be had"
	fi
	cp "$(ls "$dir"/pkg/boot/vmlinuz-* | head -n1)" "$dir/kernel/vmlinuz"
	vm_add_module "$dir" "$module"
	rm -rf "$dir/pkg"
}
vm_fetch() { # vm_fetch DIR PACKAGE: unpacks it into DIR/pkg
	(cd "$1" && rm -f ./*.deb && apt-get download "$2" >/dev/null 2>&1) || return 1
	dpkg-deb -x "$1"/*.deb "$1/pkg" && rm -f "$1"/*.deb
}
vm_find_module() { # vm_find_module DIR NAME: its file in the unpacked packages
	find "$1/pkg" -path '*/kernel/*' \( -name "$2.ko" -o -name "$2.ko.*" -o -name "${2//_/-}.ko" \
		-o -name "${2//_/-}.ko.*" -o -name "${2//-/_}.ko" -o -name "${2//-/_}.ko.*" \) | head -n1
}
vm_add_module() { # vm_add_module DIR NAME: it and what it depends on, dependencies first
	local dir=$1 name=${2//_/-} f dep
	grep -qx "$name" "$dir/kernel/modules.load" 2>/dev/null && return 0
	f=$(vm_find_module "$dir" "$2")
	[ -n "$f" ] || vm_die "module $2 is not in the kernel packages"
	case $f in
	*.ko) cp "$f" "$dir/kernel/$name.ko" ;;
	*.ko.xz) xz -dc "$f" >"$dir/kernel/$name.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$dir/kernel/$name.ko" ;;
	*.ko.zst) command -v zstd >/dev/null || vm_die "zstd missing for $f (apt-get install zstd)"
		zstd -qdc "$f" >"$dir/kernel/$name.ko" ;;
	*) vm_die "cannot read module $f" ;;
	esac
	for dep in $(objcopy -O binary --only-section=.modinfo "$dir/kernel/$name.ko" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		vm_add_module "$dir" "$dep"
	done
	echo "$name" >>"$dir/kernel/modules.load"
}

# vm_initrd DIR BIN ARG...: the initramfs ($work/initrd.gz, $work made here)
# with busybox, the hvprobe binary BIN, the modules of DIR/kernel and the
# batch: ARG... as one run (mode=one), or --batch BATCH OUTDIR (mode=batch).
vm_initrd() {
	local dir=$1 bin=$2 busybox v a
	shift 2
	[ -x "$bin" ] || vm_die "no hvprobe binary at $bin (make builds it)"
	head -c 4 "$bin" | grep -q ELF || vm_die "$bin is not an ELF binary"
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] || vm_die "busybox missing (apt-get install busybox-static)"
	command -v cpio >/dev/null || vm_die "cpio missing (apt-get install cpio)"

	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	root=$work/root
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
	vm_copy_in "$busybox" /bin/busybox
	vm_copy_in "$bin" /bin/hvprobe
	cp "$dir"/kernel/*.ko "$dir/kernel/modules.load" "$root/lib/modules/"
	cp "$top/tests/vm/batch-run" "$root/batch-run"
	: >"$root/env"
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		if [ -n "${!v:-}" ]; then printf "export %s='%s'\n" "$v" "${!v//\'/\'\\\'\'}" >>"$root/env"; fi
	done

	if [ "${1:-}" = --batch ]; then
		[ $# = 3 ] || vm_die "usage: $me --batch BATCH OUTDIR"
		mode=batch out=$3
		[ -f "$2" ] || vm_die "no batch file $2"
		cp "$2" "$root/batch"
	else
		mode=one out=$work/out
		printf 'hv one' >"$root/batch"
		for a in "$@"; do
			printf " '%s'" "${a//\'/\'\\\'\'}" >>"$root/batch"
			# A host file named on the command line (a contract) is copied to the same path inside.
			case $a in /*) if [ -f "$a" ]; then mkdir -p "$root$(dirname "$a")"; cp "$a" "$root$a"; fi ;; esac
		done
		echo >>"$root/batch"
	fi

	# The serial ports at 115200 baud: an emulator that paces its UART
	# (Bochs) would take minutes over a report at Linux's default 9600.
	sed "s/@ME@/$me/" >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in $(cat /lib/modules/modules.load); do
	insmod /lib/modules/$m.ko || echo "@ME@: insmod $m failed"
done
stty -F /dev/ttyS0 115200
stty -F /dev/ttyS1 115200 raw -echo
(while sleep 2; do echo "@@HVP-ALIVE@@" >/dev/ttyS0; done) &
. /env
cd /tmp
HVPROBE=/bin/hvprobe HVP_BATCH_STREAM=/dev/ttyS1 sh /batch-run /batch /tmp/out
sync
poweroff -f
INIT
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")
}

# vm_copy_in FILE DEST: FILE and, for a dynamic executable, its shared
# libraries, at the same paths inside the VM.
vm_copy_in() {
	local f=$1 dest=$2 lib
	cp -L "$f" "$root$dest"
	if ldd "$f" >/dev/null 2>&1; then
		for lib in $(ldd "$f" | grep -oE '/[^ ]+'); do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	fi
}

# vm_watch PID: waits for the emulator PID, bounded; 0 when the batch
# started (the boot did not stall), whatever became of it after. Call with
# $work/console and $work/stream empty, the emulator writing them.
vm_watch() {
	local pid=$1 start=$SECONDS heard=$SECONDS size='' now entry
	while kill -0 "$pid" 2>/dev/null && ! grep -q '^@@HVP-BATCH-START@@' "$work/stream"; do
		if [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
			kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.5
	done
	if [ "$mode" = batch ] && grep -q '^@@HVP-BATCH-START@@' "$work/stream"; then
		echo "$me: the VM booted in $((SECONDS - start)) s; its batch started" >&2
	fi
	while kill -0 "$pid" 2>/dev/null; do
		now=$(cat "$work/console" "$work/stream" 2>/dev/null | wc -c)
		[ "$now" != "$size" ] && size=$now heard=$SECONDS
		if [ $((SECONDS - start)) -ge "${HVP_VM_TIMEOUT:-3600}" ]; then
			echo "$me: the VM ran past HVP_VM_TIMEOUT=${HVP_VM_TIMEOUT:-3600} s; stopped" >&2
			kill "$pid" 2>/dev/null
			break
		fi
		if [ $((SECONDS - heard)) -ge "${HVP_VM_STALL:-300}" ]; then
			entry=$(tr -d '\r' <"$work/stream" | sed -n 's/^@@HVP-BEGIN \(.*\)@@$/\1/p' | tail -n1)
			echo "$me: the VM froze: nothing came from it (not even its heartbeat) for" \
				"HVP_VM_STALL=${HVP_VM_STALL:-300} s, in entry '${entry:-none}'; stopped" >&2
			kill "$pid" 2>/dev/null
			break
		fi
		sleep 0.5
	done
	wait "$pid" 2>/dev/null || true
	grep -q '^@@HVP-BATCH-START@@' "$work/stream"
}

# vm_boot TRIES BOOT: BOOT (a function: starts the emulator, returns
# vm_watch's status) up to TRIES times, until the batch starts; otherwise
# exits 99 with the console's last lines (kept in $dir/stalled-console.log).
vm_boot() {
	local tries=$1 try
	for try in $(seq "$tries"); do
		rm -f "$work/console" "$work/stream"
		: >"$work/console"
		: >"$work/stream"
		"$2" && return 0
		cp "$work/console" "$dir/stalled-console.log" 2>/dev/null || true
	done
	echo "$me: the VM did not boot ($tries tries); the emulator said: $(tail -n 3 "$work/emulator.log" 2>/dev/null)" >&2
	echo "$me: its console (also in $dir/stalled-console.log):" >&2
	tr -d '\r' <"$work/console" | grep -v '^@@HVP-ALIVE@@' | tail -n 20 >&2
	exit 99
}

# vm_results: the batch's entries into $out; in one-run mode prints the run's
# outputs and exits with its status, in batch mode exits 0 when the whole
# batch came back, 99 otherwise.
vm_results() {
	local status=0
	"$top/tests/vm/batch-unpack" "$work/stream" "$out" || status=99
	if [ "$status" != 0 ] || grep -q "^$me: " "$work/console"; then
		grep "^$me: " "$work/console" >&2 || true
		if [ "$status" != 0 ]; then
			echo "$me: console:" >&2
			tr -d '\r' <"$work/console" | grep -v '^@@HVP-ALIVE@@' | tail -n 20 >&2
		fi
	fi
	if [ "$mode" = one ]; then
		[ -f "$out/one.rc" ] || exit 99
		cat "$out/one.out"
		cat "$out/one.err" >&2
		exit "$(cat "$out/one.rc")"
	fi
	exit "$status"
}
