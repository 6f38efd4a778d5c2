"""madre: chat, power windows and feature flags behind the gateway (port 8001)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError

from madre import chat, db, faults
from madre.windows import WindowError, WindowStore
from vx11common.health import health_body
from vx11common.settings import Settings, effective_flags
from vx11common.validation import BadInput, chat_request, parse_object, require_str

LOG = logging.getLogger("madre")
SERVICE = "madre"
SWEEP_INTERVAL = 0.2
settings = Settings.from_env()


async def _sweeper(store: WindowStore) -> None:
    """Expire windows past their deadline, every 0.2 s, whatever happens to redis."""
    failing = False
    while True:
        try:
            await store.sweep()
            failing = False
        except Exception as exc:  # noqa: BLE001 - keep sweeping; log a streak once
            if not failing:
                LOG.warning("window sweep failed: %s", exc)
            failing = True
        await asyncio.sleep(SWEEP_INTERVAL)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if faults.on("early_traceback"):  # a start-up error buried under later lines: the whole log counts
        try:
            raise RuntimeError("fault early_traceback: a module failed at start-up")
        except RuntimeError:
            LOG.exception("start-up problem")
        for i in range(600):
            LOG.warning("filler line %d after the start-up problem", i)
    created = await asyncio.to_thread(db.ensure_database, settings.db_path)
    LOG.info("database %s at %s", "created and seeded" if created else "found", settings.db_path)
    redis = Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=1.0,
                           socket_connect_timeout=1.0, max_connections=200)
    app.state.redis = redis
    app.state.windows = WindowStore(redis, settings.window_allowlist)
    sweeper = asyncio.create_task(_sweeper(app.state.windows))
    try:
        yield
    finally:
        sweeper.cancel()
        await redis.aclose()


app = FastAPI(title="madre", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
_in_flight = {"opens": 0}
_stall = {"health_calls": 0, "until": 0.0}
_closed_ids: list[str] = []  # fault list_includes_closed: windows closed here, shown as if open
STALL_AFTER, STALL_SEC = 12, 3.5


@app.middleware("http")
async def concurrency_fault(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
    """Fault concurrency_resets: drop window opens when more than 5 are in flight."""
    if not faults.on("concurrency_resets") or request.url.path != "/madre/power/window/open":
        return await call_next(request)
    _in_flight["opens"] += 1
    try:
        await asyncio.sleep(0.2)
        if _in_flight["opens"] > 5:
            raise ConnectionResetError("fault concurrency_resets: dropped under load")
        return await call_next(request)
    finally:
        _in_flight["opens"] -= 1


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


@app.exception_handler(BadInput)
async def _bad_input(_: Request, exc: BadInput) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


@app.exception_handler(WindowError)
async def _window_error(_: Request, exc: WindowError) -> JSONResponse:
    return _error(exc.status, exc.error, exc.detail)


async def _stored(call: Awaitable[Any]) -> Any:
    """Await a window-store call; redis trouble becomes a 503 JSON answer, not a traceback."""
    try:
        return await call
    except (TimeoutError, RedisError, OSError) as exc:
        LOG.warning("window store unavailable: %s", exc)
        raise WindowError(503, "state_store_unavailable", f"redis: {exc.__class__.__name__}") from None


@app.get("/health")
async def health() -> dict[str, Any]:
    if faults.on("madre_health_stall"):  # for 3.5 s after the 12th probe, /health hangs
        _stall["health_calls"] += 1
        if _stall["health_calls"] == STALL_AFTER:
            _stall["until"] = time.monotonic() + STALL_SEC
        if time.monotonic() < _stall["until"]:
            await asyncio.sleep(_stall["until"] - time.monotonic())
    return health_body(SERVICE)


@app.post("/madre/chat")
async def chat_route(request: Request) -> dict[str, Any]:
    req = chat_request(await request.body())
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return await chat.answer(request.app.state.redis, settings.switch_url, req.message, req.session_id,
                             request_id)


def _ttl(body: dict[str, Any]) -> int:
    if "ttl_sec" not in body:
        raise BadInput(422, "missing_field", "field 'ttl_sec' is required")
    ttl = body["ttl_sec"]
    if type(ttl) is not int or not 1 <= ttl <= 3600 or (ttl == 3600 and faults.on("ttl_max_refused")):
        raise BadInput(422, "invalid_ttl", f"ttl_sec must be an integer in 1..3600, got {ttl!r}"[:200])
    return ttl


@app.post("/madre/power/window/open")
async def window_open(request: Request) -> Any:
    try:
        body = parse_object(await request.body())
    except BadInput:
        if faults.on("window_bad_body_500"):
            return _error(500, "internal_error", "fault window_bad_body_500")
        raise
    service, ttl = require_str(body, "service"), _ttl(body)
    return await _stored(request.app.state.windows.open(service, ttl))


@app.post("/madre/power/window/close")
async def window_close(request: Request) -> dict[str, Any]:
    window_id = require_str(parse_object(await request.body()), "window_id")
    closed = await _stored(request.app.state.windows.close(window_id))
    if faults.on("list_includes_closed"):
        _closed_ids.append(window_id)
    return closed


@app.get("/madre/power/window/{window_id}")
async def window_get(window_id: str, request: Request) -> dict[str, Any]:
    return await _stored(request.app.state.windows.get(window_id))


@app.get("/madre/power/windows")
async def windows_list(request: Request) -> dict[str, Any]:
    listed = await _stored(request.app.state.windows.list_open())
    if faults.on("list_includes_closed"):
        listed += [await _stored(request.app.state.windows.get(w)) for w in _closed_ids[-20:]]
    return {"windows": listed}


@app.get("/madre/flags")
async def flags() -> dict[str, Any]:
    values = effective_flags(settings.env)
    if faults.on("flag_on_in_api"):
        values["playwright"] = True
    return {"flags": values}
