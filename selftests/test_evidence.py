"""The evidence folder: every file present with its schema, nothing secret in it, and a
verifiable folder even when the run is cut short (Ctrl-C, SIGTERM, pytest.exit, a crash)."""

from __future__ import annotations

import base64
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.evidence.archive import verify
from fixtures.evidence.schema import SCHEMAS, problems

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
TOKEN = "tok-Zq8y-selftest-4711-secret"
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'

GATE_OK = '''
"""Alpha keeps its promise: the answer is 42.

A second paragraph that the HTML column leaves out."""
import os

def test_answer(evidence):
    token = os.environ["VX11_TOKEN"]
    evidence.attach("log: madre", "started\\nheader x-vx11-token: " + token)
    evidence.attach("response", "body " + token)
    evidence.metric("db_checks_passed", 3)
    evidence.metric("http_requests", 10)
    evidence.metric("http_ok", 10)
    evidence.metric("chat_p95_ms", 120.5)
    evidence.metric("chat_p95_slo_ms", 800)
    evidence.baseline("database", {"tables": {"windows": 3}, "dsn": "sqlite://" + token})
    evidence.topology({"services": [
        {"name": "tentaculo_link", "port": 8000, "exposure": "public", "policy": "required", "up": True},
        {"name": "madre", "port": 8001, "exposure": "internal", "policy": "required", "up": True},
        {"name": "switch", "port": 8002, "exposure": "internal", "policy": "optional", "up": False}]})
    evidence.run_info(stack_commit="abc123", launcher="local")
    print("captured stdout with", token)
'''
GATE_FAIL = '''
"""Beta: the chat never answers 5xx."""
import os

def test_chat(evidence):
    token = os.environ["VX11_TOKEN"]
    evidence.attach("request", "sent token " + token)
    assert False, f"beta: /chat: status: expected 200, found 500 (token {token})"
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", TOKEN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(pytester.path / ".config"))  # the local evidence key goes here
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS)
    return pytester


def run_dirs(pytester: pytest.Pytester) -> list[Path]:
    return sorted(p.parent for p in (pytester.path / "reports").glob("*/verdict.json"))


def only_run(pytester: pytest.Pytester) -> Path:
    found = run_dirs(pytester)
    assert len(found) == 1, f"expected one run folder, found {found}"
    return found[0]


def read(run: Path, name: str) -> dict:
    return json.loads((run / name).read_text(encoding="utf-8"))


def test_every_file_is_there_with_its_schema(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_beta=GATE_FAIL)
    result = project.runpytest()
    assert result.ret == 1
    run = only_run(project)
    assert re.fullmatch(r"\d{8}T\d{6}Z_gate", run.name)
    for name in ("report.html", "junit.xml", "verdict.json", "scorecard.json", "baseline.json",
                 "logs/madre.txt", "MANIFEST.sha256"):
        assert (run / name).is_file(), f"{name} missing from {sorted(p.name for p in run.iterdir())}"
    for name, schema in SCHEMAS.items():
        assert problems(read(run, name), schema) == [], name
    assert verify(run) == []

    v = read(run, "verdict.json")
    assert (v["status"], v["verdict"], v["exit_code"]) == ("complete", "BLOCKED", 1)
    assert {g["id"]: g["outcome"] for g in v["gates"]} == {"alpha": "passed", "beta": "failed"}
    assert v["gates"][0]["promise"].startswith("Alpha keeps its promise")
    assert v["gates"][1]["failures"][0].endswith("beta: /chat: status: expected 200, found 500 (token ***)")
    assert {k: v["run_info"][k] for k in ("stack_commit", "launcher")} == {"stack_commit": "abc123", "launcher": "local"}
    assert v["run_info"]["suite_version"]  # the suite's own git describe, shown in the report's header
    assert {s["name"] for s in v["topology"]["services"]} == {"tentaculo_link", "madre", "switch"}
    assert set(v["files"]) >= {"report.html", "junit.xml", "logs/madre.txt", "MANIFEST.sha256"}

    card = {e["name"]: e for e in read(run, "scorecard.json")["entries"]}
    assert (card["db_integrity"]["display"], card["db_integrity"]["met"]) == ("3/3", True)
    assert (card["http_success_rate"]["value"], card["http_success_rate"]["met"]) == (100.0, True)
    assert (card["chat_p95_ms"]["target"], card["chat_p95_ms"]["met"]) == (800, True)
    assert (card["gates_passed"]["display"], card["gates_passed"]["met"]) == ("1/2", False)
    assert card["invariants_verified"]["display"] == "1/2"
    assert card["hardcoded_secrets"]["met"] is None  # not measured is not "met"
    assert read(run, "baseline.json")["sections"]["database"]["tables"] == {"windows": 3}

    junit = ET.parse(run / "junit.xml").getroot()
    assert junit.tag == "testsuites" and junit.find("testsuite") is not None  # xunit2 layout
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["vx11.metric.db_checks_passed"] == "3"
    result.stdout.fnmatch_lines(["vx11 evidence: *reports*_gate", "RELEASE GATES: BLOCKED – 1 failed, *"])


def test_report_html_shows_gates_promises_blocks_and_topology(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_beta=GATE_FAIL)
    project.runpytest()
    html = (only_run(project) / "report.html").read_text(encoding="utf-8")
    assert "<script src" not in html and "<link " not in html  # self-contained
    assert 'data-chart="topology"' in html and 'data-service="switch" data-state="down"' in html
    assert "RELEASE GATES: BLOCKED" in html
    assert "col-gate" in html and "Alpha keeps its promise: the answer is 42." in html
    assert "second paragraph" not in html.split("data-jsonblob")[1]  # the column shows the first paragraph
    blocks = [base64.b64decode(b).decode() for b in re.findall(r"data:text/plain;charset=utf-8;base64,([A-Za-z0-9+/=]+)",
                                                                 html)]
    assert any(b.startswith("started\nheader x-vx11-token: ***") for b in blocks)
    assert any("beta: /chat: status: expected 200, found 500" in b for b in blocks)  # the failure text


def test_the_token_appears_in_no_file_and_no_output(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_beta=GATE_FAIL)
    result = project.runpytest("-rA")
    run = only_run(project)
    leaks = [p for p in run.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    html = (run / "report.html").read_text(encoding="utf-8")
    decoded = [base64.b64decode(b) for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]
    assert decoded and not any(TOKEN.encode() in d for d in decoded)
    assert TOKEN not in (project.path / "reports" / "index.html").read_text(encoding="utf-8")
    assert TOKEN not in result.stdout.str() and "***" in result.stdout.str()


def test_registered_secrets_are_redacted_too(project: pytest.Pytester) -> None:
    project.makepyfile(test_gamma='''
        from fixtures.evidence.redact import register_secret
        def test_other(evidence):
            register_secret("db-password-99")
            evidence.attach("dsn", "postgres://u:db-password-99@h")
    ''')
    project.runpytest()
    run = only_run(project)
    assert not any(b"db-password-99" in p.read_bytes() for p in run.rglob("*") if p.is_file())


@pytest.mark.parametrize("body, code, reason", [
    ("raise KeyboardInterrupt", 2, "interrupted: KeyboardInterrupt"),
    ("pytest.exit('vx11: stack unreachable: GET /health refused', returncode=3)", 3,
     "aborted: vx11: stack unreachable: GET /health refused"),
])
def test_an_interrupted_run_leaves_an_incomplete_verifiable_folder(
        project: pytest.Pytester, body: str, code: int, reason: str) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_zeta=f"import pytest\ndef test_z(evidence):\n"
                                                     f"    evidence.attach('before', 'seen')\n    {body}\n")
    result = project.runpytest(no_reraise_ctrlc=True)  # pytester re-raises an inner Ctrl-C otherwise
    assert result.ret == code
    run = only_run(project)
    v = read(run, "verdict.json")
    assert v["status"] == "incomplete" and v["exit_code"] == code and reason in v["incomplete_reasons"]
    assert problems(v, SCHEMAS["verdict.json"]) == []
    assert verify(run) == [] and (run / "report.html").is_file()
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – *"])


def test_exit_in_sessionstart_still_leaves_a_folder(project: pytest.Pytester) -> None:
    project.makeconftest(PLUGINS + '''
