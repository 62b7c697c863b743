"""Host-side runner library for mpssl tests (a pytest plugin)."""
