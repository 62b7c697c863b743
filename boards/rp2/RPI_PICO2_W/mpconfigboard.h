// Raspberry Pi Pico 2 W with mpssl: the upstream board's options.
#define MICROPY_HW_BOARD_NAME                   "Raspberry Pi Pico 2 W"

// Leaves 1536K for the firmware image.
#define MICROPY_HW_FLASH_STORAGE_BYTES          (PICO_FLASH_SIZE_BYTES - 1536 * 1024)

// Networking.
#define MICROPY_PY_NETWORK                      (1)
#define MICROPY_PY_NETWORK_HOSTNAME_DEFAULT     "Pico2W"

// MICROPY_PY_SSL stays on although the built-in `tls` is not compiled: on rp2 it also switches
// the port's mbedTLS glue (mbedtls_hardware_poll, hashlib md5/sha1, cryptolib) that mpssl uses.
// usermod/mpssl/micropython.cmake leaves extmod/modtls_mbedtls.c out of the build.
#define MICROPY_PY_SSL                          (1)

// CYW43 driver over PIO SPI.
#define CYW43_USE_SPI                           (1)
#define CYW43_LWIP                              (1)
#define CYW43_GPIO                              (1)
#define CYW43_SPI_PIO                           (1)

#define MICROPY_HW_PIN_EXT_COUNT                CYW43_WL_GPIO_COUNT

// Pins reserved for the CYW43 keep their irq across a soft reboot.
int mp_hal_is_pin_reserved(int n);
#define MICROPY_HW_PIN_RESERVED(i)              mp_hal_is_pin_reserved(i)
