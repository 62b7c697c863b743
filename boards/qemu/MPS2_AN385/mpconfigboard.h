// MicroPython configuration of the mpssl qemu board (MP_CONFIGFILE): the qemu port's own settings,
// then what a networked board has: the LAN9118 Ethernet controller on lwIP as network.LAN, the
// socket module on lwIP, machine.RTC, and time.time()/gmtime() following that RTC.
#include "mpconfigport.h"

// Board start-up: interrupt vectors, lwIP and the network module (every soft reset; the hardware
// side only once).
void mpssl_board_init(void);
#define MICROPY_PORT_INIT_FUNC mpssl_board_init()

// Networking: lwIP runs in the PendSV handler; Python code holds this lock while it calls lwIP.
void mpssl_lwip_lock(void);
void mpssl_lwip_unlock(void);
#define MICROPY_PY_LWIP_ENTER   mpssl_lwip_lock();
#define MICROPY_PY_LWIP_REENTER mpssl_lwip_lock();
#define MICROPY_PY_LWIP_EXIT    mpssl_lwip_unlock();

#define MICROPY_PY_NETWORK (1)
#define MICROPY_PY_NETWORK_HOSTNAME_DEFAULT "mpy-qemu"
extern const struct _mp_obj_type_t network_lan_type;
#define MICROPY_PORT_NETWORK_INTERFACES \
    { MP_ROM_QSTR(MP_QSTR_LAN), MP_ROM_PTR(&network_lan_type) },

// The RTC: wall-clock time for time.time(), time.gmtime() and mbedTLS' certificate checks.
extern const struct _mp_obj_type_t machine_rtc_type;
#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_RTC), MP_ROM_PTR(&machine_rtc_type) },
#define MICROPY_EPOCH_IS_1970 (1)
#define MICROPY_PY_TIME_TIME_TIME_NS (1)
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (1)
#define MICROPY_PY_TIME_INCLUDEFILE "modtime_rtc.c"

// Interrupts: lwIP runs in PendSV and its socket callbacks call mp_sched_schedule(), so the
// scheduler's queue (and anything else MicroPython guards this way) is protected by masking
// interrupts (PRIMASK), saved and restored so sections nest.
static inline uint32_t mpssl_disable_irq(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}
static inline void mpssl_enable_irq(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}
#define MICROPY_BEGIN_ATOMIC_SECTION() mpssl_disable_irq()
#define MICROPY_END_ATOMIC_SECTION(state) mpssl_enable_irq(state)

// Waiting: every event wait ends in WFI (board_hal.c); the UART, the LAN9118 and the 1 ms SysTick
// wake the core.
void mpssl_board_wfe(void);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) mpssl_board_wfe()

// os.urandom() and random's default seed come from the host's entropy (semihosting).
#define MICROPY_PY_OS_URANDOM (1)
uint32_t mpssl_board_random_seed(void);
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC (mpssl_board_random_seed())
