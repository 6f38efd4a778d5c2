"""The Docker path, judged as a new user deploys: right after `compose up -d` of a stack
with slow healthchecks (15 s interval: slower than the
issue's 10 s, so the gateway is still `starting` when the suite begins to look), with a spawner image that has no Python and no
shell (a static binary FROM scratch), and with the controller SIGKILLed while it had
switch paused (the watchdog unpauses it within the bound).

Needs a Docker engine: skipped when none answers, unless VX11_DOCKER_TESTS=1 (CI)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selftests.gaterun import REPO, docker_step, run_gates

pytestmark = [pytest.mark.docker, pytest.mark.slow]
DOCKER = "--backend=docker"
TOKEN = os.environ.get("VX11_TOKEN") or "readiness-selftest-token"
SLOW = """version: "3.8"
x-slow: &slow
  interval: 15s
  timeout: 4s
  retries: 3
  start_period: 30s
services:
  tentaculo_link: {healthcheck: *slow}
  madre: {healthcheck: *slow}
  switch: {healthcheck: *slow}
  spawner: {healthcheck: *slow}
  redis: {healthcheck: {<<: *slow, test: ["CMD", "redis-cli", "ping"]}}
"""
DISTROLESS = """version: "3.8"
services:
  spawner:
    image: vx11-spawner:distroless
    healthcheck: {test: ["CMD", "/healthd", "--check", "8003"]}  # the binary checks itself: no shell
