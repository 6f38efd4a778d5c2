"""Contract checks of the public API: health, auth, chat, bad input, operator UI.

Each check is a plain function of a Ctx that raises AssertionError with what it
saw; the contract tests call them on a healthy stack, the fault matrix on a
broken one.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urljoin

from selftests.contract.ctx import CHAT, CHAT_FIELDS, NO_TOKEN, OPEN, Ctx, all_up, is_json_error

SERVICES = ("madre", "redis", "switch", "spawner")
CHAT_SLO_SEC = 1.5  # profiles/vx11.toml slo.chat_p95_ms
ABSOLUTE = re.compile(r"(?:https?|wss?):\\?/\\?/|//localhost|\blocalhost:\d|127\.0\.0\.1")


def check_health(ctx: Ctx) -> None:
    """Gateway /health is public, names itself, and reports every dependency ok."""
    with all_up():
        r = ctx.call("GET", "/health", token=NO_TOKEN)
    assert r.status == 200 and isinstance(r.body, dict), f"health: expected 200 JSON, found {r}"
    body = r.body
    assert body.get("status") == "ok", f"health: status: expected 'ok', found {body.get('status')!r}: {r}"
    assert body.get("service") == "tentaculo_link", f"health: service: expected 'tentaculo_link', found {r}"
    assert isinstance(body.get("version"), str) and body["version"], f"health: version missing: {r}"
    deps = body.get("dependencies")
    assert isinstance(deps, dict), f"health: dependencies: expected an object, found {r}"
    for name in SERVICES:
        assert deps.get(name) == "ok", f"health: dependencies.{name}: expected 'ok', found {deps.get(name)!r}"
    state = ctx.local_state()
    for name, info in (state or {}).get("services", {}).items():
        if name in ("redis", "tentaculo_link"):
            continue
        direct = ctx.__class__(f"http://127.0.0.1:{info['port']}", "", ctx.run_dir).call("GET", "/health")
        want = {"status": "ok", "service": name}
        assert direct.status == 200 and isinstance(direct.body, dict) and \
            want.items() <= direct.body.items() and "version" in direct.body, \
            f"health: {name} own /health: expected 200 {want} + version, found {direct}"


def check_health_sees_down_switch(ctx: Ctx) -> None:
    """With switch frozen, gateway health says switch down, quickly, and stays ok (switch is optional)."""
    with ctx.paused("switch"):
        r = ctx.call("GET", "/health", token=NO_TOKEN)
    assert r.status == 200 and isinstance(r.body, dict), f"health: expected 200 JSON, found {r}"
    deps = r.body.get("dependencies", {})
    assert deps.get("switch") == "down", f"health: dependencies.switch: expected 'down', found {deps}"
    assert r.body.get("status") == "ok", f"health: optional switch down must not degrade: {r}"
    assert r.elapsed < 2.5, f"health: expected an answer within 2.5 s with switch frozen, took {r.elapsed:.2f}s"


def check_auth(ctx: Ctx) -> None:
    """Every API route answers 401 with a JSON body without the token or with a wrong one."""
    routes = [("POST", CHAT, {"message": "hi", "session_id": "auth"}), ("POST", OPEN, {"service": "switch",
              "ttl_sec": 5}), ("GET", "/madre/power/windows", None), ("GET", "/madre/flags", None),
              ("GET", "/madre/power/window/win_x", None), ("POST", "/madre/power/window/close", {"window_id": "x"})]
    for method, path, body in routes:
        for token, label in ((NO_TOKEN, "missing"), ("wrong-" + uuid.uuid4().hex, "wrong")):
            r = ctx.call(method, path, body=body, token=token)
            assert r.status == 401, f"auth: {method} {path} with {label} token: expected 401, found {r}"
            assert is_json_error(r), f"auth: {method} {path}: expected a JSON error body, found {r}"
    for path in ("/health", "/operator/"):
        r = ctx.call("GET", path, token=NO_TOKEN)
        assert r.status == 200, f"auth: {path} must be public: expected 200, found {r}"


def _chat(ctx: Ctx, message: str = "status of the stack?", session_id: str | None = None):  # type: ignore[no-untyped-def]
    sid = session_id or f"contract-{uuid.uuid4().hex[:8]}"
    return sid, ctx.call("POST", CHAT, body={"message": message, "session_id": sid})


def check_chat(ctx: Ctx, rounds: int = 5) -> None:
    """Chat answers 200 with the five fields, not degraded while switch is up, within the SLO."""
    for _ in range(rounds):
        with all_up():
            sid, r = _chat(ctx)
        assert r.status == 200 and isinstance(r.body, dict), f"chat: expected 200 JSON, found {r}"
        assert set(r.body) >= CHAT_FIELDS, f"chat: fields: expected {sorted(CHAT_FIELDS)}, found {r}"
        assert r.body["session_id"] == sid, f"chat: session_id: expected {sid!r}, found {r}"
        assert isinstance(r.body["reply"], str) and r.body["reply"], f"chat: reply: expected text, found {r}"
        assert r.body["degraded"] is False, f"chat: degraded: expected false with switch up, found {r}"
        assert r.body["fallback_source"] is None, f"chat: fallback_source: expected null, found {r}"
        assert isinstance(r.body["request_id"], str) and r.body["request_id"], f"chat: request_id: {r}"
        assert r.elapsed <= CHAT_SLO_SEC, f"chat: latency: expected <= {CHAT_SLO_SEC}s, found {r}"


def check_chat_degraded(ctx: Ctx) -> None:
    """With switch frozen, chat still answers 200, degraded, fallback_source local_llm_degraded."""
    with ctx.paused("switch"):
        sid, r = _chat(ctx, "are you there?")
    assert r.status == 200 and isinstance(r.body, dict), f"chat degraded: expected 200 JSON, found {r}"
    assert r.body.get("degraded") is True, f"chat degraded: degraded: expected true, found {r}"
    assert r.body.get("fallback_source") == "local_llm_degraded", f"chat degraded: fallback_source: {r}"
    assert isinstance(r.body.get("reply"), str) and r.body["reply"], f"chat degraded: reply: {r}"
    assert r.body.get("session_id") == sid, f"chat degraded: session_id: expected {sid!r}, found {r}"


BAD_BODIES: list[tuple[str, bytes]] = [
    ("empty object", b"{}"), ("missing session_id", b'{"message": "hi"}'),
    ("missing message", b'{"session_id": "s"}'), ("message int", b'{"message": 5, "session_id": "s"}'),
    ("message null", b'{"message": null, "session_id": "s"}'),
    ("message list", b'{"message": ["a"], "session_id": "s"}'),
    ("session_id int", b'{"message": "hi", "session_id": 5}'),
    ("empty message", b'{"message": "", "session_id": "s"}'),
    ("blank message", b'{"message": "   ", "session_id": "s"}'),
    ("over 16 KiB", b'{"message": "' + b"x" * 16385 + b'", "session_id": "s"}'),
    ("invalid JSON", b"{bad"), ("not JSON", b"hello"), ("array", b"[1, 2]"), ("null", b"null"),
    ("string", b'"text"'), ("empty body", b""), ("invalid UTF-8", b'{"message": "\xff\xfe", "session_id": "s"}'),
    ("lone surrogate", b'{"message": "\\ud800", "session_id": "s"}'),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000), ("1 MiB body", b'{"message": "' + b"y" * (1 << 20) + b'"}'),
]


def check_bad_inputs(ctx: Ctx) -> None:
    """Every bad chat body gets a 4xx with a JSON error body, never a 5xx; 16 KiB exactly is fine."""
    for label, raw in BAD_BODIES:
        r = ctx.call("POST", CHAT, raw=raw)
        assert r.status is not None and 400 <= r.status < 500, f"chat bad input ({label}): expected 4xx, found {r}"
        assert is_json_error(r), f"chat bad input ({label}): expected a JSON error body, found {r}"
    sid, r = _chat(ctx, "z" * 16384)
    assert r.status == 200, f"chat: a message of exactly 16384 bytes must be accepted, found {r}"


def check_operator_page(ctx: Ctx) -> None:
    """/operator/ serves the page; neither it nor its assets name an absolute origin."""
    r = ctx.call("GET", "/operator/", token=NO_TOKEN)
    assert r.status == 200 and "<html" in r.text.lower(), f"operator UI: expected 200 HTML, found {r}"
    shipped = {"/operator/": r.text}
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        path = urljoin("/operator/", ref)
        asset = ctx.call("GET", path, token=NO_TOKEN)
        assert asset.status == 200, f"operator UI: asset {ref!r}: expected 200, found {asset}"
        shipped[path] = asset.text
    for path, text in shipped.items():
        found = ABSOLUTE.search(text)
        assert found is None, f"operator UI: {path}: expected a relative API base, found {found.group(0)!r}"
