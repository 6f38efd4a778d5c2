"""The gateway's public /health: its own state plus each dependency's, checked now."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from tentaculo_link import faults
from vx11common import httpclient
from vx11common.health import health_body
from vx11common.settings import Settings

DEP_TIMEOUT = 0.8
REQUIRED = ("madre", "redis")


async def _http_dep(name: str, base_url: str) -> str:
    """'ok' when the service answers 200 with a body that names it and says ok."""
    try:
        reply = await httpclient.request("GET", f"{base_url}/health", timeout=DEP_TIMEOUT)
        body = reply.json()
    except (httpclient.UpstreamError, ValueError):
        return "down"
    good = reply.status == 200 and isinstance(body, dict) and body.get("status") == "ok" \
        and body.get("service") == name
    return "ok" if good else "down"


async def _redis_dep(redis: Redis) -> str:
    try:
        return "ok" if await asyncio.wait_for(redis.ping(), DEP_TIMEOUT) else "down"
    except Exception:  # noqa: BLE001 - any failure means down
        return "down"


async def aggregate(settings: Settings, redis: Redis) -> dict[str, Any]:
    if faults.on("health_blind"):
        deps = {name: "ok" for name in ("madre", "redis", "switch", "spawner")}
    else:
        states = await asyncio.gather(_http_dep("madre", settings.madre_url), _redis_dep(redis),
                                      _http_dep("switch", settings.switch_url),
                                      _http_dep("spawner", settings.spawner_url))
        deps = dict(zip(("madre", "redis", "switch", "spawner"), states, strict=True))
    body = health_body("tentaculo_link", dependencies=deps)
    if any(deps[name] != "ok" for name in REQUIRED) or faults.on("aggregate_always_degraded"):
        body["status"] = "degraded"
    return body
