# Upstream NUCLEO_F429ZI's frozen modules, with micropython-lib's networking bundle spelled out
# minus its `ssl` wrapper: mpssl builds `ssl` (and `tls`) into the firmware.
include("$(PORT_DIR)/boards/manifest.py")
require("mip")
require("ntptime")
require("requests")
require("webrepl")
require("urequests")
