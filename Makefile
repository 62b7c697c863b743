# mpssl build contract: see README.md.
#   make                      Python environment + MicroPython checkout check + build/unix/micropython
#                             + the emulated boards when arm-none-eabi-gcc exists: the qemu board
#                             (build/qemu-MPS2_AN385) and the stm32 port's (build/stm32-QEMU_NETDUINO_PLUS_2)
#   make firmware PORT=unix   the unix binary (MBEDTLS_HEAP=gc: mbedTLS on the GC heap, build/unix-gc/;
#                             SANITIZE=1: with ASan and UBSan, build/sanitize/unix{,-gc}/)
#   make firmware PORT=p BOARD=b   build/<p>-<b>/firmware.* (qemu, rp2, stm32); make firmware-all: every board
#   make sizes                text/data/bss of every board's image against upstream's image of that board
#   make run-qemu             start the emulated board by hand (REPL on a pty, for mpremote)
#   make test                 the whole test suite
#   make test-sanitize        the device tests on the unix binaries built with SANITIZE=1; any report fails
#   make soak                 10,000 handshakes of every kind in one process (SOAK=n for another count)
#   make lossy                lossy and slow links, SEEDS seeds per DTLS direction (default 20), outcomes summed up
#   make fuzz                 random operation sequences (Hypothesis) for SECONDS seconds (default 600)
#   make fuzz-bytes           the libFuzzer harnesses (clang-14), SECONDS seconds each; crashes in build/fuzz/crashes/
#   make flash PORT=p BOARD=b DEVICE=d   write build/<p>-<b>/firmware.* to a real board (d: its serial port
#                             or USB serial number); skipped when the board runs that image, FORCE=1 flashes anyway
#   make micropython          clone MicroPython (pinned tag + the submodules the ports need)
#   make rp2040-bootrom       the RP2040 B1 bootrom the rp2040js target boots, from source (PICO_BOOTROM_SRC)
#   make bench                mpssl against the built-in tls on two GC-heap unix builds: bench/results.{md,png}
#   make clean

MICROPY_DIR ?= $(HOME)/.cache/mpssl/micropython
MICROPY_TAG ?= v1.28.0
MICROPY_URL ?= https://github.com/micropython/micropython.git
PORT ?= unix
MBEDTLS_HEAP ?= system
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= python3
PYTEST_ARGS ?=
SANITIZE ?=

