"""The gateway's chat route: validate, ask madre, and never answer 5xx.

Whatever madre does (down, slow, 5xx, garbage), the operator gets a 200 reply;
when madre cannot give one the gateway answers with its own degraded reply.
"""

from __future__ import annotations

import logging
from typing import Any

from tentaculo_link import faults
from vx11common import httpclient
from vx11common.validation import BadInput, chat_request

LOG = logging.getLogger("tentaculo_link.chat")
MADRE_TIMEOUT = 4.0
FALLBACK = "local_llm_degraded"
FIELDS = ("session_id", "reply", "degraded", "fallback_source", "request_id")


def _local_reply(session_id: str, request_id: str) -> dict[str, Any]:
    return {"session_id": session_id, "request_id": request_id, "degraded": True, "fallback_source": FALLBACK,
            "reply": "[degraded] The orchestrator is unavailable; the gateway received your message "
                     "and will answer fully when it is back."}


def _well_formed(body: Any) -> bool:
    return (isinstance(body, dict) and all(k in body for k in FIELDS) and isinstance(body["reply"], str)
            and isinstance(body["degraded"], bool))


async def _ask_madre(madre_url: str, message: str, session_id: str, request_id: str) -> dict[str, Any] | None:
    try:
        reply = await httpclient.request("POST", f"{madre_url}/madre/chat", timeout=MADRE_TIMEOUT,
                                         body={"message": message, "session_id": session_id},
                                         headers={"x-request-id": request_id})
        body = reply.json()
    except (httpclient.UpstreamError, ValueError) as exc:
        LOG.warning("madre unavailable for chat, local degraded reply: %s", exc)
        return None
    if reply.status == 200 and _well_formed(body):
        return {k: body[k] for k in FIELDS}
    LOG.warning("madre answered chat with %s, local degraded reply", reply.status)
    return None


async def handle(raw: bytes | None, madre_url: str, request_id: str) -> tuple[int, dict[str, Any]]:
    """(status, body) for one chat request; raw is None when the body was too large."""
    if faults.on("chat_5xx"):
        return 500, {"error": "internal_error", "detail": "fault chat_5xx"}
    try:
        if raw is None:
            raise BadInput(413, "body_too_large", "request body is too large")
        req = chat_request(raw)
    except BadInput as exc:
        return (500 if faults.on("bad_input_5xx") else exc.status), exc.body()
    body = await _ask_madre(madre_url, req.message, req.session_id, request_id)
    if body is None:
        body = _local_reply(req.session_id, request_id)
    if body["degraded"] and faults.on("degraded_503"):
        return 503, {"error": "degraded", "detail": "fault degraded_503"}
    return 200, body
