# ESP32_GENERIC with mpssl as its `ssl`/`tls` module: Generic ESP32 module (Xtensa LX6, Wi-Fi, Bluetooth LE over NimBLE).
# Everything upstream's board of the same name sets (IDF_TARGET, its sdkconfig fragments) is read
# from upstream's file by path; what differs is the sdkconfig fragment appended last, the frozen
# manifest, and the user C module (usermod/mpssl/esp32.cmake). See ports-config/README.md, esp32.
#
# This file is included by ports/esp32/CMakeLists.txt before project(), so CMAKE_CURRENT_SOURCE_DIR
# is ports/esp32 of the MicroPython checkout and CMAKE_CURRENT_LIST_DIR is this directory.

include(${CMAKE_CURRENT_SOURCE_DIR}/boards/ESP32_GENERIC/mpconfigboard.cmake)

# IDF's mbedtls component configured for mpssl (DTLS with HelloVerify, ALPN, ChaCha20-Poly1305, ...).
# After upstream's list, so that its options win over sdkconfig.base (e.g. ALPN, which base disables).
get_filename_component(MPSSL_SDKCONFIG ${CMAKE_CURRENT_LIST_DIR}/../../../ports-config/esp32/sdkconfig.mpssl ABSOLUTE)
list(APPEND SDKCONFIG_DEFAULTS ${MPSSL_SDKCONFIG})

# Frozen Python: upstream's set without micropython-lib's ssl.py.
set(MICROPY_FROZEN_MANIFEST ${CMAKE_CURRENT_LIST_DIR}/manifest.py)

# mpssl itself, when the build was not given USER_C_MODULES (the top Makefile gives it).
if(NOT USER_C_MODULES)
    get_filename_component(USER_C_MODULES ${CMAKE_CURRENT_LIST_DIR}/../../../usermod/micropython.cmake ABSOLUTE)
endif()