# `make` alone builds `all`, whatever the port.mk files included below define first.
.DEFAULT_GOAL := all

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
BUILD_ROOT := $(ROOT)/build
MPY_CROSS := $(BUILD_ROOT)/mpy-cross/mpy-cross
MPSSL_SRC := $(wildcard $(ROOT)/usermod/mpssl/*.c $(ROOT)/usermod/mpssl/*.h $(ROOT)/usermod/mpssl/*.mk \
	$(ROOT)/ports-config/mbedtls/*.h $(ROOT)/ports-config/unix/*)
HAVE_MICROPY := $(wildcard $(MICROPY_DIR)/py/mpconfig.h)
HAVE_ARM_GCC := $(shell command -v arm-none-eabi-gcc 2>/dev/null)
HAVE_NPM := $(shell command -v npm 2>/dev/null)
RP2040JS_DIR := $(ROOT)/tools/rp2040js
# Submodules the ports need (lib/ paths of the MicroPython checkout).
MICROPY_SUBMODULES := lib/mbedtls lib/micropython-lib lib/pico-sdk lib/tinyusb lib/lwip \
	lib/cyw43-driver lib/btstack lib/stm32lib

ifeq ($(MBEDTLS_HEAP),gc)
UNIX_BUILD := $(BUILD_ROOT)/unix-gc
UNIX_HEAP_FLAGS := MPSSL_MBEDTLS_GC_HEAP=1 MPSSL_HOST_ENTROPY=1
else ifeq ($(MBEDTLS_HEAP),system)
UNIX_BUILD := $(BUILD_ROOT)/unix
UNIX_HEAP_FLAGS :=
else
$(error MBEDTLS_HEAP must be "system" (libc malloc) or "gc" (MicroPython's GC heap), not "$(MBEDTLS_HEAP)")
endif

# SANITIZE=1: the unix port with AddressSanitizer (plus LeakSanitizer) and UndefinedBehaviorSanitizer, as
# upstream's CI builds it (tools/ci.sh, CI_UNIX_OPTS_SANITIZE_ADDRESS and _UNDEFINED, there two separate
# builds, here one), with gcc:
# - --param asan-use-after-return=0: no "fake stack" frames on the heap for stack-use-after-return.
#   MicroPython's GC finds live objects by scanning the C stack conservatively; locals moved to fake
#   frames would be invisible to it and their objects freed while in use. (py/gc.c's gc_get_ptr is
#   no_sanitize_address, so the scan itself may read redzones.)
# - -fno-sanitize=nonnull-attribute: MicroPython passes NULL with a zero length to memcpy and friends.
# - -DMP_ASAN=1 -DMP_UBSAN=1: gcc < 14 cannot tell the code it is sanitizing; ports/unix/stack_size.h then
#   gives the threads and the main stack limit 4 times the room (sanitized frames are larger).
# - -fno-sanitize-recover=undefined: undefined behaviour ends the process like an ASan report does, even
#   when run by hand without UBSAN_OPTIONS (gcc's UBSan otherwise prints and carries on).
# - -fno-omit-frame-pointer: full stack traces in reports; STRIP= keeps the symbols (upstream's unix
#   Makefile strips the binary otherwise).
# Each build gets its own directory: build/sanitize/unix, build/sanitize/unix-gc (the gc-heap tests find
# the latter next to the former, as build/unix-gc is next to build/unix).
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize=nonnull-attribute -fno-sanitize-recover=undefined \
	--param asan-use-after-return=0
ifeq ($(SANITIZE),1)
UNIX_BUILD := $(BUILD_ROOT)/sanitize/$(notdir $(UNIX_BUILD))
UNIX_SANITIZE_FLAGS := CFLAGS_EXTRA="$(SANITIZE_FLAGS) -fno-omit-frame-pointer -DMP_ASAN=1 -DMP_UBSAN=1" \
	LDFLAGS_EXTRA="$(SANITIZE_FLAGS)" STRIP=
else ifneq ($(SANITIZE),)
$(error SANITIZE must be 1 (ASan and UBSan) or empty, not "$(SANITIZE)")
endif

# The unix port, built out of tree: BUILD= keeps objects here, the mpy-cross we build ourselves
# keeps the checkout untouched, MICROPY_PY_SSL=0 drops the built-in tls module (mpssl brings
# its own mbedTLS build), and the manifest leaves out micropython-lib's ssl.py.
UNIX_MAKE_ARGS := BUILD=$(UNIX_BUILD) PROG=micropython \
	USER_C_MODULES=$(ROOT)/usermod MICROPY_PY_SSL=0 MICROPY_PY_BTREE=0 \
	FROZEN_MANIFEST=$(ROOT)/ports-config/unix/manifest.py MICROPY_MPYCROSS=$(MPY_CROSS) \
	$(UNIX_HEAP_FLAGS) $(UNIX_SANITIZE_FLAGS)

.PHONY: all venv check-micropython micropython firmware firmware-unix firmware-all sizes test test-sanitize \
	soak lossy fuzz fuzz-bytes fuzz-bytes-build fuzz-bytes-corpus fuzz-bytes-toolchain clean help \
	rp2040-bootrom rp2040-bootrom-src

# Each MCU port brings its build rules in boards/<port>/port.mk: a target firmware-<port> that
# builds BOARD into $(BUILD_ROOT)/<port>-$(BOARD)/firmware.*, and its boards added to
# FIRMWARE_BOARDS as <port>:<BOARD> for `make firmware-all`.
FIRMWARE_BOARDS :=
-include $(wildcard $(ROOT)/boards/*/port.mk)

# The emulated boards `make` and `make test` build with an Arm toolchain: the qemu board, and the stm32
# port on QEMU's STM32F405 when the checkout has the stm32 port's lib/stm32lib (make micropython clones it).
HAVE_STM32LIB := $(wildcard $(MICROPY_DIR)/lib/stm32lib/STM32F4xx_HAL_Driver)
EMULATED_FIRMWARE := $(if $(HAVE_ARM_GCC),firmware-qemu $(if $(HAVE_STM32LIB),firmware-stm32-qemu,no-stm32lib))

# `make`: the Python environment, the unix binary and (with an Arm toolchain) the emulated boards.
all: venv firmware $(EMULATED_FIRMWARE)

.PHONY: firmware-stm32-qemu no-stm32lib
firmware-stm32-qemu:
	$(MAKE) firmware PORT=stm32 BOARD=QEMU_NETDUINO_PLUS_2
