"""The fault matrix on the Docker launcher: the deployment faults only Docker can
make (a published internal port, an image missing a module, a required service
crash-looping), and the healthy compose stack passing, serially and with -n 2.

Needs a Docker engine, started by scripts/docker-engine when this is root; the switch
VX11_DOCKER_TESTS is described in selftests/dockerswitch.py (0 skips, 1 makes a missing engine an error).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest

from selftests.dockerswitch import need_engine
from selftests.gaterun import REPO, GateRun, docker_step, run_gates

pytestmark = [pytest.mark.docker, pytest.mark.faults, pytest.mark.slow]
DOCKER = "--backend=docker"


def _sh(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def compose():
    need_engine()  # VX11_DOCKER_TESTS: unset runs them (starting the engine as root), 1 requires, 0 skips
    import docker

    client = docker.from_env(timeout=30)
    yield client
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    client.close()


def _up(*args: str) -> None:
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    done = docker_step(str(REPO / "scripts" / "stack-docker"), "up", *args)
    assert done.returncode == 0, f"stack-docker up {' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


def _only(run: GateRun, expected: set[str], first_line: str) -> None:
    assert run.failing == expected, f"expected exactly {sorted(expected)} to fail\n{run.explain()}"
    line = run.gates[sorted(expected)[0]].first_line
    assert re.search(first_line, line), f"{line!r} does not match {first_line!r}\n{run.explain()}"
    assert run.rc == 1, run.explain()


def test_healthy_compose_stack_passes_serial_and_parallel(compose, tmp_path):
    _up()
    serial = run_gates(tmp_path, "gate or e2e", DOCKER)
    assert serial.rc == 0 and not serial.failing, serial.explain()
    parallel = run_gates(tmp_path, "gate or e2e", DOCKER, "-n", "2")
    assert parallel.rc == 0 and not parallel.failing, parallel.explain()
    assert {g: o.outcome for g, o in serial.gates.items()} == {g: o.outcome for g, o in parallel.gates.items()}


def test_host_backend_on_a_docker_stack_says_so(compose, tmp_path):
    """The process table cannot judge containers: one message naming docker-proxy, exit 3."""
    _up()
    run = run_gates(tmp_path, "gate", "--backend=host", timeout=60)
    assert run.rc == 3 and "published by Docker (docker-proxy" in run.output, run.explain()


def test_a_service_stopped_under_the_exec_is_down_not_could_not_look(compose):
    """A crash-looping service can stop between the state read and the exec beside it: the
    engine's 409 is a fact about the service (not running), never a could-not-look."""
    from fixtures.backends.docker import DockerBackend
    from fixtures.probes.health import health_beside
    from fixtures.profile.load import load_profile

    _up()
    backend = DockerBackend(load_profile())
    assert health_beside(backend, "spawner", 8003, "/health").status == 200  # seen healthy first
    found = compose.containers.list(filters={"label": ["com.docker.compose.project=vx11",
                                                       "com.docker.compose.service=spawner"]})
    assert found, "no spawner container in project vx11"
    found[0].stop(timeout=2)
    seen = health_beside(backend, "spawner", 8003, "/health")
    assert seen.status is None and "spawner is not running" in (seen.error or ""), seen


def test_up_again_with_a_new_token_recreates(compose, tmp_path):
    """compose does not see a changed env file; stack-docker up must, or the running
    containers keep the old token and every gate sees 401."""
    _up()
    new = "rotated-" + os.urandom(6).hex()
    again = docker_step(str(REPO / "scripts" / "stack-docker"), "up", env={**os.environ, "VX11_TOKEN": new})
    assert again.returncode == 0 and "recreating the running containers" in again.stderr, again.stderr[-2000:]
    run = run_gates(tmp_path, "gate", DOCKER, "-k", "chat_requests_all_ok", env={"VX11_TOKEN": new}, timeout=120)
    assert run.rc == 6 and not run.failing, run.explain()  # one check selected: INCOMPLETE; the token was taken


def test_extra_published_port(compose, tmp_path):
    override = tmp_path / "publish-madre.yml"
    override.write_text('version: "3.8"\nservices:\n  madre:\n    ports:\n      - "127.0.0.1:8001:8001"\n')
    _up("--override", str(override))
    _only(run_gates(tmp_path, "gate or e2e", DOCKER), {"single_entrypoint"},
          r"single_entrypoint: stack: exposed ports: expected only 8000, found 127\.0\.0\.1:8001 \(madre\)")


def test_image_missing_a_module(compose, tmp_path):
    ctx = tmp_path / "broken"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM vx11-spawner:local\nUSER root\nRUN rm -rf /app/spawner\nUSER vx11\n")
    built = docker_step("docker", "build", "--pull=false", "-q", "-t", "vx11-spawner:missing-module", str(ctx))
    assert built.returncode == 0, built.stderr
    override = tmp_path / "broken-spawner.yml"
    override.write_text('version: "3.8"\nservices:\n  spawner:\n    image: vx11-spawner:missing-module\n')
    _up("--override", str(override))
    _only(run_gates(tmp_path, "gate or e2e", DOCKER), {"image_boot"},
          r"image_boot: spawner: log: expected no ModuleNotFoundError/Traceback, found .*ModuleNotFoundError")


def _redis(client) -> object:
    found = client.containers.list(filters={"label": ["com.docker.compose.project=vx11",
                                                       "com.docker.compose.service=redis"]})
    assert found, "no redis container in project vx11"
    return found[0]


