"""Engine API calls per gate run, counted by the Docker backends themselves.

    .venv/bin/python bench/bench_api_calls.py [--profile profiles/vx11-swarm.toml] [--runs 3]

Every DockerBackend (and SwarmBackend) counts the HTTP requests it makes through the Engine;
with VX11_API_CALLS_FILE set, each appends its count and a per-endpoint breakdown
to that file when it closes. This runs `pytest -m gate` on the profile's stack
(its own launcher starts it if it is not up, and --keep-stack leaves it), sums the
counts per run, then asks the state question alone in this process:

- states(refresh=True)                       what every gate's "is it up" costs
- states(refresh=True, with_restarts=True)   what the session start and the restart check cost

against the target "<= 1 + containers needing inspection" (one list, plus one inspect
per container whose restart count is asked). Needs VX11_TOKEN and a Docker engine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from itertools import product
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fixtures.backends import choose_backend  # noqa: E402
from fixtures.profile.load import load_profile  # noqa: E402


def _run(profile: Path, calls_file: Path) -> tuple[int, list[dict]]:
    argv = [sys.executable, "-m", "pytest", "-m", "gate", f"--vx11-profile={profile}", "--keep-stack",
            "--no-evidence", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
                          env={**os.environ, "VX11_API_CALLS_FILE": str(calls_file)})
    if done.returncode != 0:
        print("\n".join((done.stdout + done.stderr).splitlines()[-15:]))
    lines = calls_file.read_text().splitlines() if calls_file.is_file() else []
    return done.returncode, [json.loads(ln) for ln in lines]


def _state_question(profile_path: Path) -> None:
    profile = load_profile(profile_path)
    backend = choose_backend(profile, "auto")
    ways = [(backend.kind, type(backend).states)]
    try:
        containers = len(backend.containers.listing())  # type: ignore[attr-defined]
        for (kind, states), (label, kwargs) in product(ways, (("states(refresh)", {}),
                                                              ("states(refresh, with_restarts)", {"with_restarts": True}))):
            before = backend.api_calls
            states(backend, refresh=True, **kwargs)
            label = f"{kind} {label}"
            need = len(profile.services) if kwargs else 0
            used = backend.api_calls - before
            print(f"  {label:39s} {used:3d} calls; containers {containers}, needing inspection {need}; "
                  f"target <= {1 + need}: {'met' if used <= 1 + need else 'NOT met'}")
    finally:
        backend.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=REPO / "profiles" / "vx11-swarm.toml")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not os.environ.get("VX11_TOKEN"):
        print("bench_api_calls: export VX11_TOKEN first", file=sys.stderr)
        return 4
    totals = []
    for i in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            rc, rows = _run(args.profile, Path(tmp) / "calls.jsonl")
        paths: Counter[str] = Counter()
        for row in rows:
            paths.update(row.get("paths", {}))
        total = sum(r["calls"] for r in rows)
        totals.append(total)
        top = ", ".join(f"{p} {n}" for p, n in paths.most_common(10))
        print(f"run {i}: exit {rc}; {total} Engine API calls from {len(rows)} backend instance(s) "
              f"({', '.join(str(r['calls']) for r in rows)}); top: {top}", flush=True)
    print(f"\ncalls per gate run: min {min(totals)}, max {max(totals)}")
    print("the state question alone (this process):")
    _state_question(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
