// The emulated boards' real-time clock (board_clock.c): the host's clock through ARM semihosting,
// with an offset the board's RTC sets.  Shared by boards/qemu/MPS2_AN385 and
// boards/stm32/QEMU_NETDUINO_PLUS_2.
#ifndef MPSSL_QEMU_BOARD_CLOCK_H
#define MPSSL_QEMU_BOARD_CLOCK_H

#include <stdint.h>
#include <time.h>

// Seconds since 1970-01-01 UTC, as time() does.
time_t mpssl_qemu_time(time_t *timer);
// The same clock in nanoseconds (sub-second resolution from the host's monotonic clock).
int64_t mpssl_qemu_time_ns(void);
// Sets the clock: from now on it reads `seconds_since_1970` plus the time since this call.
void mpssl_qemu_rtc_set(int64_t seconds_since_1970);
// Nanoseconds since QEMU started, from the host's monotonic clock: never wraps, never steps.
uint64_t mpssl_qemu_monotonic_ns(void);

#endif // MPSSL_QEMU_BOARD_CLOCK_H
