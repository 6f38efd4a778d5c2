"""The reference stack as local processes: ``scripts/stack-local start|stop|status|restart``.

Runs redis-server and the four uvicorn services on 127.0.0.1, each in its own
process group, from a stack tree (``--root``, default this tree), with the run
folder ``.run/local/`` of the repository holding the state file and the logs.
Exit codes: 0 done; 1 the stack failed to start or is not healthy; 2 bad usage
or a missing prerequisite (token, free port, writable data dir, redis-server).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from vx11common import faults as fault_table
from vx11common import procs
from vx11common.settings import FLAG_PREFIX, flags_from_file

HERE = Path(__file__).resolve().parent.parent  # this stack tree
REPO = HERE.parent
RUN = Path(os.environ.get("VX11_LOCAL_RUN_DIR", REPO / ".run" / "local"))
STATE = RUN / "state.json"
RUN_TAG = "VX11_LOCAL_RUN"
REDIS_PIDFILE = RUN / "redis" / "redis.pid"
SERVICES = {"tentaculo_link": 8000, "madre": 8001, "switch": 8002, "spawner": 8003}
REDIS_PORT = 6379
START_ORDER = ("redis", "madre", "switch", "spawner", "tentaculo_link")
TIMEOUT = float(os.environ.get("VX11_LOCAL_START_TIMEOUT", "30"))


class LaunchError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def say(line: str) -> None:
    print(f"stack-local: {line}", flush=True)


def load_state() -> dict[str, Any] | None:
    try:
        return json.loads(STATE.read_text())
    except (OSError, ValueError):
        return None


def save_state(state: dict[str, Any]) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, STATE)


def _check_arguments(root: Path, faults: str) -> None:
    """What can be checked before touching a running stack: token, root, fault names."""
    if not os.environ.get("VX11_TOKEN", "").strip():
        raise LaunchError("VX11_TOKEN is not set: export VX11_TOKEN=<token> (any secret string) and retry", 2)
    if not (root / "tentaculo_link" / "main.py").is_file():
        raise LaunchError(f"--root {root} is not a VX11 stack tree (no tentaculo_link/main.py)", 2)
    bad = fault_table.unknown(fault_table.parse(faults))
    if bad:
        raise LaunchError(f"unknown fault switch(es) {bad}; known: {sorted(fault_table.KNOWN)}", 2)


def _check_prerequisites(root: Path, data_dir: Path, faults: str) -> str:
    """Raise LaunchError(code 2) naming the first missing prerequisite; return redis-server's path."""
    _check_arguments(root, faults)
    for name, port in [("redis", REDIS_PORT), *SERVICES.items()]:
        if not procs.port_free(port):
            raise LaunchError(f"port {port} ({name}) on 127.0.0.1 is taken by {procs.port_holder(port)}; "
                              "stop it (or `scripts/stack-local stop` if it is ours) and retry", 2)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise LaunchError(f"data dir {data_dir} is not writable ({exc}); pass --data-dir DIR", 2) from None
    return _redis_server()


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() == 0:
        say("redis-server missing; installing it: apt-get install -y redis-server")
        done = subprocess.run(["apt-get", "install", "-y", "redis-server"], capture_output=True, text=True,
                              check=False, timeout=600)
        found = shutil.which("redis-server")
        if found:
            return found
        raise LaunchError(f"apt-get install -y redis-server failed: {done.stderr.strip()[-300:]}", 2)
    raise LaunchError("redis-server is not installed; as root run: apt-get install -y redis-server", 2)


def _service_env(root: Path, data_dir: Path, faults: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "VX11_FAULTS": faults, "VX11_BIND": "127.0.0.1", "VX11_DATA_DIR": str(data_dir),
        "VX11_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0", "VX11_MADRE_URL": "http://127.0.0.1:8001",
        "VX11_SWITCH_URL": "http://127.0.0.1:8002", "VX11_SPAWNER_URL": "http://127.0.0.1:8003",
        "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        RUN_TAG: str(RUN),  # lets `stop` find this run's processes even without a state file
    })
    for name, value in flags_from_file(root / "config" / "flags.toml").items():
        env[FLAG_PREFIX + name.upper()] = "true" if value else "false"
    return env


def _argv(name: str, redis_server: str) -> list[str]:
    if name == "redis":
        return [redis_server, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(RUN / "redis"), "--daemonize", "no",
                "--pidfile", str(REDIS_PIDFILE)]
    return [sys.executable, "-m", "vx11common.serve", name]


def _spawn(name: str, argv: list[str], root: Path, env: dict[str, str]) -> dict[str, Any]:
    log_path = RUN / f"{name}.log"
    if log_path.exists():  # one run per log: an old run's tracebacks must not look like this one's
        os.replace(log_path, log_path.with_suffix(".log.prev"))
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} start {' '.join(argv)}\n".encode())
        proc = subprocess.Popen(argv, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return {"pid": proc.pid, "ticks": procs.start_ticks(proc.pid),
            "port": REDIS_PORT if name == "redis" else SERVICES[name], "log": str(log_path)}


def _ready(name: str, port: int) -> bool:
    if name == "redis":
        import socket

        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.8) as reply:
            return reply.status == 200
    except OSError:
        return False


