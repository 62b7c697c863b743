"""Which targets the device tests run on: `--target` (repeatable) and `--rig`.

    --target unix                 the unix build as a subprocess
    --target qemu                 the emulated Cortex-M3 board (networked)
    --target rp2040js             the emulated RP2040 (no network)
    --target stm32-qemu           the emulated STM32F405 (QEMU netduinoplus2, no network)
    --target port:/dev/ttyACM0    a board on a serial port
    --target id:E6614C311B7B5F2B  a board found by its USB serial number (found again after resets)

Without --target or --rig: unix, qemu, rp2040js and (when qemu-system-arm is installed) stm32-qemu,
each skipping when it is not available here."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["unix", "qemu", "rp2040js", "stm32-qemu", "port", "id"]
EMULATED: tuple[TargetKind, ...] = ("unix", "qemu", "rp2040js", "stm32-qemu")
WITHOUT_NETWORK: tuple[TargetKind, ...] = ("rp2040js", "stm32-qemu")  # no Ethernet or Wi-Fi in the emulator
# Default targets only where their emulator is installed (the others skip with their reason).
NEEDS_PROGRAM: dict[TargetKind, str] = {"stm32-qemu": "qemu-system-arm"}
WITH_GC_HEAP_BUILD = "gc_heap_unix"  # the unix build with mbedTLS on the GC heap, where "unix" is selected
USAGE = "--target takes unix, qemu, rp2040js, stm32-qemu, port:<serial device> or id:<USB serial number>"


@dataclass(frozen=True)
class TargetSpec:
    kind: TargetKind
    value: str | None = None  # the device path or the USB serial number

    @property
    def param_id(self) -> str:
        """The test id part: `test_x[qemu]`, `test_x[port:/dev/ttyACM0]`."""
        return self.kind if self.value is None else f"{self.kind}:{self.value}"

    @property
    def is_board(self) -> bool:
        return self.kind in ("port", "id")

    @property
    def has_network(self) -> bool:
        return self.kind not in WITHOUT_NETWORK


def parse_target(text: str) -> TargetSpec:
    kind, sep, value = text.strip().partition(":")
    if not sep and kind in EMULATED:
        return TargetSpec(kind)
    if sep and kind in ("port", "id") and value:
        return TargetSpec(kind, value)  # type: ignore[arg-type]
    raise ValueError(f"unknown target {text!r}: {USAGE}")


def default_targets() -> list[TargetSpec]:
    """The emulated targets, less those whose emulator program is not installed here."""
    return [TargetSpec(k) for k in EMULATED if k not in NEEDS_PROGRAM or shutil.which(NEEDS_PROGRAM[k])]


def parse_targets(texts: list[str] | None) -> list[TargetSpec]:
    """The targets in the order given, without repeats; the emulated ones when none is given."""
    specs = [parse_target(t) for t in texts] if texts else default_targets()
    return list(dict.fromkeys(specs))


def target_ids(specs: list[TargetSpec], networked: bool) -> list[str]:
    return [s.param_id for s in specs if s.has_network or not networked]


def gc_heap_ids(specs: list[TargetSpec], networked: bool = False) -> list[str]:
    """Targets where mbedTLS allocates on the GC heap: the gc-heap unix build for "unix", and every MCU
    target (MCU ports put mbedTLS on the GC heap); only those with a network if `networked`."""
    ids = []
    for spec in specs:
        if networked and not spec.has_network:
            continue
        if spec.kind == "unix":
            ids.append(WITH_GC_HEAP_BUILD)
        elif spec.kind != "rp2040js":  # too slow for 1000 cycles on the emulated RP2040
            ids.append(spec.param_id)
    return ids
