# What every mpssl esp32 board adds to its upstream board; included by each board's
# mpconfigboard.cmake right after upstream's. CMAKE_CURRENT_LIST_DIR is boards/esp32 here.

# IDF's mbedtls component configured for mpssl (DTLS with HelloVerify, ChaCha20-Poly1305, ...).
# After upstream's list, so that its options win over sdkconfig.base.
get_filename_component(MPSSL_SDKCONFIG ${CMAKE_CURRENT_LIST_DIR}/../../ports-config/esp32/sdkconfig.mpssl ABSOLUTE)
list(APPEND SDKCONFIG_DEFAULTS ${MPSSL_SDKCONFIG})

# Frozen Python: upstream's set without micropython-lib's ssl.py.
set(MICROPY_FROZEN_MANIFEST ${CMAKE_CURRENT_LIST_DIR}/manifest.py)

# mpssl itself, when the build was not given USER_C_MODULES (the top Makefile gives it).
if(NOT USER_C_MODULES)
    get_filename_component(USER_C_MODULES ${CMAKE_CURRENT_LIST_DIR}/../../usermod/micropython.cmake ABSOLUTE)
endif()
