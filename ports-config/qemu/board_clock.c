// The emulated qemu board's real-time clock.  Its oscillator is the host's clock, read through ARM
// semihosting; at power-on it shows the host's UTC time (like a board whose RTC runs from a backup
// battery), and machine.RTC().datetime(...) sets it, which keeps an offset to the host's clock.
// It serves mbedTLS' certificate date checks, MicroPython's time functions and littlefs.
#include <string.h>
#include <time.h>

#include "py/mphal.h"
#include "shared/timeutils/timeutils.h"

#include "board_clock.h"
#include "semihosting_call.h"

#define SYS_TIME (0x11)

// The RTC's counter register: seconds to add to the host's clock.  It survives soft resets.
static int64_t rtc_offset;

static int64_t host_time(void) {
    return (int64_t)(uint32_t)semihosting_call(SYS_TIME, NULL);
}

void mpssl_qemu_rtc_set(int64_t seconds_since_1970) {
    rtc_offset = seconds_since_1970 - host_time();
}

time_t mpssl_qemu_time(time_t *timer) {
    time_t now = (time_t)(host_time() + rtc_offset);
    if (timer != NULL) {
        *timer = now;
    }
    return now;
}

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mpssl_qemu_time(NULL) * 1000000000ULL;
}

// mbedTLS turns seconds into a date with gmtime(); the board has no C library that does.
struct tm *gmtime(const time_t *timep) {
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

