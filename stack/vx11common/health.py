"""The body every VX11 service answers on GET /health."""

from __future__ import annotations

from typing import Any

from vx11common import VERSION
from vx11common.faults import FaultSwitches


def health_body(service: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "ok", "service": service, "version": VERSION}
    if FaultSwitches(service).on("health_body_wrong"):
        del body["service"]
    body.update(extra)
    return body
