# The libFuzzer binaries: MicroPython's unix port with mpssl, linked without the port's main().
#
# Read after the port's own Makefile, from mpssl's Makefile (target fuzz-bytes-build):
#   make -C $(MICROPY_DIR)/ports/unix -f Makefile -f tools/fuzz/fuzz.mk BUILD=... CC=clang-14 ... mpssl-fuzz
# so $(OBJ), $(CFLAGS), $(LDFLAGS) and the generated headers are exactly the port's. Nothing is
# written into the checkout: objects go to $(BUILD), binaries to $(MPSSL_FUZZ_OUT).
#
# ports/unix/main.c is compiled with main renamed (its other definitions, nlr_jump_fail and the
# stderr printer among them, are still needed); libFuzzer brings main(), and harness.c the entry
# points. One binary per driver: fuzz-<name> runs mpssl_fuzz.<name>() on every input.
#
# Variables (set by mpssl's Makefile): MPSSL_FUZZ_OUT, MPSSL_FUZZ_DATA, MPSSL_FUZZ_EPOCH,
# MPSSL_FUZZ_HARNESSES.

MPSSL_FUZZ_SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
MPSSL_FUZZ_HARNESSES ?= certs ciphers handshake
MPSSL_FUZZ_BINS := $(addprefix $(MPSSL_FUZZ_OUT)/fuzz-,$(MPSSL_FUZZ_HARNESSES))
MPSSL_FUZZ_OBJS := $(addprefix $(BUILD)/mpssl-fuzz/harness-,$(addsuffix .o,$(MPSSL_FUZZ_HARNESSES)))

ifeq ($(MPSSL_FUZZ_OUT),)
$(error MPSSL_FUZZ_OUT is not set: build the fuzz binaries with mpssl's `make fuzz-bytes-build`)
endif

# The port's build does not notice changed flags: objects depend on a file holding them (and on
# this file and the sanitizer lists), so that a change to the fuzz flags rebuilds everything.
MPSSL_FUZZ_STAMP := $(BUILD)/mpssl-fuzz/flags
MPSSL_FUZZ_FLAGS := $(CC) $(CFLAGS) $(LDFLAGS) $(MPSSL_FUZZ_DATA) $(MPSSL_FUZZ_EPOCH)
ifneq ($(file <$(MPSSL_FUZZ_STAMP)),$(MPSSL_FUZZ_FLAGS))
$(shell mkdir -p $(dir $(MPSSL_FUZZ_STAMP)))
$(file >$(MPSSL_FUZZ_STAMP),$(MPSSL_FUZZ_FLAGS))
endif
$(OBJ) $(MPSSL_FUZZ_OBJS): $(MPSSL_FUZZ_STAMP) $(MPSSL_FUZZ_SRC)/fuzz.mk \
	$(MPSSL_FUZZ_SRC)/coverage-allowlist.txt $(MPSSL_FUZZ_SRC)/sanitizer-ignorelist.txt

# private: the generated headers main.o waits for must not inherit the rename.
$(BUILD)/main.o: private CFLAGS += -Dmain=mpssl_unix_main

$(MPSSL_FUZZ_OBJS): $(BUILD)/mpssl-fuzz/harness-%.o: $(MPSSL_FUZZ_SRC)/harness.c \
		| $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/mpversion.h $(OBJ_EXTRA_ORDER_DEPS)
	$(ECHO) "CC $< ($*)"
	$(Q)$(MKDIR) -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DMPSSL_FUZZ_DRIVER='"$*"' -DMPSSL_FUZZ_DATA_DIR='"$(MPSSL_FUZZ_DATA)"' \
		-DMPSSL_FUZZ_EPOCH=$(MPSSL_FUZZ_EPOCH) -c -o $@ $<

$(MPSSL_FUZZ_OUT)/fuzz-%: $(OBJ) $(BUILD)/mpssl-fuzz/harness-%.o
	$(ECHO) "LINK $@"
	$(Q)$(CC) -o $@ $^ $(LIB) $(LDFLAGS) -fsanitize=fuzzer

.PHONY: mpssl-fuzz
mpssl-fuzz: $(MPSSL_FUZZ_BINS)
