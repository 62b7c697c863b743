# mpssl as a user C module for MicroPython's CMake ports (rp2 here; esp32 in esp32.cmake).
#
# On a port that builds lib/mbedtls itself (rp2: extmod/extmod.cmake's micropy_lib_mbedtls):
#   - usermod/mpssl/*.c are compiled into the firmware;
#   - the port's mbedTLS library target is pointed at ports-config/mbedtls/mpssl_mbedtls_config.h,
#     with the header the port (or board) chose passed on as MPSSL_PORT_MBEDTLS_CONFIG, so that
#     mbedTLS, hashlib, cryptolib, the port's mbedTLS hooks and mpssl share ONE configuration;
#   - the built-in `tls` module (extmod/modtls_mbedtls.c) is left out of the port's sources.
#     MICROPY_PY_SSL keeps the port's value: on rp2 it also switches the port's mbedTLS glue
#     (mbedtls_hardware_poll in extmod/mbedtls/mbedtls_alt.c) and hashlib/cryptolib.
#     See ports-config/README.md.
#
# Variables (CMake -D or the board's mpconfigboard.cmake):
#   MPSSL_PORT_MBEDTLS_CONFIG  the port's mbedTLS config header (default: the one the port's
#                              mbedTLS target was configured with, i.e. MBEDTLS_CONFIG_FILE)

include_guard(GLOBAL)

if(ESP_PLATFORM)
    # ESP-IDF's mbedtls component, configured by sdkconfig (ports-config/esp32/): see esp32.cmake.
    include(${CMAKE_CURRENT_LIST_DIR}/esp32.cmake)
    return()
endif()

set(MPSSL_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(MPSSL_CONFIG_DIR ${MPSSL_DIR}/../../ports-config/mbedtls ABSOLUTE)
set(MPSSL_MBEDTLS_CONFIG ${MPSSL_CONFIG_DIR}/mpssl_mbedtls_config.h)

add_library(usermod_mpssl INTERFACE)

file(GLOB MPSSL_SOURCES CONFIGURE_DEPENDS ${MPSSL_DIR}/*.c)
target_sources(usermod_mpssl INTERFACE ${MPSSL_SOURCES})

target_include_directories(usermod_mpssl INTERFACE
    ${MPSSL_DIR}
    ${MPSSL_CONFIG_DIR}
)

# The same switches as micropython.mk. Spelled "(1)" as the ports spell them (rp2's
# mpconfigport.h defines MICROPY_SSL_MBEDTLS, MICROPY_PY_HASHLIB_* and MICROPY_PY_CRYPTOLIB
# unconditionally), so an identical redefinition raises no warning under -Werror.
# (Quoted: CMake splits an unquoted "(1)" into separate arguments.)
# INTERFACE definitions of a library linked to `usermod` reach every source of the firmware.
target_compile_definitions(usermod_mpssl INTERFACE
    "MICROPY_SSL_MBEDTLS=(1)"
    "MICROPY_PY_SSL_DTLS=(1)"
    "MICROPY_PY_HASHLIB_MD5=(1)"
    "MICROPY_PY_HASHLIB_SHA1=(1)"
    "MICROPY_PY_CRYPTOLIB=(1)"
)

# --- Ports that build lib/mbedtls themselves (rp2) ---------------------------------------------

if(NOT TARGET micropy_lib_mbedtls)
    message(FATAL_ERROR "mpssl needs the port's mbedTLS library (micropy_lib_mbedtls, MICROPY_SSL_MBEDTLS ON)")
endif()

target_include_directories(usermod_mpssl INTERFACE ${MICROPY_DIR}/lib/mbedtls/include)

# One mbedTLS configuration: replace the library's MBEDTLS_CONFIG_FILE with mpssl's header,
# which includes the one it replaces first.
get_target_property(_mpssl_mbedtls_defs micropy_lib_mbedtls INTERFACE_COMPILE_DEFINITIONS)
set(_mpssl_port_config "")
foreach(_def ${_mpssl_mbedtls_defs})
    if(_def MATCHES "^MBEDTLS_CONFIG_FILE=(.*)$")
        set(_mpssl_port_config ${CMAKE_MATCH_1})
    endif()
endforeach()
if(MPSSL_PORT_MBEDTLS_CONFIG)
    set(_mpssl_port_config "\"${MPSSL_PORT_MBEDTLS_CONFIG}\"")
endif()
if(NOT _mpssl_port_config)
    message(FATAL_ERROR "mpssl: the port's mbedTLS target has no MBEDTLS_CONFIG_FILE; set MPSSL_PORT_MBEDTLS_CONFIG")
endif()
if(NOT _mpssl_port_config STREQUAL "\"${MPSSL_MBEDTLS_CONFIG}\"")
    list(FILTER _mpssl_mbedtls_defs EXCLUDE REGEX "^MBEDTLS_CONFIG_FILE=")
    list(APPEND _mpssl_mbedtls_defs
        MBEDTLS_CONFIG_FILE="${MPSSL_MBEDTLS_CONFIG}"
        MPSSL_PORT_MBEDTLS_CONFIG=${_mpssl_port_config}
    )
    set_property(TARGET micropy_lib_mbedtls PROPERTY INTERFACE_COMPILE_DEFINITIONS ${_mpssl_mbedtls_defs})
endif()
message(STATUS "mpssl: mbedTLS config ${MPSSL_MBEDTLS_CONFIG} on top of ${_mpssl_port_config}")

# Leave out the built-in `tls` module: mpssl registers `ssl` and `tls` itself.
set(_mpssl_builtin_tls ${MICROPY_DIR}/extmod/modtls_mbedtls.c)
list(FIND MICROPY_SOURCE_EXTMOD ${_mpssl_builtin_tls} _mpssl_index)
if(_mpssl_index EQUAL -1)
    message(FATAL_ERROR "mpssl: ${_mpssl_builtin_tls} is not in MICROPY_SOURCE_EXTMOD; "
        "this port includes py/usermod.cmake before extmod/extmod.cmake and needs its own way to drop the built-in tls")
endif()
list(REMOVE_ITEM MICROPY_SOURCE_EXTMOD ${_mpssl_builtin_tls})

target_link_libraries(usermod INTERFACE usermod_mpssl)
