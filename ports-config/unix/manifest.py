# The unix port's standard manifest without micropython-lib's `ssl` wrapper: mpssl provides
# `ssl` (and `tls`) as built-in modules, so no frozen ssl.py may shadow or duplicate them.
add_library("unix-ffi", "$(MPY_LIB_DIR)/unix-ffi")
require("mip-cmdline")
include("$(MPY_DIR)/extmod/asyncio")
