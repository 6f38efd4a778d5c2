"""Waivers: a valid one turns a failed check into "waived"; a malformed, expired, too distant,
whole-gate or unknown one is bad usage (exit 4) with a message naming the entry and the key."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.verdict.waivers import WaiverError, load_waivers

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
TODAY = dt.date(2026, 6, 1)
SOON = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
GOOD = """
[[waiver]]
gate = "chat_endpoint"
check = "test_p95"
reason = "p95 above the SLO until the cache lands"
owner = "ops@example.org"
ticket = "VX11-123"
expires = 2026-07-31
"""
FAIL = ('"""Chat answers within the SLO."""\nimport pytest\ndef test_p95():\n'
        '    pytest.fail("chat_endpoint: /chat: p95: expected <= 800 ms, found 950 ms", pytrace=False)\n')


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, GOOD), today=TODAY)
    (w,) = waivers
    assert (w.ticket, w.owner, w.expires, w.entry, w.check) == ("VX11-123", "ops@example.org", dt.date(2026, 7, 31),
                                                                1, "test_p95")
    assert load_waivers(write(tmp_path, ""), today=TODAY) == []


def test_the_expiry_day_itself_is_still_valid(tmp_path: Path) -> None:
    assert load_waivers(write(tmp_path, GOOD.replace("2026-07-31", "2026-06-01")), today=TODAY)


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("2026-07-31", "2026-05-31"),
     "waiver #1 (gate 'chat_endpoint'): key 'expires': the waiver expired on 2026-05-31"),
    (GOOD.replace('ticket = "VX11-123"\n', ""), "waiver #1 (gate 'chat_endpoint'): key 'ticket': missing"),
    (GOOD.replace("2026-07-31", '"next spring"'),
     "waiver #1 (gate 'chat_endpoint'): key 'expires': expected a date like 2026-12-31, found 'next spring'"),
    (GOOD.replace("2026-07-31", "2026-07-31T10:00:00"), "key 'expires': expected a date"),
    (GOOD.replace("2026-07-31", "2026-12-31"), "key 'expires': 2026-12-31 is more than 90 days away"),
    (GOOD.replace('check = "test_p95"\n', ""), "key 'check': a waiver names one check"),
    (GOOD.replace('check = "test_p95"\n', 'check = "test_p95"\nproperty = "p95"\n'), "a waiver names one check"),
    (GOOD.replace('owner = "ops@example.org"', 'owner = ""'), "key 'owner': expected a non-empty string"),
    (GOOD + 'expire = 2099-01-01\n', "waiver #1 (gate 'chat_endpoint'): key 'expire': unknown key"),
    (GOOD + GOOD, "waiver #2 (gate 'chat_endpoint'): key 'check': chat_endpoint::test_p95 is already waived by "
                  "waiver #1"),
    ("[waiver]\ngate = 'x'\n", "key 'waiver': write entries as [[waiver]] tables"),
    ("[[waivers]]\ngate = 'x'\n", "key 'waivers': unknown top-level key"),
    ("[[waiver]\n", "not valid TOML"),
])
def test_malformed_or_expired_entries_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(WaiverError) as info:
        load_waivers(write(tmp_path, text), today=TODAY)
    assert message in str(info.value)
    assert str(info.value).startswith(f"--waivers {tmp_path / 'waivers.toml'}: ")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match="cannot read the file"):
        load_waivers(tmp_path / "nope.toml")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", "tok-waiver-selftest-123")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(test_chat_endpoint=FAIL, test_db_integrity='"""DB is clean."""\ndef test_ok():\n    pass\n')
    return pytester


def test_a_waived_failure_passes_the_release_and_says_so(project: pytest.Pytester) -> None:
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", SOON))
    result = project.runpytest("--waivers", "waivers.toml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["RELEASE GATES: PASSED – 1 gates passed, 1 waived; "
                                 f"waived: chat_endpoint (chat_endpoint::test_p95 (VX11-123, ops@example.org, "
                                 f"until {SOON}))"])
    (run,) = (project.path / "reports").glob("*_gate")
    v = json.loads((run / "verdict.json").read_text(encoding="utf-8"))
    gate = {g["id"]: g for g in v["gates"]}["chat_endpoint"]
    assert gate["outcome"] == "waived" and "VX11-123" in gate["waiver"]["waived"]
    assert gate["checks"] == [{"test": "test_chat_endpoint.py::test_p95", "status": "waived",
                               "reason": f"chat_endpoint::test_p95 (VX11-123, ops@example.org, until {SOON})"}]
    assert [w["ticket"] for w in v["waivers"]] == ["VX11-123"] and v["counts"]["waived"] == 1
    html = (run / "report.html").read_text(encoding="utf-8")
    assert 'col-result waived' in html and "waived: chat_endpoint::test_p95 (VX11-123" in html


def test_a_waiver_names_a_check_not_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(test_chat_endpoint=FAIL + "def test_other():\n    assert 0, 'chat_endpoint: x: y: expected 1, found 2'\n")
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", SOON))
    result = project.runpytest("--waivers", "waivers.toml")
    assert result.ret == 1  # test_other is not waived: the gate still fails
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – 1 failed, *"])


def test_a_waiver_by_property_covers_that_failure_line(project: pytest.Pytester) -> None:
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", SOON).replace('check = "test_p95"', 'property = "p95"'))
    assert project.runpytest("--waivers", "waivers.toml").ret == 0


def test_a_waiver_never_covers_could_not_look(project: pytest.Pytester) -> None:
    project.makepyfile(test_chat_endpoint="import pytest\n@pytest.fixture\ndef stack():\n    raise OSError('refused')\n"
                                          "def test_p95(stack):\n    pass\n")
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", SOON))
    assert project.runpytest("--waivers", "waivers.toml").ret == 3


def test_an_expired_waiver_is_bad_usage_before_anything_runs(project: pytest.Pytester) -> None:
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", "2020-01-01"))
    result = project.runpytest("--waivers", "waivers.toml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --waivers *waivers.toml: waiver #1 (gate 'chat_endpoint'): key 'expires': "
                                 "the waiver expired on 2020-01-01 *"])
    assert not (project.path / "reports").exists()


def test_a_malformed_waiver_is_bad_usage(project: pytest.Pytester) -> None:
    project.makefile(".toml", waivers=GOOD.replace('owner = "ops@example.org"\n', ""))
    result = project.runpytest("--waivers", "waivers.toml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: *waiver #1 (gate 'chat_endpoint'): key 'owner': missing*"])


def test_an_unused_waiver_is_a_warning(project: pytest.Pytester) -> None:
    project.makefile(".toml", waivers=GOOD.replace("2026-07-31", SOON).replace('check = "test_p95"',
                                                                               'property = "latency"'))
    result = project.runpytest("--waivers", "waivers.toml")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["vx11 warning: waiver #1 (chat_endpoint: latency): covered nothing in this run*",
                                 "RELEASE GATES: BLOCKED – 1 failed, *"])
    (run,) = (project.path / "reports").glob("*_gate")
    assert "covered nothing" in json.loads((run / "verdict.json").read_text())["warnings"][0]


@pytest.mark.parametrize("edit, message", [
    (('"chat_endpoint"', '"chat_endpiont"'), "key 'gate': no such gate"),
    (('"test_p95"', '"test_p95_latency"'), "key 'check': 'test_p95_latency' is not a check of chat_endpoint"),
])
def test_a_waiver_for_an_unknown_gate_or_check_is_bad_usage(tmp_path: Path, edit: tuple[str, str],
                                                            message: str) -> None:
    text = GOOD.replace("2026-07-31", SOON).replace('"test_p95"', '"test_chat_requests_all_ok"')
    path = write(tmp_path, text.replace(*edit) if edit[0] != '"test_p95"' else
                 text.replace('"test_chat_requests_all_ok"', '"test_p95_latency"'))
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gate", "--co", "-q", f"--waivers={path}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr, done.stderr
