# Raspberry Pi Pico 2 W (RP2350, Arm cores + CYW43439) with mpssl as its `ssl`/`tls` module.
# The hardware options are upstream RPI_PICO2_W's; what differs is in manifest.py and in
# usermod/mpssl/micropython.cmake (see ports-config/README.md, section rp2).

set(PICO_BOARD "pico2_w")
set(PICO_PLATFORM "rp2350")

# Networking (CYW43 Wi-Fi over lwIP).
set(MICROPY_PY_LWIP ON)
set(MICROPY_PY_NETWORK_CYW43 ON)

# Bluetooth (BTstack on the CYW43).
set(MICROPY_PY_BLUETOOTH ON)
set(MICROPY_BLUETOOTH_BTSTACK ON)
set(MICROPY_PY_BLUETOOTH_CYW43 ON)

# Same pins as the upstream board.
set(MICROPY_BOARD_PINS ${MICROPY_PORT_DIR}/boards/RPI_PICO2_W/pins.csv)

# Frozen Python: upstream's set without micropython-lib's ssl.py.
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/../manifest.py)

# mpssl itself, when the build was not given USER_C_MODULES (the top Makefile gives it).
if(NOT USER_C_MODULES)
    get_filename_component(USER_C_MODULES ${CMAKE_CURRENT_LIST_DIR}/../../../usermod/micropython.cmake ABSOLUTE)
endif()
