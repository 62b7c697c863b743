// The mpssl qemu board's Ethernet interface: the LAN9118 as an lwIP netif with DHCP.
#ifndef MPSSL_QEMU_ETH_NETIF_H
#define MPSSL_QEMU_ETH_NETIF_H

#include <stdbool.h>

#include "lwip/netif.h"

// Link states reported by network.LAN.status(), as on MicroPython's stm32 Ethernet.
#define ETH_STATUS_DOWN (0)
#define ETH_STATUS_LINK_UP (1)
#define ETH_STATUS_NO_IP (2)
#define ETH_STATUS_GOT_IP (3)

struct netif *eth_netif(void);
// Brings the interface up and starts DHCP (nothing if it is up already); false if the chip does
// not answer.  Call with the lwIP lock held.
bool eth_netif_start(void);
void eth_netif_stop(void);
bool eth_netif_active(void);
// The interface's MAC address, read from the chip when it is not started; false if no chip answers.
bool eth_netif_mac(uint8_t mac[6]);
int eth_netif_status(void);
// Passes received frames to lwIP, at most a few per call (lwIP context only).
void eth_netif_poll(void);
// Follows the PHY's link state: a link that comes up starts DHCP (lwIP context only).
void eth_netif_check_link(void);
// The chip's interrupt handler.
void eth_irq_handler(void);

#endif // MPSSL_QEMU_ETH_NETIF_H
