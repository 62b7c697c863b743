# esp32 boards (included by the top Makefile). They need ESP-IDF, so they are NOT in
# FIRMWARE_BOARDS: `make firmware-all` and `make sizes` build only what any machine can.
#   make firmware PORT=esp32 [BOARD=ESP32_GENERIC|ESP32_GENERIC_S3|ESP32_GENERIC_C3]
#        build/esp32-<BOARD>/firmware.bin (bootloader + partition table + app, flash at offset 0
#        on ESP32-S3/C3, 0x1000 on ESP32), micropython.bin (the app), firmware.elf (= micropython.elf)
#   make firmware-upstream-esp32 [BOARD=...]   upstream's board of the same name, same checkout,
#        into build/upstream/esp32-<BOARD>/ (firmware.elf too), to compare sizes by hand
#
# The port is built out of tree with its own make wrapper around idf.py: BOARD_DIR= one of
# boards/esp32/, USER_C_MODULES= usermod/micropython.cmake, BUILD= build/esp32-<BOARD>, and our
# mpy-cross (MICROPY_MPYCROSS in the environment). ESP-IDF must be installed and its export.sh
# sourced in the shell (idf.py on PATH, IDF_PATH set).
#
# What the build writes outside build/: ESP-IDF's component manager downloads the port's managed
# components (mdns, tinyusb, ...) into ports/esp32/managed_components of the checkout, and rewrites
# ports/esp32/lockfiles/dependencies.lock.<target> there when the IDF version differs from the one
# the lock file was made with (v5.5.1 for MicroPython v1.28.0). That is how the port works; the
# project directory cannot be moved without copying ports/esp32/CMakeLists.txt.

ESP32_BOARDS := ESP32_GENERIC ESP32_GENERIC_S3 ESP32_GENERIC_C3
# MicroPython v1.28.0's esp32 port supports ESP-IDF v5.3, v5.4.x and v5.5.1 (ports/esp32/README.md;
# main/idf_component.yml asks for idf >= 5.3.0, so v5.2 is refused). CI pins ESP32_IDF_VERSION.
ESP32_IDF_VERSION ?= v5.4.2
ESP32_IDF_SUPPORTED := v5.3 v5.4 v5.5

# The esp32 port builds btree (berkeley-db) by default: `make micropython` clones that submodule too.
MICROPY_SUBMODULES += lib/berkeley-db-1.xx

# Only a BOARD given by the user counts (another port.mk may set its own default).
ESP32_BOARD = $(if $(filter command line environment environment override,$(origin BOARD)),$(BOARD),ESP32_GENERIC)
ESP32_BOARD_DIR = $(ROOT)/boards/esp32/$(ESP32_BOARD)
ESP32_BUILD = $(BUILD_ROOT)/esp32-$(ESP32_BOARD)
ESP32_UPSTREAM_BUILD = $(BUILD_ROOT)/upstream/esp32-$(ESP32_BOARD)
# Environment of the port's make: our mpy-cross, and no __pycache__ in the checkout.
ESP32_ENV = MICROPY_MPYCROSS=$(MPY_CROSS) PYTHONDONTWRITEBYTECODE=1
# PORT= empty: our PORT=esp32 would otherwise reach the port's Makefile, where PORT is the serial device.
ESP32_MAKE = $(ESP32_ENV) $(MAKE) -C $(MICROPY_DIR)/ports/esp32 PORT=

.PHONY: firmware-esp32 firmware-upstream-esp32 esp-idf-ready esp32-submodules-ready

firmware-esp32: check-micropython esp-idf-ready esp32-submodules-ready $(MPY_CROSS)
	@test -f $(ESP32_BOARD_DIR)/mpconfigboard.cmake || { \
		echo "No esp32 board $(ESP32_BOARD) in $(ROOT)/boards/esp32 (have: $(ESP32_BOARDS))" >&2; exit 1; }
	$(ESP32_MAKE) BOARD_DIR=$(ESP32_BOARD_DIR) BUILD=$(ESP32_BUILD) \
		USER_C_MODULES=$(ROOT)/usermod/micropython.cmake
	@for f in firmware.bin micropython.bin micropython.elf; do \
		test -f $(ESP32_BUILD)/$$f || { echo "esp32 build finished without $(ESP32_BUILD)/$$f" >&2; exit 1; }; done
	cp $(ESP32_BUILD)/micropython.elf $(ESP32_BUILD)/firmware.elf
	@echo "esp32 $(ESP32_BOARD): $(ESP32_BUILD)/firmware.bin (whole flash image), micropython.bin, firmware.elf"

# The upstream board of the same hardware, from the same checkout (built-in tls, frozen ssl.py).
firmware-upstream-esp32: check-micropython esp-idf-ready esp32-submodules-ready $(MPY_CROSS)
	$(ESP32_MAKE) BOARD=$(ESP32_BOARD) BUILD=$(ESP32_UPSTREAM_BUILD)
	cp $(ESP32_UPSTREAM_BUILD)/micropython.elf $(ESP32_UPSTREAM_BUILD)/firmware.elf

# ESP-IDF in the shell, or a plain explanation of how to get it.
esp-idf-ready:
	@if ! command -v idf.py >/dev/null 2>&1 || [ -z "$$IDF_PATH" ]; then \
		echo "The esp32 boards need ESP-IDF ($(ESP32_IDF_VERSION) is what CI uses; MicroPython $(MICROPY_TAG)" >&2; \
		echo "supports v5.3, v5.4.x and v5.5.1), and idf.py is not on PATH (or IDF_PATH is unset). Either:" >&2; \
		echo "  - install it once:" >&2; \
		echo "      git clone -b $(ESP32_IDF_VERSION) --recursive https://github.com/espressif/esp-idf.git ~/esp/esp-idf" >&2; \
		echo "      ~/esp/esp-idf/install.sh esp32,esp32s3,esp32c3" >&2; \
		echo "    then, in every shell that builds:  . ~/esp/esp-idf/export.sh" >&2; \
		echo "  - or build in Espressif's container, as CI does:" >&2; \
		echo "      docker run --rm -v \$$PWD:/project -w /project espressif/idf:$(ESP32_IDF_VERSION) make firmware PORT=esp32 BOARD=..." >&2; \
		echo "    (with MICROPY_DIR pointing at a checkout visible inside the container)." >&2; \
		exit 1; fi
	@ver=$$(idf.py --version 2>/dev/null | sed -n 's/.*\(v[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1); \
	case " $(ESP32_IDF_SUPPORTED) " in *" $$ver "*) echo "ESP-IDF $$ver at $$IDF_PATH";; \
	*) echo "warning: ESP-IDF '$$ver' at $$IDF_PATH; MicroPython $(MICROPY_TAG) supports $(ESP32_IDF_SUPPORTED)" >&2;; esac

# Submodules the esp32 build reads from the checkout (a checkout made before this file existed
# may lack berkeley-db).
esp32-submodules-ready:
	@for f in lib/berkeley-db-1.xx/README lib/micropython-lib/README.md; do \
		test -f $(MICROPY_DIR)/$$f || { \
		echo "$(MICROPY_DIR)/$${f%/*} is empty: run 'git -C $(MICROPY_DIR) submodule update --init $${f%/*}'" >&2; exit 1; }; done