no-stm32lib:
	@echo "no $(MICROPY_DIR)/lib/stm32lib: the stm32-qemu board is not built and its tests skip (make micropython clones it)"

help:
	@sed -n '2,/^$$/{/^#/p}' $(ROOT)/Makefile

venv: $(VENV)/.installed

$(VENV)/.installed: $(ROOT)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '$(ROOT)[dev]'
	touch $@

check-micropython:
ifeq ($(HAVE_MICROPY),)
	@echo "No MicroPython checkout at $(MICROPY_DIR)." >&2
	@echo "mpssl builds against MicroPython $(MICROPY_TAG) with its lib/mbedtls and lib/micropython-lib" >&2
	@echo "submodules. Run 'make micropython' to clone it there (needs access to GitHub), or point" >&2
	@echo "MICROPY_DIR at an existing checkout of $(MICROPY_TAG) with those submodules filled," >&2
	@echo "e.g. 'make MICROPY_DIR=~/src/micropython'. Without it only the host-side tests run." >&2
	@exit 1
else
	@tag=$$(git -C $(MICROPY_DIR) describe --tags --exact-match 2>/dev/null || echo unknown); \
	if [ "$$tag" != "$(MICROPY_TAG)" ]; then \
		echo "warning: $(MICROPY_DIR) is at '$$tag', mpssl is tested against $(MICROPY_TAG)" >&2; fi
	@test -f $(MICROPY_DIR)/lib/mbedtls/include/mbedtls/ssl.h || { \
		echo "$(MICROPY_DIR)/lib/mbedtls is empty: run 'git -C $(MICROPY_DIR) submodule update --init lib/mbedtls'" >&2; \
		exit 1; }
endif

micropython:
	@if [ -f $(MICROPY_DIR)/py/mpconfig.h ]; then echo "MicroPython checkout present at $(MICROPY_DIR)"; \
	else git clone --depth 1 --branch $(MICROPY_TAG) $(MICROPY_URL) $(MICROPY_DIR) && \
		git -C $(MICROPY_DIR) submodule update --init --depth 1 $(MICROPY_SUBMODULES) || { \
		echo "Could not clone MicroPython $(MICROPY_TAG) into $(MICROPY_DIR)." >&2; \
		echo "Without network access, copy a checkout of $(MICROPY_TAG) there yourself (with the submodules" >&2; \
		echo "$(MICROPY_SUBMODULES)) or set MICROPY_DIR to one." >&2; exit 1; }; fi

firmware: firmware-$(PORT)

