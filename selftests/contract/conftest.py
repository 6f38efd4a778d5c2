"""Contract tests of the reference stack: the stack they look at, and how it starts.

By default they run against whatever answers at VX11_BASE_URL (default
http://127.0.0.1:8000) with the token in VX11_TOKEN. With VX11_CONTRACT_LAUNCH=local
they start the local stack once (scripts/stack-local restart) and stop it after.
Checks that must freeze a service or read a process's environment need the local
stack's state file and skip otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from selftests.contract.ctx import NO_TOKEN, REPO, Ctx

STACK_LOCAL = REPO / "scripts" / "stack-local"
STACK_DOCKER = REPO / "scripts" / "stack-docker"
_UP = {"local": [str(STACK_LOCAL), "restart"], "compose": [str(STACK_DOCKER), "up"]}
_DOWN = {"local": [str(STACK_LOCAL), "stop"], "compose": [str(STACK_DOCKER), "down"]}


def run_stack_local(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(STACK_LOCAL), *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="package")  # the stack goes down with the package: others need port 8000
def contract_ctx() -> Iterator[Ctx]:
    """A Ctx on the stack under test; starts and stops the local stack if asked to."""
    if not os.environ.get("VX11_TOKEN"):
        pytest.fail("contract: VX11_TOKEN is not set: export the stack's token", pytrace=False)
    launch = os.environ.get("VX11_CONTRACT_LAUNCH", "")
    if launch in _UP:
        done = subprocess.run(_UP[launch], capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.fail(f"contract: {' '.join(_UP[launch])} failed ({done.returncode}):\n"
                        f"{done.stdout[-1500:]}{done.stderr[-1500:]}", pytrace=False)
    elif launch:
        pytest.fail(f"contract: VX11_CONTRACT_LAUNCH={launch!r}: expected 'local', 'compose' or unset",
                    pytrace=False)
    ctx = Ctx.from_env()
    r = ctx.call("GET", "/health", token=NO_TOKEN, timeout=5)
    if r.status is None:
        pytest.fail(f"contract: stack unreachable at {ctx.base_url}: {r}; start it "
                    "(scripts/stack-local start) or set VX11_CONTRACT_LAUNCH=local", pytrace=False)
    yield ctx
    ctx.session.close()
    if launch in _DOWN:
        subprocess.run(_DOWN[launch], capture_output=True, text=True, timeout=300, check=False)
