# `make rp2040-bootrom` passes this file as CMAKE_PROJECT_pico_bootrom_INCLUDE: CMake includes it right
# after pico-bootrom-rp2040's project(pico_bootrom) call, and the checkout stays as cloned.
#
# Built with a current GCC (Debian's 12.2) the b1 bootrom is 183 bytes larger than the 16 KiB ROM, and the
# link fails ("region `ROM' overflowed"). At the end of the top-level CMakeLists.txt, once the `bootrom`
# target exists, this drops and adds what makes it fit (24 bytes to spare with GCC 12.2):
# - USE_BOOTROM_GPIO: the activity LED of USB boot mode (the rp2040js wrapper never runs USB boot);
# - -fno-tree-vrp -fno-inline-functions-called-once, after the target's -Os, at compile and at link time
#   (the target is built with -flto, so the link compiles the code again).

if(CMAKE_VERSION VERSION_LESS 3.19)
    message(FATAL_ERROR "make rp2040-bootrom needs CMake 3.19 or newer (cmake_language(DEFER)), not ${CMAKE_VERSION}")
endif()

function(mpssl_bootrom_fit)
    if(NOT TARGET bootrom)
        message(FATAL_ERROR "no `bootrom` target: is ${CMAKE_SOURCE_DIR} a pico-bootrom-rp2040 checkout?")
    endif()
    get_target_property(definitions bootrom COMPILE_DEFINITIONS)
    if(NOT "USE_BOOTROM_GPIO" IN_LIST definitions)
        message(FATAL_ERROR "the bootrom target does not define USE_BOOTROM_GPIO: ${CMAKE_SOURCE_DIR} is not "
                            "the b1 source tools/rp2040js/bootrom-fit.cmake was written for")
    endif()
    list(REMOVE_ITEM definitions USE_BOOTROM_GPIO)
    set_property(TARGET bootrom PROPERTY COMPILE_DEFINITIONS ${definitions})
    foreach(option -fno-tree-vrp -fno-inline-functions-called-once)
        target_compile_options(bootrom PRIVATE ${option})
        target_link_options(bootrom PRIVATE ${option})
    endforeach()
    message(STATUS "bootrom: without USE_BOOTROM_GPIO, with -fno-tree-vrp -fno-inline-functions-called-once")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL mpssl_bootrom_fit)
