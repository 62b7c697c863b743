# User C modules for MicroPython's CMake ports (rp2, esp32): pass this file as USER_C_MODULES.
# Make ports (unix, qemu, stm32) pass the usermod/ directory instead and read */micropython.mk.
include(${CMAKE_CURRENT_LIST_DIR}/mpssl/micropython.cmake)
