// The emulated qemu board's real-time clock (board_clock.c).
#ifndef MPSSL_QEMU_BOARD_CLOCK_H
#define MPSSL_QEMU_BOARD_CLOCK_H

#include <stdint.h>
#include <time.h>

// Seconds since 1970-01-01 UTC, as time() does.
time_t mpssl_qemu_time(time_t *timer);
void mpssl_qemu_rtc_set(int64_t seconds_since_1970);

#endif // MPSSL_QEMU_BOARD_CLOCK_H
