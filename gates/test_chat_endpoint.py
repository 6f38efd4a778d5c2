"""Chat endpoint (gate 4): N chat requests all answer 200 with the contract body, the
token is enforced (401 with a JSON body without it or with a wrong one), and the
p95 latency holds the profile's SLO."""

from __future__ import annotations

import pytest

from fixtures.gatekit.expect import expect
from fixtures.gatekit.plugin import chat, stack_lock
from fixtures.probes.contract import chat_problems, error_problems
from fixtures.probes.http import percentile

pytestmark = [pytest.mark.gate]
GATE = "chat_endpoint"


def test_chat_requests_all_ok(http, profile, evidence):
    n = int(profile.slo["chat_requests"])
    latencies, ok, first_bad = [], 0, None
    with stack_lock(profile):  # no service is paused while latency is measured
        for i in range(n):
            sid, fact = chat(http, profile, f"gate check {i + 1} of {n}")
            latencies.append(fact.elapsed_ms)
            problems = chat_problems(fact, sid)
            ok += not problems
            if problems and first_bad is None:
                first_bad = (problems[0], fact)
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    evidence.metric("http_requests", n)
    evidence.metric("http_ok", ok)
    evidence.metric("chat_p95_ms", round(p95, 1))
    evidence.metric("chat_p95_slo_ms", profile.slo["chat_p95_ms"])
    evidence.attach("chat latency", f"n={n} ok={ok} p50={p50:.0f} ms p95={p95:.0f} ms p99={p99:.0f} ms")
    if first_bad:
        (prop, want, found), fact = first_bad
        expect(False, GATE, "POST " + profile.route("chat"), f"{prop} ({ok}/{n} ok)", want, found,
               evidence=fact.head())
    slo = float(profile.slo["chat_p95_ms"])
    expect(p95 <= slo, GATE, "POST " + profile.route("chat"), "p95 latency", f"<= {slo:.0f} ms", f"{p95:.0f} ms",
           evidence=f"p50={p50:.0f} p99={p99:.0f} over {n} requests", fix="profile the chat path")


@pytest.mark.parametrize("sent", [None, "wrong-token-for-gate"], ids=["missing", "wrong"])
@pytest.mark.parametrize("route", ["chat", "windows", "flags"])
def test_token_required(http, profile, sent, route):
    path = profile.route(route)
    if route == "chat":
        fact = http.call("POST", path, json_body={"message": "hello", "session_id": "auth-check"},
                         token=sent or False)
    else:
        fact = http.call("GET", path, token=sent or False)
    problems = error_problems(fact, (401,))
    expect(not problems, GATE, path, *(problems[0] if problems else ("", "", "")), evidence=fact.head())
