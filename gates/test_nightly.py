"""Nightly (never part of -m gate): the chat fuzzed with many more examples, a bounded
chat load with zero 5xx and its p95 recorded, and a window soak."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.gatekit.expect import expect
from fixtures.gatekit.fuzz import fuzz_settings
from fixtures.probes.bodies import bad_bodies
from fixtures.probes.http import HttpProbe, percentile

pytestmark = [pytest.mark.nightly]
GATE = "nightly"


def test_fuzz_chat_many_examples(http, profile):
    path = profile.route("chat")

    @fuzz_settings(profile, "nightly_fuzz_examples")
    @given(body=st.one_of(bad_bodies, st.fixed_dictionaries({"message": st.text(min_size=1, max_size=2000),
                                                             "session_id": st.text(min_size=1, max_size=100)})))
    def check(body):
        fact = http.post(path, body)
        expect(fact.status is not None and fact.status < 500, GATE, "POST " + path, "status", "< 500", fact.status,
               evidence=fact.head())

    check()


def _client(http, profile, stop_at: float) -> list[tuple[int | None, float]]:
    own = HttpProbe(http.base_url, http.token_header, http.token, http.timeout)
    out, sid = [], f"load-{uuid.uuid4().hex[:8]}"
    try:
        for i in range(100_000):  # bounded by count and by time
            if time.monotonic() >= stop_at:
                break
            fact = own.post(profile.route("chat"), {"message": f"load {i}", "session_id": sid})
            out.append((fact.status, fact.elapsed_ms))
    finally:
        own.close()
    return out


def test_chat_load(http, profile, evidence):
    clients, seconds = int(profile.slo["load_clients"]), float(profile.slo["load_seconds"])
    stop_at = time.monotonic() + seconds
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for batch in pool.map(lambda _: _client(http, profile, stop_at), range(clients)) for r in batch]
    errors = [s for s, _ in results if s is None or s >= 500]
    p95 = percentile([ms for _, ms in results], 95) if results else 0.0
    evidence.metric("load_requests", len(results))
    evidence.metric("load_p95_ms", round(p95, 1))
    evidence.attach("chat load", f"{clients} clients x {seconds:.0f}s: {len(results)} requests, "
                    f"{len(errors)} 5xx/no answer, p95 {p95:.0f} ms")
    expect(bool(results), GATE, "chat load", "requests", "> 0", 0)
    expect(not errors, GATE, "chat load", "5xx or unanswered", 0, len(errors))


def test_window_soak(http, profile, evidence):
    rounds, bad = 200, []
    for _ in range(rounds):
        opened = http.post(profile.route("window_open"), {"service": profile.windows["allowed_service"], "ttl_sec": 30})
        if opened.status != 200:
            bad.append(opened.head())
            continue
        closed = http.post(profile.route("window_close"), {"window_id": opened.body["window_id"]})
        if closed.status != 200:
            bad.append(closed.head())
    evidence.attach("window soak", f"{rounds} open/close rounds, {len(bad)} bad")
    expect(not bad, GATE, "window soak", "bad answers", 0, len(bad), evidence="\n".join(bad[:5]))
