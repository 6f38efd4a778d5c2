"""An evidence folder that cannot be used (read-only, a file in the way) ends the run at its
start with one line and exit 4; one that cannot be written (a full file system: a small tmpfs,
full at start, too small for the report, or failing mid-write) with one line and exit 3. Never
an INTERNALERROR traceback, and the verdict line still follows, naming the cause.

The tmpfs is mounted in a private mount namespace (``unshare -m``, root), so nothing outside
the test sees it and it goes away with the process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
TESTS = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="needs root and unshare(1) to mount a private tmpfs")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", "tok-folder-selftest-31")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(pytester.path / ".config"))
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(test_gates=TESTS)
    return pytester


def run(project: pytest.Pytester, evidence_dir: Path, setup: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """pytest with --evidence-dir, after ``setup`` (shell) in a private mount namespace."""
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--evidence-dir={evidence_dir}"]
    script = f"{setup}\nexec \"$@\"" if setup else 'exec "$@"'
    cmd = ["unshare", "-m", "sh", "-ec", script, "sh", *argv] if setup else argv
    full_env = {**os.environ, **env,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(cmd, cwd=project.path, capture_output=True, text=True, timeout=180, check=False,
                          env=full_env)


def tmpfs(where: Path, size: str = "64k", options: str = "", fill: bool = False) -> str:
    lines = [f"mount -t tmpfs -o size={size}{',' + options if options else ''} tmpfs {where}"]
    if fill:
        lines.append(f"dd if=/dev/zero of={where}/fill bs=4096 count=64 2>/dev/null || true")
    return "\n".join(lines)


def assert_one_line_then_verdict(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == code, out[-3000:]
    assert "INTERNALERROR" not in out and "Traceback" not in out, out[-3000:]
    # pytest shows a pytest.exit message on stderr ("Exit: ...") and in its "!" banner: one message.
    mine = [ln for ln in out.splitlines() if "vx11 evidence:" in ln and "RELEASE GATES" not in ln]
    messages = {ln.removeprefix("! _pytest.outcomes.Exit: ").removeprefix("Exit: ").removesuffix(" !") for ln in mine}
    assert len(messages) == 1 and says in mine[0], mine
    mine = [ln for ln in mine if ln in done.stdout]
    verdict = [ln for ln in done.stdout.splitlines() if ln.startswith("RELEASE GATES:")]
    assert len(verdict) == 1 and "(run aborted: vx11 evidence: " in verdict[0], done.stdout[-2000:]
    assert done.stdout.index(verdict[0]) > done.stdout.find(mine[0]) if mine else True  # the verdict line after


def test_a_file_in_the_way_is_bad_usage(project: pytest.Pytester) -> None:
    (project.path / "reports").write_text("not a folder")
    done = run(project, project.path / "reports")
    assert_one_line_then_verdict(done, 4, "cannot use")
    assert "pass --evidence-dir DIR (a writable folder) or --no-evidence" in done.stderr


@needs_root
def test_a_read_only_folder_is_bad_usage(project: pytest.Pytester) -> None:
    where = project.path / "ro"
    where.mkdir()
    done = run(project, where / "reports", tmpfs(where, options="ro"))
    assert_one_line_then_verdict(done, 4, f"cannot use {where / 'reports'} as the evidence folder: Read-only file system")
    assert "test_one" not in done.stdout  # nothing ran


@needs_root
def test_a_folder_full_at_start_could_not_write(project: pytest.Pytester) -> None:
    where = project.path / "full"
    where.mkdir()
    done = run(project, where, tmpfs(where, fill=True))
    assert_one_line_then_verdict(done, 3, f"could not write the evidence to {where}: No space left on device")
    assert "test_one" not in done.stdout


@needs_root
def test_too_little_room_for_the_report_could_not_write(project: pytest.Pytester) -> None:
    where = project.path / "small"
    where.mkdir()
    done = run(project, where, tmpfs(where))
    assert_one_line_then_verdict(done, 3, "could not write the evidence to")
    assert "KiB free on its file system, the report and JUnit files need about" in done.stdout
    assert "2 passed" in done.stdout  # the tests ran; their evidence could not be kept


@needs_root
def test_a_write_that_fails_midway_could_not_write(project: pytest.Pytester) -> None:
    """No estimate (VX11_EVIDENCE_MIN_FREE=0): junitxml and pytest-html really write, and fail."""
    where = project.path / "tiny"
    where.mkdir()
    project.makepyfile(test_gates=TESTS + "".join(f"\ndef test_big_{n}(evidence):\n"
                                                  f"    evidence.attach('log: big{n}', 'x' * 30000)\n" for n in range(4)))
    done = run(project, where, tmpfs(where, size="48k"), VX11_EVIDENCE_MIN_FREE="0")
    assert_one_line_then_verdict(done, 3, f"could not write the evidence to {where}/")
    assert "No space left on device" in done.stdout


def test_a_roomy_folder_is_unaffected(project: pytest.Pytester) -> None:
    done = run(project, project.path / "reports")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "vx11 evidence: " in done.stdout and "could not" not in done.stdout