# text/data/bss of every board against the upstream image of the same board (each port.mk has a
# firmware-upstream-<port> target building it into build/upstream/<port>-<BOARD>).
sizes: venv check-micropython
	@set -e; for pb in $(FIRMWARE_BOARDS); do \
		$(MAKE) --no-print-directory firmware PORT=$${pb%%:*} BOARD=$${pb#*:} >/dev/null; \
		$(MAKE) --no-print-directory firmware-upstream-$${pb%%:*} BOARD=$${pb#*:} >/dev/null; done
	@$(VENV)/bin/python -m mpssl_hil.suites.sizes $(BUILD_ROOT) $(FIRMWARE_BOARDS)

# `make bench`: mpssl against upstream's built-in tls, on two unix binaries built from the same checkout
# with the same flags and mbedTLS on MicroPython's GC heap (the MCU ports' allocation mode); symbols kept
# (STRIP=) for callgrind's per-function profile.
# - build/bench/mpssl: as `make firmware PORT=unix MBEDTLS_HEAP=gc` (mpssl, no built-in tls, no ssl.py);
# - build/bench/builtin: plain upstream unix (built-in tls, micropython-lib's ssl.py frozen by the port's
#   own manifest), its mbedTLS configuration wrapped by bench/config/builtin_gc_heap.h to select the same
#   bare-metal heap hooks.
# The driver (tools/mpssl_hil/suites/bench.py) runs bench/scripts/ on both, under valgrind (callgrind) for
# instruction counts, and writes bench/results.md and bench/results.png. BENCH_ARGS="--quick" for a short run.
BENCH_BUILD := $(BUILD_ROOT)/bench
BENCH_ARGS ?=
BENCH_COMMON_ARGS := PROG=micropython MICROPY_PY_BTREE=0 MICROPY_MPYCROSS=$(MPY_CROSS) STRIP=
BENCH_BINARIES := $(BENCH_BUILD)/mpssl/micropython $(BENCH_BUILD)/builtin/micropython
# The emulated MCU's pair (with an Arm toolchain): the qemu board with mpssl, and the same board with the
# built-in tls + ssl.py (its mpconfigboard.mk, MPSSL_BUILTIN_TLS=1), run under QEMU's -icount.
BENCH_QEMU_IMAGES := $(if $(HAVE_ARM_GCC),$(BENCH_BUILD)/qemu-mpssl/firmware.elf $(BENCH_BUILD)/qemu-builtin/firmware.elf)
BENCH_QEMU_ARGS := BOARD=MPS2_AN385 BOARD_DIR=$(ROOT)/boards/qemu/MPS2_AN385 MICROPY_MPYCROSS=$(MPY_CROSS)

.PHONY: bench bench-build
bench-build: check-micropython $(BENCH_BINARIES) $(BENCH_QEMU_IMAGES)

$(BENCH_BUILD)/qemu-mpssl/firmware.elf: $(MPY_CROSS) $(MPSSL_SRC) $(wildcard $(ROOT)/boards/qemu/MPS2_AN385/*)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu $(BENCH_QEMU_ARGS) BUILD=$(BENCH_BUILD)/qemu-mpssl \
		USER_C_MODULES=$(ROOT)/usermod -j$(JOBS)

$(BENCH_BUILD)/qemu-builtin/firmware.elf: $(MPY_CROSS) $(wildcard $(ROOT)/boards/qemu/MPS2_AN385/*)
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu $(BENCH_QEMU_ARGS) BUILD=$(BENCH_BUILD)/qemu-builtin \
		MPSSL_BUILTIN_TLS=1 -j$(JOBS)

$(BENCH_BUILD)/mpssl/micropython: $(MPY_CROSS) $(MPSSL_SRC)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix BUILD=$(BENCH_BUILD)/mpssl $(BENCH_COMMON_ARGS) \
		USER_C_MODULES=$(ROOT)/usermod MICROPY_PY_SSL=0 FROZEN_MANIFEST=$(ROOT)/ports-config/unix/manifest.py \
		MPSSL_MBEDTLS_GC_HEAP=1 MPSSL_HOST_ENTROPY=1 -j$(JOBS)

$(BENCH_BUILD)/builtin/micropython: $(MPY_CROSS) $(ROOT)/bench/config/builtin_gc_heap.h
	$(MAKE) -C $(MICROPY_DIR)/ports/unix BUILD=$(BENCH_BUILD)/builtin $(BENCH_COMMON_ARGS) \
		MBEDTLS_CONFIG_FILE='\"builtin_gc_heap.h\"' CFLAGS_EXTRA=-I$(ROOT)/bench/config -j$(JOBS)

bench: venv bench-build
	@$(VENV)/bin/python -c 'import matplotlib' 2>/dev/null || $(VENV)/bin/pip install --quiet -e '$(ROOT)[dev,bench]'
	$(VENV)/bin/python -m mpssl_hil.suites.bench --build-root $(BUILD_ROOT) --out $(ROOT)/bench $(BENCH_ARGS)

# Every board this machine can build (ESP32 needs ESP-IDF, which is not part of firmware-all).
firmware-all: check-micropython
	@set -e; for pb in $(FIRMWARE_BOARDS); do \
		echo "== $${pb%%:*} $${pb#*:}"; \
		$(MAKE) --no-print-directory firmware PORT=$${pb%%:*} BOARD=$${pb#*:}; done

firmware-unix: check-micropython $(UNIX_BUILD)/micropython

$(MPY_CROSS): | check-micropython
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross BUILD=$(BUILD_ROOT)/mpy-cross -j$(JOBS)

$(UNIX_BUILD)/micropython: $(MPY_CROSS) $(MPSSL_SRC)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix $(UNIX_MAKE_ARGS) -j$(JOBS)

# The suite builds what it can: with a checkout, both unix builds and (with an Arm toolchain) the
# emulated qemu board; the tests that need what could not be built skip with a one-line reason.
# The rp2040js emulator (npm package pinned in tools/rp2040js); its target skips without a bootrom
# (make rp2040-bootrom) or build/rp2-RPI_PICO_W.
$(RP2040JS_DIR)/node_modules/.package-lock.json: $(RP2040JS_DIR)/package-lock.json
	npm ci --prefix $(RP2040JS_DIR) --no-audit --no-fund

# The RP2040 B1 bootrom the rp2040js target boots, built from its source (tools/rp2040js/README.md):
# raspberrypi/pico-bootrom-rp2040 at tag b1 in PICO_BOOTROM_SRC, with its pico_sdk submodule at the commit
# b1 pins. `make rp2040-bootrom-src` clones it there when absent; a PICO_BOOTROM_SRC that holds a checkout
# is used as it is. pico_sdk comes from PICO_SDK_URL when given, else from MicroPython's lib/pico-sdk when
# that clone holds the pinned commit, else from the URL in .gitmodules. Without GitHub, pass
# PICO_BOOTROM_URL=<a local clone> (docs/emulated-boards.md). `make rp2040-bootrom` builds it with the
# size fixes of tools/rp2040js/bootrom-fit.cmake (the checkout is not changed) into
# build/rp2040-bootrom/b1-bootrom.bin, which the runner boots unless MPSSL_RP2040_BOOTROM or
# --rp2040-bootrom names another image. Never commit that image.
PICO_BOOTROM_SRC ?= $(HOME)/.cache/mpssl/pico-bootrom-rp2040
PICO_BOOTROM_URL ?= https://github.com/raspberrypi/pico-bootrom-rp2040.git
PICO_BOOTROM_TAG ?= b1
PICO_SDK_URL ?=
RP2040_BOOTROM_BUILD := $(BUILD_ROOT)/rp2040-bootrom
RP2040_BOOTROM := $(RP2040_BOOTROM_BUILD)/b1-bootrom.bin

rp2040-bootrom-src:
	@set -e; src='$(PICO_BOOTROM_SRC)'; \
	if [ ! -f "$$src/CMakeLists.txt" ]; then \
		git -c advice.detachedHead=false clone --branch $(PICO_BOOTROM_TAG) '$(PICO_BOOTROM_URL)' "$$src" || { \
		echo "Could not clone $(PICO_BOOTROM_URL) (tag $(PICO_BOOTROM_TAG)) into $$src. Without GitHub," >&2; \
		echo "pass PICO_BOOTROM_URL=<a local clone of it>, or set PICO_BOOTROM_SRC to a checkout." >&2; exit 1; }; fi; \
	tag=$$(git -C "$$src" describe --tags --exact-match 2>/dev/null || echo unknown); \
	[ "$$tag" = '$(PICO_BOOTROM_TAG)' ] || echo "warning: $$src is at '$$tag', not $(PICO_BOOTROM_TAG)" >&2; \
	if [ ! -f "$$src/pico_sdk/pico_sdk_init.cmake" ]; then \
		pin=$$(git -C "$$src" rev-parse HEAD:pico_sdk); url='$(PICO_SDK_URL)'; \
		if [ -z "$$url" ] && git -C '$(MICROPY_DIR)/lib/pico-sdk' cat-file -e "$$pin^{commit}" 2>/dev/null; then \
			url='$(MICROPY_DIR)/lib/pico-sdk'; fi; \
		git -C "$$src" submodule init pico_sdk; \
		if [ -n "$$url" ]; then git -C "$$src" config submodule.pico_sdk.url "$$url"; fi; \
		git -C "$$src" -c protocol.file.allow=always submodule update pico_sdk || { \
		echo "Could not fill $$src/pico_sdk with pico-sdk $$pin. Without GitHub, pass" >&2; \
		echo "PICO_SDK_URL=<a pico-sdk clone that holds that commit>." >&2; exit 1; }; fi

# The ROM is 16 KiB: the linker script pads the image to that, and fails when the code is larger.
rp2040-bootrom: rp2040-bootrom-src
	@command -v cmake >/dev/null && test -n "$(HAVE_ARM_GCC)" || { \
		echo "make rp2040-bootrom needs cmake and arm-none-eabi-gcc (Debian: cmake gcc-arm-none-eabi)" >&2; exit 1; }
	@mkdir -p $(RP2040_BOOTROM_BUILD)
	@echo "building the RP2040 B1 bootrom from $(PICO_BOOTROM_SRC) (log: $(RP2040_BOOTROM_BUILD)/build.log)"
	@set -e; log=$(RP2040_BOOTROM_BUILD)/build.log; \
	{ cmake -S '$(PICO_BOOTROM_SRC)' -B $(RP2040_BOOTROM_BUILD)/cmake \
		-DCMAKE_PROJECT_pico_bootrom_INCLUDE=$(RP2040JS_DIR)/bootrom-fit.cmake && \
	  GIT_DIR=$$(git -C '$(PICO_BOOTROM_SRC)' rev-parse --absolute-git-dir) \
		cmake --build $(RP2040_BOOTROM_BUILD)/cmake --target bootrom -j$(JOBS); } >$$log 2>&1 || { \
		tail -n 20 $$log >&2; \
		if grep -q "region .ROM' overflowed" $$log; then \
		echo "The bootrom is larger than the RP2040's 16 KiB ROM with arm-none-eabi-gcc" \
			"$$(arm-none-eabi-gcc -dumpfullversion), even with the fixes of tools/rp2040js/bootrom-fit.cmake" \
			"(the linker pads to 16 KiB, so its 'overflowed by' is not the excess)." >&2; fi; \
		echo "make rp2040-bootrom failed; the whole log is $$log" >&2; exit 1; }
	@set -e; elf=$(RP2040_BOOTROM_BUILD)/cmake/bootrom.elf; bin=$(RP2040_BOOTROM_BUILD)/cmake/bootrom.bin; \
	used=$$(( 0x$$(arm-none-eabi-nm $$elf | awk '$$3 == "this_is_the_end_my_only_friend_the_end" {print $$1}') )); \
	size=$$(wc -c <$$bin); \
	if [ $$used -gt 16384 ] || [ $$size -ne 16384 ]; then \
		echo "$$bin is not a 16 KiB ROM image: $$used bytes of code and data, a $$size-byte file" >&2; exit 1; fi; \
	cp $$bin $(RP2040_BOOTROM); \
	echo "$(RP2040_BOOTROM): $$used of 16384 bytes used, $$((16384 - used)) to spare"

test: venv $(if $(HAVE_NPM),$(RP2040JS_DIR)/node_modules/.package-lock.json)
ifneq ($(HAVE_MICROPY),)
	$(MAKE) firmware PORT=unix MBEDTLS_HEAP=system
	$(MAKE) firmware PORT=unix MBEDTLS_HEAP=gc
	$(MAKE) $(BENCH_BUILD)/builtin/micropython
ifneq ($(HAVE_ARM_GCC),)
	$(MAKE) $(EMULATED_FIRMWARE) $(BENCH_BUILD)/qemu-builtin/firmware.elf
endif
endif
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The device tests on the SANITIZE=1 builds, unix target only. A report ends the process that wrote it
# (halt_on_error; abort_on_error: SIGABRT, a non-zero exit RunResult.check() fails on), and the plugin
# tools/mpssl_hil/suites/sanitizers.py fails the test during which any process wrote one (ASan/LSan: to
# build/sanitize/reports/<test>/, UBSan: to the run's stderr), so a report counts even where a test accepts a
# failing run, kills a script, reads only stdout or expects an upstream test to fail. Each run's files stay
# in build/sanitize/pytest (--basetemp). LeakSanitizer stays on, as in upstream's CI. Left out:
# - the valgrind tests: valgrind cannot run an ASan binary, whose own checks cover the same ground;
# - test_builtin_tls_module_is_compiled_out: ASan puts its constructor (__asan_init) into every object
#   file, even the empty modtls_mbedtls.o that test requires to define nothing (make test checks it).
# verify_asan_link_order=0: the shifted-clock tests preload libfaketime, and gcc's shared ASan runtime
# refuses to start when it is not first in the library list (linked statically, -static-libasan, it
# deadlocks with libfaketime at start-up instead).
SANITIZE_ASAN_OPTIONS ?= detect_stack_use_after_return=0:halt_on_error=1:abort_on_error=1:detect_leaks=1:verify_asan_link_order=0
SANITIZE_UBSAN_OPTIONS ?= halt_on_error=1:abort_on_error=1:print_stacktrace=1
# The long forms of what `make test` runs briefly: the soak on the GC-heap unix build (and the
# qemu board's short version), and the operation-sequence fuzzer on the unix build.
SOAK ?= 10000
SECONDS ?= 600
soak: venv check-micropython
	$(MAKE) firmware PORT=unix MBEDTLS_HEAP=gc
	MPSSL_SOAK_HANDSHAKES=$(SOAK) $(VENV)/bin/pytest -k 'unix' $(PYTEST_ARGS) $(ROOT)/tests/device/test_soak.py

# The lossy- and slow-link tests (tests/device/test_lossy_links.py; `make test` runs 3 seeds) with SEEDS seeds per
# DTLS direction on LOSSY_TARGET (unix; qemu works too, slower), and a DTLS handshake that hears nothing back
# (MPSSL_LOSSY_BLACKOUT=1: mbedTLS gives up after about two minutes). Each seed's outcome goes to
# build/lossy/results.jsonl, summed up per direction at the end (completed / timed out / other), pass or fail.
SEEDS ?= 20
LOSSY_TARGET ?= unix
lossy: venv check-micropython
	$(MAKE) firmware PORT=unix
	@mkdir -p $(BUILD_ROOT)/lossy && rm -f $(BUILD_ROOT)/lossy/results.jsonl
	MPSSL_LOSSY_SEEDS=$(SEEDS) MPSSL_LOSSY_BLACKOUT=1 MPSSL_LOSSY_REPORT=$(BUILD_ROOT)/lossy/results.jsonl \
		$(VENV)/bin/pytest \
		--target $(LOSSY_TARGET) $(PYTEST_ARGS) $(ROOT)/tests/device/test_lossy_links.py; rc=$$?; \
	$(VENV)/bin/python -m mpssl_hil.suites.lossy $(BUILD_ROOT)/lossy/results.jsonl; exit $$rc

fuzz: venv check-micropython
	$(MAKE) firmware PORT=unix
	@end=$$(( $$(date +%s) + $(SECONDS) )); batch=0; \
	while [ $$(date +%s) -lt $$end ]; do batch=$$((batch + 1)); echo "== fuzz batch $$batch"; \
		MPSSL_API_SEQUENCES=200 $(VENV)/bin/pytest -q -p no:cacheprovider --hypothesis-show-statistics \
			$(PYTEST_ARGS) $(ROOT)/tests/device/test_api_sequences.py || exit 1; done; \
	echo "fuzz: $$batch batches of 200 operation sequences, no failure"

# The byte-level fuzzers: libFuzzer harnesses (tools/fuzz/) that run mpssl in-process through the
# MicroPython interpreter, one binary per driver: build/fuzz/fuzz-certs (certificate and key loading,
# getpeercert), fuzz-ciphers (set_ciphers and the API's arguments), fuzz-handshake (the handshake and
# record layer as the peer drives them). The unix port's objects (mpssl, the checkout's lib/mbedtls,
# the core), built with clang-14 into build/fuzz/unix and linked with tools/fuzz/harness.c instead of
# the port's main() (tools/fuzz/fuzz.mk); the frozen driver module is tools/fuzz/mpssl_fuzz.py.
# - -fsanitize=fuzzer-no-link,address,undefined, as SANITIZE=1 with clang's spelling:
#   -fsanitize-address-use-after-return=never keeps locals on the real stack, where the GC's
#   conservative scan finds them; -O1 with assert() enabled (no NDEBUG). Two core checks are left out
#   (tools/fuzz/sanitizer-ignorelist.txt): ASan in the GC's stack scan, pointer-overflow in py/.
# - Coverage instrumentation only in mpssl and mbedTLS (tools/fuzz/coverage-allowlist.txt).
# - mbedTLS entropy and clock are fixed (MBEDTLS_ENTROPY_HARDWARE_ALT, MBEDTLS_NO_PLATFORM_ENTROPY and
#   MBEDTLS_PLATFORM_TIME_ALT, served by harness.c) so that an input does the same every time and a
#   recorded handshake replays; FUZZ_EPOCH is that clock, and the fuzz PKI is generated for it.
# Seeds: `fuzz-bytes-corpus` generates the PKI into build/fuzz/data (mpssl_hil.certs) and has each
# binary write its seeds into build/fuzz/corpus/<harness>/ (seed-NNNN; the handshake seeds are
# recorded handshakes between two mpssl sockets). `fuzz-bytes` runs each harness (FUZZ_HARNESSES=...
# for some) for SECONDS seconds after replaying tests/fuzz/regressions/<harness>/; a crash, sanitizer
# report, leak, out-of-memory or timeout fails the target and leaves its input in
# build/fuzz/crashes/<harness>/ (a timeout that replays in time three times is put in .../unreproduced/
# and does not fail: the timeout is wall-clock time). `make test` runs each for a few seconds
# (tests/fuzz/test_fuzz_bytes.py). Unlike `make fuzz`, these need clang-14 and libFuzzer.
FUZZ_CC ?= clang-14
FUZZ_ROOT := $(BUILD_ROOT)/fuzz
FUZZ_HARNESSES ?= certs ciphers handshake
FUZZ_EPOCH := 1767225600
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined -fsanitize-address-use-after-return=never \
	-fno-sanitize=nonnull-attribute -fno-sanitize-recover=undefined
FUZZ_MAKE_ARGS := BUILD=$(FUZZ_ROOT)/unix PROG=micropython CC=$(FUZZ_CC) COPT="-O1 -fdata-sections -ffunction-sections" \
	USER_C_MODULES=$(ROOT)/usermod MICROPY_PY_SSL=0 MICROPY_PY_BTREE=0 \
	FROZEN_MANIFEST=$(ROOT)/tools/fuzz/manifest.py MICROPY_MPYCROSS=$(MPY_CROSS) STRIP= \
	CFLAGS_EXTRA="$(FUZZ_SANITIZE) -fno-omit-frame-pointer -DMP_UBSAN=1 \
		-fsanitize-coverage-allowlist=$(ROOT)/tools/fuzz/coverage-allowlist.txt \
		-fsanitize-ignorelist=$(ROOT)/tools/fuzz/sanitizer-ignorelist.txt \
		-DMBEDTLS_ENTROPY_HARDWARE_ALT -DMBEDTLS_NO_PLATFORM_ENTROPY -DMBEDTLS_PLATFORM_TIME_ALT" \
	LDFLAGS_EXTRA="$(FUZZ_SANITIZE)" \
	MPSSL_FUZZ_OUT=$(FUZZ_ROOT) MPSSL_FUZZ_DATA=$(FUZZ_ROOT)/data MPSSL_FUZZ_EPOCH=$(FUZZ_EPOCH) \
	MPSSL_FUZZ_HARNESSES="$(FUZZ_HARNESSES)"
FUZZ_RUN := $(VENV)/bin/python -m mpssl_hil.suites.fuzz_bytes --fuzz-dir $(FUZZ_ROOT) --epoch $(FUZZ_EPOCH)

fuzz-bytes-toolchain:
	@$(VENV)/bin/python -m mpssl_hil.suites.fuzz_bytes --cc $(FUZZ_CC) toolchain

fuzz-bytes-build: venv check-micropython fuzz-bytes-toolchain $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -f Makefile -f $(ROOT)/tools/fuzz/fuzz.mk $(FUZZ_MAKE_ARGS) \
		-j$(JOBS) mpssl-fuzz

fuzz-bytes-corpus: fuzz-bytes-build
	$(FUZZ_RUN) corpus $(FUZZ_HARNESSES)

fuzz-bytes: fuzz-bytes-corpus
	$(FUZZ_RUN) run --seconds $(SECONDS) $(FUZZ_HARNESSES)

test-sanitize: venv check-micropython
	$(MAKE) firmware PORT=unix SANITIZE=1 MBEDTLS_HEAP=system
	$(MAKE) firmware PORT=unix SANITIZE=1 MBEDTLS_HEAP=gc
	ASAN_OPTIONS='$(SANITIZE_ASAN_OPTIONS)' UBSAN_OPTIONS='$(SANITIZE_UBSAN_OPTIONS)' \
		$(VENV)/bin/pytest -p mpssl_hil.suites.sanitizers --sanitizer-reports=$(BUILD_ROOT)/sanitize/reports \
		--basetemp=$(BUILD_ROOT)/sanitize/pytest \
		--target unix --micropython $(BUILD_ROOT)/sanitize/unix/micropython -m 'not valgrind' \
		--deselect tests/device/test_api.py::test_builtin_tls_module_is_compiled_out \
		$(PYTEST_ARGS) $(ROOT)/tests/device

# A real board, with mpssl-flash (tools/mpssl_hil/flash/): esptool, picotool or the UF2 drive, dfu-util
# or st-flash by PORT; it keeps a sha256 per board in ~/.cache/mpssl/flashed.json to skip unchanged images.
ifneq ($(filter flash,$(MAKECMDGOALS)),)
ifeq ($(DEVICE),)
$(error make flash needs DEVICE=<serial port or USB serial number>, e.g. make flash PORT=rp2 BOARD=RPI_PICO_W DEVICE=/dev/ttyACM0)
endif
ifeq ($(BOARD),)
$(error make flash needs BOARD=<board>: it flashes build/$(PORT)-<BOARD>/firmware.*)
endif
endif

.PHONY: flash
flash: venv
	$(VENV)/bin/mpssl-flash --device '$(DEVICE)' --family $(PORT) --board $(BOARD) \
		--build-dir $(BUILD_ROOT)/$(PORT)-$(BOARD)$(if $(FORCE), --force)

clean:
	rm -rf $(BUILD_ROOT)
