"""madre's chat: ask switch for a reply, fall back to a local degraded reply.

The session cache (recent turns per session in redis) is best effort: a redis
error costs the history, never the reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from redis.asyncio import Redis

from madre import faults
from vx11common import httpclient

LOG = logging.getLogger("madre.chat")
SWITCH_TIMEOUT = 1.0
SESSION_TTL = 3600
SESSION_TURNS = 50
FALLBACK = "local_llm_degraded"


async def _remember(redis: Redis, session_id: str, message: str) -> int:
    """Append to the session's history; return its length (0 when redis fails)."""
    key = f"vx11:session:{session_id}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, message[:2000])
            pipe.ltrim(key, -SESSION_TURNS, -1)
            pipe.expire(key, SESSION_TTL)
            pipe.llen(key)
            done = await asyncio.wait_for(pipe.execute(), 0.5)
        return int(done[-1])
    except Exception as exc:  # noqa: BLE001 - the cache is optional
        LOG.warning("session cache unavailable: %s", exc)
        return 0


async def _ask_switch(switch_url: str, message: str, session_id: str, turns: int) -> str | None:
    try:
        reply = await httpclient.request("POST", f"{switch_url}/switch/route", timeout=SWITCH_TIMEOUT,
                                         body={"message": message, "session_id": session_id, "turns": turns})
        text = reply.json().get("reply") if reply.status == 200 else None
    except (httpclient.UpstreamError, ValueError, AttributeError) as exc:
        LOG.info("switch unavailable, degraded reply: %s", exc)
        return None
    return text if isinstance(text, str) and text else None


CHAT_DELAY = float(os.environ.get("VX11_CHAT_DELAY_SEC", "0") or 0)
# A legal stack with one burst of slowness: its first N chats are slow, then none (the selftests'
# host under a burst of load elsewhere; a gate must not block on one bad sample).
_slow_first = {"left": int(os.environ.get("VX11_CHAT_SLOW_FIRST", "0") or 0)}


def degraded_reply(message: str) -> str:
    words = len(message.split())
    return (f"[degraded] The model router is unavailable; a local fallback received your message "
            f"({words} words) and will answer fully when routing is back.")


async def answer(redis: Redis, switch_url: str, message: str, session_id: str,
                 request_id: str) -> dict[str, Any]:
    if faults.on("slow_chat") or _slow_first["left"] > 0:
        _slow_first["left"] = max(0, _slow_first["left"] - 1)
        await asyncio.sleep(1.6)
    elif CHAT_DELAY > 0:  # a legal, slow stack for the benches (the contract bounds no latency)
        await asyncio.sleep(CHAT_DELAY)
    turns = await _remember(redis, session_id, message)
    text = await _ask_switch(switch_url, message, session_id, turns)
    return {"session_id": session_id, "reply": text if text is not None else degraded_reply(message),
            "degraded": text is None, "fallback_source": None if text is not None else FALLBACK,
            "request_id": request_id}
