# The emulation board's frozen modules: the port's (asyncio, dht, onewire).  No networking bundle:
# the emulated board has no network.
include("$(PORT_DIR)/boards/manifest.py")
