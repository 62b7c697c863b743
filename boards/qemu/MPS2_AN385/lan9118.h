// SMSC LAN9118 Ethernet controller (as QEMU's mps2-an385 machine has it at 0x40200000, IRQ 13):
// register-level driver, no lwIP.  Frames are whole Ethernet frames without the FCS.
#ifndef MPSSL_QEMU_LAN9118_H
#define MPSSL_QEMU_LAN9118_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAN9118_IRQ (13)
#define LAN9118_MAX_FRAME (1514)

// What the driver counted since power-on.
typedef struct _lan9118_stats_t {
    uint32_t tx_frames;   // sent (the chip reported their status)
    uint32_t tx_errors;   // the chip reported an error sending them
    uint32_t tx_full;     // not sent: no room in the transmit FIFO
    uint32_t rx_frames;   // received
    uint32_t rx_errors;   // received with an error (bad length or status)
    uint32_t rx_dropped;  // received but dropped by the board (no buffer)
    uint32_t rx_overruns; // dropped by the chip: its receive FIFO was full
} lan9118_stats_t;

// Resets the chip and reads its MAC address; false if no LAN9118 answers.
bool lan9118_init(uint8_t mac[6]);
// Receiver and transmitter on, receive interrupts on (or all off).
void lan9118_enable(bool on);
bool lan9118_link_up(void);
// Sends one frame of len bytes (at most LAN9118_MAX_FRAME); false if it is too long or the transmit
// FIFO has no room for it (the frame is dropped, as a full DMA ring drops it on other chips).
bool lan9118_send(const uint8_t *frame, size_t len);
// The next received frame's status word, 0 when none is waiting.
uint32_t lan9118_rx_next(void);
// Whether more received frames are waiting.
bool lan9118_rx_pending(void);
// Counts a received frame the board had to drop.
void lan9118_count_rx_dropped(void);
// The length of the frame a status word announces, 0 for a bad frame.
size_t lan9118_rx_len(uint32_t status);
// Reads that frame into buf and returns its length; with buf NULL or too small it drops the frame
// and returns 0.  Every status from lan9118_rx_next() must be followed by this call.
size_t lan9118_rx_read(uint32_t status, uint8_t *buf, size_t size);
// Acknowledges the receive interrupt; the caller then drains frames.
// Also counts the chip's receive overruns.
void lan9118_ack_irq(void);
void lan9118_count_overruns(void);
void lan9118_get_stats(lan9118_stats_t *stats);

#endif // MPSSL_QEMU_LAN9118_H
