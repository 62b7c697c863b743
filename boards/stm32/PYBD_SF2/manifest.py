# Upstream PYBD_SF2's frozen modules, with the networking bundle without ssl.py.
include("$(PORT_DIR)/boards/manifest.py")
include("$(PORT_DIR)/boards/manifest_pyboard.py")
include("../../networking_manifest.py")
