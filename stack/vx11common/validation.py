"""Request-body parsing that turns every bad input into a 4xx, never an exception.

The routes read the raw body themselves instead of letting a framework model do
it: the contract fixes which status each kind of bad input gets, and a body that
is not JSON, not an object, or too large must never reach a code path that can
raise a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vx11common.faults import FaultSwitches

MAX_MESSAGE_BYTES = 16 * 1024
MAX_SESSION_ID = 256
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class BadInput(Exception):
    status: int
    error: str
    detail: str

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


def parse_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadInput (400 not JSON, 413 too big, 422 not an object)."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadInput(413, "body_too_large", f"request body is over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise BadInput(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadInput(400, "invalid_json", f"request body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(value, dict):
        raise BadInput(422, "invalid_body", f"expected a JSON object, got {type(value).__name__}")
    return value


def require_str(body: dict[str, Any], name: str) -> str:
    if name not in body:
        raise BadInput(422, "missing_field", f"field {name!r} is required")
    value = body[name]
    if not isinstance(value, str):
        raise BadInput(422, "wrong_type", f"field {name!r} must be a string, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ChatRequest:
    message: str
    session_id: str


def chat_request(raw: bytes) -> ChatRequest:
    """Validate a chat body: {"message": non-empty str <= 16 KiB, "session_id": str}."""
    body = parse_object(raw)
    message = require_str(body, "message")
    session_id = require_str(body, "session_id")
    if not message.strip():
        raise BadInput(422, "empty_message", "field 'message' must not be empty")
    try:
        size = len(message.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadInput(422, "invalid_message", "field 'message' is not valid Unicode text") from None
    limit = MAX_MESSAGE_BYTES // 2 if FaultSwitches("tentaculo_link").on("message_limit_low") else MAX_MESSAGE_BYTES
    if size > limit:
        raise BadInput(422, "message_too_long", f"message is {size} bytes; the limit is {limit}")
    if len(session_id) > MAX_SESSION_ID:
        raise BadInput(422, "session_id_too_long", f"session_id is over {MAX_SESSION_ID} characters")
    try:
        session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(422, "invalid_session_id", "session_id is not valid Unicode text") from None
    return ChatRequest(message, session_id)
