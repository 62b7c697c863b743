// The emulated qemu board's wall clock: the host's time through ARM semihosting (the board has no
// RTC).  It serves mbedTLS' certificate date checks, MicroPython's time functions and littlefs.
#include <string.h>
#include <time.h>

#include "py/mphal.h"
#include "shared/timeutils/timeutils.h"

#include "semihosting_call.h"

#define SYS_TIME (0x11)

time_t mpssl_qemu_time(time_t *timer);

time_t mpssl_qemu_time(time_t *timer) {
    time_t now = (time_t)semihosting_call(SYS_TIME, NULL);
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

