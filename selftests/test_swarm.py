"""The swarm launcher and backend: the reference stack deployed with `docker stack deploy`
(stack vx11swarm, gateway on 18000, beside a compose project or local stack on 8000)
passes every gate, and a required service short of its replicas blocks the release.

One cycle: `pytest -m gate` with the profile's own launcher (swarm: it deploys the
stack), then madre scaled to two replicas where only one can be placed
(`max_replicas_per_node: 1` on one node), so swarm wants 2 and runs 1: the service
health gate must fail first on madre. The stack is removed in a finally.

Needs a Docker engine, started by scripts/docker-engine when this is root; the switch
VX11_DOCKER_TESTS is described in selftests/dockerswitch.py (0 skips, 1 makes a missing engine an error).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from selftests.dockerswitch import need_engine
from selftests.gaterun import REPO, GateRun, run_gates

pytestmark = [pytest.mark.docker, pytest.mark.slow]
STACK = "vx11swarm"
PROFILE = REPO / "profiles" / "vx11-swarm.toml"
SWARM = "--backend=swarm"


def _sh(*argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)


def _gates(tmp: Path, *args: str) -> GateRun:
    return run_gates(tmp, "gate", f"--vx11-profile={PROFILE}", SWARM, *args,
                     env={"VX11_TOKEN": os.environ.get("VX11_TOKEN") or "swarm-selftest-token"})


@pytest.fixture(scope="module")
def engine() -> None:
    need_engine()  # VX11_DOCKER_TESTS: unset runs them (starting the engine as root), 1 requires, 0 skips


@pytest.fixture(scope="module")
def swarm_runs(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GateRun, GateRun]]:
    """(healthy run through the swarm launcher, run with madre short of a replica)."""
    tmp = tmp_path_factory.mktemp("swarm")
    (tmp / "healthy").mkdir()
    (tmp / "short").mkdir()
    down = (str(REPO / "scripts" / "stack-swarm"), "down", "--stack", STACK)
    _sh(*down, timeout=300)  # a stack left from before: deploy from this tree's swarm.yml
    try:
        healthy = _gates(tmp / "healthy", "--launcher=swarm", "--keep-stack")
        scaled = _sh("docker", "service", "scale", "--detach", f"{STACK}_madre=2", timeout=60)
        assert scaled.returncode == 0, f"docker service scale failed: {scaled.stdout}{scaled.stderr}"
        yield healthy, _gates(tmp / "short", "--launcher=external")
    finally:
        _sh(*down, timeout=300)


def test_healthy_swarm_stack_passes_every_gate(swarm_runs):
    healthy, _ = swarm_runs
    assert healthy.rc == 0, healthy.explain()
    assert healthy.gates and all(o.outcome in ("passed", "skipped") for o in healthy.gates.values()), \
        healthy.explain()


def test_replica_short_blocks_on_service_health(swarm_runs):
    _, short = swarm_runs
    assert short.rc == 1, short.explain()
    assert short.failing == {"service_health"}, short.explain()
    line = short.gates["service_health"].first_line.removeprefix("Failed: ")  # JUnit's prefix for pytest.fail
    assert line.startswith("service_health: madre: state: expected running, found replicas 1/2 running"), \
        short.explain()

