"""Power windows kept in redis, with the TTL enforced by the stack itself.

A window is a hash ``vx11:window:<id>``; open windows are also members of the
sorted set ``vx11:windows:open`` scored by their deadline. Expiry happens in two
places so that nobody has to call close: a background sweep every 0.2 s, and a
sweep before every read, both through one Lua script so a close and an expiry
can never both win.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from redis.asyncio import Redis

from madre import faults

PREFIX = "vx11:window:"
OPEN_SET = "vx11:windows:open"
RETAIN_SEC = 86_400  # a window's record stays readable this long after its deadline

_EXPIRE_LUA = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local k = ARGV[2] .. id
  if redis.call('HGET', k, 'state') == 'open' then
    redis.call('HSET', k, 'state', 'expired', 'expired_at', ARGV[1])
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids
"""

_CLOSE_LUA = """
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return {'missing'} end
local state = redis.call('HGET', k, 'state')
if state == 'open' and ARGV[2] == '1' and tonumber(redis.call('HGET', k, 'deadline_timestamp')) <= tonumber(ARGV[1]) then
  redis.call('HSET', k, 'state', 'expired', 'expired_at', ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  state = 'expired'
end
if state ~= 'open' and ARGV[4] ~= '1' then return {'conflict', state} end
redis.call('HSET', k, 'state', 'closed', 'closed_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return {'ok', redis.call('HGET', k, 'opened_at')}
"""


class WindowError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _now() -> float:
    return round(time.time(), 3)


def _record(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "window_id": raw["window_id"], "service": raw["service"], "opened_at": float(raw["opened_at"]),
        "deadline_timestamp": float(raw["deadline_timestamp"]), "ttl_sec": int(raw["ttl_sec"]),
        "state": raw["state"],
    }
    for extra in ("closed_at", "expired_at"):
        if extra in raw:
            out[extra] = float(raw[extra])
    return out


class WindowStore:
    def __init__(self, redis: Redis, allowlist: tuple[str, ...]) -> None:
        self.redis = redis
        self.allowlist = allowlist
        self.enforce = not faults.on("ttl_not_enforced")
        self._expire = redis.register_script(_EXPIRE_LUA)
        self._close = redis.register_script(_CLOSE_LUA)

    async def sweep(self) -> int:
        """Mark every window past its deadline expired; return how many."""
        if not self.enforce:
            return 0
        return int(await self._expire(keys=[OPEN_SET], args=[_now(), PREFIX]))

    async def open(self, service: str, ttl_sec: int) -> dict[str, Any]:
        if service not in self.allowlist and not faults.on("allowlist_open"):
            raise WindowError(403, "service_not_allowed",
                              f"service {service!r} is not in the window allowlist {list(self.allowlist)}")
        opened = _now()
        skew = 60 if faults.on("wrong_deadline") else 0
        raw = {"window_id": f"win_{uuid.uuid4().hex}", "service": service, "opened_at": repr(opened),
               "deadline_timestamp": repr(round(opened + ttl_sec + skew, 3)), "ttl_sec": str(ttl_sec),
               "state": "open"}
        key = PREFIX + raw["window_id"]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=raw)
            pipe.expire(key, ttl_sec + skew + RETAIN_SEC)
            pipe.zadd(OPEN_SET, {raw["window_id"]: float(raw["deadline_timestamp"])})
            await pipe.execute()
        return _record(raw)

    async def get(self, window_id: str) -> dict[str, Any]:
        await self.sweep()
        raw = await self.redis.hgetall(PREFIX + window_id)
        if not raw:
            raise WindowError(404, "window_not_found", f"no window {window_id!r}")
        return _record(raw)

    async def list_open(self) -> list[dict[str, Any]]:
        await self.sweep()
        low = f"({_now()}" if self.enforce else "-inf"
        ids = await self.redis.zrangebyscore(OPEN_SET, low, "+inf")
        async with self.redis.pipeline(transaction=False) as pipe:
            for wid in ids:
                pipe.hgetall(PREFIX + wid)
            raws = await pipe.execute() if ids else []
        return [_record(r) for r in raws if r and r.get("state") == "open"]

    async def close(self, window_id: str) -> dict[str, Any]:
        now = _now()
        args = [now, "1" if self.enforce else "0", window_id, "1" if faults.on("double_close_accepted") else "0"]
        result = await self._close(keys=[PREFIX + window_id, OPEN_SET], args=args)
        if result[0] == "missing":
            raise WindowError(404, "window_not_found", f"no window {window_id!r}")
        if result[0] == "conflict":
            raise WindowError(409, "window_not_open", f"window {window_id!r} is already {result[1]}")
        return {"window_id": window_id, "closed_at": now,
                "duration_sec": round(now - float(result[1]), 3), "state": "closed"}
