"""switch: picks a model for a message and returns its reply (port 8002).

The "models" here are small deterministic responders: the reference stack needs
a router that answers like one, not a language model.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vx11common.health import health_body
from vx11common.validation import BadInput, parse_object, require_str

SERVICE = "switch"
MODELS = ("vx11-mini", "vx11-base")

app = FastAPI(title="switch", docs_url=None, redoc_url=None, openapi_url=None)


@app.exception_handler(BadInput)
async def _bad_input(_: Request, exc: BadInput) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


@app.get("/health")
async def health() -> dict[str, Any]:
    return health_body(SERVICE, models=list(MODELS))


def _choose(message: str) -> str:
    return MODELS[1] if len(message) > 280 else MODELS[0]


@app.post("/switch/route")
async def route(request: Request) -> dict[str, Any]:
    body = parse_object(await request.body())
    message = require_str(body, "message")
    model = _choose(message)
    digest = hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()[:8]
    words = len(message.split())
    reply = f"[{model}] Acknowledged ({words} words, ref {digest}). The stack is reachable and routing works."
    return {"reply": reply, "model": model}
