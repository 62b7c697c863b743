// SMSC LAN9118 register-level driver for the mpssl qemu board.  The chip is reached through
// memory-mapped FIFOs: a frame goes out as two command words and its data words; a received frame
// is announced in the RX status FIFO (length including the 4-byte FCS) and read from the RX data
// FIFO.  Register layout per the LAN9118 datasheet.
#include <string.h>

#include "lan9118.h"

#define LAN9118_BASE (0x40200000u)
#define REG(offset) (*(volatile uint32_t *)(LAN9118_BASE + (offset)))

#define RX_DATA_FIFO    REG(0x00)
#define TX_DATA_FIFO    REG(0x20)
#define RX_STATUS_FIFO  REG(0x40)
#define TX_STATUS_FIFO  REG(0x48)
#define IRQ_CFG         REG(0x54)
#define INT_STS         REG(0x58)
#define INT_EN          REG(0x5c)
#define BYTE_TEST       REG(0x64)
#define RX_CFG          REG(0x6c)
#define TX_CFG          REG(0x70)
#define HW_CFG          REG(0x74)
#define RX_FIFO_INF     REG(0x7c)
#define TX_FIFO_INF     REG(0x80)
#define RX_DROP         REG(0xa0)
#define MAC_CSR_CMD     REG(0xa4)
#define MAC_CSR_DATA    REG(0xa8)

#define NVIC_ISER0 (*(volatile uint32_t *)0xe000e100)
#define NVIC_ICER0 (*(volatile uint32_t *)0xe000e180)

#define BYTE_TEST_VALUE (0x87654321u)
#define HW_CFG_SRST (1u << 0)
#define IRQ_CFG_ENABLE_ACTIVE_HIGH_PUSH_PULL ((1u << 8) | (1u << 4) | (1u << 0))
#define INT_RSFL (1u << 3)
#define INT_RXDF (1u << 6)
#define TX_CFG_TX_ON (1u << 1)
#define MAC_CSR_BUSY (1u << 31)
#define MAC_CSR_READ (1u << 30)

#define MAC_CR (1)
#define MAC_ADDRH (2)
#define MAC_ADDRL (3)
#define MAC_MII_ACC (6)
#define MAC_MII_DATA (7)
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_FDPX (1u << 20)
#define MAC_CR_MCPAS (1u << 19)

#define PHY_ADDRESS (1)
#define PHY_BSR (1)
#define PHY_BSR_LINK_UP (1u << 2)

#define RX_STATUS_ERROR (1u << 15)
#define TX_STATUS_ERROR (1u << 15)
#define TX_FIFO_INF_TDFREE(value) ((value) & 0xffffu)
#define TX_FIFO_INF_TXSUSED(value) (((value) >> 16) & 0xffu)
#define RX_FIFO_INF_RXSUSED(value) (((value) >> 16) & 0xffu)
#define TX_CMD_A_FIRST (1u << 13)
#define TX_CMD_A_LAST (1u << 12)
#define FCS_LEN (4)

static lan9118_stats_t stats;

static void wait_mac_csr(void) {
    for (int i = 0; i < 1000 && (MAC_CSR_CMD & MAC_CSR_BUSY); ++i) {
    }
}

static uint32_t mac_read(uint32_t index) {
    wait_mac_csr();
    MAC_CSR_CMD = MAC_CSR_BUSY | MAC_CSR_READ | index;
    wait_mac_csr();
    return MAC_CSR_DATA;
}

static void mac_write(uint32_t index, uint32_t value) {
    wait_mac_csr();
    MAC_CSR_DATA = value;
    MAC_CSR_CMD = MAC_CSR_BUSY | index;
    wait_mac_csr();
}

static uint32_t phy_read(uint32_t reg) {
    mac_write(MAC_MII_ACC, (PHY_ADDRESS << 11) | (reg << 6) | 1u);
    for (int i = 0; i < 1000 && (mac_read(MAC_MII_ACC) & 1u); ++i) {
    }
    return mac_read(MAC_MII_DATA) & 0xffff;
}

bool lan9118_init(uint8_t mac[6]) {
    if (BYTE_TEST != BYTE_TEST_VALUE) {
        return false;
    }
    HW_CFG = HW_CFG_SRST;
    for (int i = 0; i < 100000 && (HW_CFG & HW_CFG_SRST); ++i) {
    }
    uint32_t low = mac_read(MAC_ADDRL);
    uint32_t high = mac_read(MAC_ADDRH);
    for (int i = 0; i < 4; ++i) {
        mac[i] = (uint8_t)(low >> (8 * i));
    }
    mac[4] = (uint8_t)high;
    mac[5] = (uint8_t)(high >> 8);
    INT_EN = 0;
    INT_STS = 0xffffffffu;
    IRQ_CFG = IRQ_CFG_ENABLE_ACTIVE_HIGH_PUSH_PULL;
    return true;
}

