// The emulated boards' real-time clock.  Its oscillator is the host's clock, read through ARM
// semihosting; at power-on it shows the host's UTC time (like a board whose RTC runs from a backup
// battery), and setting it (the board's machine.RTC) keeps an offset to the host's clock.
// It serves mbedTLS' certificate date checks, MicroPython's time functions and the filesystems.
//
// Two host clocks make it up: SYS_TIME, the host's wall clock in whole seconds, and SYS_ELAPSED,
// the host's monotonic clock in ticks (nanoseconds on QEMU) since QEMU started.  The wall clock in
// nanoseconds is the monotonic clock plus a base.  Each reading of SYS_TIME says the base is at
// least (seconds - elapsed), so the base only moves up, towards the true phase of the host's
// second, and the clock never runs backwards.  A base that puts the clock a second or more ahead of
// SYS_TIME means the host's clock was stepped back: it is taken afresh.
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "py/mphal.h"
#include "shared/timeutils/timeutils.h"

#include "board_clock.h"
#include "semihosting_call.h"

#define SYS_CLOCK (0x10)
#define SYS_TIME (0x11)
#define SYS_ELAPSED (0x30)
#define SYS_TICKFREQ (0x31)

#define NS_PER_S (1000000000LL)

// The host's wall clock minus the monotonic clock, once known.
static int64_t host_base_ns;
static bool host_base_known;
// The RTC's counter register: nanoseconds to add to the host's clock.  It survives soft resets.
static int64_t rtc_offset_ns;

static int64_t host_seconds(void) {
    return (int64_t)(uint32_t)semihosting_call(SYS_TIME, NULL);
}

uint64_t mpssl_qemu_monotonic_ns(void) {
    static uint32_t tick_hz;
    uint32_t ticks[2] = { 0, 0 };
    if (semihosting_call(SYS_ELAPSED, ticks) != 0) {
        // A host without SYS_ELAPSED: centiseconds since the start (32 bits: 497 days).
        return (uint64_t)(uint32_t)semihosting_call(SYS_CLOCK, NULL) * 10000000ULL;
    }
    uint64_t count = (uint64_t)ticks[1] << 32 | ticks[0];
    if (tick_hz == 0) {
        int hz = semihosting_call(SYS_TICKFREQ, NULL);
        tick_hz = hz > 0 ? (uint32_t)hz : (uint32_t)NS_PER_S;
    }
    if (tick_hz == NS_PER_S) {
        return count;
    }
    return count / tick_hz * NS_PER_S + count % tick_hz * NS_PER_S / tick_hz;
}

static int64_t host_time_ns(void) {
    int64_t elapsed = (int64_t)mpssl_qemu_monotonic_ns();
    int64_t lowest_base = host_seconds() * NS_PER_S - elapsed;
    if (!host_base_known || host_base_ns < lowest_base || host_base_ns >= lowest_base + NS_PER_S) {
        host_base_ns = lowest_base;
        host_base_known = true;
    }
    return elapsed + host_base_ns;
}

int64_t mpssl_qemu_time_ns(void) {
    return host_time_ns() + rtc_offset_ns;
}

void mpssl_qemu_rtc_set(int64_t seconds_since_1970) {
    rtc_offset_ns = seconds_since_1970 * NS_PER_S - host_time_ns();
}

time_t mpssl_qemu_time(time_t *timer) {
    int64_t ns = mpssl_qemu_time_ns();
    time_t now = (time_t)(ns >= 0 ? ns / NS_PER_S : -((-ns + NS_PER_S - 1) / NS_PER_S));
    if (timer != NULL) {
        *timer = now;
    }
    return now;
}

// Weak: a port with its own (stm32's rtc.c) keeps it; QEMU_NETDUINO_PLUS_2 routes that one here.
MP_WEAK uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mpssl_qemu_time_ns();
}

// mbedTLS turns seconds into a date with gmtime(); the qemu port has no C library that does.
// Weak: a port with its own (stm32's mbedtls_port.c) keeps it.
MP_WEAK struct tm *gmtime(const time_t *timep) {
    static struct tm tm;
    timeutils_struct_time_t t;
    timeutils_seconds_since_1970_to_struct_time(*timep, &t);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = t.tm_year - 1900;
    tm.tm_mon = t.tm_mon - 1;
    tm.tm_mday = t.tm_mday;
    tm.tm_hour = t.tm_hour;
    tm.tm_min = t.tm_min;
    tm.tm_sec = t.tm_sec;
    tm.tm_wday = (t.tm_wday + 1) % 7; // timeutils counts from Monday, C from Sunday
    tm.tm_yday = t.tm_yday - 1;
    return &tm;
}
