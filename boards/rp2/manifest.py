# Frozen Python for the mpssl rp2 boards: the port's common set, the networking bundle without
# ssl.py, and aioble for Bluetooth.
include("$(PORT_DIR)/boards/manifest.py")
include("../networking_manifest.py")
require("aioble")
