"""The operator UI gate in a real browser (e2e_operator_ui): the browser-only faults fail it and
only it, a browser that cannot start or dies is "could not look" (exit 3), and its evidence
shows the screenshot and never the token.

The stack cases run like the fault matrix (selftests/test_fault_matrix.py): the reference stack
in a Lab (its own network namespace), the gates in a subprocess with ``-m "gate or e2e"``.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.errors import CouldNotLook
from fixtures.probes.browser import DEFAULT_CHROMIUM, Chromium, Exchange, chromium_path, origin_of
from selftests.gaterun import REPO, GateRun, Lab

pytest_plugins = ["pytester"]
ALL = "gate or e2e"
HOST = "--backend=host"
GATE = "e2e_operator_ui"
MODULE = "gates/test_e2e_operator_ui.py"
needs_chromium = pytest.mark.skipif(not Path(DEFAULT_CHROMIUM).exists(),
                                    reason="chromium not installed: scripts/setup --browser")

# browser-only fault switch -> the first line of e2e_operator_ui's failure (no other gate may fail)
BROWSER_ONLY: dict[str, str] = {
    "runtime_origin_ui": r"e2e_operator_ui: /operator/ in Chromium: requests to another origin: expected none "
                         r"\(all to http://127\.0\.0\.1:8000\), found \[.*http://localhost:8000/",
    "script_error_ui": r"e2e_operator_ui: /operator/ in Chromium: console errors: expected none, found "
                       r"\[.uncaught: .*textContent",
    "reply_hidden_ui": r"e2e_operator_ui: /operator/ in Chromium: reply on the page: expected '.+' visible, "
                       r"found not shown",
}


# -- the probe's pieces, no stack -------------------------------------------------

def test_origin_of_normalises_ports_and_websockets():
    assert origin_of("http://127.0.0.1:8000/operator/") == "http://127.0.0.1:8000"
    assert origin_of("http://gateway/x") == "http://gateway:80"
    assert origin_of("ws://127.0.0.1:8000/live") == "http://127.0.0.1:8000"
    assert origin_of("https://h/x") == "https://h:443"
    assert origin_of("data:,") is None and origin_of("blob:http://h/1") is None


def test_exchange_failed_means_an_error_or_a_4xx_5xx():
    assert not Exchange("GET", "http://h/", "document", 200).failed
    assert not Exchange("GET", "http://h/", "document", 308).failed
    assert Exchange("GET", "http://h/favicon.ico", "other", 401).failed
    assert Exchange("POST", "http://h/a", "fetch", None, "net::ERR_FAILED").failed
    assert Exchange("POST", "http://h/a", "fetch", None).line().endswith("-> pending")


def test_missing_chromium_is_could_not_look(tmp_path, monkeypatch):
    monkeypatch.setenv("VX11_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(CouldNotLook, match=r"no Chromium executable at .*no-chromium: run scripts/setup --browser"):
        chromium_path()


@needs_chromium
def test_browser_that_dies_is_could_not_look(tmp_path):
    """The browser is killed after it started: the next look is could-not-look, not a pass or a failure."""
    pidfile = tmp_path / "pid"
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec {DEFAULT_CHROMIUM} \"$@\"\n")
    wrapper.chmod(0o755)
    browser = Chromium.start(str(wrapper))
    try:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        with pytest.raises(CouldNotLook, match=r"vx11 browser: .*(cannot open a page|crashed)"):
            browser.visit_operator("http://127.0.0.1:9", "/operator/", "/operator/api/chat", "t0ken-value",
                                   "hello", timeout=5)
    finally:
        try:
            browser.close()
        except Exception:  # noqa: BLE001 - closing a killed browser may complain; nothing to clean up
            pass


_IMAGE_GATE = """
import base64

def test_shot(evidence):
    evidence.image("a screenshot", base64.b64decode(%r))
    evidence.attach("note", "plain text")
"""
_PNG = base64.b64encode((REPO / "stack/tentaculo_link/static/favicon.png").read_bytes()).decode()


@pytest.mark.parametrize("workers", [[], pytest.param(["-n", "2"], marks=pytest.mark.slow)])
def test_evidence_image_shows_in_report_html_not_in_junit(pytester, monkeypatch, workers):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest('pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", '
                          '"fixtures.verdict.waivers"]\n')
    pytester.makepyfile(test_alpha=_IMAGE_GATE % _PNG)
    assert pytester.runpytest(*workers).ret == 0
    run = next((pytester.path / "reports").glob("*/verdict.json")).parent
    assert f"data:image/png;base64,{_PNG}" in (run / "report.html").read_text(encoding="utf-8")
    assert _PNG not in (run / "junit.xml").read_text(encoding="utf-8")


# -- against the reference stack in a Lab ----------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory, worker_id):
    place = Lab(f"vx11-ui-{worker_id}-{os.getpid()}", tmp_path_factory.mktemp("lab"))
    yield place
    place.close()


def _up(lab: Lab, *args: str) -> None:
    """Start the Lab's stack with ARGS unless it already runs with them."""
    if getattr(lab, "vx11_ui_args", None) != args:
        lab.start(*args)
        lab.vx11_ui_args = args  # type: ignore[attr-defined]


def _check(run: GateRun, first_line: str) -> None:
    assert run.failing == {GATE}, f"expected exactly ['{GATE}'] to fail\n{run.explain()}"
    assert re.search(first_line, run.gates[GATE].first_line), f"no match for {first_line!r}\n{run.explain()}"
    assert run.rc == 1, f"a broken promise must exit 1\n{run.explain()}"


@needs_chromium
@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(BROWSER_ONLY))
def test_browser_only_fault_fails_this_gate_only(lab, tmp_path, fault):
    _up(lab, "--faults", fault)
    _check(lab.gates(tmp_path, ALL, HOST), BROWSER_ONLY[fault])


@needs_chromium
@pytest.mark.faults
@pytest.mark.slow
def test_healthy_page_passes_with_screenshot_and_no_token_in_evidence(lab, tmp_path):
    _up(lab)
    reports = tmp_path / "reports"
    done = lab.run([sys.executable, "-m", "pytest", MODULE, "-m", ALL, "--launcher", "external", HOST,
                    "-p", "no:cacheprovider", "-q", f"--evidence-dir={reports}"], timeout=300)
    # One module is not the release set: INCOMPLETE (6), with this gate passed.
    assert done.returncode == 6 and "1 passed" in done.stdout, done.stdout + done.stderr
    html = next(reports.glob("*/report.html")).read_text()
    shots = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert shots and base64.b64decode(shots[0]).startswith(b"\x89PNG"), "report.html shows no screenshot"
    token = os.environ["VX11_TOKEN"]
    for path in reports.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), f"the token is in {path}"


@needs_chromium
@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("executable", ["/nonexistent/chromium", "/bin/false"])
def test_browser_that_cannot_start_is_could_not_look(lab, tmp_path, monkeypatch, executable):
    _up(lab)
    monkeypatch.setenv("VX11_CHROMIUM", executable)
    run = lab.gates(tmp_path, ALL, HOST, MODULE)
    assert run.rc == 3 and run.gates[GATE].outcome == "error", run.explain()
    assert "vx11 browser:" in run.output, run.explain()


@pytest.mark.parametrize("marker", ["gate", "e2e"])
def test_the_gate_is_in_the_release_gate(marker):
    """-m gate selects it (the release decision), and so does -m e2e."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", marker, "-p",
                           "no:cacheprovider"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert f"{MODULE}::test_operator_sends_a_message_and_sees_the_reply" in done.stdout, done.stdout + done.stderr
