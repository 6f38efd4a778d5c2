"""Chat endpoint (gate 4): N chat requests all answer 200 with the contract body, the
token is enforced on every protected route (401 with a JSON body without it, with a wrong
one, or a nearly-right one), a 16 KiB message is answered and one byte more refused, and the
p95 latency holds the profile's SLO."""

from __future__ import annotations

import uuid

import pytest

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.fuzz import send_all
from fixtures.gatekit.plugin import chat, stack_lock
from fixtures.gatekit.policy import recorded_warning
from fixtures.probes.bodies import MAX_MESSAGE
from fixtures.probes.contract import chat_problems, error_problems
from fixtures.probes.http import percentile
from fixtures.probes.tokens import VARIANTS, refused_token

pytestmark = [pytest.mark.gate]
GATE = "chat_endpoint"
CONCURRENT = 5


def _sample(http, profile, n):
    """N chats, five operators at once (a slow stack costs n/5 chat times, and p95 is taken under
    that load), while no service is paused and none of the suite's own heavy work runs."""
    bodies = [{"message": f"gate check {i + 1} of {n}", "session_id": f"gate-{uuid.uuid4().hex[:12]}"}
              for i in range(n)]
    with stack_lock(profile):
        sent = send_all(http, bodies, lambda probe, body: probe.post(profile.route("chat"), body), budget=3600,
                        workers=CONCURRENT)
    return sent.results


def _p95(results, lines):
    latencies = [fact.elapsed_ms for _, fact in results]
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    lines.append(f"n={len(latencies)} p50={p50:.0f} ms p95={p95:.0f} ms p99={p99:.0f} ms")
    return p95


def test_chat_requests_all_ok(http, profile, evidence):
    n, slo, subject = int(profile.slo["chat_requests"]), float(profile.slo["chat_p95_ms"]), "POST " + profile.route("chat")
    results, lines = _sample(http, profile, n), list[str]()
    p95s = [_p95(results, lines)]
    if p95s[0] > slo:  # one burst of load elsewhere on the host is not the stack's latency: a second sample decides
        again = _sample(http, profile, n)
        results += again
        p95s.append(_p95(again, lines))
        evidence.metric("chat_p95_first_ms", round(p95s[0], 1))  # the scorecard takes the deciding sample
    bad = [(problems[0], fact) for body, fact in results if (problems := chat_problems(fact, body["session_id"]))]
    ok = len(results) - len(bad)
    evidence.metric("http_requests", len(results))
    evidence.metric("http_ok", ok)
    evidence.metric("chat_p95_ms", round(p95s[-1], 1))
    evidence.metric("chat_p95_slo_ms", profile.slo["chat_p95_ms"])
    evidence.attach("chat latency", f"ok={ok} of {len(results)}\n" + "\n".join(lines))
    if bad:
        (prop, want, found), fact = bad[0]
        expect(False, GATE, subject, f"{prop} ({ok}/{len(results)} ok)", want, found, evidence=fact.head())
    expect(p95s[-1] <= slo, GATE, subject, "p95 latency", f"<= {slo:.0f} ms",
           " then ".join(f"{p:.0f} ms" for p in p95s), evidence="\n".join(lines), fix="profile the chat path")
    if len(p95s) > 1:
        recorded_warning(f"{GATE}: chat p95 {p95s[0]:.0f} ms over the {slo:.0f} ms SLO in a first sample, "
                         f"{p95s[1]:.0f} ms in a second", evidence)


PROTECTED = {  # every route but /health and the static page, with a body that would otherwise be valid
    "chat": ("POST", {"message": "hello", "session_id": "auth-check"}),
    "windows": ("GET", None), "flags": ("GET", None), "window_get": ("GET", None),
    "window_open": ("POST", {"service": "switch", "ttl_sec": 5}), "window_close": ("POST", {"window_id": "auth-check"}),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("route", sorted(PROTECTED))
def test_token_required(http, profile, token, route, variant):
    method, body = PROTECTED[route]
    path = profile.route(route, window_id="auth-check") if route == "window_get" else profile.route(route)
    if route == "window_open":
        body = {"service": profile.windows["allowed_service"], "ttl_sec": 5}
    sent = refused_token(token, variant)
    fact = http.call(method, path, json_body=body, token=sent if sent is not None else False)
    problems = error_problems(fact, (401,))
    expect_clean(problems, GATE, f"{method} {path} with the token {variant.replace('_', ' ')}", evidence=fact.head(),
           fix="compare the whole token exactly (hmac.compare_digest) on every route but /health and the page")


@pytest.mark.parametrize("size, accepted", [(MAX_MESSAGE, True), (MAX_MESSAGE + 1, False)],
                         ids=["16KiB-accepted", "16KiB+1-refused"])
def test_message_size_boundary(http, profile, size, accepted):
    sid, fact = chat(http, profile, "x" * size)
    subject = f"POST {profile.route('chat')} with a {size}-byte message"
    if accepted:
        problems = chat_problems(fact, sid)
        expect_clean(problems, GATE, subject, evidence=fact.head(),
               fix="accept messages up to 16 KiB (the contract's bound)")
    else:
        problems = error_problems(fact, tuple(range(400, 500)))
        expect_clean(problems, GATE, subject, evidence=fact.head(),
               fix="refuse messages over 16 KiB with a 4xx JSON error")
