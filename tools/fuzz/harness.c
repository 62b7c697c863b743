// libFuzzer entry points for mpssl's byte-level harnesses.
//
// The fuzz binaries are MicroPython's unix port with mpssl, linked with this file instead of the
// port's main() (tools/fuzz/fuzz.mk compiles ports/unix/main.c with main renamed, so libFuzzer's
// main runs).  Each binary hands every input, as a bytes object, to one function of the frozen
// Python module mpssl_fuzz (tools/fuzz/mpssl_fuzz.py), chosen when this file is compiled
// (-DMPSSL_FUZZ_DRIVER="certs", "ciphers" or "handshake").  Python exceptions are caught and
// ignored: only a crash, a sanitizer report, a timeout or running out of memory counts.
//
// Made deterministic for replay (the same input does the same thing every time, and a handshake
// recorded once can be replayed): mbedTLS takes its entropy from mbedtls_hardware_poll below, a
// constant, and its clock from fuzz_time, a fixed date (MPSSL_FUZZ_EPOCH, the date the fuzz PKI is
// generated for).  Both hooks are selected with -D flags on the fuzz build only.
//
// Environment:
//   MPSSL_FUZZ_DATA=dir     the data directory (the PKI); default: the build's, compiled in
//   MPSSL_FUZZ_SEEDS=dir    write this driver's seed corpus into dir and exit
//   MPSSL_FUZZ_PATH=dir     import mpssl_fuzz from dir before the frozen one (editing the driver)
//   MPSSL_FUZZ_VERBOSE=1    print the Python exception each input ended with
//
// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include "py/runtime.h"
#include "py/gc.h"
#include "py/cstack.h"
#include "py/objstr.h"
#include "py/mpthread.h"
#include "extmod/vfs.h"
#include "extmod/vfs_posix.h"
#include "stack_size.h"

#include "mbedtls/platform.h"

#ifndef MPSSL_FUZZ_DRIVER
#error "compile with -DMPSSL_FUZZ_DRIVER=\"<function of mpssl_fuzz>\""
#endif
#ifndef MPSSL_FUZZ_DATA_DIR
#error "compile with -DMPSSL_FUZZ_DATA_DIR=\"<directory of the fuzz PKI>\""
#endif
#ifndef MPSSL_FUZZ_EPOCH
#error "compile with -DMPSSL_FUZZ_EPOCH=<seconds since 1970, the fixed clock>"
#endif
#if !defined(MBEDTLS_ENTROPY_HARDWARE_ALT) || !defined(MBEDTLS_NO_PLATFORM_ENTROPY) || !defined(MBEDTLS_PLATFORM_TIME_ALT)
#error "the fuzz build configures mbedTLS with MBEDTLS_ENTROPY_HARDWARE_ALT, MBEDTLS_NO_PLATFORM_ENTROPY, MBEDTLS_PLATFORM_TIME_ALT"
#endif

// MicroPython's heap for the driver's objects (mbedTLS uses the C heap, where ASan watches it).
#define FUZZ_GC_HEAP_BYTES (8 * 1024 * 1024)
// The C stack MicroPython may use below the harness' frame, as the unix port's main() allows.
#define FUZZ_C_STACK_BYTES (40000 * UNIX_STACK_MULTIPLIER)

// ---- determinism hooks (selected by the fuzz build's -D flags) ----

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
    (void)data;
    // Every random generator mpssl seeds starts from the same state: what one context draws
    // depends only on what that context did.  Never anything like this outside a fuzz build.
    for (size_t i = 0; i < len; ++i) {
        output[i] = (unsigned char)(0xA5 ^ (i * 31));
    }
    *olen = len;
    return 0;
}

static mbedtls_time_t fuzz_time(mbedtls_time_t *timer) {
    mbedtls_time_t now = (mbedtls_time_t)MPSSL_FUZZ_EPOCH;
    if (timer != NULL) {
        *timer = now;
    }
    return now;
}

// ---- inputs in exact-size C buffers ----
//
// A bytes object made by MicroPython lives inside the GC heap, one big malloc block, so ASan
// cannot see a read past its end.  The driver's data, and whatever the driver passes through
// external(), get their own malloc block of exactly len + 1 bytes (the NUL a bytes object always
// has, which mpssl's PEM parsing relies on); a read beyond that is an ASan report.  The blocks
// are freed after the input, once the garbage collector has run.

static unsigned char **ext_blocks;
static size_t ext_count, ext_capacity;

static bool grow_externals(void) {
    size_t capacity = ext_capacity ? 2 * ext_capacity : 64;
    unsigned char **blocks = realloc(ext_blocks, capacity * sizeof(*blocks));
    if (blocks == NULL) {
        return false;
    }
    ext_blocks = blocks;
    ext_capacity = capacity;
    return true;
}

static mp_obj_t new_external(const mp_obj_type_t *type, const void *data, size_t len) {
    if (ext_count == ext_capacity && !grow_externals()) {
        mp_raise_msg(&mp_type_MemoryError, NULL);
    }
    unsigned char *block = malloc(len + 1);
    if (block == NULL) {
        mp_raise_msg(&mp_type_MemoryError, NULL);
    }
    if (len > 0) {
        memcpy(block, data, len);
    }
    block[len] = '\0';
    ext_blocks[ext_count++] = block;
    mp_obj_str_t *obj = mp_obj_malloc(mp_obj_str_t, type);
    obj->hash = qstr_compute_hash(block, len);
    obj->len = len;
    obj->data = block;
    return MP_OBJ_FROM_PTR(obj);
}

static void free_externals(void) {
    for (size_t i = 0; i < ext_count; ++i) {
        free(ext_blocks[i]);
    }
    ext_count = 0;
}

