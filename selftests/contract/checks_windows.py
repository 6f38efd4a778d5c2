"""Contract checks of the power windows (FASE 3), all through the gateway."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fixtures.probes.waiting import WaitTimeout, wait_until
from selftests.contract.ctx import CLOSE, OPEN, OPEN_FIELDS, WINDOWS, Ctx, Resp, is_json_error

ALLOWED, DENIED = "switch", "random_service"
EXPIRY_GRACE = 1.0


def open_window(ctx: Ctx, ttl: int = 30, service: str = ALLOWED) -> dict[str, Any]:
    r = ctx.call("POST", OPEN, body={"service": service, "ttl_sec": ttl})
    assert r.status == 200 and isinstance(r.body, dict), f"window open: expected 200 JSON, found {r}"
    assert set(r.body) >= OPEN_FIELDS, f"window open: fields: expected {sorted(OPEN_FIELDS)}, found {r}"
    return r.body


def close_quietly(ctx: Ctx, window_id: str) -> None:
    ctx.call("POST", CLOSE, body={"window_id": window_id})


def open_ids(ctx: Ctx) -> list[str]:
    r = ctx.call("GET", WINDOWS)
    assert r.status == 200 and isinstance(r.body, dict) and isinstance(r.body.get("windows"), list), \
        f"windows list: expected 200 {{'windows': [...]}}, found {r}"
    return [w.get("window_id") for w in r.body["windows"]]


def check_window_open(ctx: Ctx) -> None:
    """Open returns the six fields, state open, and deadline = opened_at + ttl_sec."""
    before = time.time()
    w = open_window(ctx, ttl=30)
    try:
        assert w["service"] == ALLOWED and w["ttl_sec"] == 30 and w["state"] == "open", f"window open: {w}"
        assert abs(w["deadline_timestamp"] - (w["opened_at"] + w["ttl_sec"])) < 0.01, \
            f"window open: deadline_timestamp: expected opened_at + ttl_sec = {w['opened_at'] + 30}, found {w}"
        assert before - 2 <= w["opened_at"] <= time.time() + 2, f"window open: opened_at not now: {w}"
        got = ctx.call("GET", f"/madre/power/window/{w['window_id']}")
        assert got.status == 200 and isinstance(got.body, dict) and got.body.get("state") == "open", \
            f"window get: expected 200 state open, found {got}"
        assert got.body.get("deadline_timestamp") == w["deadline_timestamp"], f"window get: deadline: {got}"
    finally:
        close_quietly(ctx, w["window_id"])


def check_window_expiry(ctx: Ctx) -> None:
    """A 1 s window reads expired and leaves the open list within 1 s after its deadline; close is 409."""
    w = open_window(ctx, ttl=1)
    wid, deadline = w["window_id"], w["deadline_timestamp"]

    def expired() -> str:
        r = ctx.call("GET", f"/madre/power/window/{wid}", timeout=2.0)
        state = r.body.get("state") if isinstance(r.body, dict) else r
        return f"state {state}, listed {wid in open_ids(ctx)}"

    try:
        wait_until(expired, timeout=max(0.0, deadline + EXPIRY_GRACE - time.time()), interval=0.05,
                   what=f"window {wid} expired and unlisted", accept=lambda v: v == "state expired, listed False")
    except WaitTimeout as exc:
        close_quietly(ctx, wid)
        raise AssertionError(f"window expiry: expected 'expired' and off the open list by deadline + "
                             f"{EXPIRY_GRACE}s: {exc}") from None
    r = ctx.call("POST", CLOSE, body={"window_id": wid})
    assert r.status == 409 and is_json_error(r), f"window close after expiry: expected 409 JSON, found {r}"


def check_allowlist(ctx: Ctx) -> None:
    """Services outside the allowlist are refused with 403."""
    for service in (DENIED, "spawner", "Switch", ""):
        r = ctx.call("POST", OPEN, body={"service": service, "ttl_sec": 10})
        if r.status == 200 and isinstance(r.body, dict):
            close_quietly(ctx, r.body.get("window_id", ""))
        assert r.status == 403 and is_json_error(r), f"allowlist: {service!r}: expected 403 JSON, found {r}"


def check_ttl_validation(ctx: Ctx) -> None:
    """ttl_sec must be an integer in 1..3600 (not bool, not float, not text): else 422."""
    for ttl in (0, -1, 3601, 10**9, 1.5, 10.0, "10", True, None, [], {}):
        r = ctx.call("POST", OPEN, body={"service": ALLOWED, "ttl_sec": ttl})
        if r.status == 200 and isinstance(r.body, dict):
            close_quietly(ctx, r.body.get("window_id", ""))
        assert r.status == 422 and is_json_error(r), f"ttl: {ttl!r}: expected 422 JSON, found {r}"
    r = ctx.call("POST", OPEN, body={"service": ALLOWED})
    assert r.status == 422, f"ttl: missing ttl_sec: expected 422, found {r}"
    for ttl in (1, 3600):
        close_quietly(ctx, open_window(ctx, ttl=ttl)["window_id"])


def check_close(ctx: Ctx) -> None:
    """Close answers the four fields; a second close is 409; an unknown id is 404."""
    w = open_window(ctx, ttl=60)
    r = ctx.call("POST", CLOSE, body={"window_id": w["window_id"]})
    assert r.status == 200 and isinstance(r.body, dict), f"window close: expected 200 JSON, found {r}"
    for key in ("window_id", "closed_at", "duration_sec", "state"):
        assert key in r.body, f"window close: field {key}: missing in {r}"
    assert r.body["state"] == "closed" and r.body["window_id"] == w["window_id"], f"window close: {r}"
    assert 0 <= r.body["duration_sec"] < 60, f"window close: duration_sec: {r}"
    got = ctx.call("GET", f"/madre/power/window/{w['window_id']}")
    assert isinstance(got.body, dict) and got.body.get("state") == "closed", f"window get after close: {got}"
    again = ctx.call("POST", CLOSE, body={"window_id": w["window_id"]})
    assert again.status == 409 and is_json_error(again), f"window close twice: expected 409 JSON, found {again}"
    unknown = ctx.call("POST", CLOSE, body={"window_id": "win_doesnotexist"})
    assert unknown.status == 404 and is_json_error(unknown), f"window close unknown: expected 404, found {unknown}"


def check_get_unknown(ctx: Ctx) -> None:
    """GET of an unknown window is 404 with a JSON body."""
    r = ctx.call("GET", "/madre/power/window/win_doesnotexist")
    assert r.status == 404 and is_json_error(r), f"window get unknown: expected 404 JSON, found {r}"


def check_list_open_only(ctx: Ctx) -> None:
    """The list holds open windows only: a closed one leaves it, an open one stays."""
    a, b = open_window(ctx, ttl=60), open_window(ctx, ttl=60)
    try:
        close_quietly(ctx, a["window_id"])
        r = ctx.call("GET", WINDOWS)
        ids = open_ids(ctx)
        assert b["window_id"] in ids, f"windows list: open window {b['window_id']} missing: {r}"
        assert a["window_id"] not in ids, f"windows list: closed window {a['window_id']} still listed: {r}"
        states = {w.get("state") for w in r.body["windows"]}
        assert states <= {"open"}, f"windows list: expected only state open, found {states}"
    finally:
        close_quietly(ctx, b["window_id"])


def check_concurrent_opens(ctx: Ctx, n: int = 50) -> None:
    """50 opens at once: every one answered 200 and well-formed, none reset, ids unique."""
    gate = threading.Barrier(n, timeout=30)
    worker = Ctx(ctx.base_url, ctx.token, ctx.run_dir)

    def one(_: int) -> Resp:
        fresh = Ctx(worker.base_url, worker.token, worker.run_dir)  # one session per thread
        gate.wait()
        return fresh.call("POST", OPEN, body={"service": ALLOWED, "ttl_sec": 30}, timeout=20)

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, range(n)))
    good = [r for r in answers if r.status == 200 and isinstance(r.body, dict) and set(r.body) >= OPEN_FIELDS]
    for r in good:
        close_quietly(ctx, r.body["window_id"])
    bad = [str(r) for r in answers if r not in good]
    assert not bad, f"concurrent opens: expected {n} x 200, found {len(bad)} bad, e.g. {bad[:3]}"
    assert len({r.body["window_id"] for r in good}) == n, "concurrent opens: window ids are not unique"
