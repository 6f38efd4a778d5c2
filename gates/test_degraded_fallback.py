"""Degraded fallback (gate 8): with the optional backends down the chat still answers
200, degraded, with fallback_source "local_llm_degraded"; and whatever the body,
the chat never answers 5xx: malformed input gets a 4xx with a JSON error."""

from __future__ import annotations

import json

import pytest

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.fuzz import draw, send_all
from fixtures.gatekit.plugin import busy, chat, disrupted, healthy_before_pause
from fixtures.gatekit.policy import not_checked
from fixtures.probes.bodies import bad_bodies, raw_bodies, valid_bodies
from fixtures.probes.contract import FALLBACK_SOURCE, error_problems

pytestmark = [pytest.mark.gate]
GATE = "degraded_fallback"


@pytest.mark.disruptive
def test_chat_degraded_with_optional_backends_down(backend, http, profile, disruptable, evidence):
    if not disruptable:
        not_checked(f"profile {profile.path.name} has no optional service: the fallback promise cannot be proven")
    # A paused backend hangs rather than refuses: the stack's own upstream timeout decides
    # when the fallback answers, and the contract bounds only that the reply comes.
    patience = max(30.0, float(profile.slo["request_timeout_sec"]))
    healthy = healthy_before_pause(backend, http, profile, disruptable)
    if not healthy:
        not_checked(f"{', '.join(disruptable)} already down before any pause: pausing what is down proves nothing")
    with disrupted(backend, profile, healthy) as paused:
        _, fact = chat(http, profile, "are you there while the model router is down?", timeout=patience)
    evidence.attach(f"chat with {', '.join(paused) or 'nothing'} paused", fact.head(600))
    subject = f"POST {profile.route('chat')} with {', '.join(paused) or 'nothing'} down"
    # The full body is the chat gate's promise; here: the answer comes, and says it is degraded.
    expect(fact.status == 200 and fact.is_json_object, GATE, subject, "status", "200 JSON", fact.status,
           evidence=fact.head(), fix="answer from the local fallback when the model backend is unavailable")
    expect(fact.body.get("degraded") is True, GATE, subject, "degraded", True, fact.body.get("degraded"),
           evidence=fact.head())
    expect(fact.body.get("fallback_source") == FALLBACK_SOURCE, GATE, subject, "fallback_source",
           repr(FALLBACK_SOURCE), repr(fact.body.get("fallback_source")), evidence=fact.head())


def _post_json(path):
    return lambda probe, body: probe.post(path, body)


def _post_raw(path):
    return lambda probe, raw: probe.call("POST", path, data=raw, headers={"content-type": "application/json"})


def _fuzz(http, profile, evidence, name, strategy, send):
    examples = draw(strategy, profile)
    with busy(profile):  # eight connections at once; no latency is measured meanwhile
        sent = send_all(http, examples, send(profile.route("chat")), float(profile.slo["fuzz_seconds"]))
    statuses = sorted({str(f.status) for _, f in sent.results})
    budget = f"; the {profile.slo['fuzz_seconds']}s budget cut it short" if sent.cut_short else ""
    evidence.attach(name, f"{len(sent.results)} of {sent.examples} examples sent in {sent.seconds}s "
                          f"(derandomized{budget}), statuses {statuses}")
    return sent.results


def test_bad_json_bodies_get_4xx(http, profile, evidence):
    for body, fact in _fuzz(http, profile, evidence, "fuzzed bad bodies", bad_bodies, _post_json):
        expect_clean(error_problems(fact, tuple(range(400, 500))), GATE, "POST " + profile.route("chat"),
                     evidence=f"body: {json.dumps(body)[:200]}\n{fact.head()}")


def test_invalid_json_gets_4xx(http, profile, evidence):
    for raw, fact in _fuzz(http, profile, evidence, "fuzzed invalid JSON", raw_bodies, _post_raw):
        expect_clean(error_problems(fact, tuple(range(400, 500))), GATE,
                     "POST " + profile.route("chat") + " (invalid JSON)",
                     evidence=f"body bytes: {raw[:80]!r}\n{fact.head()}")


def test_valid_bodies_never_5xx(http, profile, evidence):
    for body, fact in _fuzz(http, profile, evidence, "fuzzed valid bodies", valid_bodies, _post_json):
        expect(fact.status is not None and fact.status < 500, GATE, "POST " + profile.route("chat"), "status",
               "< 500", fact.status,
               evidence=f"message {body['message'][:60]!r} session {body['session_id'][:30]!r}\n{fact.head()}")
