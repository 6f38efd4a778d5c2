"""Operator UI in a real browser (FASE 2): headless Chromium opens the operator page, fills the
password field named Token and the text field named Message, presses the button named Send and
sees the chat's reply on the page; every request the page made (scripts included) went to the
gateway's own origin, none failed, and the console logged no error."""

from __future__ import annotations

import uuid

import pytest

from fixtures.gatekit.expect import expect
from fixtures.gatekit.plugin import busy

pytestmark = [pytest.mark.gate, pytest.mark.e2e]
GATE = "e2e_operator_ui"
RELATIVE = "build every URL relative to the page (e.g. new URL('api/chat', document.baseURI)), never from a host name"


def test_operator_sends_a_message_and_sees_the_reply(chromium, profile, token, evidence):
    route = profile.route("operator_ui")
    message = f"hello from the browser gate {uuid.uuid4().hex[:8]}"
    with busy(profile):  # no latency is measured while the page renders
        visit = chromium.visit_operator(profile.base_url, route, profile.route("chat"), token, message,
                                        timeout=float(profile.slo["request_timeout_sec"]))
    evidence.attach("browser network log", visit.network_log())
    evidence.attach("browser console errors", visit.console_log())
    evidence.image("operator page (screenshot)", visit.screenshot)
    evidence.attach("browser", f"{chromium.executable} {chromium.version}: {visit.seconds:.2f} s for the visit")
    subject = f"{route} in Chromium"

    expect(visit.stopped_at is None, GATE, subject, "operator scenario",
           "page opened, Token and Message filled, Send pressed, chat answered", visit.stopped_at,
           evidence=visit.network_log, fix="give the page a password field labelled Token, a text field "
           "labelled Message and a button named Send that posts the chat")
    foreign = visit.foreign()
    expect(not foreign, GATE, subject, "requests to another origin", f"none (all to {visit.origin})",
           [e.line() for e in foreign], evidence=visit.network_log, fix=RELATIVE)
    failed = visit.failed()
    expect(not failed, GATE, subject, "failed requests", "none", [e.line() for e in failed],
           evidence=visit.console_log)
    expect(bool(visit.reply), GATE, subject, "chat answer's reply", "a non-empty reply text",
           repr(visit.reply), evidence=visit.chat.line() if visit.chat else "")
    expect(visit.reply_shown, GATE, subject, "reply on the page", f"{visit.reply!r} visible",
           "not shown", evidence=f"visible page text:\n{visit.page_text[:1500]}")
    errors = [c.line() for c in visit.console]
    expect(not errors, GATE, subject, "console errors", "none", errors, evidence=visit.network_log)
