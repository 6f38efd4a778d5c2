"""The release decision on a real stack: `pytest -m gate` is the whole decision, and a run that
left a release gate or a check out reads INCOMPLETE (exit 6), never PASSED; a profile typo or a
waiver for a check the suite does not have is bad usage (exit 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.gaterun import REPO, Lab

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, worker_id):
    place = Lab(f"vx11-release-{worker_id}-{os.getpid()}", tmp_path_factory.mktemp("lab"))
    place.start()
    yield place
    place.close()


def _gate(lab: Lab, tmp: Path, *args: str) -> tuple[int, str, dict]:
    ev = tmp / "ev"
    argv = [sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external", "--backend", "host",
            "-p", "no:cacheprovider", f"--evidence-dir={ev}", "-q", *args]
    done = lab.run(argv, timeout=600)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RELEASE GATES")), "")
    runs = sorted(ev.glob("*/verdict.json"))
    return done.returncode, line or done.stdout[-1500:] + done.stderr[-1500:], \
        json.loads(runs[-1].read_text()) if runs else {}


def _profile(tmp: Path, old: str, new: str) -> Path:
    text = (REPO / "profiles" / "vx11.toml").read_text()
    assert old in text
    path = tmp / "p.toml"
    path.write_text(text.replace(old, new).replace('root = "../stack"', f'root = "{REPO / "stack"}"')
                    .replace('allowlist = "secrets-allowlist.toml"',
                             f'allowlist = "{REPO / "profiles" / "secrets-allowlist.toml"}"')
                    .replace('log_dir = "${VX11_LOCAL_RUN_DIR:-../.run/local}"', 'log_dir = "${VX11_LOCAL_RUN_DIR}"'))
    return path


@pytest.mark.parametrize("args, shows", [
    (("-k", "chat"), "not run: db_integrity, e2e_operator_ui, e2e_window_lifecycle"),
    (("gates/test_chat_endpoint.py",), "not run: db_integrity, degraded_fallback, e2e_operator_chat"),
    (("-m", "e2e"), "not run: chat_endpoint, db_integrity"),
    (("-m", "gate and not disruptive"), "not fully checked: degraded_fallback (test_chat_degraded_with_optional_"
                                        "backends_down: deselected in this run)"),
], ids=["-k", "file-argument", "-m e2e", "-m not disruptive"])
def test_a_partial_run_is_incomplete_never_passed(lab, tmp_path, args, shows):
    rc, line, verdict = _gate(lab, tmp_path, *args)
    assert rc == 6, line
    assert line.startswith("RELEASE GATES: INCOMPLETE") and shows in line, line
    assert verdict["verdict"] == "INCOMPLETE" and verdict["status"] == "partial"


def test_disruption_switched_off_by_the_profile_is_not_fully_checked(lab, tmp_path):
    path = _profile(tmp_path, "allow_disruptive = true", "allow_disruptive = false")
    rc, line, verdict = _gate(lab, tmp_path, f"--vx11-profile={path}")
    assert rc == 6, line
    assert "not fully checked: degraded_fallback (test_chat_degraded_with_optional_backends_down: not checked: " \
           "policy.allow_disruptive is false" in line, line
    gates = {g["id"]: g for g in verdict["gates"]}
    assert gates["service_health"]["outcome"] == "not fully checked"


def test_a_profile_typo_is_bad_usage_naming_the_key(lab, tmp_path):
    path = _profile(tmp_path, "allow_disruptive = true", "allow_disruptve = true")
    rc, line, _ = _gate(lab, tmp_path, f"--vx11-profile={path}")
    assert rc == 4
    assert "key 'policy.allow_disruptve': unknown key (did you mean 'allow_disruptive'?)" in line, line


def _kill(lab: Lab, *services: str) -> None:
    state = json.loads((Path(lab.env["VX11_LOCAL_RUN_DIR"]) / "state.json").read_text())
    for name in services:
        os.kill(int(state["services"][name]["pid"]), signal.SIGTERM)


def test_an_optional_service_down_is_a_warning_in_the_verdict(lab, tmp_path):
    _kill(lab, "spawner")
    try:
        rc, line, verdict = _gate(lab, tmp_path)
    finally:
        lab.start()
    assert rc == 0, line  # solo_madre: spawner down is recorded, never blocking; switch is still paused and proven
    assert any("spawner (optional)" in w for w in verdict["warnings"]), verdict["warnings"]


def test_pausing_what_is_already_down_proves_nothing(lab, tmp_path):
    _kill(lab, "switch", "spawner")
    try:
        rc, line, verdict = _gate(lab, tmp_path)
    finally:
        lab.start()
    assert rc == 6, line
    assert "already down before any pause" in line or "already 'down' before any pause" in line, line


def test_no_match_for_m_is_said_before_any_stack_starts(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gtae", "--launcher", "local", "-q",
                           f"--evidence-dir={tmp_path}"], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "VX11_TOKEN": "tok-nomatch-123456"})
    assert done.returncode == 5, done.stdout + done.stderr
    assert "selects no gate test" in done.stdout + done.stderr and "starting the stack" not in done.stdout
