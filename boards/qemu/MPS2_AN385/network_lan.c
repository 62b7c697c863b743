// network.LAN on the mpssl qemu board: the LAN9118 Ethernet interface, with the methods of
// MicroPython's other LAN interfaces (active, isconnected, status, ipconfig, ifconfig, config).
#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/modnetwork.h"

#include "eth_netif.h"
#include "lan9118.h"

typedef struct _network_lan_obj_t {
    mp_obj_base_t base;
} network_lan_obj_t;

static const network_lan_obj_t network_lan_eth0 = { { &network_lan_type } };

static void network_lan_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)self_in;
    (void)kind;
    const ip4_addr_t *addr = netif_ip4_addr(eth_netif());
    mp_printf(print, "<LAN %d %s>", eth_netif_status(), ip4addr_ntoa(addr));
}

static mp_obj_t network_lan_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    (void)type;
    (void)args;
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&network_lan_eth0);
}

static mp_obj_t network_lan_active(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        return mp_obj_new_bool(eth_netif_active());
    }
    bool started = true;
    mpssl_lwip_lock();
    if (mp_obj_is_true(args[1])) {
        started = eth_netif_start();
    } else {
        eth_netif_stop();
    }
    mpssl_lwip_unlock();
    if (!started) {
        mp_raise_OSError(MP_ENODEV);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_active_obj, 1, 2, network_lan_active);

static mp_obj_t network_lan_isconnected(mp_obj_t self_in) {
    (void)self_in;
    return mp_obj_new_bool(eth_netif_status() == ETH_STATUS_GOT_IP);
}
static MP_DEFINE_CONST_FUN_OBJ_1(network_lan_isconnected_obj, network_lan_isconnected);

static mp_obj_t network_lan_status(size_t n_args, const mp_obj_t *args) {
    if (n_args > 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("unknown status param"));
    }
    return MP_OBJ_NEW_SMALL_INT(eth_netif_status());
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_status_obj, 1, 2, network_lan_status);

// ipconfig()/ifconfig() are called without the lwIP lock, as on upstream's stm32: ifconfig("dhcp")
// waits up to 10 s for the DHCP reply, which lwIP (in PendSV) can only process while the lock is free.
static mp_obj_t network_lan_ipconfig(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    return mod_network_nic_ipconfig(eth_netif(), n_args - 1, args + 1, kwargs);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(network_lan_ipconfig_obj, 1, network_lan_ipconfig);

static mp_obj_t network_lan_ifconfig(size_t n_args, const mp_obj_t *args) {
    return mod_network_nic_ifconfig(eth_netif(), n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_ifconfig_obj, 1, 2, network_lan_ifconfig);

static mp_obj_t network_lan_config(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    if (kwargs->used != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("unknown config param"));
    }
    if (n_args != 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("must query one param"));
    }
    if (mp_obj_str_get_qstr(args[1]) != MP_QSTR_mac) {
        mp_raise_ValueError(MP_ERROR_TEXT("unknown config param"));
    }
    uint8_t mac[6];
    mpssl_lwip_lock();
    bool known = eth_netif_mac(mac);
    mpssl_lwip_unlock();
    if (!known) {
        mp_raise_OSError(MP_ENODEV);
    }
    return mp_obj_new_bytes(mac, sizeof(mac));
}
static MP_DEFINE_CONST_FUN_OBJ_KW(network_lan_config_obj, 1, network_lan_config);

// The driver's counters (this board only): frames sent and received, and every kind of loss.
static mp_obj_t network_lan_stats(mp_obj_t self_in) {
    (void)self_in;
    lan9118_stats_t stats;
    lan9118_get_stats(&stats);
    mp_obj_t dict = mp_obj_new_dict(7);
    static const qstr names[] = {
        MP_QSTR_tx_frames, MP_QSTR_tx_errors, MP_QSTR_tx_full, MP_QSTR_rx_frames, MP_QSTR_rx_errors,
        MP_QSTR_rx_dropped, MP_QSTR_rx_overruns,
    };
    const uint32_t values[] = {
        stats.tx_frames, stats.tx_errors, stats.tx_full, stats.rx_frames, stats.rx_errors,
        stats.rx_dropped, stats.rx_overruns,
    };
    for (size_t i = 0; i < MP_ARRAY_SIZE(names); ++i) {
        mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(names[i]), mp_obj_new_int_from_uint(values[i]));
    }
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_1(network_lan_stats_obj, network_lan_stats);

static const mp_rom_map_elem_t network_lan_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&network_lan_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_active), MP_ROM_PTR(&network_lan_active_obj) },
    { MP_ROM_QSTR(MP_QSTR_isconnected), MP_ROM_PTR(&network_lan_isconnected_obj) },
    { MP_ROM_QSTR(MP_QSTR_status), MP_ROM_PTR(&network_lan_status_obj) },
    { MP_ROM_QSTR(MP_QSTR_ipconfig), MP_ROM_PTR(&network_lan_ipconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_ifconfig), MP_ROM_PTR(&network_lan_ifconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_config), MP_ROM_PTR(&network_lan_config_obj) },
};
static MP_DEFINE_CONST_DICT(network_lan_locals_dict, network_lan_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    network_lan_type,
    MP_QSTR_LAN,
    MP_TYPE_FLAG_NONE,
    make_new, network_lan_make_new,
    print, network_lan_print,
    locals_dict, &network_lan_locals_dict
    );
