# mpssl as a user C module for MicroPython's make ports (unix, qemu, stm32).
#
# The board builds with MICROPY_PY_SSL=0 so the built-in `tls` module is not compiled; this
# file then compiles the port's own mbedTLS (lib/mbedtls of the MicroPython checkout) with
# mpssl's configuration, which includes the port's configuration first.
#
# Variables a board or the command line may set:
#   MPSSL_PORT_MBEDTLS_CONFIG  the port's mbedTLS config header (default "mbedtls/mbedtls_config_port.h")
#   MPSSL_MBEDTLS_GC_HEAP=1    mbedTLS allocates on MicroPython's GC heap (MCU ports do this already)
#   MPSSL_HOST_ENTROPY=1       with the GC heap on a host build: keep the OS entropy source
#   MPSSL_MBEDTLS_PROVIDED=1   the port already compiles lib/mbedtls itself
#   MPSSL_PLATFORM_C           the board's mbedTLS platform layer (entropy, time) when the port
#                              does not compile one without its own TLS module

MPSSL_DIR := $(USERMOD_DIR)
MPSSL_CONFIG_DIR := $(abspath $(USERMOD_DIR)/../../ports-config/mbedtls)

SRC_USERMOD_C += \
	$(MPSSL_DIR)/modssl.c \
	$(MPSSL_DIR)/conf.c \
	$(MPSSL_DIR)/context.c \
	$(MPSSL_DIR)/transport.c \
	$(MPSSL_DIR)/socket.c \
	$(MPSSL_DIR)/certs.c \
	$(MPSSL_DIR)/errors.c

# These flags reach every file of the build: hashlib and cryptolib then use the same mbedTLS.
CFLAGS_USERMOD += -I$(MPSSL_DIR) -I$(MPSSL_CONFIG_DIR) -I$(TOP)/lib/mbedtls/include
CFLAGS_USERMOD += -DMBEDTLS_CONFIG_FILE='"mpssl_mbedtls_config.h"'
CFLAGS_USERMOD += -DMICROPY_SSL_MBEDTLS=1 -DMICROPY_PY_SSL_DTLS=1
CFLAGS_USERMOD += -DMICROPY_PY_HASHLIB_MD5=1 -DMICROPY_PY_HASHLIB_SHA1=1 -DMICROPY_PY_CRYPTOLIB=1
ifdef MPSSL_PORT_MBEDTLS_CONFIG
CFLAGS_USERMOD += -DMPSSL_PORT_MBEDTLS_CONFIG='"$(MPSSL_PORT_MBEDTLS_CONFIG)"'
endif
ifeq ($(MPSSL_MBEDTLS_GC_HEAP),1)
# Spelled as the ports spell it, so a port that defines it too sees an identical definition.
CFLAGS_USERMOD += -DMPSSL_MBEDTLS_GC_HEAP=1 '-DMICROPY_TRACKED_ALLOC=(1)'
endif
ifeq ($(MPSSL_HOST_ENTROPY),1)
CFLAGS_USERMOD += -DMPSSL_HOST_ENTROPY=1
endif

ifneq ($(MPSSL_MBEDTLS_PROVIDED),1)
MPSSL_MBEDTLS_SRC := $(sort $(notdir $(wildcard $(TOP)/lib/mbedtls/library/*.c)))
# PSA crypto and TLS 1.3 are not configured yet; the configuration decides what each file
# contains, so compiling every file costs nothing for what is disabled.
SRC_USERMOD_LIB_C += $(addprefix lib/mbedtls/library/,$(filter-out error.c,$(MPSSL_MBEDTLS_SRC)))
SRC_USERMOD_LIB_C += lib/mbedtls_errors/mp_mbedtls_errors.c
endif
SRC_USERMOD_LIB_C += $(MPSSL_PLATFORM_C)
