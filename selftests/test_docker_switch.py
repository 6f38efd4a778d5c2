"""The README's test command runs the Docker selftests by default (starting the engine as
root); VX11_DOCKER_TESTS=0 is the documented quick run without them, and =1 makes a missing
engine an error. Checked without starting any Docker stack: the decision table, then the
real selftest modules collected and skipped with the switch off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.dockerswitch import OFF_REASON, decide, mode

REPO = Path(__file__).resolve().parent.parent
DOCKER_MODULES = ["selftests/test_docker_stack.py", "selftests/test_fault_matrix_docker.py", "selftests/test_swarm.py"]


@pytest.mark.parametrize("value, engine, root, action", [
    (None, True, False, "run"),          # the default: an engine answers, they run
    (None, False, True, "start"),        # the default on a fresh root machine: start the engine, then run
    (None, False, False, "skip"),        # not root and no engine: cannot be started here
    ("1", False, False, "start"),        # CI: try, and fail if it cannot
    ("1", True, True, "run"),
    ("0", True, True, "skip"),           # the quick run
    ("auto", False, True, "start"),
])
def test_the_decision(monkeypatch: pytest.MonkeyPatch, value: str | None, engine: bool, root: bool,
                      action: str) -> None:
    if value is None:
        monkeypatch.delenv("VX11_DOCKER_TESTS", raising=False)
    else:
        monkeypatch.setenv("VX11_DOCKER_TESTS", value)
    assert decide(mode(), engine, root).action == action


def test_a_wrong_value_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VX11_DOCKER_TESTS", "maybe")
    with pytest.raises(pytest.UsageError, match="expected 0 .* 1 .* or unset"):
        mode()


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "VX11_DOCKER_TESTS"} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False, env=full)


def test_by_default_the_docker_selftests_are_collected_and_not_skipped() -> None:
    done = _pytest("--collect-only", "-q", "-m", "docker", *DOCKER_MODULES)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = [ln for ln in done.stdout.splitlines() if "::" in ln]
    assert len(collected) >= 8 and all(any(m in ln for m in DOCKER_MODULES) for ln in collected)
    # No skip marker is added by the switch when it is unset (the fixtures decide, at run time).
    probe = _pytest("-q", "--co", "-p", "selftests.test_docker_switch", *DOCKER_MODULES,
                    VX11_SWITCH_PROBE="1")
    assert "skip-markers: 0" in probe.stdout, probe.stdout[-2000:]


def test_switched_off_every_docker_selftest_skips_at_once_saying_how_to_turn_it_on() -> None:
    done = _pytest("-rs", "-q", *DOCKER_MODULES, VX11_DOCKER_TESTS="0", VX11_TOKEN="switch-token-1234")
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" not in done.stdout and " failed" not in done.stdout and " error" not in done.stdout
    skipped = [ln for ln in done.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert skipped and all(OFF_REASON in ln for ln in skipped), done.stdout[-3000:]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Loaded as a plugin by the test above (-p): count the skip markers the switch added."""
    if os.environ.get("VX11_SWITCH_PROBE") == "1":
        marked = sum(1 for item in session.items if any(m.name == "skip" for m in item.iter_markers()))
        print(f"skip-markers: {marked}")


def test_the_test_command_and_ci_keep_the_docker_path() -> None:
    script = (REPO / "scripts" / "test").read_text(encoding="utf-8")
    assert "VX11_DOCKER_TESTS=0" in script  # documented in the command's own header
    assert "export VX11_DOCKER_TESTS" not in script or 'VX11_DOCKER_TESTS:-' in script
    assert "export VX11_DOCKER_TESTS=1" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
