// When lwIP runs on the mpssl qemu board: in the PendSV handler (lowest priority), requested by
// the Ethernet interrupt and every few milliseconds by SysTick for lwIP's timers.  Python code
// calling lwIP holds mpssl_lwip_lock(), which defers that handler until the lock is released.
#ifndef MPSSL_QEMU_LWIP_SERVICE_H
#define MPSSL_QEMU_LWIP_SERVICE_H

void lwip_service_request(void);
void lwip_service_handler(void);
void lwip_service_tick(void);
void lwip_service_reset_lock(void);

#endif // MPSSL_QEMU_LWIP_SERVICE_H
