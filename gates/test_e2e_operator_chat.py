"""Operator chat end to end (FASE 2): ten operator sessions chat through the public
entrypoint and each keeps its session; the operator page is served and ships no
absolute origin (its API base is relative)."""

from __future__ import annotations

import uuid

import pytest

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.fuzz import send_all
from fixtures.gatekit.plugin import busy, chat
from fixtures.probes.assets import operator_assets
from fixtures.probes.contract import absolute_origins, chat_problems

pytestmark = [pytest.mark.gate, pytest.mark.e2e]
GATE = "e2e_operator_chat"


def _session(profile):
    def run(probe, sid):
        for turn in ("hello", "and a follow-up"):  # one operator: the second turn after the first
            _, fact = chat(probe, profile, turn, session_id=sid)
            if chat_problems(fact, sid):
                return fact
        return fact
    return run


def test_ten_sessions_end_to_end(http, profile, evidence):
    sids = [f"phase2_{i + 1}_{uuid.uuid4().hex[:6]}" for i in range(10)]
    with busy(profile):  # ten operators at once; no latency is measured meanwhile
        sent = send_all(http, sids, _session(profile), budget=3600, workers=len(sids))
    for sid, fact in sent.results:
        expect_clean(chat_problems(fact, sid), GATE, f"session {sid}", evidence=fact.head())
    evidence.attach("operator sessions", f"{len(sent.results)}/10 sessions answered on both turns in {sent.seconds}s")


def test_operator_page_relative_api_base(http, profile, evidence):
    page, shipped = operator_assets(http, profile.route("operator_ui"))
    expect(page.status == 200 and "<" in page.text, GATE, profile.route("operator_ui"), "page", "200 HTML",
           page.status, evidence=page.head())
    found = {where: absolute_origins(text) for where, text in shipped.items()}
    found = {k: v for k, v in found.items() if v}
    evidence.attach("operator assets", "\n".join(shipped))
    expect(not found, GATE, "operator UI", "absolute origins shipped", "none (relative API base)",
           found, fix="use a relative API base (e.g. '' or '/') instead of http://host:port")
