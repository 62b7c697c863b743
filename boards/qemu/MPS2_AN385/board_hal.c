// How the mpssl qemu board waits, and its random numbers.
//
// The qemu port's mphalport.c polls: its REPL wait spins on the UART and mp_hal_delay_ms() spins on
// the tick counter, so QEMU burns a whole host core while the board sits idle.  A real board sleeps
// in WFI until an interrupt.  This board does the same: the UART's receive interrupt, the LAN9118's
// interrupt and the 1 ms SysTick wake the core, and every wait (the REPL, time.sleep, select.poll,
// socket waits through mp_event_wait_ms(), MICROPY_INTERNAL_WFE) ends in board_wait_for_interrupt().
// An idle REPL also slows SysTick down (see there), so QEMU wakes 60 times a second, not 1000.
//
// The port's mp_hal_stdin_rx_chr, mp_hal_delay_ms and mp_hal_get_random are replaced with the
// linker's --wrap (mpconfigboard.mk), so the MicroPython checkout stays as it is.
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "uart.h"

#include "board_hal.h"
#include "lwip_service.h"
#include "semihosting_call.h"

#define CMSDK_UART0_CTRL (*(volatile uint32_t *)0x40004008)
#define CMSDK_UART0_INTSTATUS (*(volatile uint32_t *)0x4000400c)
#define CMSDK_UART_CTRL_RX_INTEN (1u << 3)
#define CMSDK_UART_INT_RX (1u << 1)

#define NVIC_ISER0 (*(volatile uint32_t *)0xe000e100)
#define SCB_ICSR (*(volatile uint32_t *)0xe000ed04)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SYST_RVR (*(volatile uint32_t *)0xe000e014)
#define SYST_CVR (*(volatile uint32_t *)0xe000e018)

// The port's SysTick: 1 ms at 25 MHz (mcu/arm/ticks.c), whose handler counts one millisecond.
#define CYCLES_PER_MS (25000u)
// An idle REPL lets SysTick interrupt every IDLE_TICK_MS instead, after IDLE_AFTER_MS without input.
#define IDLE_TICK_MS (16u)
#define IDLE_AFTER_MS (100u)

void SysTick_Handler(void);

// How many milliseconds the current SysTick period counts (interrupts masked or SysTick only).
static uint32_t tick_period_ms = 1;

static void count_ms(uint32_t ms) {
    while (ms--) {
        SysTick_Handler(); // the port's millisecond counter
        lwip_service_tick();
    }
}

void board_hal_systick(void) {
    count_ms(tick_period_ms);
}

// Changes SysTick's period at once (interrupts masked).  The part of the current period that has
// run is counted first, rounded up to whole milliseconds, so ticks_ms() and ticks_us() never go
// backwards (they may run up to a millisecond ahead per change; changes are rare, see below).
static void set_tick_period(uint32_t ms) {
    uint32_t before = SYST_CVR;
    bool wrapped = (SCB_ICSR & SCB_ICSR_PENDSTSET) != 0;
    uint32_t now = SYST_CVR;
    if (wrapped || now > before) {
        SCB_ICSR = SCB_ICSR_PENDSTCLR;
        count_ms(tick_period_ms); // the period that ended; its interrupt is not taken
        before = SYST_CVR;
    }
    // A count of 0 is a period that has not started yet (just restarted below, or just wrapped).
    uint32_t elapsed = before == 0 ? 0 : SYST_RVR - before;
    count_ms((elapsed + CYCLES_PER_MS - 1) / CYCLES_PER_MS);
    SYST_RVR = ms * CYCLES_PER_MS - 1;
    SYST_CVR = 0; // restart the count with the new period
    tick_period_ms = ms;
}

// Sleep until an interrupt, unless something is already waiting.  Interrupts are masked while the
// condition is checked: an interrupt that arrives after the check stays pending, and a pending
// interrupt ends WFI even while PRIMASK masks it, so no wake-up is lost.  The handler runs when
// PRIMASK is restored.
static void board_wait_for_interrupt(bool stdin_counts) {
    uint32_t state = mpssl_disable_irq();
    bool ready = (stdin_counts && uart_rx_any())
        #if MICROPY_ENABLE_SCHEDULER
        || MP_STATE_VM(sched_state) == MP_SCHED_PENDING
        #endif
    ;
    if (!ready) {
        __asm volatile ("dsb\n wfi" ::: "memory");
    }
    mpssl_enable_irq(state);
}