def _log_tail(path: str, lines: int = 12) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(services: dict[str, dict[str, Any]], timeout: float) -> None:
    """Poll every service until ready; fail fast when one exits. Bounded by ``timeout``."""
    start = time.monotonic()
    pending = list(START_ORDER)
    while pending:
        for name in list(pending):
            info = services[name]
            if not procs.alive(info["pid"], info["ticks"]):
                raise LaunchError(f"{name} exited during start; last lines of {info['log']}:\n"
                                  f"{_log_tail(info['log'])}")
            if _ready(name, info["port"]):
                pending.remove(name)
                say(f"{name} ready on 127.0.0.1:{info['port']} after {time.monotonic() - start:.1f}s")
        if pending and time.monotonic() - start > timeout:
            tails = "\n".join(f"[{n}] {_log_tail(services[n]['log'], 5)}" for n in pending)
            raise LaunchError(f"not ready after {timeout:.0f}s: {', '.join(pending)}; "
                              f"raise VX11_LOCAL_START_TIMEOUT or read the logs:\n{tails}")
        if pending:
            time.sleep(0.2)


def start(root: Path, data_dir: Path, faults: str) -> int:
    state = load_state()
    if state and any(procs.alive(s["pid"], s["ticks"]) for s in state["services"].values()):
        same = state["root"] == str(root) and state["faults"] == faults and state["data_dir"] == str(data_dir)
        if same and status(quiet=True) == 0:
            say(f"already running from {root} (faults: {faults or 'none'})")
            return 0
        if not same:
            raise LaunchError(f"a stack is already running from {state['root']} (data {state['data_dir']}, "
                              f"faults: {state['faults'] or 'none'}); use `restart` or `stop` first", 2)
        say("the recorded stack is partly down; replacing it")
    if state:
        stop(quiet=True)  # a crashed run: clear leftovers before checking ports
    redis_server = _check_prerequisites(root, data_dir, faults)
    (RUN / "redis").mkdir(parents=True, exist_ok=True)
    env = _service_env(root, data_dir, faults)
    state = {"root": str(root), "data_dir": str(data_dir), "faults": faults, "started": time.time(),
             "run_dir": str(RUN), "services": {}}
    say(f"starting from {root} (data {data_dir}, faults: {faults or 'none'}, logs {RUN})")
    began = time.monotonic()
    try:
        for name in START_ORDER:
            state["services"][name] = _spawn(name, _argv(name, redis_server), root, env)
            save_state(state)  # recorded at once: a failed start can still be stopped
        _wait_ready(state["services"], TIMEOUT)
    except LaunchError:
        stop(quiet=True)
        raise
    say(f"ready in {time.monotonic() - began:.1f}s: gateway http://127.0.0.1:8000")
    return 0


def stop(quiet: bool = False) -> int:
    state = load_state()
    if state is None and not quiet:
        say("no state file")
    for name in reversed(START_ORDER):
        info = (state or {}).get("services", {}).get(name)
        if info:
            outcome = procs.end_group(info["pid"], info["ticks"])
            if not quiet:
                say(f"{name} (pid {info['pid']}): {outcome}")
    # Leftovers of a crashed or interrupted run: services carry the run's tag in their
    # environment; redis rewrites its own environ, so it is found by its pid file.
    leftovers = procs.tagged(RUN_TAG, str(RUN)) + procs.from_pidfile(REDIS_PIDFILE, "redis-server")
    for pid in leftovers:
        what = procs.cmdline(pid)[:60]
        outcome = procs.end_group(pid, procs.start_ticks(pid))
        if not quiet:
            say(f"leftover pid {pid} ({what}): {outcome}")
    REDIS_PIDFILE.unlink(missing_ok=True)
    STATE.unlink(missing_ok=True)
    return 0


def status(quiet: bool = False) -> int:
    """0 all alive and ready; 1 some are not; 3 not running."""
    state = load_state()
    if state is None:
        if not quiet:
            say("not running")
        return 3
    healthy = True
    for name in START_ORDER:
        info = state["services"].get(name, {})
        up = bool(info) and procs.alive(info["pid"], info["ticks"])
        ready = up and _ready(name, info["port"])
        healthy = healthy and ready
        if not quiet:
            print(f"{name:15} pid {info.get('pid', '-'):>7}  port {info.get('port', '-')}  "
                  f"{'alive' if up else 'DEAD'}  {'ready' if ready else 'NOT READY'}")
    if not quiet:
        say(f"root {state['root']}, data {state['data_dir']}, faults: {state['faults'] or 'none'}")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status", "restart"))
    parser.add_argument("--faults", default="", help="comma-separated fault switches (stack/README.md)")
    parser.add_argument("--root", default=str(HERE), help="the stack tree to run (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, help="madre's data dir (default: VX11_DATA_DIR or ROOT/data)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    data_dir = Path(args.data_dir or os.environ.get("VX11_DATA_DIR") or root / "data")
    data_dir = (data_dir if data_dir.is_absolute() else root / data_dir).resolve()
    faults = ",".join(sorted(fault_table.parse(args.faults)))
    RUN.mkdir(parents=True, exist_ok=True)
    with open(RUN / "launcher.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one launcher command at a time per run folder
        return _command(args.command, root, data_dir, faults)


def _command(command: str, root: Path, data_dir: Path, faults: str) -> int:
    try:
        if command == "stop":
            return stop()
        if command == "status":
            return status()
        if command == "restart":
            _check_arguments(root, faults)
            stop()
        return start(root, data_dir, faults)
    except LaunchError as exc:
        print(f"stack-local: ERROR: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
