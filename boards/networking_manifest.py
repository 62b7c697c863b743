# micropython-lib's "bundle-networking" without its require("ssl"): mpssl builds `ssl` and `tls`
# into the firmware, so no ssl.py may be frozen over them. Included by the boards' manifests.
require("mip")
require("ntptime")
require("requests")
require("webrepl")
require("urequests")