import pytest
@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    pytest.exit("vx11: stack unreachable at start", returncode=3)
''')
    project.makepyfile(test_alpha=GATE_OK)
    result = project.runpytest()
    assert result.ret == 3
    run = only_run(project)
    v = read(run, "verdict.json")
    assert (v["status"], v["exit_code"]) == ("incomplete", 3)
    assert "the session did not finish" in v["incomplete_reasons"]
    assert verify(run) == [] and "incomplete run" in (run / "report.html").read_text()
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – * (run aborted: vx11: stack unreachable at start)"])


@pytest.mark.slow
def test_sigterm_is_treated_like_ctrl_c(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_term="import os, signal\ndef test_t():\n"
                                                     "    os.kill(os.getpid(), signal.SIGTERM)\n")
    result = project.runpytest_subprocess()
    assert result.ret == 2
    v = read(only_run(project), "verdict.json")
    assert v["status"] == "incomplete" and verify(only_run(project)) == []


@pytest.mark.slow
def test_a_worker_crash_is_could_not_look_and_incomplete(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_crash="import os\ndef test_c():\n    os._exit(7)\n")
    result = project.runpytest_subprocess("-n", "2")
    v = read(only_run(project), "verdict.json")
    assert result.ret == 3, result.stdout.str()[-2000:]
    assert {g["id"]: g["outcome"] for g in v["gates"]} == {"alpha": "passed", "crash": "error"}
    assert v["status"] == "incomplete" and any("crashed" in r for r in v["incomplete_reasons"])
    assert verify(only_run(project)) == []


@pytest.mark.slow
def test_xdist_gives_the_same_verdict_as_a_serial_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK, test_beta=GATE_FAIL,
                       test_gamma="import pytest\n@pytest.fixture\ndef stack():\n    raise RuntimeError('gone')\n"
                                  "def test_g(stack, evidence):\n    pass\ndef test_h(evidence):\n"
                                  "    evidence.metric('secrets_found', 0)\n")
    serial = project.runpytest_subprocess("--run-label", "serial")
    parallel = project.runpytest_subprocess("-n", "2", "--run-label", "xdist")
    assert serial.ret == parallel.ret == 1
    runs = {r.name.split("_", 1)[1]: r for r in run_dirs(project)}

    def essence(run: Path) -> tuple:
        v = read(run, "verdict.json")
        card = read(run, "scorecard.json")
        gates = [(g["id"], g["outcome"], g["tests"], g["failures"]) for g in v["gates"]]
        return v["line"], v["exit_code"], v["status"], v["counts"], gates, v["run_info"], card["metrics"], \
            sorted(p.name for p in run.rglob("*") if p.is_file() and p.name != "MANIFEST.sha256")

    assert essence(runs["serial"]) == essence(runs["xdist"])
    assert read(runs["xdist"], "verdict.json")["pytest"]["xdist_workers"] == 2
    for run in runs.values():
        assert verify(run) == []
        assert not any(TOKEN.encode() in p.read_bytes() for p in run.rglob("*") if p.is_file())
        html = (run / "report.html").read_text(encoding="utf-8")
        assert "Alpha keeps its promise" in html and 'data-chart="topology"' in html
        blocks = [base64.b64decode(b).decode() for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]
        assert any(b.startswith("started\nheader x-vx11-token: ***") for b in blocks)  # made on a worker


def test_no_evidence_writes_nothing(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK)
    result = project.runpytest("--no-evidence")
    assert result.ret == 0 and not (project.path / "reports").exists()
    result.stdout.fnmatch_lines(["RELEASE GATES: PASSED – 1 gates passed, 0 waived"])


def test_evidence_dir_label_and_explicit_html_are_respected(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha=GATE_OK)
    result = project.runpytest("--evidence-dir", "out/ev", "--run-label", "night ly", "--html", "mine.html")
    assert result.ret == 0
    (run,) = (project.path / "out" / "ev").glob("*_night-ly")
    assert (project.path / "mine.html").is_file() and not (run / "report.html").exists()
    assert verify(run) == []


def test_metric_must_be_a_number(project: pytest.Pytester) -> None:
    project.makepyfile(test_alpha="def test_m(evidence):\n    evidence.metric('http_ok', '10')\n")
    result = project.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*TypeError: evidence.metric('http_ok', ...): expected a number, found '10'*"])
