"""Whole release run: `pytest -m gate` wall time, serial and with -n 2, beside the waits the
contract itself forces, on a warm reference stack, and on the same stack made slow (every chat
answers after --chat-delay seconds: legal, the contract bounds no latency).

    VX11_TOKEN=... .venv/bin/python bench/bench_run.py [--runs 3] [--chat-delay 1.5] [--bytecode-cache]

Each stack runs in its own network namespace (selftests.gaterun.Lab). The forced waits are
the calls of the tests that must wait by contract (a window's TTL running out, the
model-router timeout behind a degraded reply, the gateway's dependency probe), read from each
run's JUnit XML. The overhead ratio is wall time / forced waits (target: at most 2 on the warm
stack); the slow stack's target is a bounded wall time (at most 30 s with 1.5 s chats).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from selftests.gaterun import Lab  # noqa: E402

FORCED = ("test_expires_without_close", "test_chat_degraded_with_optional_backends_down",
          "test_gateway_reports_a_down_dependency")


def _profile(tmp: Path, lab: Lab, slo_ms: int) -> Path:
    text = (REPO / "profiles" / "vx11.toml").read_text()
    path = tmp / "bench.toml"
    path.write_text(text.replace("chat_p95_ms = 1500", f"chat_p95_ms = {slo_ms}")
                    .replace('root = "../stack"', f'root = "{REPO / "stack"}"')
                    .replace('allowlist = "secrets-allowlist.toml"',
                             f'allowlist = "{REPO / "profiles" / "secrets-allowlist.toml"}"')
                    .replace('log_dir = "${VX11_LOCAL_RUN_DIR:-../.run/local}"',
                             f'log_dir = "{lab.env["VX11_LOCAL_RUN_DIR"]}"'))
    return path


def one_run(lab: Lab, profile: Path, extra: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "j.xml"
        start = time.monotonic()
        done = lab.run([sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external", "--backend=host",
                        "-q", "--no-evidence", "-p", "no:cacheprovider", f"--vx11-profile={profile}",
                        f"--junitxml={junit}", *extra], timeout=900, extra_env=env)
        wall = time.monotonic() - start
        forced = sum(float(c.get("time", 0)) for c in ET.parse(junit).iter("testcase")
                     if c.get("name") in FORCED) if junit.is_file() else 0.0
    return wall, forced, done.returncode


def bench(label: str, runs: int, delay: float, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(f"vx11-bench-{os.getpid()}", Path(tmp))
        try:
            lab.env["VX11_CHAT_DELAY_SEC"] = str(delay)
            lab.start()
            profile = _profile(Path(tmp), lab, 1500 if not delay else int(delay * 1000 * 3))
            if env:
                one_run(lab, profile, [], env)      # writes the caches
            for mode, extra in (("serial", []), ("-n 2", ["-n", "2"])):
                res = [one_run(lab, profile, extra, env) for _ in range(runs)]
                wall, forced = statistics.median(r[0] for r in res), statistics.median(r[1] for r in res)
                print(f"| {label} | {mode} | {wall:.2f} | {forced:.2f} | "
                      f"{wall / forced if forced else float('nan'):.2f} | {sorted({r[2] for r in res})} |", flush=True)
        finally:
            lab.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chat-delay", type=float, default=1.5)
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="let Python and pytest keep their bytecode caches (this machine sets "
                             "PYTHONDONTWRITEBYTECODE=1, so every run compiles the suite and rewrites its "
                             "asserts again); one run first writes them")
    args = parser.parse_args()
    env = {"PYTHONDONTWRITEBYTECODE": ""} if args.bytecode_cache else {}
    if not os.environ.get("VX11_TOKEN"):
        print("bench_run: export VX11_TOKEN first", file=sys.stderr)
        return 4
    caches = "on" if args.bytecode_cache or not os.environ.get("PYTHONDONTWRITEBYTECODE") else "off"
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"bytecode caches {caches}")
    print("| stack | mode | wall s (median) | forced waits s | overhead ratio | exit codes |\n|---|---|---|---|---|---|")
    bench("warm reference stack", args.runs, 0.0, env)
    bench(f"chat answers in {args.chat_delay:g} s", args.runs, args.chat_delay, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
