# The fuzz binaries' frozen modules: the unix build's manifest plus the harness drivers.
# ruff: noqa: F821 (include and module are the manifest language's functions)
include("../../ports-config/unix/manifest.py")
module("mpssl_fuzz.py")
