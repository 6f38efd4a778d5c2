"""Whole-run overhead: `pytest -m "gate or e2e"` wall time, serial and with -n 2, on a
warm reference stack, beside the waits the contract itself forces.

    VX11_TOKEN=... .venv/bin/python bench/bench_run.py [--runs 3]

The forced waits are the calls of the tests that must wait by contract (a window's
TTL running out, the model-router timeout behind a degraded reply, the gateway's
dependency probe timing out), read from each run's JUnit XML. The overhead ratio is
wall time / forced waits: 1.0 would mean the suite costs nothing beyond the waits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FORCED = ("test_expires_without_close", "test_chat_degraded_with_optional_backends_down",
          "test_gateway_reports_a_down_dependency")


def one_run(extra: list[str]) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "j.xml"
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gate or e2e", "--launcher", "external",
                               "--backend=host", "-q", "--no-evidence", "-p", "no:cacheprovider",
                               f"--junitxml={junit}", *extra], cwd=REPO, capture_output=True, text=True,
                              timeout=600, check=False)
        wall = time.monotonic() - start
        forced = sum(float(c.get("time", 0)) for c in ET.parse(junit).iter("testcase")
                     if c.get("name") in FORCED) if junit.is_file() else 0.0
    return wall, forced, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("VX11_TOKEN"):
        print("bench_run: export VX11_TOKEN first", file=sys.stderr)
        return 4
    if subprocess.run(["scripts/stack-local", "start"], cwd=REPO, capture_output=True, timeout=120).returncode:
        print("bench_run: could not start the local stack", file=sys.stderr)
        return 3
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    print("| mode | wall s (median) | forced waits s | overhead ratio | exit codes |\n|---|---|---|---|---|")
    try:
        for label, extra in (("serial", []), ("-n 2", ["-n", "2"])):
            runs = [one_run(extra) for _ in range(args.runs)]
            wall, forced = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            print(f"| {label} | {wall:.2f} | {forced:.2f} | {wall / forced if forced else float('nan'):.2f} | "
                  f"{sorted({r[2] for r in runs})} |")
    finally:
        subprocess.run(["scripts/stack-local", "stop"], cwd=REPO, capture_output=True, timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