def test_required_service_crash_looping(compose, tmp_path):
    """redis shuts itself down every few seconds; its restart policy brings it back."""
    _up()
    stop = threading.Event()

    def crash_loop() -> None:
        for _ in range(60):  # bounded: at most 60 crashes, one every 2 s
            if stop.wait(2.0):
                return
            try:
                _redis(compose).exec_run(["redis-cli", "shutdown", "nosave"])
            except Exception:  # noqa: BLE001 - restarting right now: try again next tick
                pass

    looper = threading.Thread(target=crash_loop, daemon=True)
    looper.start()
    try:
        run = run_gates(tmp_path, "gate", DOCKER)
    finally:
        stop.set()
        looper.join(timeout=10)
    assert "service_health" in run.failing, run.explain()
    assert re.search(r"service_health: (redis|tentaculo_link): ", run.gates["service_health"].first_line), run.explain()
    # Only gates that depend on redis at that moment may fail with it; the database,
    # secrets, flags and exposure gates do not touch redis and must still pass.
    assert not run.failing & {"db_integrity", "secret_scan", "feature_flags", "single_entrypoint",
                              "maintenance"}, run.explain()
    assert run.rc == 1, run.explain()


def test_contract_suite_on_compose(compose):
    """The stack's HTTP contract checks pass on the Docker launcher too (those that must
    freeze a process or read /proc skip there, and say so)."""
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    done = subprocess.run([sys.executable, "-m", "pytest", "selftests/contract", "-q", "-p", "no:cacheprovider",
                           "-rs"], cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
                          env={**os.environ, "VX11_CONTRACT_LAUNCH": "compose"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-2000:]


def test_unreachable_stack_fails_fast(compose, tmp_path):
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    run = run_gates(tmp_path, "gate", DOCKER, timeout=60)
    assert run.rc == 3 and "stack unreachable" in run.output, run.explain()


def _strangers_compose(tmp_path, token: str) -> tuple[list[str], dict[str, str]]:
    """The reference stack as another team might deploy it: compose project `strangers`,
    hyphenated service names, the data volume under another mount point and name."""
    text = (REPO / "stack" / "compose.yml").read_text()
    for old, new in [("\n  tentaculo_link:\n", "\n  tentaculo-link:\n"), ("\n  spawner:\n", "\n  vx11-spawner:\n"),
                     ('"http://spawner:8003"', '"http://vx11-spawner:8003"'),
                     ("- vx11-data:/app/data", "- vx11-data:/srv/state"),
                     ('VX11_DATA_DIR: "/app/data"', 'VX11_DATA_DIR: "/srv/state"\n    user: "0"'),
                     ("\n    name: vx11-data\n", "\n")]:
        assert old in text, f"compose.yml no longer has {old!r}: update this test"
        text = text.replace(old, new)
    (tmp_path / "compose.yml").write_text(text)
    env_file = tmp_path / "strangers.env"
    env_file.write_text(f"VX11_TOKEN={token}\nVX11_FLAG_PLAYWRIGHT=0\n"
                        "VX11_FLAG_DEEPSEEK_RUNTIME=off\nVX11_FLAG_SMOKE_TESTS=False\n")
    env_file.chmod(0o600)
    plugin = _sh("docker", "compose", "version", timeout=30).returncode == 0
    argv = [*(["docker", "compose"] if plugin else ["docker-compose"]), "-p", "strangers", "-f",
            str(tmp_path / "compose.yml")]
    return argv, {**os.environ, "VX11_ENV_FILE": str(env_file)}


def _wait_healthy(client, project: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = client.containers.list(filters={"label": f"com.docker.compose.project={project}"})
        health = {c.name: c.attrs["State"].get("Health", {}).get("Status") for c in found}
        if len(found) == count and all(h == "healthy" for h in health.values()):
            return
        assert time.monotonic() < deadline, f"project {project} not healthy after {timeout}s: {health}"
        time.sleep(2)


def test_a_stack_deployed_by_others_is_found_and_judged(compose, tmp_path):
    """No profile change: the one compose project that runs the required services is
    found, hyphenated names match, and the database is read from the contract's volume
    wherever it is mounted. A project named on the command line is not second-guessed."""
    _sh(str(REPO / "scripts" / "stack-docker"), "down")
    built = docker_step(str(REPO / "scripts" / "stack-docker"), "build")
    assert built.returncode == 0, built.stderr[-3000:]
    token = os.environ.get("VX11_TOKEN") or "strangers-selftest-token"
    argv, env = _strangers_compose(tmp_path, token)
    try:
        up = docker_step(*argv, "up", "-d", timeout=300, env=env)
        assert up.returncode == 0, up.stderr[-3000:]
        _wait_healthy(compose, "strangers", 5, timeout=180)
        run = run_gates(tmp_path, "gate", DOCKER, env={"VX11_TOKEN": token})
        assert run.rc == 0 and not run.failing, run.explain()
        # solo_madre: an optional service that does not exist at all is a warning, not a failure.
        for c in compose.containers.list(all=True, filters={"label": "com.docker.compose.project=strangers"}):
            if c.labels.get("com.docker.compose.service") == "vx11-spawner":
                c.remove(force=True)
        without = run_gates(tmp_path, "gate", DOCKER, env={"VX11_TOKEN": token})
        assert without.rc == 0 and not without.failing, without.explain()
        assert "spawner (optional) is absent: recorded, not blocking" in without.output, without.explain()
        named = run_gates(tmp_path, "gate", DOCKER, "--compose-project", "vx11", env={"VX11_TOKEN": token},
                          timeout=60)
        assert named.rc == 3, named.explain()
        assert "'strangers' (4 containers)" in named.output and "--compose-project" in named.output, named.explain()
    finally:
        down = subprocess.run([*argv, "down", "-v"], cwd=REPO, capture_output=True, text=True, timeout=300,
                              check=False, env=env)
        assert down.returncode == 0, f"could not take project strangers down: {down.stderr[-2000:]}"
