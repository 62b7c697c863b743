# ESP32_GENERIC_C3 with mpssl as its `ssl`/`tls` module: Generic ESP32-C3 module (RISC-V, Wi-Fi, Bluetooth LE over NimBLE, USB serial/JTAG).
# Everything upstream's board of the same name sets (IDF_TARGET, its sdkconfig fragments) is read
# from upstream's file by path; what differs is the sdkconfig fragment appended last, the frozen
# manifest, and the user C module (usermod/mpssl/esp32.cmake). See ports-config/README.md, esp32.
#
# This file is included by ports/esp32/CMakeLists.txt before project(), so CMAKE_CURRENT_SOURCE_DIR
# is ports/esp32 of the MicroPython checkout and CMAKE_CURRENT_LIST_DIR is this directory.

include(${CMAKE_CURRENT_SOURCE_DIR}/boards/ESP32_GENERIC_C3/mpconfigboard.cmake)

include(${CMAKE_CURRENT_LIST_DIR}/../mpssl_board.cmake)