"""


def _sh(*argv: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
                          env=env)


@pytest.fixture(scope="module")
def engine():
    from selftests.dockerswitch import need_engine

    need_engine()  # starts the engine as root (this module may run before any other Docker test)
    built = docker_step(str(REPO / "scripts" / "stack-docker"), "build")
    assert built.returncode == 0, built.stderr[-2000:]
    yield
    _sh(str(REPO / "scripts" / "stack-docker"), "down")


def _compose_up(tmp_path: Path, override: str) -> tuple[list[str], dict[str, str], float]:
    """`compose -p vx11 -f compose.yml -f OVERRIDE up -d`, as a user would: no waiting."""
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    env_file = tmp_path / "vx11.env"
    env_file.write_text(f"VX11_TOKEN={TOKEN}\nVX11_FAULTS=\nVX11_FLAG_PLAYWRIGHT=false\n"
                        "VX11_FLAG_DEEPSEEK_RUNTIME=false\nVX11_FLAG_SMOKE_TESTS=false\n")
    env_file.chmod(0o600)
    (tmp_path / "override.yml").write_text(override)
    plugin = _sh("docker", "compose", "version", timeout=30).returncode == 0
    argv = [*(["docker", "compose"] if plugin else ["docker-compose"]), "-p", "vx11", "-f",
            str(REPO / "stack" / "compose.yml"), "-f", str(tmp_path / "override.yml")]
    env = {**os.environ, "VX11_ENV_FILE": str(env_file)}
    up = docker_step(*argv, "up", "-d", timeout=300, env=env)
    assert up.returncode == 0, up.stderr[-3000:]
    return argv, env, time.monotonic()


def test_gated_right_after_up_d_with_slow_healthchecks(engine, tmp_path):
    """`starting` is "not known yet": waited for (bounded), then judged like a settled stack."""
    _compose_up(tmp_path, SLOW)
    start = time.monotonic()
    run = run_gates(tmp_path, "gate", DOCKER, env={"VX11_TOKEN": TOKEN}, timeout=600)
    took = time.monotonic() - start
    assert "to finish starting" in run.output, run.explain()
    assert run.rc == 0 and not run.failing, run.explain()
    settled = run_gates(tmp_path, "gate", DOCKER, env={"VX11_TOKEN": TOKEN}, timeout=600)
    assert settled.rc == 0 and "to finish starting" not in settled.output, settled.explain()
    assert {g: o.outcome for g, o in run.gates.items()} == {g: o.outcome for g, o in settled.gates.items()}
    print(f"gated right after up -d: exit {run.rc} in {took:.0f}s (wait included)")


def _build_distroless(tmp_path: Path) -> None:
    ctx = tmp_path / "distroless"
    shutil.copytree(REPO / "stack" / "docker" / "distroless", ctx)
    done = _sh("gcc", "-static", "-O2", "-o", str(ctx / "healthd"), str(ctx / "healthd.c"), timeout=120)
    if done.returncode != 0:
        pytest.skip(f"no static C toolchain here (gcc -static): {done.stderr[-300:]}")
    built = docker_step("docker", "build", "--pull=false", "-q", "-t", "vx11-spawner:distroless", str(ctx))
    assert built.returncode == 0, built.stderr


def test_a_service_without_python_or_shell_is_judged(engine, tmp_path):
    _build_distroless(tmp_path)
    argv, env, _ = _compose_up(tmp_path, DISTROLESS)
    exec_py = _sh("docker", "exec", "vx11_spawner_1", "python3", "-c", "1", timeout=60)
    exec_sh = _sh("docker", "exec", "vx11_spawner_1", "/bin/sh", "-c", "true", timeout=60)
    assert exec_py.returncode != 0 and exec_sh.returncode != 0, "the distroless image has python or a shell"
    run = run_gates(tmp_path, "gate", DOCKER, env={"VX11_TOKEN": TOKEN}, timeout=600)
    assert run.rc == 0 and not run.failing, run.explain()
    assert "distroless" in _sh("docker", "inspect", "-f", "{{.Config.Image}}", "vx11_spawner_1").stdout


def test_sigkilled_controller_docker_pause_is_undone(engine, tmp_path):
    up = docker_step(str(REPO / "scripts" / "stack-docker"), "up", env={**os.environ, "VX11_TOKEN": TOKEN})
    assert up.returncode == 0, up.stderr[-2000:]
    ctl = subprocess.Popen([sys.executable, "-m", "pytest", "-m", "gate", "gates/test_degraded_fallback.py",
                            "--launcher", "external", DOCKER, "-p", "no:cacheprovider", "-p", "no:xdist",
                            "--no-evidence", "-q"], cwd=REPO, env={**os.environ, "VX11_TOKEN": TOKEN},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def paused() -> bool:
        out = _sh("docker", "inspect", "-f", "{{json .State.Paused}}", "vx11_switch_1", timeout=30).stdout
        return json.loads(out or "false")

    try:
        deadline = time.monotonic() + 120
        while not paused():
            assert time.monotonic() < deadline and ctl.poll() is None, "switch was never paused"
            time.sleep(0.05)
        ctl.send_signal(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        ctl.kill()
        ctl.wait(timeout=30)
    while paused():
        assert time.monotonic() < killed + 10, "switch still paused 10 s after the controller was killed"
        time.sleep(0.1)
    print(f"switch unpaused {time.monotonic() - killed:.2f}s after SIGKILL")


def test_a_project_on_the_same_port_elsewhere_is_not_adopted(engine, tmp_path, worker_id):
    """The issue's case: compose project vx11 publishes 127.0.0.1:8000 (in the host's network
    namespace) while the stack under test runs beside it (a local stack in a Lab). With the
    default backend the run must judge the Lab's processes, and never pause vx11's switch."""
    from selftests.gaterun import Lab

    up = docker_step(str(REPO / "scripts" / "stack-docker"), "up", env={**os.environ, "VX11_TOKEN": TOKEN})
    assert up.returncode == 0, up.stderr[-2000:]
    lab = Lab(f"vx11-adopt-{worker_id}", tmp_path / "lab")
    if lab.ns is None:
        pytest.skip("needs root and `ip` for a private network namespace")
    lab.env["VX11_TOKEN"] = TOKEN
    events = subprocess.Popen(["docker", "events", "--filter", "event=pause", "--format", "{{.Actor.Attributes.name}}"],
                              stdout=subprocess.PIPE, text=True)
    try:
        lab.start()
        done = lab.run([sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external", "-p", "no:cacheprovider",
                        f"--evidence-dir={tmp_path / 'ev'}", "-q", "-k",
                        "required_services_running or gateway_reports_a_down_dependency"], timeout=300)
    finally:
        lab.close()
        events.terminate()
        paused_in_docker = events.communicate(timeout=30)[0].split()
    out = done.stdout + done.stderr
    assert done.returncode == 6 and "failed" not in out.splitlines()[-1], out[-3000:]  # -k: INCOMPLETE
    verdict = json.loads(next((tmp_path / "ev").rglob("verdict.json")).read_text())
    assert verdict["run_info"]["backend"] == "host", verdict["run_info"]
    assert paused_in_docker == [], f"the run paused Docker containers it was not judging: {paused_in_docker}"


def test_a_stranger_container_on_the_port_is_named(engine, tmp_path):
    """No VX11 project here, but a container publishes 127.0.0.1:8000 (a healthy-looking web
    server): exit 3 in seconds, naming the container and what it answered."""
    _build_distroless(tmp_path)
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    name = f"vx11-stranger-{os.getpid()}"
    started = _sh("docker", "run", "-d", "--name", name, "-p", "127.0.0.1:8000:8003", "vx11-spawner:distroless")
    assert started.returncode == 0, started.stderr
    try:
        start = time.monotonic()
        run = run_gates(tmp_path, "gate", env={"VX11_TOKEN": TOKEN}, timeout=120)
        took = time.monotonic() - start
    finally:
        _sh("docker", "rm", "-f", name)
    assert run.rc == 3, run.explain()
    assert "this is not a VX11 gateway" in run.output and f"container {name}" in run.output, run.explain()
    assert "answered 200" in run.output and not run.gates, run.explain()
    assert took < 20, f"took {took:.1f}s"
