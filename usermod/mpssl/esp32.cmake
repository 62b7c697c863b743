# mpssl on MicroPython's esp32 port (ESP-IDF v5.3, v5.4.x, v5.5.1), included by usermod/mpssl/micropython.cmake
# when ESP_PLATFORM is set. (Not built on the machine where it was written: there is no ESP-IDF
# there. See ports-config/README.md, section esp32.)
#
# Where it runs: ports/esp32/esp32_common.cmake (the "main" IDF component of the port) includes
# py/usermod.cmake, which includes USER_C_MODULES (usermod/micropython.cmake -> this file), and only
# THEN includes extmod/extmod.cmake, which `set()`s MICROPY_SOURCE_EXTMOD afresh with
# extmod/modtls_mbedtls.c in it. After that, esp32_common.cmake copies the list into
# MICROPY_SOURCE_QSTR (the qstr and MP_REGISTER_MODULE scan) and passes it to
# idf_component_register(SRCS ...). No user hook runs in between.
#
# What this file does:
#   1. mpssl's sources and include directory go into the usermod_mpssl INTERFACE library, linked
#      to `usermod` (the port links `usermod` into the main component, so they are compiled with
#      the main component's flags and scanned for qstrs and MP_REGISTER_MODULE).
#   2. The built-in `tls` module is left out: a variable_watch on MICROPY_SOURCE_EXTMOD removes
#      extmod/modtls_mbedtls.c from the list each time the list is modified, i.e. right after
#      extmod.cmake's set(). The file is then neither compiled nor scanned, so mp_module_tls does
#      not exist and mpssl's MP_REGISTER_MODULE(MP_QSTR_tls, ...) is the only `tls`.
#      A check at the end of the main component's directory stops the configure if the file is
#      still in the main component's sources or in the qstr scan (e.g. if upstream renamed the list).
#   3. mbedTLS is ESP-IDF's `mbedtls` component, configured by sdkconfig (CONFIG_MBEDTLS_*; our
#      additions are ports-config/esp32/sdkconfig.mpssl, appended by the boards). Therefore:
#        - no MBEDTLS_CONFIG_FILE here (IDF's component defines its own, mbedtls/esp_config.h), and
#          no ports-config/mbedtls include directory;
#        - no ${MICROPY_DIR}/lib/mbedtls/include (those headers would shadow IDF's mbedTLS, which is
#          a different build of mbedTLS: headers and library must match).
#      The main component already has `mbedtls` in its REQUIRES (IDF_COMPONENTS in
#      esp32_common.cmake), which gives every file it compiles, mpssl's included, IDF's mbedTLS
#      headers and definitions, and the qstr scan sees them through micropy_gather_target_properties.
#      usermod_mpssl also links idf::mbedtls, wrapped in $<TARGET_NAME_IF_EXISTS:...>: a plain
#      target name would make py/usermod.cmake's usermod_gather_sources() walk into IDF's mbedtls
#      targets and copy their $<BUILD_INTERFACE:...> include directories into the main component's
#      INCLUDE_DIRS, which idf_component_register() rejects ("is not a directory").
#   4. Compile definitions: none of MICROPY_SSL_MBEDTLS, MICROPY_PY_SSL or MICROPY_PY_HASHLIB_* /
#      MICROPY_PY_CRYPTOLIB. ports/esp32/mpconfigport.h defines MICROPY_PY_SSL as
#      (MICROPY_PY_NETWORK) and MICROPY_SSL_MBEDTLS as (MICROPY_PY_SSL) unconditionally, so both are
#      already 1 on a networked board, and a -DMICROPY_SSL_MBEDTLS=(1) would be redefined with
#      different text in every file (a warning per file). Keeping them 1 keeps what depends on them:
#        - ports/esp32/main.c: mbedtls_platform_set_time(platform_mbedtls_time), the clock for
#          certificate dates (needs CONFIG_MBEDTLS_PLATFORM_TIME_ALT, set in boards/sdkconfig.base);
#        - lib/mbedtls_errors/esp32_mbedtls_errors.c (mbedtls_strerror, in MICROPY_SOURCE_LIB);
#        - hashlib MD5/SHA1 and cryptolib on mbedTLS (py/mpconfig.h defaults them to MICROPY_PY_SSL).
#      Only MICROPY_PY_SSL_DTLS=(1) is defined, as on the other ports (mpconfig.h guards it with
#      #ifndef; its only other user, modtls_mbedtls.c, is gone).
#
# Properties are SET here, not appended, so the result is the same whether micropython.cmake's
# generic part ran before the include or not.

