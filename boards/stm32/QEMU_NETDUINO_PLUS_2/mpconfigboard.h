// QEMU_NETDUINO_PLUS_2: MicroPython's stm32 port on QEMU's netduinoplus2 machine (STM32F405).
// An emulation board for the mpssl tests, not firmware for the real Netduino Plus 2: what QEMU does
// not model is switched off or stood in for (board_qemu.c).
#define MICROPY_HW_BOARD_NAME       "QEMU netduinoplus2"
#define MICROPY_HW_MCU_NAME         "STM32F405RG"

// SysTick's vector in a RAM copy of the vector table, for the idle REPL's slow tick (board_idle.c).
#define MICROPY_BOARD_EARLY_INIT    board_idle_init
void board_idle_init(void);

// Not modelled by QEMU, so not used: USB (the REPL is on USART1), the RNG (rng_get is the host's
// entropy), the switch, servos and the DAC (GPIO), the SD card, and storage in the internal flash
// (no flash controller).  The RTC is on: its HAL calls read the host's clock (board_qemu.c).
#define MICROPY_HW_ENABLE_USB       (0)
#define MICROPY_HW_ENABLE_RNG       (0)
#define MICROPY_HW_ENABLE_RTC       (1)
#define MICROPY_HW_HAS_SWITCH       (0)
#define MICROPY_HW_ENABLE_SERVO     (0)
#define MICROPY_HW_ENABLE_DAC       (0)
#define MICROPY_HW_ENABLE_SDCARD    (0)
#define MICROPY_HW_ENABLE_INTERNAL_FLASH_STORAGE (0)

// The Netduino Plus 2's PLL settings (25 MHz crystal, 168 MHz core).  QEMU has no clock tree: the
// board's SystemClock_Config only records 168 MHz, the rate QEMU runs SysTick at.
#define MICROPY_HW_CLK_PLLM (25)
#define MICROPY_HW_CLK_PLLN (336)
#define MICROPY_HW_CLK_PLLP (RCC_PLLP_DIV2)
#define MICROPY_HW_CLK_PLLQ (7)

// The REPL on USART1, QEMU's first -serial.
#define MICROPY_HW_UART1_TX         (pin_A9)
#define MICROPY_HW_UART1_RX         (pin_A10)
#define MICROPY_HW_UART2_TX         (pin_A2)
#define MICROPY_HW_UART2_RX         (pin_A3)
#define MICROPY_HW_UART3_TX         (pin_D8)
#define MICROPY_HW_UART3_RX         (pin_D9)
#define MICROPY_HW_UART6_TX         (pin_C6)
#define MICROPY_HW_UART6_RX         (pin_C7)
#define MICROPY_HW_UART_REPL        PYB_UART_1
#define MICROPY_HW_UART_REPL_BAUD   115200

// No storage: QEMU does not model the flash controller, and all of the SRAM QEMU maps goes to the
// heap (qemu_f405.ld).  The test runner mounts each run's directory with mpremote.
