# Frozen Python for an mpssl board: the port's common set, micropython-lib's
# "bundle-networking" WITHOUT require("ssl") (mpssl builds `ssl` and `tls` into the
# firmware, so no ssl.py may be frozen over them), and aioble for Bluetooth.
include("$(PORT_DIR)/boards/manifest.py")

# bundle-networking, less ssl.
require("mip")
require("ntptime")
require("requests")
require("webrepl")
require("urequests")

# Bluetooth
require("aioble")