include_guard(GLOBAL)

if(NOT ESP_PLATFORM)
    message(FATAL_ERROR "mpssl: usermod/mpssl/esp32.cmake is for MicroPython's esp32 port (ESP-IDF) only")
endif()

set(MPSSL_DIR ${CMAKE_CURRENT_LIST_DIR})

# --- 1. mpssl's sources ------------------------------------------------------------------------

if(NOT TARGET usermod_mpssl)
    add_library(usermod_mpssl INTERFACE)
endif()

set_property(TARGET usermod_mpssl PROPERTY INTERFACE_SOURCES
    ${MPSSL_DIR}/modssl.c
    ${MPSSL_DIR}/conf.c
    ${MPSSL_DIR}/context.c
    ${MPSSL_DIR}/transport.c
    ${MPSSL_DIR}/socket.c
    ${MPSSL_DIR}/certs.c
    ${MPSSL_DIR}/errors.c
)
set_property(TARGET usermod_mpssl PROPERTY INTERFACE_INCLUDE_DIRECTORIES ${MPSSL_DIR})
# Quoted: CMake would split an unquoted "(1)".
set_property(TARGET usermod_mpssl PROPERTY INTERFACE_COMPILE_DEFINITIONS "MICROPY_PY_SSL_DTLS=(1)")
set_property(TARGET usermod_mpssl PROPERTY INTERFACE_LINK_LIBRARIES "$<TARGET_NAME_IF_EXISTS:idf::mbedtls>")

get_target_property(_mpssl_usermod_links usermod INTERFACE_LINK_LIBRARIES)
if(NOT "usermod_mpssl" IN_LIST _mpssl_usermod_links)
    target_link_libraries(usermod INTERFACE usermod_mpssl)
endif()

# --- 2. the built-in tls module out ------------------------------------------------------------

# Called by CMake with (variable access value current_list_file stack) on every access to the
# watched variable. A macro, so that it edits the variable in the scope that just modified it.
# CMake does not call a watch from inside its own callback, so the edit below does not recurse.
macro(_mpssl_drop_builtin_tls _mpssl_var _mpssl_access)
    if("${_mpssl_access}" STREQUAL "MODIFIED_ACCESS")
        list(FILTER ${_mpssl_var} EXCLUDE REGEX "/extmod/modtls_mbedtls\\.c$")
    endif()
endmacro()
variable_watch(MICROPY_SOURCE_EXTMOD _mpssl_drop_builtin_tls)

# The safety net: at the end of the main component's CMakeLists (after idf_component_register and
# py/mkrules.cmake), the built-in must be in neither the component's sources nor the qstr scan.
function(_mpssl_check_builtin_tls_dropped)
    if(NOT MICROPY_SOURCE_QSTR OR NOT MICROPY_TARGET)
        message(WARNING "mpssl: could not check that the built-in tls module is out of the esp32 build "
            "(MICROPY_SOURCE_QSTR / MICROPY_TARGET not visible where usermod/mpssl/esp32.cmake was included)")
    endif()
    set(_lists "${MICROPY_SOURCE_QSTR}")
    if(MICROPY_TARGET AND TARGET ${MICROPY_TARGET})
        get_target_property(_sources ${MICROPY_TARGET} SOURCES)
        list(APPEND _lists ${_sources})
    endif()
    list(FILTER _lists INCLUDE REGEX "/extmod/modtls_mbedtls\\.c$")
    list(REMOVE_DUPLICATES _lists)
    if(_lists)
        message(FATAL_ERROR "mpssl: the built-in tls module (${_lists}) is still in the esp32 build; "
            "usermod/mpssl/esp32.cmake expected extmod/extmod.cmake to list it in MICROPY_SOURCE_EXTMOD")
    endif()
    message(STATUS "mpssl: built-in tls module left out; mbedTLS is ESP-IDF's mbedtls component (sdkconfig)")
endfunction()
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.19)  # ESP-IDF v5.3+ installs CMake 3.24 or newer
    cmake_language(DEFER CALL _mpssl_check_builtin_tls_dropped)
endif()
