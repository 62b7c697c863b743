# The board built with the built-in tls (MPSSL_BUILTIN_TLS=1, make bench only): micropython-lib's ssl.py
# over it, as every upstream networking board freezes it, and unittest as in manifest.py.
require("unittest")
require("ssl")
