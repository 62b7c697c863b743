// lwIP's execution context on the mpssl qemu board; see lwip_service.h.
#include <stdbool.h>

#include "py/mphal.h"
#include "lwip/timeouts.h"

#include "eth_netif.h"
#include "lwip_service.h"

#define SCB_ICSR (*(volatile uint32_t *)0xe000ed04)
#define SCB_ICSR_PENDSVSET (1u << 28)
#define TIMER_PERIOD_MS (8)
#define LINK_CHECK_PERIOD_MS (256) // the PHY's link state is polled, as boards without a PHY interrupt do

// How deep Python code holds the lock, and whether the handler ran while it did.
static volatile uint32_t lock_depth;
static volatile bool deferred;
static uint32_t last_link_check; // lwIP context only

void lwip_service_request(void) {
    SCB_ICSR = SCB_ICSR_PENDSVSET;
}

void lwip_service_handler(void) {
    if (lock_depth != 0) {
        deferred = true;
        return;
    }
    eth_netif_poll();
    uint32_t now = mp_hal_ticks_ms();
    if (now - last_link_check >= LINK_CHECK_PERIOD_MS) {
        last_link_check = now;
        eth_netif_check_link();
    }
    sys_check_timeouts();
}

void lwip_service_tick(void) {
    if (mp_hal_ticks_ms() % TIMER_PERIOD_MS == 0) {
        lwip_service_request();
    }
}

void mpssl_lwip_lock(void) {
    lock_depth = lock_depth + 1;
}

void mpssl_lwip_unlock(void) {
    if (lock_depth > 0) {
        lock_depth = lock_depth - 1;
    }
    if (lock_depth == 0 && deferred) {
        deferred = false;
        lwip_service_request();
    }
}

// A soft reset abandons whatever Python code held.
void lwip_service_reset_lock(void) {
    lock_depth = 0;
    deferred = false;
    lwip_service_request();
}

u32_t sys_now(void) {
    return mp_hal_ticks_ms();
}

// lwIP's random numbers (DHCP transaction ids, DNS ids, TCP initial sequence numbers): the same
// entropy source as mbedTLS, the host through semihosting.
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

uint32_t mpssl_lwip_random(void) {
    uint32_t value = 0;
    size_t got = 0;
    mbedtls_hardware_poll(NULL, (unsigned char *)&value, sizeof(value), &got);
    return value ^ mp_hal_ticks_us();
}
