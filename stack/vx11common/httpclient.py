"""A small asyncio HTTP/1.1 client for calls between the services.

One connection per request (``Connection: close``), a hard overall timeout, and
a single exception type for every way the call can fail. Standard library only:
the services talk to each other over loopback or the compose network, and a few
JSON calls do not justify another dependency.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 1 << 20


class UpstreamError(Exception):
    """The upstream could not be reached, timed out, or answered garbage."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        line, _, rest = data.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        data = rest[size + 2:]


def _parse(raw: bytes) -> Reply:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise UpstreamError("incomplete response")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise UpstreamError(f"bad status line {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return Reply(int(parts[1]), headers, body)


async def _exchange(host: str, port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await reader.read(MAX_BODY)
        chunks = [raw]
        while raw:
            raw = await reader.read(MAX_BODY)
            chunks.append(raw)
        return b"".join(chunks)
    finally:
        writer.close()


async def request(method: str, url: str, body: Any = None, timeout: float = 1.0,
                  headers: dict[str, str] | None = None) -> Reply:
    """Send one request; raise UpstreamError on connection failure, timeout or bad reply."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if isinstance(body, bytes):
        payload = body
    else:
        payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             f"Content-Length: {len(payload)}", "Accept: application/json"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw_request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    try:
        raw = await asyncio.wait_for(_exchange(host, port, raw_request), timeout)
    except TimeoutError:
        raise UpstreamError(f"{method} {url}: no answer within {timeout}s") from None
    except (OSError, ValueError) as exc:
        raise UpstreamError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from None
    try:
        return _parse(raw)
    except (ValueError, IndexError) as exc:
        raise UpstreamError(f"{method} {url}: unreadable reply: {exc}") from None
