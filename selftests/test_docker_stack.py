"""The Docker path of the reference stack: scripts/stack-docker up, look, down.

One cycle per module (up, gather the facts, down), then each test asserts one promise
on the facts: only the gateway is published and only on loopback, the gateway is
healthy, the images are the local ones and current, the data volume is madre's,
the secrets stay in the private env file, and down leaves nothing behind.

Needs a Docker engine, started by scripts/docker-engine when this is root; the switch
VX11_DOCKER_TESTS is described in selftests/dockerswitch.py (0 skips, 1 makes a missing engine an error).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import stat
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from selftests.dockerswitch import mode, need_engine
from selftests.gaterun import docker_step

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
STACK_DOCKER = REPO / "scripts" / "stack-docker"
ENV_FILE = REPO / ".run" / "docker" / "vx11.env"
LOCK = REPO / ".run" / "docker" / "selftest.lock"
PROJECT = "vx11"
VOLUME = "vx11-data"
SERVICES = ("tentaculo_link", "madre", "switch", "spawner", "redis")
REQUIRED_ENV = mode() == "required"
UP_TIMEOUT = 900  # a fresh machine makes the base image, wheels and images first


def _run(argv: list[str], timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def _engine_answers() -> bool:
    try:
        return _run(["docker", "info"], timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _project_containers() -> list[str]:
    done = _run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"])
    return done.stdout.split()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(done: subprocess.CompletedProcess[str], n: int = 25) -> str:
    return "\n".join((done.stdout + done.stderr).splitlines()[-n:])


def _health(port: int) -> tuple[int | None, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError) as e:
        return None, str(e)


@dataclass
class Facts:
    """What one up/down cycle showed."""

    port: int
    up_seconds: float
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)  # service -> docker inspect
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # service -> image inspect
    health_status: int | None = None
    health_body: Any = None
    volume: dict[str, Any] | None = None
    env_file_mode: int | None = None
    env_file_text: str = ""
    images_check: str = ""
    compose_default: dict[str, str] = field(default_factory=dict)  # service -> its `compose config` block
    down_rc: int | None = None
    down_output: str = ""
    left_containers: list[str] = field(default_factory=list)
    volume_after_down: bool | None = None


def _inspect(kind: str, ref: str) -> dict[str, Any] | None:
    done = _run(["docker", kind, "inspect", ref] if kind != "container" else ["docker", "inspect", ref])
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout)
    return data[0] if data else None


def _gather(facts: Facts) -> None:
    for cid in _project_containers():
        info = _inspect("container", cid)
        if not info:
            continue
        svc = info["Config"]["Labels"].get("com.docker.compose.service")
        if svc:
            facts.containers[svc] = info
            img = _inspect("image", info["Config"]["Image"])
            if img:
                facts.images[svc] = img
    facts.health_status, facts.health_body = _health(facts.port)
    facts.volume = _inspect("volume", VOLUME)
    if ENV_FILE.exists():
        facts.env_file_mode = stat.S_IMODE(ENV_FILE.stat().st_mode)
        facts.env_file_text = ENV_FILE.read_text()
    facts.images_check = _tail(_run([str(REPO / "stack" / "docker" / "build-images"), "--check"], timeout=120), 3)
    env = {k: v for k, v in os.environ.items() if k != "VX11_GATEWAY_PORT"}
    env["VX11_ENV_FILE"] = str(ENV_FILE)
    done = _run(_compose() + ["-p", PROJECT, "-f", str(REPO / "stack" / "compose.yml"), "config"], env=env)
    if done.returncode == 0:
        facts.compose_default = _service_blocks(done.stdout)


def _compose() -> list[str]:
    if _run(["docker", "compose", "version"], timeout=20).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


def _service_blocks(text: str) -> dict[str, str]:
    """Each service's block of `compose config` output (YAML; read without a YAML library)."""
    blocks: dict[str, list[str]] = {}
    section, current = "", None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section, current = line.rstrip(":"), None
        elif section == "services" and line.startswith("  ") and not line.startswith("   "):
            current = line.strip().rstrip(":")
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line.strip())
    return {name: "\n".join(lines) for name, lines in blocks.items()}


