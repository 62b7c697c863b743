"""Parsing --target and choosing the targets each kind of device test runs on."""

from __future__ import annotations

import pytest

from mpssl_hil.plugin import selection
from mpssl_hil.plugin.selection import TargetSpec, gc_heap_ids, parse_target, parse_targets, target_ids


def test_each_target_form_parses() -> None:
    assert parse_target("unix") == TargetSpec("unix")
    assert parse_target("qemu") == TargetSpec("qemu")
    assert parse_target("rp2040js") == TargetSpec("rp2040js")
    assert parse_target("stm32-qemu") == TargetSpec("stm32-qemu")
    assert parse_target("port:/dev/ttyACM0") == TargetSpec("port", "/dev/ttyACM0")
    assert parse_target("id:E6614C311B7B5F2B") == TargetSpec("id", "E6614C311B7B5F2B")
    assert parse_target("port:/dev/ttyACM0").param_id == "port:/dev/ttyACM0"


@pytest.mark.parametrize("bad", ["", "esp32", "port:", "id:", "unix:x", "qemu:1", "/dev/ttyACM0", "stm32_qemu",
                                 "stm32-qemu:1"])
def test_a_bad_target_says_what_is_accepted(bad: str) -> None:
    with pytest.raises(ValueError, match="--target takes unix, qemu, rp2040js, stm32-qemu, port:<serial device> "
                                         "or id:"):
        parse_target(bad)


def test_default_is_the_emulated_targets_and_repeats_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert [s.param_id for s in parse_targets(None)] == ["unix", "qemu", "rp2040js", "stm32-qemu"]
    assert [s.param_id for s in parse_targets(["qemu", "port:/dev/ttyUSB0", "qemu"])] == ["qemu",
                                                                                         "port:/dev/ttyUSB0"]


def test_networked_tests_leave_out_targets_without_network() -> None:
    specs = parse_targets(["unix", "rp2040js", "id:ABC"])
    assert target_ids(specs, networked=False) == ["unix", "rp2040js", "id:ABC"]
    assert target_ids(specs, networked=True) == ["unix", "id:ABC"]


def test_gc_heap_tests_use_the_gc_heap_unix_build_and_mcu_targets() -> None:
    assert gc_heap_ids(parse_targets(["unix", "qemu", "rp2040js", "port:/dev/ttyACM0"])) == [
        "gc_heap_unix", "qemu", "port:/dev/ttyACM0"]


def test_stm32_qemu_is_in_the_default_set_only_where_qemu_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection.shutil, "which", lambda name: None)
    assert [s.param_id for s in parse_targets(None)] == ["unix", "qemu", "rp2040js"]
    assert [s.param_id for s in parse_targets(["stm32-qemu"])] == ["stm32-qemu"]  # named: kept, and fails if unusable


def test_stm32_qemu_has_no_network_but_a_gc_heap() -> None:
    specs = parse_targets(["unix", "qemu", "stm32-qemu"])
    assert not TargetSpec("stm32-qemu").has_network
    assert target_ids(specs, networked=True) == ["unix", "qemu"]
    assert target_ids(specs, networked=False) == ["unix", "qemu", "stm32-qemu"]
    assert gc_heap_ids(specs) == ["gc_heap_unix", "qemu", "stm32-qemu"]
    assert gc_heap_ids(specs, networked=True) == ["gc_heap_unix", "qemu"]


def test_stm32_qemu_fixture_name_maps_the_dash() -> None:
    """session.selected_target looks up `<id with '-' as '_'>_target`: the plugin must define it."""
    import mpssl_hil.plugin as plugin

    assert hasattr(plugin, TargetSpec("stm32-qemu").param_id.replace("-", "_") + "_target")
