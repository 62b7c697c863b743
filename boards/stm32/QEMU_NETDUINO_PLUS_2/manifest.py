# The emulation board's frozen modules: the port's (asyncio, dht, onewire) and the boot step that
# mounts the RAM disk at "/".  No networking bundle: the emulated board has no network.
include("$(PORT_DIR)/boards/manifest.py")
module("qemu_boot.py")
