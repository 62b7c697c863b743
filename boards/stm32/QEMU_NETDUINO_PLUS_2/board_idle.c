// How the emulated STM32F405 idles at its REPL.
//
// The stm32 port already waits in WFI (mp_event_wait_indefinite, MICROPY_INTERNAL_WFE), but its
// SysTick interrupts every millisecond, and each wake-up costs QEMU host time: an idle REPL used
// about 5 % of a host core (51-54 of 1000 CPU ticks over 10 s).  As on the qemu board
// (boards/qemu/MPS2_AN385/board_hal.c), a REPL that has had no input for IDLE_AFTER_MS lets SysTick
// interrupt every IDLE_TICK_MS instead, until a character arrives or a scheduled callback is due.
// Every millisecond is still counted by the port's own SysTick_Handler, one call per millisecond,
// so uwTick, the systick dispatch slots and soft timers see each one (up to IDLE_TICK_MS late while
// nothing runs but interrupt handlers).  time.sleep, select.poll and socket waits keep the port's
// 1 ms tick: only the REPL's wait sleeps deep.
//
// The REPL's wait, mp_hal_stdin_rx_chr (also sys.stdin's), is replaced with the linker's --wrap
// (mpconfigboard.mk), and SysTick's vector through a copy of the vector table in RAM (the startup
// file's weak alias keeps --wrap from reaching it), so the checkout stays as it is.
#include "py/mphal.h"
#include "py/mpstate.h"
#include "py/runtime.h"
#include "irq.h"
#include "uart.h"

// An idle REPL lets SysTick interrupt every IDLE_TICK_MS, after IDLE_AFTER_MS without input.
#define IDLE_TICK_MS (16u)
#define IDLE_AFTER_MS (100u)

void SysTick_Handler(void);
int __real_mp_hal_stdin_rx_chr(void);
int __wrap_mp_hal_stdin_rx_chr(void);

// How many milliseconds the current SysTick period counts (changed with interrupts masked).
static uint32_t tick_period_ms = 1;

static void count_ms(uint32_t ms) {
    while (ms--) {
        SysTick_Handler(); // the port's: one millisecond
    }
}

static void board_systick_handler(void) {
    count_ms(tick_period_ms);
}

// The vector table in RAM: the port's, with SysTick's entry replaced.  VTOR needs it aligned to a
// power of two at least its size (98 words on the F405: 16 core vectors and IRQs up to FPU_IRQn).
#define VECTOR_COUNT (16 + FPU_IRQn + 1)
static uint32_t ram_vectors[VECTOR_COUNT] __attribute__((aligned(512)));

void board_idle_init(void) {
    const uint32_t *vectors = (const uint32_t *)SCB->VTOR;
    for (size_t i = 0; i < VECTOR_COUNT; ++i) {
        ram_vectors[i] = vectors[i];
    }
    ram_vectors[16 + SysTick_IRQn] = (uint32_t)board_systick_handler;
    mp_uint_t state = disable_irq();
    SCB->VTOR = (uint32_t)ram_vectors;
    __DSB();
    enable_irq(state);
}

// Changes SysTick's period at once (interrupts masked).  The part of the current period that has
// run is counted first, rounded up to whole milliseconds, so ticks_ms() and ticks_us() never go
// backwards (they may run up to a millisecond ahead per change; changes are rare, see below).
static void set_tick_period(uint32_t ms) {
    uint32_t cycles_per_ms = (SysTick->LOAD + 1) / tick_period_ms;
    uint32_t before = SysTick->VAL;
    bool wrapped = (SCB->ICSR & SCB_ICSR_PENDSTSET_Msk) != 0;
    uint32_t now = SysTick->VAL;
    if (wrapped || now > before) {
        SCB->ICSR = SCB_ICSR_PENDSTCLR_Msk;
        count_ms(tick_period_ms); // the period that ended; its interrupt is not taken
        before = SysTick->VAL;
    }
    // A count of 0 is a period that has not started yet (just restarted below, or just wrapped).
    uint32_t elapsed = before == 0 ? 0 : SysTick->LOAD - before;
    count_ms((elapsed + cycles_per_ms - 1) / cycles_per_ms);
    SysTick->LOAD = ms * cycles_per_ms - 1;
    SysTick->VAL = 0; // restart the count with the new period
    (void)SysTick->CTRL; // and clear COUNTFLAG, which mp_hal_ticks_us reads
    tick_period_ms = ms;
}

static void deep_idle(bool on) {
    mp_uint_t state = disable_irq();
    set_tick_period(on ? IDLE_TICK_MS : 1);
    enable_irq(state);
}

static bool stdin_waiting(void) {
    return MP_STATE_PORT(pyb_stdio_uart) != NULL && uart_rx_any(MP_STATE_PORT(pyb_stdio_uart));
}

// Sleep until an interrupt, unless a character or a callback is already waiting.  Interrupts are
// masked while that is checked: one that arrives after the check stays pending, and a pending
// interrupt ends WFI even while PRIMASK masks it, so no wake-up is lost.
static void wait_for_interrupt(void) {
    mp_uint_t state = disable_irq();
    bool ready = stdin_waiting()
        #if MICROPY_ENABLE_SCHEDULER
        || MP_STATE_VM(sched_state) == MP_SCHED_PENDING
        #endif
    ;
    if (!ready) {
        __DSB();
        __WFI();
    }
    enable_irq(state);
}

static bool dupterm_attached(void) {
    #if MICROPY_PY_OS_DUPTERM
    for (size_t i = 0; i < MICROPY_PY_OS_DUPTERM; ++i) {
        if (MP_STATE_VM(dupterm_objs[i]) != MP_OBJ_NULL) {
            return true;
        }
    }
    #endif
    return false;
}

// The REPL's wait: until the UART has a character, run pending callbacks and sleep; after
// IDLE_AFTER_MS without input, sleep deep.  A tool sending a script character by character (each
// one a short wait) never changes SysTick's period.  With a dupterm stream attached, or no stdio
// UART, the port's own wait runs as it is.
int __wrap_mp_hal_stdin_rx_chr(void) {
    if (MP_STATE_PORT(pyb_stdio_uart) == NULL || dupterm_attached()) {
        return __real_mp_hal_stdin_rx_chr();
    }
    mp_uint_t start = mp_hal_ticks_ms();
    bool deep = false;
    while (!stdin_waiting()) {
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
        wait_for_interrupt();
    }
    if (deep) {
        deep_idle(false);
    }
    return __real_mp_hal_stdin_rx_chr(); // reads the waiting character
}
