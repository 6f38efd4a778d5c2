"""Scale: the service health and single entrypoint gates on stacks of 10, 50 and 100 services.

    .venv/bin/python bench/bench_scale.py [--sizes 10 50 100] [--base-port 21000] [--repeat 1]

Each size is a generated stack of N tiny stdlib HTTP health apps on loopback ports
(one public gateway whose /health really asks every dependency, N-1 internal
services), a generated profile naming them all as required, and one timed run of
`pytest -m gate -k "service_health or single_entrypoint"` with the host backend.

Why processes and not containers: on the vfs storage driver (the engine's fallback where
overlay2 cannot mount), creating one container copies the whole image (~200 MB, seconds each), so 100
containers would take minutes and gigabytes before the first gate; a stdlib process
starts in ~50 ms. What is measured is the suite's own cost per service (its probes,
the backend's /proc scans, one exec per service), which is what grows with N.

Prints the curve (wall per run, per service) and the growth exponent between sizes
(log t2/t1 / log n2/n1: 1.0 is linear). Every process this starts is stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_APP = r'''
import json, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
NAME, PORT, DEPS = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])

def probe(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return "ok" if r.status == 200 else "down"
    except Exception:
        return "down"

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = {"status": "ok", "service": NAME, "version": "1.0.0"}
            if DEPS:
                body["dependencies"] = {n: probe(p) for n, p in DEPS.items()}
        elif self.path == "/flags" and DEPS:
            body = {"flags": {}}
        else:
            self.send_error(404)
            return
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", PORT), Health).serve_forever()
'''


def _profile(n: int, base_port: int, folder: Path) -> str:
    names = [f"svc{i:03d}" for i in range(n)]
    lines = ['[stack]', 'name = "scale"', f'root = "{folder}"', 'launcher = "external"',
             f'base_url = "http://127.0.0.1:{base_port}"', '[token]', 'env = "VX11_TOKEN"']
    for i, name in enumerate(names):
        lines += [f"[services.{name}]", f"port = {base_port + i}",
                  f'exposure = "{"public" if i == 0 else "internal"}"', 'policy = "required"', 'health = "/health"']
    routes = {"health": "/health", "chat": "/chat", "window_open": "/w/open", "window_close": "/w/close",
              "window_get": "/w/{window_id}", "windows": "/w", "flags": "/flags", "operator_ui": "/ui/"}
    lines += ["[routes]", *(f'{k} = "{v}"' for k, v in routes.items())]
    lines += ["[database]", f'service = "{names[-1]}"', 'container_path = "/x.db"', 'host_path = "x.db"',
              "[maintenance]", 'command = ["true"]', "[flags]", "names = []", "[secrets]", "[windows]",
              "[slo]", "chat_requests = 1", "chat_p95_ms = 1000", "request_timeout_sec = 10", "fuzz_examples = 1",
              "[policy]", "allow_disruptive = false"]
    return "\n".join(lines) + "\n"


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _start(n: int, base_port: int, folder: Path) -> list[subprocess.Popen[bytes]]:
    busy = [p for p in range(base_port, base_port + n) if not _free(p)]
    if busy:
        raise SystemExit(f"bench_scale: ports already in use: {busy[:5]}...; pick another --base-port")
    app = folder / "app.py"
    app.write_text(_APP)
    deps = json.dumps({f"svc{i:03d}": base_port + i for i in range(1, n)})
    procs = []
    for i in range(n):
        argv = [sys.executable, str(app), f"svc{i:03d}", str(base_port + i), deps if i == 0 else "{}"]
        procs.append(subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 60
    waiting = set(range(n))
    while waiting and time.monotonic() < deadline:
        waiting = {i for i in waiting if not _answers(base_port + i)}
        time.sleep(0.2)
    if waiting:
        _stop(procs)
        raise SystemExit(f"bench_scale: {len(waiting)} of {n} health apps did not answer within 60 s")
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def _run_gates(profile: Path) -> tuple[float, str]:
    argv = [sys.executable, "-m", "pytest", "-m", "gate", "-k", "service_health or single_entrypoint",
            f"--vx11-profile={profile}", "--launcher=external", "--backend=host", "--no-evidence",
            "-p", "no:cacheprovider", "-q"]
    env = {**os.environ, "VX11_TOKEN": os.environ.get("VX11_TOKEN") or "bench-scale-token"}
    start = time.monotonic()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=env)
    wall = time.monotonic() - start
    summary = ((done.stdout + done.stderr).strip().splitlines() or ["no output"])[-1]
    if done.returncode != 0:
        print("\n".join((done.stdout + done.stderr).splitlines()[-20:]))
    return wall, f"exit {done.returncode}: {summary.strip()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--base-port", type=int, default=21000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest counts")
    args = parser.parse_args(argv)
    curve: list[tuple[int, float]] = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"vx11-scale-{n}-") as tmp:
            folder = Path(tmp)
            profile = folder / "profile.toml"
            profile.write_text(_profile(n, args.base_port, folder))
            t0 = time.monotonic()
            procs = _start(n, args.base_port, folder)
            started = time.monotonic() - t0
            try:
                runs = [_run_gates(profile) for _ in range(args.repeat)]
            finally:
                _stop(procs)
        wall, summary = min(runs)
        curve.append((n, wall))
        print(f"{n:4d} services: started in {started:5.1f}s; gates {wall:6.2f}s "
              f"({1000 * wall / n:6.1f} ms/service)  {summary}", flush=True)
    print("\ngrowth between sizes (exponent k in t ~ n^k; 1.0 = linear):")
    worst = 0.0
    for (n1, t1), (n2, t2) in zip(curve, curve[1:], strict=False):
        k = math.log(t2 / t1) / math.log(n2 / n1)
        worst = max(worst, k)
        print(f"  {n1:4d} -> {n2:4d}: time x{t2 / t1:.2f} for services x{n2 / n1:.1f}: k = {k:.2f}")
    print(f"verdict: {'no worse than linear' if worst <= 1.05 else 'WORSE than linear'} (worst k = {worst:.2f}; "
          "includes ~1-2 s of pytest start-up that does not grow with n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
