// What QEMU's netduinoplus2 machine does not model, stood in for at the stm32 port's own seams so
// that the port's code above them runs as on a real STM32F405:
// - the clock tree: SystemClock_Config() records the 168 MHz QEMU runs SysTick at, and does not
//   wait for oscillators that never become ready;
// - the RNG: rng_get() (through the linker's --wrap) is the host's /dev/urandom, read through ARM
//   semihosting, so mbedTLS' entropy (extmod's mbedtls_hardware_poll -> mp_hal_get_random) and
//   random's seed are real entropy and never the port's fixed-seed fallback;
// - the RTC: its HAL calls (--wrap) read and set the clock of ports-config/qemu/board_clock.c, the
//   host's clock plus an offset, so machine.RTC, time.time(), FAT timestamps and the port's mbedTLS
//   time hook (stm32_rtctime_seconds) all see one clock that follows the host's.
#include <string.h>

#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/timeutils/timeutils.h"

#include "board_clock.h"
#include "semihosting_call.h"

// The port's weak SystemClock_Config would start the HSE and the PLL and wait for them forever.
void SystemClock_Config(void) {
    SystemCoreClock = 168000000;
    HAL_InitTick(TICK_INT_PRIORITY);
}

// Random numbers: 64 bytes of host entropy at a time, handed out 4 bytes per call.  A host that
// refuses is fatal: a board without entropy must not make keys.
uint32_t __wrap_rng_get(void) {
    static uint32_t pool[16];
    static size_t left;
    if (left == 0) {
        if (semihosting_host_entropy((uint8_t *)pool, sizeof(pool)) != sizeof(pool)) {
            mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("no entropy from the host (QEMU needs -semihosting)"));
        }
        left = MP_ARRAY_SIZE(pool);
    }
    uint32_t value = pool[--left];
    pool[left] = 0;
    return value;
}

// The RTC.  It counts in the port's terms: years 2000-2099, weekday 1 (Monday) to 7, and
// sub-seconds counting down from RTC_SYNCH_PREDIV (the port's default, 255) in 1/256 s.
#define SYNCH_PREDIV (0xff)
#define NS_PER_S (1000000000LL)

void __wrap_rtc_init_start(bool force_init) {
    (void)force_init; // the clock runs from the moment QEMU starts
}

// Nanoseconds since the port's epoch (2000 on stm32, as time.time() counts), with the host clock's
// resolution rather than the RTC's 1/256 s.
uint64_t __wrap_mp_hal_time_ns(void) {
    int64_t ns = mpssl_qemu_time_ns();
    #if !MICROPY_EPOCH_IS_1970
    ns -= TIMEUTILS_SECONDS_1970_TO_2000 * NS_PER_S;
    #endif
    return (uint64_t)ns;
}

// Reading the time latches the date, as the chip's shadow registers do until the date is read, so
// a read just before midnight does not pair the old time with the new date.
static int64_t latched_seconds;
static bool latched;

static uint8_t to_format(uint32_t value, uint32_t format) {
    return format == RTC_FORMAT_BIN ? (uint8_t)value : (uint8_t)((value / 10) << 4 | value % 10);
}

static uint32_t from_format(uint8_t value, uint32_t format) {
    return format == RTC_FORMAT_BIN ? value : (uint32_t)(value >> 4) * 10 + (value & 0x0f);
}

HAL_StatusTypeDef __wrap_HAL_RTC_GetTime(RTC_HandleTypeDef *hrtc, RTC_TimeTypeDef *time, uint32_t format) {
    (void)hrtc;
    int64_t ns = mpssl_qemu_time_ns();
    int64_t seconds = ns / NS_PER_S;
    uint32_t fraction = (uint32_t)(ns % NS_PER_S);
    latched_seconds = seconds;
    latched = true;
    timeutils_struct_time_t tm;
    timeutils_seconds_since_1970_to_struct_time(seconds, &tm);
    memset(time, 0, sizeof(*time));
    time->Hours = to_format(tm.tm_hour, format);
    time->Minutes = to_format(tm.tm_min, format);
    time->Seconds = to_format(tm.tm_sec, format);
    time->TimeFormat = RTC_HOURFORMAT12_AM;
    time->SecondFraction = SYNCH_PREDIV;
    time->SubSeconds = SYNCH_PREDIV - (uint32_t)((uint64_t)fraction * (SYNCH_PREDIV + 1) / NS_PER_S);
    return HAL_OK;
}

HAL_StatusTypeDef __wrap_HAL_RTC_GetDate(RTC_HandleTypeDef *hrtc, RTC_DateTypeDef *date, uint32_t format) {
    (void)hrtc;
    int64_t seconds = latched ? latched_seconds : mpssl_qemu_time_ns() / NS_PER_S;
    latched = false;
    timeutils_struct_time_t tm;
    timeutils_seconds_since_1970_to_struct_time(seconds, &tm);
    date->Year = to_format(tm.tm_year >= 2000 ? (tm.tm_year - 2000) % 100 : 0, format);
    date->Month = to_format(tm.tm_mon, format);
    date->Date = to_format(tm.tm_mday, format);
    date->WeekDay = tm.tm_wday + 1; // timeutils counts from Monday = 0, the RTC from Monday = 1
    return HAL_OK;
}

static void rtc_now(timeutils_struct_time_t *tm) {
    timeutils_seconds_since_1970_to_struct_time(mpssl_qemu_time_ns() / NS_PER_S, tm);
}

static HAL_StatusTypeDef rtc_set(uint32_t year, uint32_t month, uint32_t day,
    uint32_t hours, uint32_t minutes, uint32_t seconds) {
    if (year < 2000 || year > 2099 || month < 1 || month > 12 || day < 1
        || day > timeutils_days_in_month(year, month) || hours > 23 || minutes > 59 || seconds > 59) {
        return HAL_ERROR;
    }
    mpssl_qemu_rtc_set(timeutils_seconds_since_1970(year, month, day, hours, minutes, seconds));
    latched = false;
    return HAL_OK;
}

// Setting the date keeps the time of day, and setting the time keeps the date, as the chip's two
// registers do (the port sets the date first, then the time).
HAL_StatusTypeDef __wrap_HAL_RTC_SetDate(RTC_HandleTypeDef *hrtc, RTC_DateTypeDef *date, uint32_t format) {
    (void)hrtc;
    timeutils_struct_time_t tm;
    rtc_now(&tm);
    return rtc_set(2000 + from_format(date->Year, format), from_format(date->Month, format),
        from_format(date->Date, format), tm.tm_hour, tm.tm_min, tm.tm_sec);
}

HAL_StatusTypeDef __wrap_HAL_RTC_SetTime(RTC_HandleTypeDef *hrtc, RTC_TimeTypeDef *time, uint32_t format) {
    (void)hrtc;
    timeutils_struct_time_t tm;
    rtc_now(&tm);
    return rtc_set(tm.tm_year, tm.tm_mon, tm.tm_mday, from_format(time->Hours, format),
        from_format(time->Minutes, format), from_format(time->Seconds, format));
}
