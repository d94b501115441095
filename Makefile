# hvprobe: characterize the host's hypervisor API.
#
#   make            build hvprobe and the seed's program names
#   make run        run the probe suite on real KVM: ./hvprobe on this
#                   machine's /dev/kvm where a guest runs there, otherwise
#                   inside QEMU (ARGS="..." passes arguments)
#   make check      unit tests, end-to-end tests (x86_64 KVM on /dev/kvm or
#                   inside QEMU), the same under AddressSanitizer and UBSan,
#                   clang, fuzzing, docs, the systemd units and the Debian
#                   package, arm64 KVM inside QEMU, x86_64 KVM on Intel VMX
#                   inside Bochs, the HVF backends compiled, and the tests of
#                   the tests
#   make install    install to $(DESTDIR)$(PREFIX) (default /usr/local)
#
# Honours CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX/prefix and DESTDIR.

VERSION := 0.1.0

PREFIX ?= /usr/local
prefix ?= $(PREFIX)
bindir ?= $(prefix)/bin
mandir ?= $(prefix)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
BUILD ?= build

UNAME_S := $(shell uname -s)
UNAME_M := $(shell uname -m)
ARCH ?= $(if $(filter arm64 aarch64,$(UNAME_M)),arm64,$(UNAME_M))

HVP_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers -pthread
HVP_CPPFLAGS := -Isrc -DHVP_VERSION='"$(VERSION)"'
HVP_LDLIBS := -pthread -lm

# `hvprobe diff` reads JSON with json-c; a build without it says so when asked to.
JSONC_H := $(firstword $(wildcard /usr/include/json-c/json.h /usr/local/include/json-c/json.h \
	/opt/homebrew/include/json-c/json.h))
ifneq ($(JSONC_H),)
JSONC_PREFIX := $(patsubst %/include/json-c/json.h,%,$(JSONC_H))
HVP_CPPFLAGS += -DHVP_HAVE_JSONC $(if $(filter /usr,$(JSONC_PREFIX)),,-I$(JSONC_PREFIX)/include)
HVP_LDLIBS += $(if $(filter /usr,$(JSONC_PREFIX)),,-L$(JSONC_PREFIX)/lib) -ljson-c
endif

CORE_SRCS := src/finding.c src/wire.c src/state_blob.c src/contract.c src/backend.c src/errname.c \
	src/report.c src/report_text.c src/report_json.c src/report_tap.c src/report_markdown.c src/report_junit.c src/report_prometheus.c src/report_html.c src/report_nfd.c src/output.c \
	src/report_read.c src/diff.c src/matrix.c src/cpu_model.c src/cpu_model_out.c src/cpu_model_read.c src/migration.c src/baseline.c \
	src/cli.c src/runner.c src/probe_ctx.c src/probe_child.c src/machine.c src/truth.c src/registry.c \
	src/builtin_contract.c src/contracts.S src/stats.c src/bench.c \
	src/probes/exec.c src/probes/cpu.c src/probes/cpu_config.c src/probes/cpu_model.c src/probes/time.c src/probes/arm64.c src/probes/vm.c src/probes/vcpu.c src/probes/fork.c src/probes/limits.c src/probes/lifecycle.c src/probes/mem.c src/probes/mem_layout.c src/probes/mem_lifecycle.c src/probes/mem_sharing.c src/probes/mem_backing.c src/probes/mem_limits.c src/probes/bench_exit.c src/probes/bench_ops.c \
	src/notify.c src/probes/irq.c src/probes/io.c src/probes/bench_irq.c \
	src/probes/state.c src/probes/mem_dirty.c src/probes/bench_state.c

ifeq ($(UNAME_S),Linux)
BACKEND_SRCS := src/kvm.c src/kvm_$(ARCH).c src/kvm_irq.c src/kvm_state.c src/kvm_$(ARCH)_state.c src/kvm_dirty.c
endif
# macOS: Hypervisor.framework, and a binary signed with its entitlement
# (ad hoc). Only what a stock macOS with the Command Line Tools has. The
# binary runs on macOS 11 or later, whichever macOS builds it: what later
# versions added is weakly linked and asked for at run time (hvf_api.h,
# HVF_MACOS_13).
HVF_SRCS_x86_64 := src/hvf.c src/hvf_host.c src/hvf_x86_64.c src/hvf_x86_64_mov.c
HVF_SRCS_arm64 := src/hvf.c src/hvf_host.c src/hvf_arm64.c
MACOS_MIN := 11.0
ifeq ($(UNAME_S),Darwin)
BACKEND_SRCS := $(HVF_SRCS_$(ARCH))
HVP_CPPFLAGS += -mmacosx-version-min=$(MACOS_MIN)
HVP_LDLIBS += -mmacosx-version-min=$(MACOS_MIN) -framework Hypervisor -framework Security -framework CoreFoundation
SIGN = codesign --sign - --entitlements hvprobe.entitlements --force $@
endif
GUEST_SRCS := src/guest_$(ARCH).c src/guest_$(ARCH).S

