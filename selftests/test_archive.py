"""The archive: the manifest catches a flipped byte, a missing and an extra file; the index
draws every run with charts; drift between two baselines; and both pages render in a browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from fixtures.evidence import archive, drift

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
CHROMIUM = "/usr/bin/chromium"
GATE = '''
"""Database stays whole."""
def test_db(evidence):
    evidence.metric("chat_p95_ms", {p95})
    evidence.metric("chat_p95_slo_ms", 800)
    evidence.baseline("database", {{"tables": {tables}, "size_bytes": 4096}})
    evidence.baseline("services", {{"madre": {{"status": "running", "image": "{image}", "restarts": 0}}}})
    evidence.topology({{"services": [{{"name": "tentaculo_link", "port": 8000, "exposure": "public",
                                       "policy": "required", "up": True}}]}})
    assert {ok}, "db_integrity: vx11.db: quick_check: expected ok, found corrupt"
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", "tok-archive-selftest-123")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(pytester.path / ".config"))  # the local evidence key goes here
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS)
    return pytester


def gate_run(pytester: pytest.Pytester, *args: str, p95: float = 100.0, tables: str = '{"windows": 2}',
             image: str = "vx11-madre:local", ok: bool = True) -> Path:
    before = set((pytester.path / "reports").glob("*/"))
    pytester.makepyfile(test_db_integrity=GATE.format(p95=p95, tables=tables, image=image, ok=ok),
                        test_service_health='"""Every required service is up."""\ndef test_up():\n    pass\n')
    pytester.runpytest(*args)
    (run,) = set((pytester.path / "reports").glob("*/")) - before
    return run


def verify_cli(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "scripts" / "verify-evidence"), str(run)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_verify_says_ok_then_names_a_flipped_byte_a_missing_and_an_extra_file(project: pytest.Pytester) -> None:
    run = gate_run(project)
    done = verify_cli(run)
    assert done.returncode == 0 and done.stdout.strip().startswith(f"{run}: OK (signed by key "), done.stdout

    data = bytearray((run / "junit.xml").read_bytes())
    data[len(data) // 2] ^= 0x01
    (run / "junit.xml").write_bytes(bytes(data))
    (run / "logs").mkdir(exist_ok=True)
    (run / "logs" / "late.txt").write_text("added after the run")
    (run / "scorecard.json").unlink()
    done = verify_cli(run)
    assert done.returncode == 1
    assert f"{run}: changed: junit.xml" in done.stdout
    assert f"{run}: missing: scorecard.json" in done.stdout
    assert f"{run}: extra: logs/late.txt" in done.stdout
    assert archive.verify(run)[:3] == ["changed: junit.xml", "missing: scorecard.json", "extra: logs/late.txt"]


def test_a_missing_manifest_and_a_schema_break_are_named(project: pytest.Pytester) -> None:
    run = gate_run(project)
    verdict = json.loads((run / "verdict.json").read_text())
    del verdict["exit_code"]
    (run / "verdict.json").write_text(json.dumps(verdict))
    archive.write_manifest(run)  # a consistent manifest over a broken file, and no key to sign it
    found = archive.verify(run)
    assert found[0] == "schema: verdict.json: $: missing key 'exit_code'"
    assert any(p.startswith("signature: MANIFEST.sha256: does not verify") for p in found)
    (run / "MANIFEST.sha256").unlink()
    assert archive.verify(run) == ["missing: MANIFEST.sha256"]


def test_a_killed_controller_is_listed_unfinished_and_fails_verify(project: pytest.Pytester) -> None:
    """SIGKILL leaves no verdict and no manifest: the index lists the run as UNFINISHED and
    verify names the missing manifest, so the run is never mistaken for a pass nor lost."""
    gate_run(project)
    project.makepyfile(test_kill="import os, signal\ndef test_k(evidence):\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    before = set((project.path / "reports").glob("*/"))
    killed = project.runpytest_subprocess("test_kill.py", timeout=120)
    assert killed.ret == -9, killed.stdout.str()
    (run,) = set((project.path / "reports").glob("*/")) - before
    assert not (run / "verdict.json").exists()
    assert verify_cli(run).returncode != 0 and "missing: MANIFEST.sha256" in verify_cli(run).stdout
    index = archive.index_html(project.path / "reports")
    row = index.split(f"<td>{run.name}</td>")[1].split("</tr>")[0]
    assert "UNFINISHED" in row and "missing: MANIFEST.sha256" in row
    pass_rate = index.split('data-chart="pass-rate"')[1].split("</svg>")[0]
    assert pass_rate.count("<circle") == 1  # charted: the finished run only
    assert index.count('class="PASSED"') == 1


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum (coreutils) not installed")
def test_the_manifest_is_sha256sum_format(project: pytest.Pytester) -> None:
    run = gate_run(project)
    done = subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.sha256"], cwd=run, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_index_after_three_runs_lists_them_and_draws_the_trends(project: pytest.Pytester) -> None:
    runs = [gate_run(project, p95=120), gate_run(project, p95=480, ok=False), gate_run(project, p95=90)]
    index = (project.path / "reports" / "index.html").read_text(encoding="utf-8")
    for run in runs:
        assert f'href="{run.name}/report.html"' in index
    assert index.count("<svg") == 4
    for chart in ("pass-rate", "outcomes", "gate-duration", "chat-p95"):
        assert f'data-chart="{chart}"' in index
    assert index.count('class="PASSED"') == 2 and index.count('class="BLOCKED"') == 1
    assert "db_integrity" in index and "service_health" in index
    assert "<script" not in index
    # The chat p95 chart has one point per run and the SLO line.
    p95 = index.split('data-chart="chat-p95"')[1].split("</svg>")[0]
    assert p95.count("<circle") == 3 and ">SLO<" in p95
    rebuilt = subprocess.run([str(REPO / "scripts" / "archive-index"), str(project.path / "reports")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert rebuilt.returncode == 0 and rebuilt.stdout.strip().endswith("index.html")


def test_baseline_compare_writes_drift(project: pytest.Pytester) -> None:
    first = gate_run(project)
    second = gate_run(project, "--baseline-compare", "last", tables='{"windows": 5, "sessions": 1}',
                      image="vx11-madre:v2")
    d = json.loads((second / "drift.json").read_text(encoding="utf-8"))
    assert (d["from"], d["to"]) == (first.name, second.name)
    assert d["tables"] == {"added": ["sessions"], "removed": [],
                           "rows": {"windows": {"before": 2, "after": 5, "delta": 3}}}
    assert d["images"] == {"madre": ["vx11-madre:local", "vx11-madre:v2"]}
    assert archive.verify(second) == []
    html = (second / "report.html").read_text(encoding="utf-8")
    assert "drift from " + first.name in html
    by_id = gate_run(project, "--baseline-compare", first.name)
    assert json.loads((by_id / "drift.json").read_text())["from"] == first.name


def test_compare_command_prints_a_summary(project: pytest.Pytester) -> None:
    a = gate_run(project)
    b = gate_run(project, tables='{"windows": 1}')
    assert drift.summary(drift.compare(drift.load_baseline(a), drift.load_baseline(a)))[-1] == "  no drift"
    done = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "fixtures.evidence.archive", "compare", str(a), str(b)],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert "    windows: 2 -> 1 (-1)" in done.stdout


def test_compare_with_no_earlier_run_is_noted_not_fatal(project: pytest.Pytester) -> None:
    run = gate_run(project, "--baseline-compare", "last")
    notes = json.loads((run / "verdict.json").read_text())["warnings"]
    assert any("no earlier run with a baseline.json" in n for n in notes)
    assert archive.verify(run) == []


def render(url: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--dump-dom", url.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed: apt-get install -y chromium")
def test_report_and_index_render_in_a_headless_browser(project: pytest.Pytester) -> None:
    gate_run(project)
    run = gate_run(project, ok=False)
    report = render(run / "report.html")
    # pytest-html builds its result rows with JavaScript: these cells exist only after it ran.
    rows = re.findall(r'<td class="col-gate">([^<]+)</td>', report)
    assert sorted(rows) == ["db_integrity", "service_health"]
    assert "Database stays whole." in report and 'data-chart="topology"' in report
    assert "RELEASE GATES: BLOCKED" in report
    index = render(project.path / "reports" / "index.html")
    assert index.count("<svg") == 4 and "db_integrity" in index and run.name in index
