# QEMU_NETDUINO_PLUS_2: an emulation board, not firmware for the real Netduino Plus 2.
# MicroPython's stm32 port with mpssl on QEMU's `netduinoplus2` machine (an STM32F405, Cortex-M4F),
# started by the test runner's `stm32-qemu` target (tools/mpssl_hil/emulators/stm32_qemu.py).
# QEMU models the core, flash, SRAM, the USARTs, timers, EXTI and SYSCFG, but not the clock tree
# (RCC), GPIO, RTC, RNG, flash controller, DMA, USB or CCM RAM.  This board therefore sets the
# clock without waiting for oscillators, puts its REPL on USART1, takes entropy and the RTC's time
# from the host through ARM semihosting (QEMU runs with -semihosting), has no filesystem, and
# gives all 192 KiB of QEMU's SRAM to data, heap and stack.  See board_qemu.c and
# docs/emulated-boards.md.
MCU_SERIES = f4
CMSIS_MCU = STM32F405xx
AF_FILE = boards/stm32f405_af.csv
LD_FILES = $(abspath $(BOARD_DIR))/qemu_f405.ld boards/common_basic.ld
TEXT0_ADDR = 0x08000000

# The tls swap and the frozen manifest, as on the other mpssl stm32 boards (no upstream board is
# read: this directory is the whole board definition).
include $(BOARD_DIR)/../mpssl_board.mk

# The emulator's clock and entropy, shared with the qemu board (ports-config/qemu).
MPSSL_QEMU_CONFIG_DIR := $(abspath $(MPSSL_BOARD_DIR)/../../../ports-config/qemu)
CFLAGS += -I$(MPSSL_QEMU_CONFIG_DIR)
MPSSL_PLATFORM_C = $(MPSSL_QEMU_CONFIG_DIR)/board_clock.c

# What QEMU does not model is replaced at the port's own seams, through the linker, so the port's
# code above them runs unchanged (board_qemu.c):
# - rng_get: every random number the port draws (mbedTLS' entropy via mp_hal_get_random, random's
#   seed) comes from the host's /dev/urandom instead of the port's fixed-seed fallback;
# - the RTC's HAL calls, and rtc_init_start (nothing to start): machine.RTC, time.time(), FAT timestamps and
#   the port's mbedTLS time hook (stm32_rtctime_seconds) read a clock that follows the host's;
# - mp_hal_time_ns: time.time_ns() in nanoseconds;
# - mp_hal_stdin_rx_chr: an idle REPL slows SysTick down, so QEMU sleeps instead of waking 1000 times a
#   second (board_idle.c, which also points SysTick's vector at its own handler).
MPSSL_QEMU_WRAPPED := rng_get rtc_init_start mp_hal_time_ns \
	HAL_RTC_GetTime HAL_RTC_GetDate HAL_RTC_SetTime HAL_RTC_SetDate mp_hal_stdin_rx_chr
LDFLAGS += $(foreach f,$(MPSSL_QEMU_WRAPPED),-Wl,--wrap=$(f))