LIB_SRCS := $(CORE_SRCS) $(BACKEND_SRCS) $(GUEST_SRCS)
LIB_OBJS := $(patsubst src/%,$(BUILD)/%.o,$(LIB_SRCS))
MAIN_OBJ := $(BUILD)/main.c.o

SEED_NAMES := test_two_vms_in_main_thread test_two_vms_in_two_threads \
	test_two_vms_in_two_processes test_two_mmap

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
TEST_LIB := $(BUILD)/tests/mock_backend.c.o
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))


.PHONY: all bench run check check-unit check-e2e check-kvm check-asan check-clang check-docs check-fuzz check-arm64 check-hvf \
	check-checks check-intel check-vm check-systemd check-deb docs matrix-example fuzz install uninstall clean

all: hvprobe $(SEED_NAMES)

hvprobe: $(BUILD)/hvprobe
	cp $< $@
	$(SIGN)

$(SEED_NAMES): hvprobe
	ln -sf hvprobe $@

$(BUILD)/hvprobe: $(MAIN_OBJ) $(BUILD)/libhvprobe.a
	$(CC) $(HVP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(HVP_LDLIBS) $(LDLIBS)
	$(SIGN)

$(BUILD)/libhvprobe.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.c.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HVP_CPPFLAGS) $(CPPFLAGS) $(HVP_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.S.o: src/%.S
	@mkdir -p $(dir $@)
	$(CC) $(HVP_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The contract is built into the binary; rebuild when it changes.
$(BUILD)/contracts.S.o: $(wildcard contracts/*.ini)

$(BUILD)/tests/%.c.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HVP_CPPFLAGS) $(CPPFLAGS) -Itests $(HVP_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.c.o $(TEST_LIB) $(BUILD)/libhvprobe.a
	$(CC) $(HVP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(HVP_LDLIBS) $(if $(JSONC_H),,-ljson-c) $(LDLIBS)

# What each hypervisor operation costs on this machine (about 25 s).
bench: all
	./hvprobe bench

# The probe suite with its text report, on real KVM wherever this machine
# can have it (tests/vm/hvprobe-on-kvm): /dev/kvm here, or inside QEMU.
ARGS ?=
run: all
	@tests/vm/hvprobe-on-kvm --where | sed 's/^/hvprobe runs on /' >&2
	tests/vm/hvprobe-on-kvm $(ARGS)

# check-checks last: it reads what the KVM suites kept in build/check. The
# last word says where the two KVM suites ran (or that they skipped).
check: all check-clang check-unit check-e2e check-asan check-fuzz check-docs check-systemd check-deb check-arm64 \
	check-intel check-hvf check-checks
	@for s in kvm-x86_64 kvm-intel kvm-arm64; do cat build/check/$$s.ran 2>/dev/null || echo "$$s suite: skipped (see above)"; done

# The Hypervisor.framework backends, compile-checked for both architectures,
# warning-free: on a Mac against the SDK itself (-arch picks the
# architecture's API; built for macOS $(MACOS_MIN), every call a later macOS
# added must be under an availability check), elsewhere with gcc and clang
# against src/hvf_api.h (Apple's API as its documentation states it). Then
# the guest programs assembled for Apple's targets
# (tests/hvf/guest-asm-apple.sh). The backends run only on macOS.
HVF_WARN := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers -Isrc -fsyntax-only
ifeq ($(UNAME_S),Darwin)
check-hvf:
	@$(CC) -arch x86_64 -mmacosx-version-min=$(MACOS_MIN) $(HVF_WARN) $(HVF_SRCS_x86_64) && \
		echo "hvf x86_64 backend: warning-free against the macOS SDK"
	@$(CC) -arch arm64 -mmacosx-version-min=$(MACOS_MIN) $(HVF_WARN) $(HVF_SRCS_arm64) && \
		echo "hvf arm64 backend: warning-free against the macOS SDK"
	@sh tests/hvf/guest-asm-apple.sh $(MACOS_MIN)
else
check-hvf:
	@for cc in gcc clang; do \
		if ! command -v $$cc >/dev/null; then echo "hvf x86_64 backend: $$cc missing, skipped"; \
		elif $$cc $(HVF_WARN) $(HVF_SRCS_x86_64); then echo "hvf x86_64 backend: warning-free with $$cc"; \
		else exit 1; fi; \
	done
	@if command -v aarch64-linux-gnu-gcc >/dev/null; then aarch64-linux-gnu-gcc $(HVF_WARN) $(HVF_SRCS_arm64) && \
		echo "hvf arm64 backend: warning-free with aarch64-linux-gnu-gcc"; \
		else echo "hvf arm64 backend with gcc: skipped, gcc-aarch64-linux-gnu missing"; fi
	@if command -v clang >/dev/null && [ -d /usr/aarch64-linux-gnu/include ]; then \
		clang --target=aarch64-linux-gnu $(HVF_WARN) $(HVF_SRCS_arm64) && \
		echo "hvf arm64 backend: warning-free with clang"; \
		else echo "hvf arm64 backend with clang: skipped, no arm64 headers (libc6-dev-arm64-cross)"; fi
	@sh tests/hvf/guest-asm-apple.sh $(MACOS_MIN)
endif

# The whole default suite on arm64 KVM inside QEMU (emulated EL2), cross-built
# statically; skips with the reason where the packages cannot be had.
check-arm64: all
	HVP_ARM64_OUT=$(CURDIR)/build/check/kvm-arm64 prove --timer tests/arm64/check.sh

# The x86_64 KVM suite on Intel VMX: kvm_intel inside Bochs, one boot (about
# 80 s) for the default probe suite and `hvprobe info`, checked here
# (tests/e2e/intel.sh); skips where Bochs cannot be had.
check-intel: all
	HVP_INTEL_OUT=$(CURDIR)/build/check/kvm-intel prove --timer tests/e2e/intel.sh

# The tests of the tests: the KVM suites' checks on empty, truncated and
# flipped outputs made from the real ones kept in build/check, where every
# check must fail (tests/e2e/checks-fail.sh).
check-checks: all
	prove --timer tests/e2e/checks-fail.sh

# docs/contracts.md: every contract side by side, generated, never stale.
CONTRACTS := kvm-x86_64=contracts/kvm.ini kvm-arm64=contracts/kvm.ini+contracts/kvm-arm64.ini \
	hvf-x86_64=contracts/hvf.ini hvf-arm64=contracts/hvf.ini+contracts/hvf-arm64.ini

$(BUILD)/tools/contract-doc: tools/contract_doc.c $(BUILD)/libhvprobe.a
	@mkdir -p $(dir $@)
	$(CC) $(HVP_CPPFLAGS) $(CPPFLAGS) $(HVP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(HVP_LDLIBS) $(LDLIBS)

docs: $(BUILD)/tools/contract-doc matrix-example
	$< $(CONTRACTS) >docs/contracts.md

# docs/examples/matrix.md: the x86_64 and arm64 runs kept in docs/examples/matrix
# (each made once with tests/vm/hvprobe-in-qemu{,-arm64} -f json) side by side.
# Exit 1 from hvprobe matrix says their answers differ, as they do.
MATRIX_RUNS := docs/examples/matrix/kvm-x86_64.json docs/examples/matrix/kvm-arm64.json
MATRIX = ./hvprobe matrix -f markdown $(MATRIX_RUNS)
matrix-example: hvprobe
	$(MATRIX) -o docs/examples/matrix.md || [ $$? = 1 ]

check-docs: $(BUILD)/tools/contract-doc hvprobe
	@$< $(CONTRACTS) | diff -u docs/contracts.md - >/dev/null && echo "docs/contracts.md: up to date" || \
		{ echo "docs/contracts.md is stale: run 'make docs'"; exit 1; }
	@if [ -z "$(JSONC_H)" ]; then echo "docs/examples/matrix.md: skipped, hvprobe is built without json-c"; \
	else { $(MATRIX); [ $$? = 1 ]; } | diff -u docs/examples/matrix.md - >build/matrix-example.diff && \
		test -s docs/examples/matrix.md && echo "docs/examples/matrix.md: up to date" || \
		{ head -40 build/matrix-example.diff; echo "docs/examples/matrix.md is stale: run 'make matrix-example'"; exit 1; }; fi

# The systemd units and the Debian package: systemd-analyze verify, and
# dpkg-buildpackage in a copy of the tree, then lintian (each skipped, saying
# why, where its tools are missing).
check-systemd: hvprobe
	prove --timer tests/packaging/systemd.sh

check-deb:
	prove --timer tests/packaging/deb.sh

# The JSON report reader under libFuzzer (clang), with ASan and UBSan.
# `make fuzz` mutates for FUZZ_SECONDS (new inputs in build/fuzz/corpus);
# `make check-fuzz` replays the kept corpus, then mutates for a few seconds.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := src/report_read.c src/output.c src/diff.c src/matrix.c src/cpu_model.c src/cpu_model_out.c src/cpu_model_read.c src/migration.c src/baseline.c src/finding.c src/stats.c src/backend.c src/contract.c \
	src/report.c src/report_text.c src/report_json.c src/report_tap.c src/report_markdown.c \
	src/report_junit.c src/report_prometheus.c src/report_html.c src/report_nfd.c
FUZZ_BIN := build/fuzz/fuzz_report_read

$(FUZZ_BIN): tests/fuzz/fuzz_report_read.c $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang $(HVP_CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $^ -ljson-c -lm

fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/report.dict build/fuzz/corpus tests/fuzz/corpus

check-fuzz:
	@mkdir -p build/fuzz
	@if ! command -v clang >/dev/null || [ -z "$(JSONC_H)" ]; then \
		echo "fuzz: skipped, needs clang and json-c"; \
	elif ! $(MAKE) --no-print-directory $(FUZZ_BIN) >/dev/null 2>build/fuzz.log; then \
		echo "fuzz: skipped, libFuzzer is missing (Debian: libclang-rt-14-dev)"; cat build/fuzz.log; \
	else \
		$(FUZZ_BIN) tests/fuzz/corpus/* 2>build/fuzz.log && rm -rf build/fuzz/check && mkdir -p build/fuzz/check && \
		$(FUZZ_BIN) -max_total_time=5 -dict=tests/fuzz/report.dict build/fuzz/check tests/fuzz/corpus 2>>build/fuzz.log && \
		echo "fuzz: the corpus and 5 s of mutations ran without a crash" || { tail -40 build/fuzz.log; exit 1; }; \
	fi

check-unit: $(UNIT_BINS)
	prove --timer $(UNIT_BINS)

# The end-to-end tests. kvm.sh runs its batch of hvprobe runs on real x86_64
# KVM: /dev/kvm where a guest runs there, otherwise one boot of a VM in QEMU.
# pagesize.sh runs the suite again in 16 KiB pages, on /dev/kvm only.
E2E := tests/e2e/cli.sh tests/e2e/diff.sh tests/e2e/fleet.sh tests/e2e/kvm.sh tests/e2e/pagesize.sh
check-e2e: all
	HVP_KVM_OUT=$(CURDIR)/build/check/kvm-x86_64 prove --timer $(E2E)

# The x86_64 KVM suite alone.
check-kvm: all
	HVP_KVM_OUT=$(CURDIR)/build/check/kvm-x86_64 prove --timer tests/e2e/kvm.sh

# The unit tests and the end-to-end tests again, built with the sanitizers
# (LeakSanitizer where the platform has it: not on macOS).
ASAN_LEAKS := detect_leaks=$(if $(filter Linux,$(UNAME_S)),1,0)
check-asan:
	$(MAKE) --no-print-directory BUILD=build/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" build/asan/hvprobe $(addprefix build/asan/tests/,$(UNIT_TESTS))
	ASAN_OPTIONS=$(ASAN_LEAKS):abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		prove --timer $(addprefix build/asan/tests/,$(UNIT_TESTS))
	ASAN_OPTIONS=$(ASAN_LEAKS) UBSAN_OPTIONS=print_stacktrace=1 HVPROBE=build/asan/hvprobe \
		prove --timer $(E2E)

# The whole build again with clang: warning-free with both compilers.
check-clang:
	@if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory BUILD=build/clang CC=clang build/clang/hvprobe \
			$(addprefix build/clang/tests/,$(UNIT_TESTS)) && echo "clang build: warning-free"; \
	else echo "clang build: skipped, clang is not installed"; fi

# The x86_64 KVM suite inside QEMU (AMD SVM emulated, kvm_amd) even where
# /dev/kvm works here; see tests/vm/hvprobe-in-qemu.
check-vm: all
	HVP_KVM=qemu prove --timer tests/e2e/kvm.sh

install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1
	install -m 755 hvprobe $(DESTDIR)$(bindir)/hvprobe
	install -m 644 docs/hvprobe.1 $(DESTDIR)$(mandir)/man1/hvprobe.1

uninstall:
	rm -f $(DESTDIR)$(bindir)/hvprobe $(DESTDIR)$(mandir)/man1/hvprobe.1

clean:
	rm -rf build hvprobe $(SEED_NAMES)

# Keep objects of test programs: they are not temporary.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
