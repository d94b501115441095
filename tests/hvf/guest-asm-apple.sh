#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The guest programs as a Mac builds them: src/guest_<arch>.S assembled by
# clang for Apple's targets (LLVM's assembler in its Darwin mode, which
# reads $0..$9 in a macro without named parameters as the macro's
# arguments, and wants Mach-O's sections and symbol names). Each must
# assemble, and, where llvm-objcopy can take the sections out, hold the same
# bytes as the same file assembled by clang for Linux: the bytes are what a
# guest runs, and no program may need a relocation.
#
#   tests/hvf/guest-asm-apple.sh [MACOS_MIN [OUTDIR]]
set -u
min=${1:-11.0}
out=${2:-build/hvf}

if ! command -v clang >/dev/null; then
	echo "guest programs for Apple targets: skipped, clang is not installed"
	exit 0
fi
mkdir -p "$out"
fail=0
for pair in x86_64:x86_64-linux-gnu arm64:aarch64-linux-gnu; do
	arch=${pair%%:*}
	linux=${pair#*:}
	src=src/guest_$arch.S
	apple=$arch-apple-macos$min
	if ! clang --target="$apple" -Isrc -c "$src" -o "$out/guest_$arch.macho.o"; then
		echo "$src: does not assemble for $apple (the errors are above)"
		fail=1
		continue
	fi
	if ! command -v llvm-objcopy >/dev/null; then
		echo "$src: assembles for $apple; bytes not compared, llvm-objcopy is missing (Debian: llvm)"
		continue
	fi
	if ! clang --target="$linux" -Isrc -c "$src" -o "$out/guest_$arch.elf.o" ||
		! llvm-objcopy --dump-section=__TEXT,__const="$out/guest_$arch.macho.bin" "$out/guest_$arch.macho.o" ||
		! llvm-objcopy -O binary --only-section=.rodata "$out/guest_$arch.elf.o" "$out/guest_$arch.elf.bin"; then
		echo "$src: its read-only section could not be taken out of the objects"
		fail=1
	elif ! cmp -s "$out/guest_$arch.macho.bin" "$out/guest_$arch.elf.bin"; then
		echo "$src: the $apple object's programs differ from the $linux object's:"
		cmp -l "$out/guest_$arch.macho.bin" "$out/guest_$arch.elf.bin" | head -5
		fail=1
	elif [ -n "$(llvm-objdump -r "$out/guest_$arch.macho.o" | grep -v -e '^$' -e 'file format' -e '^RELOCATION RECORDS FOR \[__text\]')" ]; then
		echo "$src: the $apple object has relocations:"
		llvm-objdump -r "$out/guest_$arch.macho.o"
		fail=1
	else
		echo "$src: assembles for $apple, with the same $(wc -c <"$out/guest_$arch.elf.bin" | tr -d ' ') bytes of programs as for $linux"
	fi
done
exit $fail
