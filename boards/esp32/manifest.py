# Frozen Python for the mpssl esp32 boards: upstream's ports/esp32/boards/manifest.py, with every
# module that would freeze micropython-lib's ssl.py left out of it (mpssl builds `ssl` and `tls`
# into the firmware, so no ssl.py may be frozen over them). Upstream's file cannot be included as
# it is: it requires "bundle-networking", which requires "ssl", and "umqtt.simple", whose
# manifest requires "ssl" too.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")

include("../networking_manifest.py")

# The rest of upstream's list.
require("aioespnow")
require("dht")
require("ds18x20")
require("neopixel")
require("onewire")
require("umqtt.robust")
require("upysh")

# umqtt.simple without its require("ssl"): the same package, from the same micropython-lib
# directory. Its `ssl=True` path does `import ssl`, which is mpssl.
package("umqtt", base_path="$(MPY_LIB_DIR)/micropython/umqtt.simple")
