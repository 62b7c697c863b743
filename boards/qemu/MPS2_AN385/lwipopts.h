// lwIP configuration of the mpssl qemu board: MicroPython's common settings, IPv4 only, and TCP
// buffers sized so a full receive window fits in the LAN9118's receive FIFO (about 10 KiB): the
// emulated chip drops frames that do not fit.
#ifndef MPSSL_QEMU_LWIPOPTS_H
#define MPSSL_QEMU_LWIPOPTS_H

#include <stdint.h>

#define LWIP_IPV6                       0
#define LWIP_NETIF_EXT_STATUS_CALLBACK  0

uint32_t mpssl_lwip_random(void);
#define LWIP_RAND() mpssl_lwip_random()

// Several TLS connections at once, plus listeners for board-as-server tests.
#define MEMP_NUM_TCP_PCB                (10)
#define MEM_SIZE                        (24 * 1024)
#define TCP_MSS                         (1460)
#define TCP_WND                         (4 * TCP_MSS)
#define TCP_SND_BUF                     (4 * TCP_MSS)
#define MEMP_NUM_TCP_SEG                (32)
#define PBUF_POOL_SIZE                  (24)

#include "extmod/lwip-include/lwipopts_common.h"

#endif // MPSSL_QEMU_LWIPOPTS_H
