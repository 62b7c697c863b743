# rp2 boards (included by the top Makefile).
#   make firmware PORT=rp2 [BOARD=RPI_PICO_W|RPI_PICO2_W]   build/rp2-<BOARD>/firmware.{elf,uf2,bin}
#   make firmware-upstream-rp2 [BOARD=...]  upstream's board of the same name, for `make sizes`
#                                           (build/upstream/rp2-<BOARD>/firmware.*)
#   make picotool     clone picotool $(PICOTOOL_TAG) into PICOTOOL_SRC (if absent) and install it
#
# The port is built out of tree with its own make wrapper around CMake: BOARD_DIR= one of
# boards/rp2/, USER_C_MODULES= usermod/micropython.cmake, BUILD= build/rp2-<BOARD>, and our
# mpy-cross (MICROPY_MPYCROSS in the environment).
#
# The pico-sdk needs picotool (for .uf2 and RP2350 images) as a CMake package. In this order:
#   1. picotool_DIR (environment or command line): the directory of picotoolConfig.cmake;
#   2. a `picotool` on PATH installed with its CMake package (<prefix>/lib/cmake/picotool);
#   3. our own install in PICOTOOL_PREFIX (what `make picotool` produces);
#   4. a source checkout in PICOTOOL_SRC: built into PICOTOOL_BUILD and installed there.
# Without any of these the build stops and says how to get one.

FIRMWARE_BOARDS += rp2:RPI_PICO_W rp2:RPI_PICO2_W

# Only a BOARD given by the user counts (another port.mk may set its own default).
RP2_BOARD = $(if $(filter command line environment environment override,$(origin BOARD)),$(BOARD),RPI_PICO_W)
RP2_BOARD_DIR = $(ROOT)/boards/rp2/$(RP2_BOARD)
RP2_BUILD = $(BUILD_ROOT)/rp2-$(RP2_BOARD)

PICOTOOL_TAG ?= 2.2.0
PICOTOOL_URL ?= https://github.com/raspberrypi/picotool.git
PICOTOOL_SRC ?= $(HOME)/.cache/mpssl/picotool-src
PICOTOOL_BUILD ?= $(HOME)/.cache/mpssl/picotool-build
PICOTOOL_PREFIX ?= $(HOME)/.cache/mpssl/picotool

# The directory holding picotoolConfig.cmake of a usable picotool, empty if none (looked up
# when a recipe runs, so a picotool installed by an earlier prerequisite is seen).
RP2_PICOTOOL_DIR = $(shell \
	if [ -n "$(picotool_DIR)" ]; then echo "$(picotool_DIR)"; exit 0; fi; \
	bin=$$(command -v picotool 2>/dev/null); \
	for d in $${bin:+$$(dirname $$bin)/../lib/cmake/picotool $$(dirname $$bin)/../lib/*/cmake/picotool} \
		$(PICOTOOL_PREFIX)/lib/cmake/picotool; do \
		if [ -f "$$d/picotoolConfig.cmake" ]; then cd "$$d" && pwd; exit 0; fi; done)

.PHONY: firmware-rp2 firmware-upstream-rp2 picotool picotool-ready picotool-install

firmware-rp2: check-micropython $(MPY_CROSS) picotool-ready
	@test -d $(RP2_BOARD_DIR) || { echo "No rp2 board $(RP2_BOARD) in $(ROOT)/boards/rp2 (have: $(notdir $(patsubst %/,%,$(dir $(wildcard $(ROOT)/boards/rp2/*/mpconfigboard.cmake)))))" >&2; exit 1; }
	@test -f $(MICROPY_DIR)/lib/pico-sdk/pico_sdk_init.cmake || { \
		echo "$(MICROPY_DIR)/lib/pico-sdk is empty: run 'git -C $(MICROPY_DIR) submodule update --init lib/pico-sdk lib/tinyusb lib/lwip lib/cyw43-driver lib/btstack'" >&2; exit 1; }
	MICROPY_MPYCROSS=$(MPY_CROSS) picotool_DIR=$(RP2_PICOTOOL_DIR) \
		$(MAKE) -C $(MICROPY_DIR)/ports/rp2 BOARD_DIR=$(RP2_BOARD_DIR) BUILD=$(RP2_BUILD) \
		USER_C_MODULES=$(ROOT)/usermod/micropython.cmake -j$(JOBS)
	@for f in firmware.elf firmware.uf2 firmware.bin; do \
		test -f $(RP2_BUILD)/$$f || { echo "rp2 build finished without $(RP2_BUILD)/$$f" >&2; exit 1; }; done
	@echo "rp2 $(RP2_BOARD): $(RP2_BUILD)/firmware.elf, firmware.uf2, firmware.bin"

