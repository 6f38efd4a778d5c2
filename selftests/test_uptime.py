"""The uptime sampler against a real HTTP gateway on loopback whose aggregate /health is scripted:
one wrong answer is not silence, a sustained outage is, no answer within the bound is silence at
once, and a pause of the sampler alone (no down sample) never reads as the stack's silence."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures.profile import load_profile
from fixtures.stack.uptime import UptimeSampler, read_samples, uptime


class _Gateway(BaseHTTPRequestHandler):
    script: list[str] = []   # madre "ok" or "down", "absent" (not listed), "hang" (no answer); the last repeats
    asked = 0

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        cls = type(self)
        state = cls.script[min(cls.asked, len(cls.script) - 1)]
        cls.asked += 1
        if state == "hang":      # longer than the sampler's 2 s bound: no answer
            time.sleep(2.6)
            return
        deps = {"redis": "ok"} if state == "absent" else {"madre": state, "redis": "ok"}
        body = json.dumps({"status": "ok" if state == "ok" else "degraded", "dependencies": deps}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def gateway():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _sample(gateway, tmp_path: Path, script: list[str], seconds: float) -> list[dict]:
    _Gateway.script, _Gateway.asked = script, 0
    profile = load_profile(base_url=f"http://127.0.0.1:{gateway.server_address[1]}")
    sampler = UptimeSampler(profile, tmp_path / "uptime.jsonl")
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    return read_samples(tmp_path / "uptime.jsonl")


def test_one_wrong_answer_is_asked_again_not_silence(gateway, tmp_path):
    samples = _sample(gateway, tmp_path, ["ok", "ok", "down", "ok"], 1.5)
    u = uptime(samples, "madre")
    assert u.samples >= 4 and u.up == u.samples, samples
    assert any(s.get("first", {}).get("down") == ["madre"] for s in samples), "the first ask's answer is kept"


def test_sustained_outage_is_a_gap(gateway, tmp_path):
    samples = _sample(gateway, tmp_path, ["ok"] * 2 + ["down"] * 24 + ["ok"], 4.0)
    u = uptime(samples, "madre")
    assert u.up < u.samples and u.longest_gap_s > 2.0, u
    assert u.gap_from is not None and u.gap_from <= samples[1]["t"] + 0.01


def test_down_to_the_end_counts_to_the_last_sample():
    samples = [{"t": 100.0 + i, "up": {"madre": i < 2}} for i in range(6)]
    assert uptime(samples, "madre").longest_gap_s == 4.0


def test_a_sampler_pause_without_down_samples_is_not_a_gap():
    samples = [{"t": t, "up": {"madre": True}} for t in (0.0, 0.25, 3.5, 3.75)]
    u = uptime(samples, "madre")
    assert (u.longest_gap_s, u.sampler_pause_s, u.percent) == (0.0, 3.25, 100.0)


def test_a_gateway_that_does_not_answer_is_silence_at_once(gateway, tmp_path):
    samples = _sample(gateway, tmp_path, ["ok", "ok", "hang", "hang", "ok"], 6.5)
    u = uptime(samples, "madre")
    assert u.longest_gap_s > 2.0, (u, samples)
    assert any(s["status"] is None and "first" not in s for s in samples), "no second ask after no answer"


def test_a_service_missing_from_the_second_answer_stays_down(gateway, tmp_path):
    samples = _sample(gateway, tmp_path, ["ok", "ok"] + ["down", "absent"] * 12 + ["ok"], 4.0)
    u = uptime(samples, "madre")
    assert u.longest_gap_s > 2.0 and u.up < u.samples, (u, samples)
