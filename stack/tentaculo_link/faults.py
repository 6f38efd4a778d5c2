"""tentaculo_link's fault switches (see vx11common/faults.py and stack/README.md)."""

from __future__ import annotations

from vx11common.faults import FaultSwitches

_SWITCHES = FaultSwitches("tentaculo_link")


def on(name: str) -> bool:
    return _SWITCHES.on(name)
