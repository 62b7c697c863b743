// How the mpssl qemu board waits (WFI, woken by the UART, Ethernet and SysTick interrupts) and its
// random numbers; see board_hal.c.
#ifndef MPSSL_QEMU_BOARD_HAL_H
#define MPSSL_QEMU_BOARD_HAL_H

#include <stdint.h>

#define BOARD_CORE_VECTORS (16)
#define CMSDK_UART0_RX_IRQ (0) // QEMU's mps2-an385: UART0 receive

// Installs the UART's receive handler in the board's vector table and enables that interrupt.
void board_hal_init(uint32_t *vectors);
// The SysTick handler: the port's millisecond counter and lwIP's timer tick.
void board_hal_systick(void);

#endif // MPSSL_QEMU_BOARD_HAL_H
