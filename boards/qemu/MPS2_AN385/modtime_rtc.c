// time.time(), time.gmtime() and time.localtime() of the mpssl qemu board follow its RTC (UTC; the
// board has no time zone).  Included by MicroPython's extmod/modtime.c (MICROPY_PY_TIME_INCLUDEFILE).
#include "py/obj.h"
#include "shared/timeutils/timeutils.h"

#include "board_clock.h"

static void mp_time_localtime_get(timeutils_struct_time_t *tm) {
    timeutils_seconds_since_1970_to_struct_time(mpssl_qemu_time(NULL), tm);
}

static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_ll(mpssl_qemu_time(NULL));
}