void mpssl_board_wfe(void) {
    board_wait_for_interrupt(false);
}

// A REPL that has had no input for IDLE_AFTER_MS sleeps deeper: SysTick interrupts every
// IDLE_TICK_MS (counting that many milliseconds each time) until input arrives or a scheduled
// callback is to run, so ticks_ms() steps coarsely only while nothing runs but interrupt handlers
// (lwIP's timers run up to that much late; frames and characters still wake the core at once).
static void deep_idle(bool on) {
    uint32_t state = mpssl_disable_irq();
    set_tick_period(on ? IDLE_TICK_MS : 1);
    mpssl_enable_irq(state);
}

// The UART's receive interrupt only wakes the core: the character stays in the UART (QEMU holds
// back the next one until it is read), and mp_hal_stdin_rx_chr reads it.
static void uart_rx_irq_handler(void) {
    CMSDK_UART0_INTSTATUS = CMSDK_UART_INT_RX;
}

void board_hal_init(uint32_t *vectors) {
    vectors[BOARD_CORE_VECTORS + CMSDK_UART0_RX_IRQ] = (uint32_t)uart_rx_irq_handler;
    CMSDK_UART0_INTSTATUS = CMSDK_UART_INT_RX;
    CMSDK_UART0_CTRL |= CMSDK_UART_CTRL_RX_INTEN;
    NVIC_ISER0 = 1u << CMSDK_UART0_RX_IRQ;
}

int __real_mp_hal_stdin_rx_chr(void);
int __wrap_mp_hal_stdin_rx_chr(void);

// The REPL's wait (and sys.stdin's): read the UART, else run pending callbacks and sleep.
// Only after IDLE_AFTER_MS without input does it sleep deep, so a tool sending a script character
// by character (each one a short wait) never changes SysTick's period.
int __wrap_mp_hal_stdin_rx_chr(void) {
    mp_uint_t start = mp_hal_ticks_ms();
    bool deep = false;
    int c;
    while ((c = uart_rx_chr()) < 0) {
        #if MICROPY_ENABLE_SCHEDULER
        if (deep && MP_STATE_VM(sched_state) == MP_SCHED_PENDING) {
            deep_idle(deep = false); // callbacks see the fine tick, and may raise
        }
        #endif
        if (!deep) {
            mp_event_handle_nowait();
        }
        if (!deep && mp_hal_ticks_ms() - start >= IDLE_AFTER_MS) {
            deep_idle(deep = true);
        }
        board_wait_for_interrupt(true);
    }
    if (deep) {
        deep_idle(false);
    }
    return c;
}

void __real_mp_hal_delay_ms(mp_uint_t ms);
void __wrap_mp_hal_delay_ms(mp_uint_t ms);

// time.sleep() and friends: sleep between ticks, running pending callbacks (and raising pending
// exceptions) as other ports do while they wait.
void __wrap_mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t start = mp_hal_ticks_ms();
    for (;;) {
        mp_event_handle_nowait();
        if (mp_hal_ticks_ms() - start >= ms) {
            return;
        }
        board_wait_for_interrupt(false);
    }
}

void __real_mp_hal_get_random(size_t n, uint8_t *buf);
void __wrap_mp_hal_get_random(size_t n, uint8_t *buf);

// os.urandom() and random's seed: the host's /dev/urandom through semihosting, as mbedTLS' entropy
// (the port's own mp_hal_get_random is a fixed-seed LCG).  Read here, not through
// mbedtls_hardware_poll: with the built-in tls (make bench's image) that hook is extmod's, which
// calls mp_hal_get_random.
void __wrap_mp_hal_get_random(size_t n, uint8_t *buf) {
    if (semihosting_host_entropy(buf, n) != n) {
        mp_raise_OSError(MP_EIO);
    }
}

uint32_t mpssl_board_random_seed(void) {
    uint32_t seed = 0;
    semihosting_host_entropy((uint8_t *)&seed, sizeof(seed));
    return seed ^ mp_hal_ticks_us();
}
