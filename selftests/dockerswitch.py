"""The switch for the Docker selftests: ``VX11_DOCKER_TESTS``.

| value | the Docker selftests |
|---|---|
| unset, ``auto`` (the default) | run. When no engine answers they start one with scripts/docker-engine if this is root; when that is impossible (not root) or fails they skip, saying why |
| ``1`` (CI) | run; an engine that does not answer and cannot be started is an error |
| ``0`` | skip (a quick run without Docker), at collection, before any fixture runs |

Every module marked ``docker`` calls :func:`need_engine` from its engine fixture, and
selftests/conftest.py applies the ``0`` skip.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV = "VX11_DOCKER_TESTS"
REPO = Path(__file__).resolve().parent.parent
OFF_REASON = f"{ENV}=0: the Docker selftests are switched off (a quick run); unset it to run them"


@dataclass(frozen=True)
class Decision:
    action: str  # "run" | "start" | "skip" | "fail"
    reason: str = ""


def mode() -> str:
    """``off``, ``auto`` or ``required`` from the environment; anything else is a usage error."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("0", "off", "no", "false"):
        return "off"
    if value in ("1", "on", "yes", "true", "required"):
        return "required"
    if value in ("", "auto"):
        return "auto"
    raise pytest.UsageError(f"{ENV}={value!r}: expected 0 (skip the Docker selftests), 1 (require them) or unset")


def decide(how: str, engine_answers: bool, is_root: bool) -> Decision:
    """What the Docker selftests do, before any engine is started."""
    if how == "off":
        return Decision("skip", OFF_REASON)
    if engine_answers:
        return Decision("run")
    if how == "required" or is_root:
        return Decision("start")
    return Decision("skip", "no Docker engine answers and this is not root, so it cannot be started here: start "
                            f"dockerd (scripts/docker-engine as root), or set {ENV}=0 to skip these quietly")


def engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def need_engine() -> None:
    """Skip, fail, or make sure an engine answers (starting it when the switch allows)."""
    how = mode()
    decision = decide(how, engine_answers(), os.geteuid() == 0)
    if decision.action == "skip":
        pytest.skip(decision.reason)
    if decision.action == "run":
        return
    from selftests.gaterun import docker_step  # the shared timeout record of the Docker steps

    started = docker_step(str(REPO / "scripts" / "docker-engine"), timeout=600)
    if started.returncode == 0:
        return
    why = f"no Docker engine, and scripts/docker-engine could not start one: {started.stdout}{started.stderr}".strip()
    if how == "required":
        pytest.fail(f"{ENV}=1 but {why}", pytrace=False)
    pytest.skip(f"{why} (set {ENV}=1 to make this an error)")


def skip_marked_if_off(items: list[pytest.Item]) -> None:
    """``VX11_DOCKER_TESTS=0``: every test marked ``docker`` is skipped before its fixtures run."""
    if mode() != "off":
        return
    for item in items:
        if item.get_closest_marker("docker") is not None:
            item.add_marker(pytest.mark.skip(reason=OFF_REASON))
