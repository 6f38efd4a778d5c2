"""spawner: health only (port 8003); the contract asks no more of it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from vx11common.health import health_body

SERVICE = "spawner"

app = FastAPI(title="spawner", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health")
async def health() -> dict[str, Any]:
    return health_body(SERVICE)
