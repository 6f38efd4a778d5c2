"""Flake check: `pytest -m gate` N times in a row on one warm reference stack.

    .venv/bin/python bench/repeat_gates.py [--runs 20] [--launcher local|compose] [-- extra pytest args]

Starts the stack once (unless it is already up), runs the gates N times with
--launcher external, prints each run's verdict and wall time, then the count of
passing runs and the wall-time spread. Exit 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STACK = {"local": "scripts/stack-local", "compose": "scripts/stack-docker"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--launcher", choices=sorted(STACK), default="local")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    if not os.environ.get("VX11_TOKEN"):
        print("repeat_gates: export VX11_TOKEN first", file=sys.stderr)
        return 4
    up = subprocess.run([STACK[args.launcher], "up" if args.launcher == "compose" else "start"], cwd=REPO,
                        capture_output=True, text=True, timeout=900, check=False)
    if up.returncode != 0:
        print(f"repeat_gates: could not start the stack:\n{up.stdout}{up.stderr}", file=sys.stderr)
        return 3
    backend = "docker" if args.launcher == "compose" else "host"
    passed, walls = 0, []
    try:
        for i in range(1, args.runs + 1):
            start = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external",
                                   f"--backend={backend}", "-q", "--no-evidence", "-p", "no:cacheprovider",
                                   *args.pytest_args], cwd=REPO, capture_output=True, text=True, timeout=600,
                                  check=False)
            walls.append(time.monotonic() - start)
            verdict = next((ln for ln in done.stdout.splitlines() if ln.startswith("RELEASE GATES")), "no verdict")
            passed += done.returncode == 0
            print(f"run {i:2d}/{args.runs}: exit {done.returncode} in {walls[-1]:.1f}s  {verdict}", flush=True)
            if done.returncode != 0:
                print("\n".join(done.stdout.splitlines()[-25:]))
    finally:
        subprocess.run([STACK[args.launcher], "down" if args.launcher == "compose" else "stop"], cwd=REPO,
                       capture_output=True, timeout=300, check=False)
    print(f"\n{passed}/{args.runs} runs passed; wall median {statistics.median(walls):.1f}s, "
          f"min {min(walls):.1f}s, max {max(walls):.1f}s")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