@pytest.fixture(scope="module")
def docker_facts() -> Iterator[Facts]:
    if not STACK_DOCKER.exists():
        pytest.fail(f"missing {STACK_DOCKER}", pytrace=False)
    need_engine()  # VX11_DOCKER_TESTS: unset runs them (starting the engine as root), 1 requires, 0 skips
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one cycle at a time, also across xdist workers
        if _engine_answers() and _project_containers():
            msg = (f"compose project {PROJECT} is already running here and this test would take it down: "
                   "stop it first (scripts/stack-docker down)")
            if REQUIRED_ENV:
                pytest.fail(msg, pytrace=False)
            pytest.skip(msg)
        port = int(os.environ.get("VX11_GATEWAY_PORT", "8000"))
        if not _port_free(port):
            # Something else (a local stack) holds the port: check the publishing rule on another one.
            port = _free_port()
        env = dict(os.environ)
        env["VX11_TOKEN"] = os.environ.get("VX11_TOKEN") or secrets.token_urlsafe(24)
        env["VX11_GATEWAY_PORT"] = str(port)
        env.pop("VX11_FAULTS", None)
        start = time.monotonic()
        try:
            up = docker_step(str(STACK_DOCKER), "up", timeout=UP_TIMEOUT, env=env)
        except pytest.fail.Exception:  # it timed out, or an earlier Docker step did
            _run([str(STACK_DOCKER), "down"], timeout=300, env=env)
            raise
        facts = Facts(port=port, up_seconds=time.monotonic() - start)
        try:
            if up.returncode != 0:
                engine_msg = "" if _engine_answers() else " (no Docker engine answers)"
                pytest.fail(f"scripts/stack-docker up failed (exit {up.returncode}){engine_msg}:\n{_tail(up)}",
                            pytrace=False)
            _gather(facts)
        finally:
            down = _run([str(STACK_DOCKER), "down"], timeout=300, env=env)
            facts.down_rc, facts.down_output = down.returncode, _tail(down, 10)
            facts.left_containers = _project_containers()
            facts.volume_after_down = _inspect("volume", VOLUME) is not None
        print(f"docker stack: up in {facts.up_seconds:.0f}s on 127.0.0.1:{port}")
        yield facts


def test_every_service_runs_from_its_local_image(docker_facts: Facts) -> None:
    assert set(docker_facts.containers) == set(SERVICES), f"services seen: {sorted(docker_facts.containers)}"
    for svc in SERVICES:
        c = docker_facts.containers[svc]
        assert c["Config"]["Image"] == f"vx11-{svc}:local", f"{svc}: image {c['Config']['Image']}"
        assert c["State"]["Running"], f"{svc}: state {c['State']['Status']}"
        assert c["Config"]["Labels"].get("com.docker.compose.project") == PROJECT


def test_python_images_carry_the_current_stack_hash(docker_facts: Facts) -> None:
    hashes = {svc: (img["Config"].get("Labels") or {}).get("org.vx11.stack-hash")
              for svc, img in docker_facts.images.items() if svc != "redis"}
    assert len(hashes) == 4 and all(hashes.values()), f"stack-hash labels: {hashes}"
    assert len(set(hashes.values())) == 1, f"images built from different trees: {hashes}"
    assert docker_facts.images_check.startswith("images current"), docker_facts.images_check


def test_only_the_gateway_is_published_and_only_on_loopback(docker_facts: Facts) -> None:
    published = {}
    for svc, c in docker_facts.containers.items():
        bindings = {p: b for p, b in (c["HostConfig"].get("PortBindings") or {}).items() if b}
        live = {p: b for p, b in (c["NetworkSettings"].get("Ports") or {}).items() if b}
        if bindings or live:
            published[svc] = live or bindings
    assert list(published) == ["tentaculo_link"], f"published: {published}"
    gw = published["tentaculo_link"]
    assert list(gw) == ["8000/tcp"], f"gateway publishes {gw}"
    hosts = {(b["HostIp"], b["HostPort"]) for b in gw["8000/tcp"]}
    assert hosts == {("127.0.0.1", str(docker_facts.port))}, f"gateway bound on {hosts}"
    for svc, c in docker_facts.containers.items():
        assert c["HostConfig"].get("NetworkMode") != "host", f"{svc} uses the host network"


