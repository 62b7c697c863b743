// machine.RTC on the mpssl qemu board, as on MicroPython's hardware ports:
// RTC().datetime() -> (year, month, day, weekday, hours, minutes, seconds, subseconds) in UTC, and
// RTC().datetime(tuple) sets it (weekday and subseconds are ignored; mpremote's `rtc --set` and the
// test runner's clock fixture use this).
#include "py/runtime.h"
#include "shared/timeutils/timeutils.h"

#include "board_clock.h"

typedef struct _machine_rtc_obj_t {
    mp_obj_base_t base;
} machine_rtc_obj_t;

static const machine_rtc_obj_t machine_rtc_obj = { { &machine_rtc_type } };

static mp_obj_t machine_rtc_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    (void)type;
    (void)args;
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&machine_rtc_obj);
}

static mp_obj_t machine_rtc_datetime(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        timeutils_struct_time_t tm;
        timeutils_seconds_since_1970_to_struct_time(mpssl_qemu_time(NULL), &tm);
        mp_obj_t tuple[8] = {
            mp_obj_new_int(tm.tm_year), mp_obj_new_int(tm.tm_mon), mp_obj_new_int(tm.tm_mday),
            mp_obj_new_int(tm.tm_wday), mp_obj_new_int(tm.tm_hour), mp_obj_new_int(tm.tm_min),
            mp_obj_new_int(tm.tm_sec), mp_obj_new_int(0),
        };
        return mp_obj_new_tuple(8, tuple);
    }
    mp_obj_t *items;
    mp_obj_get_array_fixed_n(args[1], 8, &items);
    mp_int_t year = mp_obj_get_int(items[0]);
    mp_int_t month = mp_obj_get_int(items[1]);
    mp_int_t day = mp_obj_get_int(items[2]);
    mp_int_t hours = mp_obj_get_int(items[4]);
    mp_int_t minutes = mp_obj_get_int(items[5]);
    mp_int_t seconds = mp_obj_get_int(items[6]);
    if (year < 1970 || year > 2099 || month < 1 || month > 12 || day < 1
        || day > timeutils_days_in_month(year, month) || hours < 0 || hours > 23
        || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59) {
        mp_raise_ValueError(MP_ERROR_TEXT("invalid date or time"));
    }
    mpssl_qemu_rtc_set(timeutils_seconds_since_1970(year, month, day, hours, minutes, seconds));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(machine_rtc_datetime_obj, 1, 2, machine_rtc_datetime);

static const mp_rom_map_elem_t machine_rtc_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_datetime), MP_ROM_PTR(&machine_rtc_datetime_obj) },
};
static MP_DEFINE_CONST_DICT(machine_rtc_locals_dict, machine_rtc_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    machine_rtc_type,
    MP_QSTR_RTC,
    MP_TYPE_FLAG_NONE,
    make_new, machine_rtc_make_new,
    locals_dict, &machine_rtc_locals_dict
    );
