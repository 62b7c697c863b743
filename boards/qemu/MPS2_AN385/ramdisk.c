// The mpssl qemu board's filesystem: littlefs on a RAM disk mounted at "/", as a real board mounts
// its flash.  The RAM keeps its content across soft resets (it is only lost when QEMU exits), so the
// test runner can copy scripts and certificates once and run them after each soft reset.
#include <string.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"

#include "ramdisk.h"

#define BLOCK_SIZE (512)
#define BLOCK_COUNT (1024) // 512 KiB

typedef struct _ramdisk_obj_t {
    mp_obj_base_t base;
} ramdisk_obj_t;

static const mp_obj_type_t ramdisk_type;
static const ramdisk_obj_t ramdisk_obj = { { &ramdisk_type } };
static uint8_t storage[BLOCK_COUNT * BLOCK_SIZE];
static bool formatted;

// readblocks(block, buf, offset=0) / writeblocks(block, buf, offset=0): littlefs' extended interface.
static mp_obj_t ramdisk_transfer(size_t n_args, const mp_obj_t *args, bool write) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    mp_int_t offset = n_args > 3 ? mp_obj_get_int(args[3]) : 0;
    mp_int_t start = mp_obj_get_int(args[1]) * BLOCK_SIZE + offset;
    if (start < 0 || offset < 0 || (size_t)start + buf.len > sizeof(storage)) {
        mp_raise_OSError(MP_EIO);
    }
    if (write) {
        memcpy(storage + start, buf.buf, buf.len);
    } else {
        memcpy(buf.buf, storage + start, buf.len);
    }
    return mp_const_none;
}

static mp_obj_t ramdisk_readblocks(size_t n_args, const mp_obj_t *args) {
    return ramdisk_transfer(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_readblocks_obj, 3, 4, ramdisk_readblocks);

static mp_obj_t ramdisk_writeblocks(size_t n_args, const mp_obj_t *args) {
    return ramdisk_transfer(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_writeblocks_obj, 3, 4, ramdisk_writeblocks);

static mp_obj_t ramdisk_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    (void)self_in;
    (void)arg_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(BLOCK_COUNT);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            return MP_OBJ_NEW_SMALL_INT(0);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ramdisk_ioctl_obj, ramdisk_ioctl);

static const mp_rom_map_elem_t ramdisk_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ramdisk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ramdisk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ramdisk_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(ramdisk_locals_dict, ramdisk_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    ramdisk_type,
    MP_QSTR_RAMDisk,
    MP_TYPE_FLAG_NONE,
    locals_dict, &ramdisk_locals_dict
    );

void ramdisk_mount(void) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t bdev = MP_OBJ_FROM_PTR(&ramdisk_obj);
        mp_obj_t vfs_type = MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2);
        if (!formatted) {
            mp_call_function_1(mp_load_attr(vfs_type, MP_QSTR_mkfs), bdev);
            formatted = true;
        }
        mp_obj_t args[2] = { mp_call_function_1(vfs_type, bdev), MP_OBJ_NEW_QSTR(MP_QSTR__slash_) };
        mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
        MP_STATE_VM(vfs_cur) = MP_STATE_VM(vfs_mount_table);
        nlr_pop();
    } else {
        mp_printf(&mp_plat_print, "MPY: can't mount the RAM filesystem: ");
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
}
