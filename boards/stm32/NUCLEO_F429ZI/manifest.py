# Upstream NUCLEO_F429ZI's frozen modules, with the networking bundle without ssl.py.
include("$(PORT_DIR)/boards/manifest.py")
include("../../networking_manifest.py")
