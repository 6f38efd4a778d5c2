"""Power-window lifecycle end to end (FASE 3): windows open with the contract's fields
and deadline arithmetic, close once (404 unknown, 409 twice), expire by themselves
within the grace after their deadline, refuse services outside the allowlist and
TTLs outside 1..3600 (both ends accepted), list open windows only, never answer odd
input with a 5xx, and fifty concurrent opens all get a well-formed answer."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.plugin import busy
from fixtures.probes.bodies import ODD_WINDOW_BODIES, ODD_WINDOW_IDS
from fixtures.probes.contract import closed_problems, error_problems, window_problems
from fixtures.probes.http import HttpProbe
from fixtures.probes.waiting import WaitTimeout, wait_until

pytestmark = [pytest.mark.gate, pytest.mark.e2e]
GATE = "e2e_window_lifecycle"


def _open(http, profile, service=None, ttl=None):
    w = profile.windows
    return http.post(profile.route("window_open"),
                     {"service": service or w["allowed_service"], "ttl_sec": ttl if ttl is not None else w["ttl_sec"]})


def _listed(http, profile) -> list:
    """The open-window list, its shape stated as a failure line when it is not ``{"windows": [...]}``."""
    listed = http.get(profile.route("windows"))
    windows = listed.body.get("windows") if isinstance(listed.body, dict) else None
    expect(listed.status == 200 and isinstance(windows, list), GATE, profile.route("windows"), "body",
           '200 {"windows": [...]}', f"{listed.status} {listed.head(120)}", evidence=listed.head())
    return windows or []


def _ids(windows: list) -> list:
    return [x.get("window_id") if isinstance(x, dict) else x for x in windows]


def test_open_get_close(http, profile, evidence):
    w, ttl = profile.windows, 60
    opened = _open(http, profile, ttl=ttl)
    evidence.attach("open", opened.head())
    expect(opened.status == 200, GATE, "open", "status", 200, opened.status, evidence=opened.head())
    expect_clean(window_problems(opened.body, service=w["allowed_service"], ttl=ttl), GATE, "open",
                 evidence=opened.head())
    wid = opened.body["window_id"]
    got = http.get(profile.route("window_get", window_id=wid))
    state = got.body.get("state") if isinstance(got.body, dict) else got.body
    expect(got.status == 200 and state == "open", GATE, f"window {wid}", "GET state",
           "200 open", (got.status, state), evidence=got.head())
    windows = _listed(http, profile)
    expect(wid in _ids(windows), GATE, f"window {wid}", "in the open list", True, False)
    expect(all(isinstance(x, dict) and x.get("state") == "open" for x in windows),
           GATE, profile.route("windows"), "every listed window", "state 'open' (open windows only)",
           [x.get("state") if isinstance(x, dict) else x for x in windows][:10])
    closed = http.post(profile.route("window_close"), {"window_id": wid})
    problems = closed_problems(closed, wid, opened.body)
    expect_clean(problems, GATE, f"window {wid}", evidence=closed.head())
    again = http.post(profile.route("window_close"), {"window_id": wid})
    expect(not error_problems(again, (409,), json_body=False), GATE, f"window {wid}", "second close", "409",
           again.status, evidence=again.head())
    expect(wid not in _ids(_listed(http, profile)), GATE, f"window {wid}", "in the open list after close", False, True)
    got = http.get(profile.route("window_get", window_id=wid))
    state = got.body.get("state") if isinstance(got.body, dict) else got.body
    expect(got.status == 200 and state == "closed", GATE, f"window {wid}",
           "GET state after close", "200 closed", (got.status, state), evidence=got.head())


def test_unknown_window(http, profile):
    # An id of the stack's own kind: a stack with integer ids may rightly refuse a word with 422.
    opened = _open(http, profile, ttl=60)
    sample = opened.body.get("window_id") if opened.status == 200 and isinstance(opened.body, dict) else None
    if sample is not None:
        http.post(profile.route("window_close"), {"window_id": sample})
    ghost = (2**40 + uuid.uuid4().int % 2**20 if isinstance(sample, int) and not isinstance(sample, bool)
             else f"no-such-window-{uuid.uuid4().hex[:8]}")
    got = http.get(profile.route("window_get", window_id=ghost))
    expect(not error_problems(got, (404,), json_body=False), GATE, "unknown window", "GET", "404", got.status,
           evidence=got.head())
    closed = http.post(profile.route("window_close"), {"window_id": ghost})
    expect(not error_problems(closed, (404,), json_body=False), GATE, "unknown window", "close", "404", closed.status,
           evidence=closed.head())


def test_expires_without_close(http, profile, evidence):
    ttl, grace = int(profile.windows["ttl_sec"]), float(profile.windows["expiry_grace_sec"])
    opened = _open(http, profile, ttl=ttl)
    expect(opened.status == 200, GATE, "open", "status", 200, opened.status, evidence=opened.head())
    expect_clean(window_problems(opened.body, service=profile.windows["allowed_service"], ttl=ttl), GATE, "open",
                 evidence=opened.head())
    wid, deadline = opened.body["window_id"], float(opened.body["deadline_timestamp"])
    path = profile.route("window_get", window_id=wid)
    try:
        wait_until(lambda: time.time() >= deadline, timeout=ttl + 5, interval=0.05, what="the deadline")
        body = wait_until(lambda: http.get(path).body, timeout=grace, interval=0.1, what=f"window {wid} expired",
                          accept=lambda b: isinstance(b, dict) and b.get("state") == "expired")
        late = time.time() - deadline
    except WaitTimeout as exc:
        body, late = exc.last, None
    evidence.attach("expiry", f"window {wid} state {body!r}, seen {late} s after the deadline")
    expect(late is not None, GATE, f"window {wid}", f"state {grace:.0f}s after the deadline", "'expired'",
           repr(body)[:120], fix="enforce TTLs in the stack (a sweeper), not only on close")
    expect(wid not in _ids(_listed(http, profile)), GATE, f"window {wid}", "in the open list after expiry", False,
           True)
    closed = http.post(profile.route("window_close"), {"window_id": wid})
    expect(not error_problems(closed, (409,), json_body=False), GATE, f"window {wid}", "close after expiry", "409",
           closed.status, evidence=closed.head())


def test_allowlist_and_ttl_validation(http, profile):
    denied = _open(http, profile, service=profile.windows["denied_service"])
    expect(not error_problems(denied, (403,), json_body=False), GATE, profile.windows["denied_service"], "open", "403",
           denied.status, evidence=denied.head(), fix="open windows only for services in the allowlist")
    for ttl in (0, -5, 3601, 1.5, "30", True, None):
        bad = http.post(profile.route("window_open"), {"service": profile.windows["allowed_service"], "ttl_sec": ttl})
        expect(not error_problems(bad, (422,), json_body=False), GATE, f"ttl_sec={ttl!r}", "open", "422", bad.status,
               evidence=bad.head())


@pytest.mark.parametrize("ttl", [1, 3600], ids=["ttl-1", "ttl-3600"])
def test_ttl_bounds_accepted(http, profile, ttl):
    opened = _open(http, profile, ttl=ttl)
    problems = window_problems(opened.body, service=profile.windows["allowed_service"], ttl=ttl) \
        if opened.status == 200 else [("status", "200", f"{opened.status}")]
    if opened.status == 200 and isinstance(opened.body, dict) and "window_id" in opened.body:
        http.post(profile.route("window_close"), {"window_id": opened.body["window_id"]})  # leave it as found
    expect_clean(problems, GATE, f"ttl_sec={ttl}", evidence=opened.head(),
           fix="accept every integer TTL in 1..3600")


def test_odd_window_requests_never_5xx(http, profile, evidence):
    seen = []
    for route, raw in ODD_WINDOW_BODIES:
        fact = http.call("POST", profile.route(route), data=raw, headers={"content-type": "application/json"})
        seen.append(fact.status)
        problems = error_problems(fact, tuple(range(400, 500)), json_body=False)
        expect_clean(problems, GATE, f"POST {profile.route(route)} body {raw[:40]!r}",
               evidence=fact.head(), fix="answer bad window input with a 4xx JSON error")
    for odd in ODD_WINDOW_IDS:
        fact = http.get(profile.route("window_get", window_id=odd))
        seen.append(fact.status)
        expect(fact.status is not None and fact.status < 500, GATE, f"GET window {odd[:30]!r}", "status", "< 500",
               fact.status, evidence=fact.head())
    evidence.attach("odd window requests", f"{len(seen)} requests, statuses {sorted(set(map(str, seen)))}")


def test_concurrent_opens_all_answered(http, profile, evidence):
    n, w = int(profile.windows["concurrent_opens"]), profile.windows

    def one(_: int):
        own = HttpProbe(http.base_url, http.token_header, http.token, http.timeout)  # one connection each
        try:
            return _open(own, profile, ttl=60)
        finally:
            own.close()

    with busy(profile), ThreadPoolExecutor(max_workers=n) as pool:  # no latency is measured meanwhile
        facts = list(pool.map(one, range(n)))
    bad = [f for f in facts if f.status != 200 or window_problems(f.body, service=w["allowed_service"], ttl=60)]
    evidence.attach("concurrent opens", f"{n - len(bad)}/{n} well-formed; first bad: {bad[0].head() if bad else '-'}")
    for f in facts:  # leave the stack as found
        if f.status == 200 and isinstance(f.body, dict) and "window_id" in f.body:
            http.post(profile.route("window_close"), {"window_id": f.body["window_id"]})
    expect(not bad, GATE, f"{n} concurrent opens", "well-formed 200 answers", n, n - len(bad),
           evidence=bad[0].head() if bad else "", fix="raise madre's backlog/workers; never reset connections")