// external(obj) -> a str or bytes equal to obj, its data in an exact-size C buffer.
static mp_obj_t fuzz_external(mp_obj_t obj) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(obj, &info, MP_BUFFER_READ);
    return new_external(mp_obj_is_str(obj) ? &mp_type_str : &mp_type_bytes, info.buf, info.len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(fuzz_external_obj, fuzz_external);

// ---- the MicroPython runtime ----

static qstr driver_name;
static bool verbose;

static void print_exception(const char *when, mp_obj_t exc) {
    fprintf(stderr, "mpssl fuzz harness: Python exception %s:\n", when);
    fflush(stderr);
    mp_obj_print_exception(&mp_plat_print, exc);
}

static mp_obj_t module_call(mp_obj_t module, const char *name, size_t n_args, const mp_obj_t *args) {
    mp_obj_t fun = mp_load_attr(module, qstr_from_str(name));
    return mp_call_function_n_kw(fun, n_args, 0, args);
}

static MP_NOINLINE void start_python(void) {
    const char *data_dir = getenv("MPSSL_FUZZ_DATA");
    const char *seeds_dir = getenv("MPSSL_FUZZ_SEEDS");
    const char *module_dir = getenv("MPSSL_FUZZ_PATH");

    // Allocated once, here: libFuzzer re-runs an input that mallocs more than it frees, to look
    // for a leak.
    static char *heap;
    heap = malloc(FUZZ_GC_HEAP_BYTES);
    if (heap == NULL || !grow_externals()) {
        fprintf(stderr, "mpssl fuzz harness: no memory for the GC heap\n");
        exit(1);
    }
    gc_init(heap, heap + FUZZ_GC_HEAP_BYTES);
    mp_init();

    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        // The host's file system at /, so that open() and imports from MPSSL_FUZZ_PATH work; the
        // current directory stays the process' (no chdir: libFuzzer's paths may be relative).
        mp_obj_t mount_args[2] = {
            MP_OBJ_TYPE_GET_SLOT(&mp_type_vfs_posix, make_new)(&mp_type_vfs_posix, 0, 0, NULL),
            MP_OBJ_NEW_QSTR(qstr_from_str("/")),
        };
        mp_vfs_mount(2, mount_args, (mp_map_t *)&mp_const_empty_map);
        nlr_pop();
    } else {
        print_exception("while mounting the host file system", MP_OBJ_FROM_PTR(nlr.ret_val));
        exit(1);
    }

    // sys.argv is empty; sys.path: the frozen modules (mpssl_fuzz among them), after
    // MPSSL_FUZZ_PATH if given.
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);
    mp_sys_path = mp_obj_new_list(0, NULL);
    if (module_dir != NULL && *module_dir != '\0') {
        mp_obj_list_append(mp_sys_path, mp_obj_new_str_from_cstr(module_dir));
    }
    mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(qstr_from_str(".frozen")));

    if (nlr_push(&nlr) == 0) {
        mp_obj_t module = mp_import_name(qstr_from_str("mpssl_fuzz"), mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        mp_store_attr(module, qstr_from_str("external"), MP_OBJ_FROM_PTR(&fuzz_external_obj));
        mp_store_attr(module, qstr_from_str("VERBOSE"), mp_obj_new_bool(verbose));
        mp_obj_t setup_args[2] = {
            mp_obj_new_str_from_cstr(data_dir != NULL && *data_dir != '\0' ? data_dir : MPSSL_FUZZ_DATA_DIR),
            mp_obj_new_int(MPSSL_FUZZ_EPOCH),
        };
        module_call(module, "setup", 2, setup_args);
        if (seeds_dir != NULL && *seeds_dir != '\0') {
            mp_obj_t seed_args[2] = {
                mp_obj_new_str_from_cstr(MPSSL_FUZZ_DRIVER),
                mp_obj_new_str_from_cstr(seeds_dir),
            };
            mp_obj_t count = module_call(module, "seeds", 2, seed_args);
            printf("mpssl fuzz harness: %d %s seeds written to %s\n", (int)mp_obj_get_int(count),
                MPSSL_FUZZ_DRIVER, seeds_dir);
            fflush(stdout);
            gc_collect();
            exit(0);
        }
        // The driver, kept in __main__'s globals so that the garbage collector sees it.
        driver_name = qstr_from_str("_mpssl_fuzz_driver");
        mp_store_global(driver_name, mp_load_attr(module, qstr_from_str(MPSSL_FUZZ_DRIVER)));
        nlr_pop();
    } else {
        print_exception("while starting the driver", MP_OBJ_FROM_PTR(nlr.ret_val));
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    mbedtls_platform_set_time(fuzz_time);
    verbose = getenv("MPSSL_FUZZ_VERBOSE") != NULL && *getenv("MPSSL_FUZZ_VERBOSE") != '\0';
    #if MICROPY_PY_THREAD
    mp_thread_init();
    #endif
    // Set again for every input: libFuzzer calls the two entry points from different depths.
    mp_cstack_init_with_sp_here(FUZZ_C_STACK_BYTES);
    start_python();
    return 0;
}

static MP_NOINLINE void run_input(const uint8_t *data, size_t size) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t driver = mp_load_global(driver_name);
        mp_call_function_1(driver, new_external(&mp_type_bytes, data, size));
        nlr_pop();
    } else if (verbose) {
        print_exception("from the driver (ignored)", MP_OBJ_FROM_PTR(nlr.ret_val));
    }
    // Finalisers of the sockets and contexts the input left behind release their mbedTLS state.
    gc_collect();
    free_externals();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // The garbage collector scans the C stack from here down: the top of the stack is this
    // frame, as the unix port's main() makes its own frame the top.
    mp_cstack_init_with_sp_here(FUZZ_C_STACK_BYTES);
    run_input(data, size);
    return 0;
}
