# The upstream qemu board freezes its own test modules; an mpssl board needs only unittest.
require("unittest")
