"""tentaculo_link: token check, routing to madre, operator UI, public health (port 8000)."""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from redis.asyncio import Redis

from tentaculo_link import chat, faults
from tentaculo_link.health import aggregate
from vx11common import httpclient
from vx11common.settings import Settings
from vx11common.validation import MAX_BODY_BYTES

LOG = logging.getLogger("tentaculo_link")
HEADER = "x-vx11-token"
STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = {"/health", "/operator", "/operator/", "/operator/app.js", "/operator/style.css", "/operator/favicon.png"}
PROXY_TIMEOUT = 5.0
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

settings = Settings.from_env()
if not settings.token.strip():
    sys.stderr.write("tentaculo_link: refusing to start: VX11_TOKEN is unset or empty; "
                     "export VX11_TOKEN=<the stack's token> and start again\n")
    raise SystemExit(2)


def _asset(name: str) -> bytes:
    if name.endswith(".png"):
        return (STATIC / name).read_bytes()
    text = (STATIC / name).read_text()
    if name == "app.js" and faults.on("absolute_origin_ui"):
        text = text.replace('const API_BASE = "";', 'const API_BASE = "http://localhost:8000/operator/";')
    return faults.browser_only(name, text).encode()


ASSETS = {"index.html": ("text/html; charset=utf-8", _asset("index.html")),
          "app.js": ("text/javascript; charset=utf-8", _asset("app.js")),
          "style.css": ("text/css; charset=utf-8", _asset("style.css")),
          "favicon.png": ("image/png", _asset("favicon.png"))}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = Redis.from_url(settings.redis_url, socket_timeout=0.8, socket_connect_timeout=0.8)
    try:
        yield
    finally:
        await app.state.redis.aclose()


app = FastAPI(title="tentaculo_link", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


@app.middleware("http")
async def token_check(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
    """Every route except /health and the static operator page needs x-vx11-token."""
    if request.url.path in PUBLIC or faults.on("no_auth"):
        return await call_next(request)
    given = request.headers.get(HEADER)
    if not given:
        return _error(401, "unauthorized", f"missing {HEADER} header")
    if faults.on("token_prefix_match"):  # the defect: only the first 8 characters count
        given, expected = given[:8], settings.token[:8]
    else:
        expected = settings.token
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        return _error(401, "unauthorized", f"wrong {HEADER}")
    return await call_next(request)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


async def _read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes (the rest is read and dropped, so
    the client can finish sending and read the 413 instead of seeing a reset)."""
    data = bytearray()
    over = False
    async for chunk in request.stream():
        if not over:
            data += chunk
            over = len(data) > limit
    return None if over else bytes(data)


@app.get("/health")
async def health(request: Request) -> dict[str, Any]:
    return await aggregate(settings, request.app.state.redis)


@app.get("/operator")
async def operator_redirect() -> RedirectResponse:
    return RedirectResponse("/operator/", status_code=308)


@app.get("/operator/")
async def operator_page() -> Response:
    return Response(ASSETS["index.html"][1], media_type=ASSETS["index.html"][0])


@app.get("/operator/{name}")
async def operator_asset(name: str) -> Response:
    if name not in ASSETS or name == "index.html":
        return _error(404, "not_found", f"no operator asset {name!r}")
    media, body = ASSETS[name]
    return Response(body, media_type=media)


@app.post("/operator/api/chat")
async def chat_route(request: Request) -> JSONResponse:
    request_id = _request_id(request)
    try:
        status, body = await chat.handle(await _read_capped(request), settings.madre_url, request_id)
    except Exception as exc:  # noqa: BLE001 - the chat promise is "never a 5xx"
        LOG.error("chat failed unexpectedly, local degraded reply: %r", exc)
        status, body = 200, chat._local_reply("", request_id)
    return JSONResponse(body, status_code=status)


async def _proxy(request: Request) -> Response:
    """Forward the request as it came (raw path, query, body) to madre; relay its answer."""
    raw = await _read_capped(request)
    if raw is None:
        return _error(413, "body_too_large", "request body is too large")
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = f"{settings.madre_url}{path}" + (f"?{query}" if query else "")
    try:
        reply = await httpclient.request(request.method, url, body=raw if raw else None, timeout=PROXY_TIMEOUT,
                                         headers={"x-request-id": _request_id(request)})
    except httpclient.UpstreamError as exc:
        LOG.warning("madre unavailable: %s", exc)
        return _error(502, "upstream_unavailable", "madre did not answer")
    media = reply.headers.get("content-type", "application/json")
    return Response(reply.body, status_code=reply.status, media_type=media)


@app.api_route("/madre/power/{rest:path}", methods=["GET", "POST"])
async def power(request: Request, rest: str) -> Response:
    return await _proxy(request)


@app.get("/madre/flags")
async def flags(request: Request) -> Response:
    return await _proxy(request)
