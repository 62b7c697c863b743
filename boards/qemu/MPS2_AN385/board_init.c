// Start-up of the mpssl qemu board, run by mp_init() on every (soft) reset: the first time it
// moves the interrupt vectors to RAM so the board's own handlers can be installed (the qemu port's
// table has no external interrupts) and initialises lwIP; every time it resets the network module,
// mounts the RAM filesystem and runs boot.py and main.py.
#include <string.h>

#include "py/runtime.h"
#include "extmod/modnetwork.h"
#include "lwip/init.h"
#include "shared/runtime/pyexec.h"

#include "board_hal.h"
#include "eth_netif.h"
#include "lan9118.h"
#include "lwip_service.h"
#include "ramdisk.h"

#define CORE_VECTORS (16)
#define EXTERNAL_IRQS (32) // QEMU's mps2-an385 NVIC
#define PENDSV_VECTOR (14)
#define SYSTICK_VECTOR (15)

#define SCB_VTOR (*(volatile uint32_t *)0xe000ed08)
#define SCB_SHPR3 (*(volatile uint32_t *)0xe000ed20)

extern const uint32_t isr_vector[];
void Default_Handler(void);

// The table's alignment must cover its size rounded up to a power of two.
static uint32_t vectors[CORE_VECTORS + EXTERNAL_IRQS] __attribute__((aligned(256)));
static bool hardware_ready;

static void install_vectors(void) {
    memcpy(vectors, isr_vector, CORE_VECTORS * sizeof(uint32_t));
    for (size_t i = CORE_VECTORS; i < MP_ARRAY_SIZE(vectors); ++i) {
        vectors[i] = (uint32_t)Default_Handler;
    }
    vectors[PENDSV_VECTOR] = (uint32_t)lwip_service_handler;
    vectors[SYSTICK_VECTOR] = (uint32_t)board_hal_systick;
    vectors[CORE_VECTORS + LAN9118_IRQ] = (uint32_t)eth_irq_handler;
    __asm volatile ("cpsid i" ::: "memory");
    board_hal_init(vectors);
    SCB_VTOR = (uint32_t)vectors;
    SCB_SHPR3 |= 0xffu << 16; // PendSV: lowest priority, so it never interrupts another handler
    __asm volatile ("dsb\n isb\n cpsie i" ::: "memory");
}

void mpssl_board_init(void) {
    if (!hardware_ready) {
        install_vectors();
        lwip_init();
        hardware_ready = true;
    }
    lwip_service_reset_lock();
    mod_network_init();
    ramdisk_mount();
    // As on other boards: boot.py after every reset, main.py only when the friendly REPL follows
    // (a soft reset from the raw REPL, as tools do it, skips main.py).  The qemu port's main loop
    // has no hook after mp_init(), so they run here, at its end.
    pyexec_file_if_exists("boot.py");
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
        pyexec_file_if_exists("main.py");
    }
}
