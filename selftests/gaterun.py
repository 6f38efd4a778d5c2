"""Run the gate suite as a user would (a subprocess) and read what each gate did.

Used by the fault matrix and the healthy-stack runs: the JUnit XML of the run is
parsed into one outcome per gate (the worst of its tests) with the first line of
the first failure, which must read `<gate>: <subject>: <property>: ...`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_RANK = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}  # a gate is skipped only when all its tests are


@dataclass(frozen=True)
class GateOutcome:
    gate: str
    outcome: str                 # passed | failed | error | skipped
    first_line: str = ""


@dataclass(frozen=True)
class GateRun:
    rc: int
    gates: dict[str, GateOutcome]
    output: str

    @property
    def failing(self) -> set[str]:
        return {g for g, o in self.gates.items() if o.outcome in ("failed", "error")}

    def explain(self) -> str:
        lines = [f"rc={self.rc}"] + [f"  {g}: {o.outcome} {o.first_line}" for g, o in sorted(self.gates.items())]
        return "\n".join(lines) + "\n--- output tail ---\n" + "\n".join(self.output.splitlines()[-40:])


def parse_junit(path: Path) -> dict[str, GateOutcome]:
    gates: dict[str, GateOutcome] = {}
    for case in ET.parse(path).iter("testcase"):
        module = case.get("classname", "").split(".")
        mod = next((m for m in reversed(module) if m.startswith("test_")), module[-1])
        gate = mod.removeprefix("test_")
        outcome, line = "passed", ""
        for tag in ("error", "failure", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                text = (el.get("message") or el.text or "").strip()
                line = text.splitlines()[0] if text else ""
                break
        prev = gates.get(gate)
        if prev is None or _RANK[outcome] > _RANK[prev.outcome]:
            gates[gate] = GateOutcome(gate, outcome, line)
    return gates


def run_gates(tmp: Path, marker: str = "gate", *args: str, env: dict[str, str] | None = None,
              timeout: float = 600) -> GateRun:
    """`pytest -m MARKER --launcher external ...` against whatever stack is up."""
    junit = tmp / f"junit-{marker.replace(' ', '_')}.xml"
    junit.unlink(missing_ok=True)  # a run that ends before writing one must not read an earlier run's
    argv = [sys.executable, "-m", "pytest", "-m", marker, "--launcher", "external", "-p", "no:cacheprovider",
            f"--junitxml={junit}", "-o", "junit_family=xunit2", "--no-evidence", "-q", *args]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
    gates = parse_junit(junit) if junit.is_file() else {}
    return GateRun(done.returncode, gates, done.stdout + done.stderr)


_DOCKER_TIMED_OUT: list[str] = []


def docker_step(*argv: str, timeout: float = 900, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """A long Docker step (`stack-docker up`, an image build), bounded by TIMEOUT; ENV,
    when given, is the step's whole environment.

    Once one step has timed out in this process, every later one fails at once and names
    it: a stuck engine or a lock nobody releases costs one timeout, not one per test
    (the Docker tests share one xdist worker, so they share this record)."""
    import pytest

    if _DOCKER_TIMED_OUT:
        pytest.fail(f"not run: {_DOCKER_TIMED_OUT[0]} earlier in this session", pytrace=False)
    try:
        return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
                              env=env)
    except subprocess.TimeoutExpired as stuck:
        what = f"{' '.join(Path(a).name if a.startswith('/') else a for a in argv)} timed out after {timeout:.0f}s"
        _DOCKER_TIMED_OUT.append(what)
        out = (stuck.stdout or b"")[-2000:], (stuck.stderr or b"")[-2000:]
        pytest.fail(f"{what}:\n" + "".join(o.decode(errors="replace") if isinstance(o, bytes) else o for o in out),
                    pytrace=False)


def stack_local(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "scripts" / "stack-local"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


class Lab:
    """A private place to run the reference stack: its own network namespace (so
    ports 8000-8003/6379 do not clash with another lab or a stack already up),
    its own run folder and data folder. Without root or `ip`, the host's own
    namespace is used and labs must not run in parallel."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {"VX11_LOCAL_RUN_DIR": str(workdir / "run")}
        self.data = workdir / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0 and shutil.which("ip"):
            self.ns = name
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False, timeout=30)
            subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
            subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True,
                           capture_output=True, timeout=30)
            self.prefix = ["ip", "netns", "exec", name]
        else:
            self.ns = None

    def run(self, argv: list[str], timeout: float, extra_env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *argv], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, **self.env, **(extra_env or {})})

    def start(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.stop()
        if "--root" not in args:
            args = (*args, "--data-dir", str(self.data))
        done = self.run([str(REPO / "scripts" / "stack-local"), "start", *args], timeout=120, extra_env=env)
        assert done.returncode == 0, f"stack-local start {' '.join(args)} failed:\n{done.stdout}{done.stderr}"

    def stop(self) -> None:
        self.run([str(REPO / "scripts" / "stack-local"), "stop"], timeout=120)

    def gates(self, tmp: Path, marker: str, *args: str, timeout: float = 600) -> GateRun:
        junit = tmp / "junit.xml"
        junit.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "pytest", "-m", marker, "--launcher", "external", "-p", "no:cacheprovider",
                f"--junitxml={junit}", "-o", "junit_family=xunit2", "--no-evidence", "-q", *args]
        done = self.run(argv, timeout=timeout)
        return GateRun(done.returncode, parse_junit(junit) if junit.is_file() else {}, done.stdout + done.stderr)

    def close(self) -> None:
        self.stop()
        if self.ns:
            subprocess.run(["ip", "netns", "delete", self.ns], capture_output=True, check=False, timeout=30)
