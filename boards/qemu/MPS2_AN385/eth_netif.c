// The LAN9118 as an lwIP netif.  Received frames are copied from the chip's FIFO into pbufs in
// lwIP's context (PendSV), sent frames are written to the chip from the pbuf chain.
#include <string.h>

#include "py/mphal.h"
#include "extmod/modnetwork.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "eth_netif.h"
#include "lan9118.h"
#include "lwip_service.h"

#define ETH_RX_FRAMES_PER_POLL (8)

typedef struct _eth_t {
    struct netif netif;
    bool added;
    bool active;
    uint8_t frame[LAN9118_MAX_FRAME]; // the chip's FIFOs are word-wide: frames pass through here
} eth_t;

static eth_t eth;

struct netif *eth_netif(void) {
    return &eth.netif;
}

static err_t eth_linkoutput(struct netif *netif, struct pbuf *p) {
    (void)netif;
    if (p->tot_len > sizeof(eth.frame)) {
        return ERR_BUF;
    }
    size_t len = pbuf_copy_partial(p, eth.frame, p->tot_len, 0);
    return lan9118_send(eth.frame, len) ? ERR_OK : ERR_BUF;
}

static err_t eth_netif_init(struct netif *netif) {
    netif->linkoutput = eth_linkoutput;
    netif->output = etharp_output;
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    return ERR_OK;
}

bool eth_netif_start(void) {
    if (eth.active) {
        return true; // already up: resetting the chip would drop frames and restart DHCP for nothing
    }
    uint8_t mac[ETH_HWADDR_LEN];
    if (!lan9118_init(mac)) {
        return false;
    }
    if (!eth.added) {
        netif_add(&eth.netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL, eth_netif_init, ethernet_input);
        netif_set_hostname(&eth.netif, mod_network_hostname_data);
        netif_set_default(&eth.netif);
        eth.added = true;
    }
    memcpy(eth.netif.hwaddr, mac, ETH_HWADDR_LEN);
    lan9118_enable(true);
    netif_set_up(&eth.netif);
    // DHCP waits for the link: lwIP starts it when eth_netif_check_link() reports the link up.
    if (lan9118_link_up()) {
        netif_set_link_up(&eth.netif);
    } else {
        netif_set_link_down(&eth.netif);
    }
    dhcp_start(&eth.netif);
    eth.active = true;
    return true;
}

void eth_netif_stop(void) {
    if (!eth.active) {
        return;
    }
    dhcp_release_and_stop(&eth.netif);
    netif_set_link_down(&eth.netif);
    netif_set_down(&eth.netif);
    lan9118_enable(false);
    eth.active = false;
}

bool eth_netif_mac(uint8_t mac[6]) {
    if (!eth.active) {
        // Not started yet: the chip holds the address QEMU gave it (-nic ...,mac=).
        if (!lan9118_init(eth.netif.hwaddr)) {
            return false;
        }
    }
    memcpy(mac, eth.netif.hwaddr, ETH_HWADDR_LEN);
    return true;
}

bool eth_netif_active(void) {
    return eth.active;
}

int eth_netif_status(void) {
    if (eth.active && netif_is_up(&eth.netif) && netif_is_link_up(&eth.netif)) {
        return ip4_addr_isany_val(*netif_ip4_addr(&eth.netif)) ? ETH_STATUS_NO_IP : ETH_STATUS_GOT_IP;
    }
    return eth.active && lan9118_link_up() ? ETH_STATUS_LINK_UP : ETH_STATUS_DOWN;
}

void eth_netif_poll(void) {
    if (!eth.active) {
        return;
    }
    lan9118_count_overruns();
    // A bounded number of frames per call: under a flood the rest wait for the next call, which is
    // requested at once, so timers and other interrupts get their turn in between.
    for (int n = 0; n < ETH_RX_FRAMES_PER_POLL; ++n) {
        uint32_t status = lan9118_rx_next();
        if (status == 0) {
            return;
        }
        size_t len = lan9118_rx_len(status);
        struct pbuf *p = len > 0 ? pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL) : NULL;
        if (p == NULL) {
            lan9118_rx_read(status, NULL, 0); // dropped: bad frame or no pbuf; TCP will resend
            if (len > 0) {
                lan9118_count_rx_dropped();
            }
            continue;
        }
        lan9118_rx_read(status, eth.frame, sizeof(eth.frame));
        pbuf_take(p, eth.frame, (u16_t)len);
        if (eth.netif.input(p, &eth.netif) != ERR_OK) {
            pbuf_free(p);
        }
    }
    if (lan9118_rx_pending()) {
        lwip_service_request();
    }
}

void eth_netif_check_link(void) {
    if (!eth.active) {
        return;
    }
    bool up = lan9118_link_up();
    if (up && !netif_is_link_up(&eth.netif)) {
        netif_set_link_up(&eth.netif); // lwIP restarts DHCP
    } else if (!up && netif_is_link_up(&eth.netif)) {
        netif_set_link_down(&eth.netif);
    }
}

void eth_irq_handler(void) {
    lan9118_ack_irq();
    lwip_service_request();
}