# The upstream board of the same hardware, from the same checkout, for `make sizes`.
firmware-upstream-rp2: check-micropython $(MPY_CROSS) picotool-ready
	MICROPY_MPYCROSS=$(MPY_CROSS) picotool_DIR=$(RP2_PICOTOOL_DIR) \
		$(MAKE) -C $(MICROPY_DIR)/ports/rp2 BOARD=$(RP2_BOARD) BUILD=$(BUILD_ROOT)/upstream/rp2-$(RP2_BOARD) -j$(JOBS)

# A picotool for the pico-sdk, or a plain explanation of how to get one.
picotool-ready:
	@if [ -n "$(picotool_DIR)" ] && [ ! -f "$(picotool_DIR)/picotoolConfig.cmake" ] && \
		[ ! -f "$(picotool_DIR)/picotool-config.cmake" ]; then \
		echo "picotool_DIR=$(picotool_DIR) holds no picotoolConfig.cmake: point it at <prefix>/lib/cmake/picotool" \
			"of an installed picotool, or unset it to use PATH, $(PICOTOOL_PREFIX) or PICOTOOL_SRC" >&2; exit 1; \
	elif [ -n "$(RP2_PICOTOOL_DIR)" ]; then echo "picotool: $(RP2_PICOTOOL_DIR)"; \
	elif [ -f $(PICOTOOL_SRC)/CMakeLists.txt ]; then $(MAKE) --no-print-directory picotool-install; \
	else \
		echo "No picotool found. The rp2 build (pico-sdk) needs picotool >= 2.1.1 as a CMake package. Either:" >&2; \
		echo "  - run 'make picotool' (clones $(PICOTOOL_URL) tag $(PICOTOOL_TAG) into $(PICOTOOL_SRC)," >&2; \
		echo "    needs network, libusb-1.0-0-dev and pkg-config) and builds it into $(PICOTOOL_PREFIX);" >&2; \
		echo "  - or put a picotool source checkout at PICOTOOL_SRC=... (it is built for you);" >&2; \
		echo "  - or set picotool_DIR to the directory of an installed picotoolConfig.cmake" >&2; \
		echo "    (e.g. <prefix>/lib/cmake/picotool of a 'cmake --install' of picotool)." >&2; \
		exit 1; fi

picotool:
	@if [ ! -f $(PICOTOOL_SRC)/CMakeLists.txt ]; then \
		git clone --depth 1 --branch $(PICOTOOL_TAG) $(PICOTOOL_URL) $(PICOTOOL_SRC) || { \
		echo "Could not clone picotool $(PICOTOOL_TAG) into $(PICOTOOL_SRC). Without network access, put a" >&2; \
		echo "picotool $(PICOTOOL_TAG) source checkout there (or set PICOTOOL_SRC), or set picotool_DIR to an" >&2; \
		echo "installed picotool's CMake package directory." >&2; exit 1; }; fi
	@$(MAKE) --no-print-directory picotool-install

# Build picotool from PICOTOOL_SRC against the checkout's pico-sdk; install into PICOTOOL_PREFIX.
picotool-install: check-micropython
	@tag=$$(git -C $(PICOTOOL_SRC) describe --tags --exact-match 2>/dev/null || echo unknown); \
	if [ "$$tag" != "$(PICOTOOL_TAG)" ]; then \
		echo "warning: $(PICOTOOL_SRC) is at '$$tag', mpssl builds with picotool $(PICOTOOL_TAG)" >&2; fi
	cmake -S $(PICOTOOL_SRC) -B $(PICOTOOL_BUILD) -DCMAKE_BUILD_TYPE=Release \
		-DPICO_SDK_PATH=$(MICROPY_DIR)/lib/pico-sdk -DCMAKE_INSTALL_PREFIX=$(PICOTOOL_PREFIX)
	cmake --build $(PICOTOOL_BUILD) -j$(JOBS)
	cmake --install $(PICOTOOL_BUILD)
	@test -f $(PICOTOOL_PREFIX)/lib/cmake/picotool/picotoolConfig.cmake || { \
		echo "picotool built, but $(PICOTOOL_PREFIX)/lib/cmake/picotool/picotoolConfig.cmake is missing" >&2; exit 1; }