def test_compose_default_publishes_only_127_0_0_1_8000(docker_facts: Facts) -> None:
    blocks = docker_facts.compose_default
    assert set(blocks) == set(SERVICES), f"`compose config` services: {sorted(blocks)}"
    with_ports = sorted(name for name, block in blocks.items() if "\nports:" in "\n" + block)
    assert with_ports == ["tentaculo_link"], f"services with published ports: {with_ports}"
    gw = blocks["tentaculo_link"]
    short = "127.0.0.1:8000:8000" in gw  # docker-compose 1.x
    long = "host_ip: 127.0.0.1" in gw and "target: 8000" in gw and ("published: '8000'" in gw
                                                                     or 'published: "8000"' in gw
                                                                     or "published: 8000" in gw)  # compose v2
    assert short or long, f"gateway ports by default:\n{gw}"


def test_gateway_health_is_ok(docker_facts: Facts) -> None:
    assert docker_facts.health_status == 200, f"GET /health -> {docker_facts.health_status} {docker_facts.health_body}"
    body = docker_facts.health_body
    assert body.get("status") == "ok" and body.get("service") == "tentaculo_link", body
    deps = body.get("dependencies", {})
    assert deps.get("madre") == "ok" and deps.get("redis") == "ok", deps
    for svc in ("tentaculo_link", "madre", "redis"):
        health = (docker_facts.containers[svc]["State"].get("Health") or {}).get("Status")
        assert health == "healthy", f"{svc}: docker health {health}"


def test_data_volume_is_madres(docker_facts: Facts) -> None:
    vol = docker_facts.volume
    assert vol is not None, f"volume {VOLUME} did not exist while the stack was up"
    assert (vol.get("Labels") or {}).get("com.docker.compose.project") == PROJECT, vol.get("Labels")
    mounts = {svc: [(m.get("Name"), m["Destination"]) for m in c.get("Mounts", []) if m.get("Type") == "volume"]
              for svc, c in docker_facts.containers.items()}
    assert (VOLUME, "/app/data") in mounts["madre"], mounts
    assert all(VOLUME not in (n for n, _ in ms) for svc, ms in mounts.items() if svc != "madre"), mounts


def test_env_file_is_private_and_flags_follow_the_config(docker_facts: Facts) -> None:
    assert docker_facts.env_file_mode == 0o600, f"{ENV_FILE} mode {oct(docker_facts.env_file_mode or 0)}"
    flags = tomllib.loads((REPO / "stack" / "config" / "flags.toml").read_text()).get("flags", {})
    for svc in ("tentaculo_link", "madre", "switch", "spawner"):
        env = dict(e.split("=", 1) for e in docker_facts.containers[svc]["Config"]["Env"])
        assert env.get("VX11_BIND") == "0.0.0.0", f"{svc}: VX11_BIND={env.get('VX11_BIND')}"
        assert env.get("VX11_REDIS_URL") == "redis://redis:6379/0", svc
        for name in ("playwright", "deepseek_runtime", "smoke_tests"):
            want = "true" if flags.get(name) is True else "false"
            assert env.get(f"VX11_FLAG_{name.upper()}") == want, f"{svc}: VX11_FLAG_{name.upper()}"


def test_down_leaves_nothing_running(docker_facts: Facts) -> None:
    assert docker_facts.down_rc == 0, f"scripts/stack-docker down failed:\n{docker_facts.down_output}"
    assert docker_facts.left_containers == [], f"containers left: {docker_facts.left_containers}"
    assert docker_facts.volume_after_down is False, f"volume {VOLUME} survived down (it must be removed)"
