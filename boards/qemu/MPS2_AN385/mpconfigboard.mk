# mpssl on QEMU's mps2-an385 machine (Cortex-M3): the qemu port's MPS2_AN385 board with mpssl as
# its TLS module, a bigger heap for TLS connections, littlefs, and what the upstream board lacks to
# be a networked board: the LAN9118 Ethernet controller on lwIP (network.LAN, socket),
# machine.RTC and a filesystem at "/" (littlefs on a RAM disk that survives soft resets).
# Everything is added from here; the MicroPython checkout is not changed.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7m

# The machine has 4 MiB of RAM: 2 MiB of GC heap holds several TLS connections (about 30 KiB each
# with mbedTLS' 16 KiB input buffer); littlefs on a 512 KiB RAM disk is the board's filesystem.
MICROPY_HEAP_SIZE = 2097152
MICROPY_VFS_LFS2 = 1

# mpssl: mbedTLS on the GC heap, the board's own mbedTLS platform layer (time and entropy from
# the host through ARM semihosting) and configuration.
MPSSL_QEMU_CONFIG_DIR = $(abspath $(BOARD_DIR)/../../../ports-config/qemu)
MPSSL_QEMU_PLATFORM_C = $(addprefix $(MPSSL_QEMU_CONFIG_DIR)/,mbedtls_port.c board_clock.c) shared/timeutils/timeutils.c
CFLAGS_EXTRA += -I$(MPSSL_QEMU_CONFIG_DIR)
ifneq ($(MPSSL_BUILTIN_TLS),1)
MPSSL_MBEDTLS_GC_HEAP = 1
MPSSL_PORT_MBEDTLS_CONFIG = mbedtls_config_qemu.h
MPSSL_PLATFORM_C = $(MPSSL_QEMU_PLATFORM_C)
FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py
else
# MPSSL_BUILTIN_TLS=1 (without USER_C_MODULES): the same board with upstream's built-in tls module and
# micropython-lib's ssl.py instead of mpssl, on the same mbedTLS configuration, heap and platform layer,
# for make bench's side-by-side column on the emulated MCU (build/bench/qemu-builtin).
MICROPY_PY_SSL = 1
MICROPY_SSL_MBEDTLS = 1
CFLAGS_EXTRA += -I$(abspath $(BOARD_DIR)/../../../bench/config/qemu_builtin)
CFLAGS += '-DMICROPY_TRACKED_ALLOC=(1)'
SRC_C += $(MPSSL_QEMU_PLATFORM_C)
FROZEN_MANIFEST = $(BOARD_DIR)/manifest_builtin_tls.py
endif

# The board's MicroPython configuration (mpconfigboard.h includes the port's mpconfigport.h).
CFLAGS += -DMP_CONFIGFILE='<mpconfigboard.h>' -I$(BOARD_DIR)

# Networking: lwIP with the board's lwipopts.h, the LAN9118 driver and netif, network.LAN.
MICROPY_PY_LWIP = 1
SRC_C += $(addprefix $(BOARD_DIR)/,\
	board_init.c \
	board_hal.c \
	lan9118.c \
	eth_netif.c \
	lwip_service.c \
	network_lan.c \
	machine_rtc.c \
	ramdisk.c \
	)

# The port's mphalport.c polls while it waits and has a fixed-seed random source; board_hal.c
# replaces those functions (WFI waits, host entropy) through the linker, leaving the checkout as is.
LDFLAGS += -Wl,--wrap=mp_hal_stdin_rx_chr -Wl,--wrap=mp_hal_delay_ms -Wl,--wrap=mp_hal_get_random
