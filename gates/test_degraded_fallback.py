"""Degraded fallback (gate 8): with the optional backends down the chat still answers
200, degraded, with fallback_source "local_llm_degraded"; and whatever the body,
the chat never answers 5xx: malformed input gets a 4xx with a JSON error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.fuzz import fuzz_settings
from fixtures.gatekit.plugin import chat, disrupted, healthy_before_pause
from fixtures.gatekit.policy import not_applicable, not_checked
from fixtures.probes.bodies import bad_bodies, raw_bodies, valid_bodies
from fixtures.probes.contract import FALLBACK_SOURCE, error_problems

pytestmark = [pytest.mark.gate]
GATE = "degraded_fallback"


@pytest.mark.disruptive
def test_chat_degraded_with_optional_backends_down(backend, http, profile, disruptable, evidence):
    if not disruptable:
        not_applicable(f"profile {profile.path.name} has no optional service: no degraded path to prove")
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


def test_bad_json_bodies_get_4xx(http, profile, evidence):
    path, seen = profile.route("chat"), []

    @fuzz_settings(profile)
    @given(body=bad_bodies)
    def check(body):
        fact = http.post(path, body)
        seen.append(fact.status)
        problems = error_problems(fact, tuple(range(400, 500)))
        expect_clean(problems, GATE, "POST " + path,
               evidence=f"body: {json.dumps(body)[:200]}\n{fact.head()}")

    check()
    evidence.attach("fuzzed bad bodies", f"{len(seen)} examples (derandomized), statuses {sorted(set(seen))}")


def test_invalid_json_gets_4xx(http, profile):
    path = profile.route("chat")

    @fuzz_settings(profile)
    @given(raw=raw_bodies)
    def check(raw):
        fact = http.call("POST", path, data=raw, headers={"content-type": "application/json"})
        problems = error_problems(fact, tuple(range(400, 500)))
        expect_clean(problems, GATE, "POST " + path + " (invalid JSON)",
               evidence=f"body bytes: {raw[:80]!r}\n{fact.head()}")

    check()


def test_valid_bodies_never_5xx(http, profile):
    path = profile.route("chat")

    @fuzz_settings(profile)
    @given(body=valid_bodies)
    def check(body):
        fact = http.post(path, body)
        expect(fact.status is not None and fact.status < 500, GATE, "POST " + path, "status", "< 500",
               fact.status, evidence=f"message {body['message'][:60]!r} session {body['session_id'][:30]!r}\n"
               f"{fact.head()}")

    check()
