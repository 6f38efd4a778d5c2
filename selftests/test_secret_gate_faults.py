"""The secret gate's new checks, each shown failing on a real fault in a stack's own
repository (a throw-away copy of the reference stack, started in a private network
namespace), the way a user runs it: ``pytest -m gate --launcher external``. The healthy
run of the fault matrix shows them passing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from selftests.gaterun import REPO, GateRun, Lab

pytestmark = [pytest.mark.faults, pytest.mark.slow]
GATE_FILE = "gates/test_secret_scan.py"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=fault", "-c", "user.email=fault@localhost", *args], cwd=root,
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    place = Lab(f"vx11-secrets-{os.getpid()}", tmp_path_factory.mktemp("lab"))
    yield place
    place.close()


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    shutil.copytree(REPO / "stack", root, ignore=shutil.ignore_patterns("data", "__pycache__", "*.pyc"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "stack")
    return root


def _secret_gate(lab: Lab, root: Path, tmp: Path) -> GateRun:
    lab.start("--root", str(root))
    return lab.gates(tmp, "gate", GATE_FILE, "--backend=host", f"--stack-root={root}")


def _expect_failure(run: GateRun, line: str) -> None:
    outcome = run.gates.get("secret_scan")
    assert outcome is not None and outcome.outcome == "failed", run.explain()
    assert re.search(line, run.output), run.explain()


def test_live_token_in_history_fails_the_gate(lab, stack_copy, tmp_path):
    token = os.environ["VX11_TOKEN"]
    (stack_copy / "ops.md").write_text(f"curl -H 'x-vx11-token: {token}' http://localhost:8000/\n")
    _git(stack_copy, "add", "-A")
    _git(stack_copy, "commit", "-qm", "notes")
    _git(stack_copy, "rm", "-q", "ops.md")
    _git(stack_copy, "commit", "-qm", "remove the notes")
    run = _secret_gate(lab, stack_copy, tmp_path)
    _expect_failure(run, r"secret_scan: stack repository: live token's value in tracked files and history: "
                         r"expected 0, found 1")
    assert token not in run.output


def test_env_template_with_a_value_fails_the_gate(lab, stack_copy, tmp_path):
    (stack_copy / ".env.example").write_text("VX11_TOKEN=\nLOG_LEVEL=debug\n")
    _git(stack_copy, "add", "-A")
    _git(stack_copy, "commit", "-qm", "env template")
    _expect_failure(_secret_gate(lab, stack_copy, tmp_path),
                    r"secret_scan: stack repository: values in \.env templates: expected 0, found 1")


def test_shallow_clone_is_could_not_look(lab, stack_copy, tmp_path):
    (stack_copy / "CHANGES.md").write_text("a second commit\n")
    _git(stack_copy, "add", "-A")
    _git(stack_copy, "commit", "-qm", "changes")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{stack_copy}", str(clone)], check=True,
                   capture_output=True, timeout=60)
    run = _secret_gate(lab, clone, tmp_path)
    outcome = run.gates.get("secret_scan")
    assert outcome is not None and outcome.outcome == "error", run.explain()
    assert "shallow clone" in run.output and run.rc == 3, run.explain()


def test_healthy_stack_passes_every_secret_check(lab, stack_copy, tmp_path):
    (stack_copy / ".env.example").write_text("VX11_TOKEN=\nLOG_LEVEL=\n")  # a template with names only
    _git(stack_copy, "add", "-A")
    _git(stack_copy, "commit", "-qm", "env template")
    run = _secret_gate(lab, stack_copy, tmp_path)
    outcome = run.gates.get("secret_scan")
    assert outcome is not None and outcome.outcome == "passed", run.explain()