void lan9118_enable(bool on) {
    if (on) {
        TX_CFG = TX_CFG_TX_ON;
        RX_CFG = 0; // no offset, 4-byte end alignment
        mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX | MAC_CR_MCPAS);
        INT_STS = INT_RSFL | INT_RXDF;
        INT_EN = INT_RSFL | INT_RXDF;
        NVIC_ISER0 = 1u << LAN9118_IRQ; // only now: until IRQ_CFG is set the line idles high
    } else {
        NVIC_ICER0 = 1u << LAN9118_IRQ;
        INT_EN = 0;
        mac_write(MAC_CR, 0);
        TX_CFG = 0;
    }
}

bool lan9118_link_up(void) {
    return (phy_read(PHY_BSR) & PHY_BSR_LINK_UP) != 0;
}

// Counts the status words of frames the chip has finished sending (and so frees their slots).
static void collect_tx_status(void) {
    for (uint32_t used = TX_FIFO_INF_TXSUSED(TX_FIFO_INF); used > 0; --used) {
        if (TX_STATUS_FIFO & TX_STATUS_ERROR) {
            ++stats.tx_errors;
        } else {
            ++stats.tx_frames;
        }
    }
}

bool lan9118_send(const uint8_t *frame, size_t len) {
    if (len > LAN9118_MAX_FRAME) {
        return false;
    }
    collect_tx_status();
    // Two command words and the frame's words: the chip takes the frame only if it all fits.
    uint32_t needed = 8 + (((uint32_t)len + 3) & ~3u);
    if (TX_FIFO_INF_TDFREE(TX_FIFO_INF) < needed) {
        ++stats.tx_full;
        return false;
    }
    TX_DATA_FIFO = TX_CMD_A_FIRST | TX_CMD_A_LAST | (uint32_t)len;
    TX_DATA_FIFO = ((uint32_t)len << 16) | (uint32_t)len; // packet tag, packet length
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t word;
        memcpy(&word, frame + i, 4);
        TX_DATA_FIFO = word;
    }
    if (i < len) {
        uint32_t word = 0;
        memcpy(&word, frame + i, len - i);
        TX_DATA_FIFO = word;
    }
    collect_tx_status();
    return true;
}

static void discard_words(size_t words) {
    while (words--) {
        (void)RX_DATA_FIFO;
    }
}

uint32_t lan9118_rx_next(void) {
    if (RX_FIFO_INF_RXSUSED(RX_FIFO_INF) == 0) {
        return 0;
    }
    uint32_t status = RX_STATUS_FIFO;
    if (lan9118_rx_len(status) == 0) {
        ++stats.rx_errors;
    } else {
        ++stats.rx_frames;
    }
    return status;
}

bool lan9118_rx_pending(void) {
    return RX_FIFO_INF_RXSUSED(RX_FIFO_INF) != 0;
}

void lan9118_count_rx_dropped(void) {
    ++stats.rx_dropped;
}

size_t lan9118_rx_len(uint32_t status) {
    size_t len = (status >> 16) & 0x3fff;
    if ((status & RX_STATUS_ERROR) || len <= FCS_LEN || len - FCS_LEN > LAN9118_MAX_FRAME) {
        return 0;
    }
    return len - FCS_LEN;
}

size_t lan9118_rx_read(uint32_t status, uint8_t *buf, size_t size) {
    size_t words = (((status >> 16) & 0x3fff) + 3) / 4; // the frame and its FCS
    size_t len = lan9118_rx_len(status);
    if (buf == NULL || size < len) {
        len = 0;
    }
    for (size_t i = 0; i < len; i += 4, --words) {
        uint32_t word = RX_DATA_FIFO;
        memcpy(buf + i, &word, len - i < 4 ? len - i : 4);
    }
    discard_words(words);
    return len;
}

void lan9118_ack_irq(void) {
    uint32_t status = INT_STS & (INT_RSFL | INT_RXDF);
    INT_STS = status;
    if (status & INT_RXDF) {
        lan9118_count_overruns();
    }
}

// Frames the chip dropped because its receive FIFO was full (RX_DROP clears when read).
void lan9118_count_overruns(void) {
    stats.rx_overruns += RX_DROP;
}

void lan9118_get_stats(lan9118_stats_t *out) {
    *out = stats;
}
