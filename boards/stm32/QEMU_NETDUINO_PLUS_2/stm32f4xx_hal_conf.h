// HAL configuration of the emulated board: the Netduino Plus 2's oscillators (25 MHz crystal,
// 32.768 kHz LSE).  QEMU models neither; the values only keep the HAL's arithmetic as on the
// real board, and the clock is set without them (board_qemu.c).
#ifndef MPSSL_QEMU_NETDUINO_PLUS_2_HAL_CONF_H
#define MPSSL_QEMU_NETDUINO_PLUS_2_HAL_CONF_H

#define HSE_VALUE (25000000)
#define LSE_VALUE (32768)
#define EXTERNAL_CLOCK_VALUE (12288000)
#define HSE_STARTUP_TIMEOUT (100)
#define LSE_STARTUP_TIMEOUT (5000)

#include "boards/stm32f4xx_hal_conf_base.h"

#endif
