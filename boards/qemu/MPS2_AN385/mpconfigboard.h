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
