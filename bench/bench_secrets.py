"""Bench: our secret scanner against detect-secrets 1.5 on a large real source tree.

Builds a throw-away git repo from the Python sources installed on this machine (the
venv's site-packages, then the standard library: code nobody here wrote), plants the
corpus of ``bench/corpus.py`` (secrets and decoys in the tree, secrets added then
deleted in history), then times ``fixtures.secrets.scan`` (tree only, tree + history)
and ``detect-secrets scan`` on the same tree, and prints a markdown report: machine,
MB, seconds, MB/s, the speed ratio, recall on the planted secrets, decoys reported.

Installs nothing: ``pip install -r bench/requirements.txt`` first.
Usage: ``.venv/bin/python -m bench.bench_secrets [--quick] [--mb N] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as bench/NAME.py

from bench.corpus import Corpus, Plant, build  # noqa: E402
from fixtures.secrets.findings import ScanResult  # noqa: E402
from fixtures.secrets.scan import scan_repo  # noqa: E402

DETECT_SECRETS = "1.5.0"
TEXT_SUFFIXES = {".py", ".pyi", ".txt", ".rst", ".md", ".json", ".toml", ".cfg", ".ini",
                 ".html", ".js", ".css", ".yaml", ".yml", ".c", ".h", ".sh"}
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, git "
            + subprocess.run(["git", "--version"], capture_output=True, text=True)
            .stdout.split()[-1])


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def copy_sources(dest: Path, target_bytes: int) -> int:
    """Copy text sources of installed libraries into dest until target_bytes."""
    paths = sysconfig.get_paths()
    roots = [Path(paths["purelib"]), Path(paths["stdlib"])]
    copied = 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                src = Path(dirpath, name)
                if src.suffix not in TEXT_SUFFIXES or src.is_symlink():
                    continue
                out = dest / "vendor" / root.name / src.relative_to(root)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, out)
                copied += out.stat().st_size
                if copied >= target_bytes:
                    return copied
    return copied


def make_tree(workdir: Path, target_bytes: int, corpus: Corpus) -> Path:
    repo = workdir / "tree"
    repo.mkdir()
    git(repo, "init", "-q")
    copy_sources(repo, target_bytes)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "vendored sources")
    for files in (corpus.tree, corpus.history):
        for rel, text in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text)
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-q", "-m", "planted corpus")
    git(repo, "rm", "-q", *corpus.history)
    git(repo, "commit", "-q", "-m", "remove old settings")
    return repo


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (workers, git, tools)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_ours(repo: Path, history: bool, repeat: int) -> tuple[ScanResult, list[float], float]:
    """Result, wall seconds per run, CPU seconds of the median run (averaged)."""
    times, result, cpu0 = [], None, cpu_seconds()
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = scan_repo(repo, history=history)
        times.append(time.perf_counter() - t0)
    assert result is not None
    return result, times, (cpu_seconds() - cpu0) / repeat


def run_detect_secrets(repo: Path) -> tuple[dict[str, list[int]], float, float]:
    exe = Path(sys.executable).with_name("detect-secrets")
    cmd = [str(exe) if exe.exists() else "detect-secrets", "scan", "-n"]
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=True)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    results = json.loads(proc.stdout)["results"]
    found = {path: [s["line_number"] for s in hits] for path, hits in results.items()}
    return found, seconds, cpu


@dataclass(frozen=True)
class Run:
    tool: str
    scope: str
    mb: float
    wall: float  # median seconds
    cpu: float  # CPU seconds, this process + children
    seen: frozenset[tuple[str, int]]  # (path, line) reported


def score(plants: list[Plant], seen: frozenset[tuple[str, int]]) -> str:
    return f"{sum(1 for p in plants if (p.path, p.line) in seen)}/{len(plants)}"


def ours_seen(result: ScanResult) -> frozenset[tuple[str, int]]:
    return frozenset((f.path, f.line) for f in result.findings)


def tables(corpus: Corpus, runs: list[Run], outside: list[int]) -> list[str]:
    secrets, decoys = corpus.secrets("tree"), corpus.decoys()
    hist = corpus.secrets("history")
    rows = ["| tool | scope | MB | wall s | CPU s | MB/s (wall) | MB/s per CPU s | recall, tree "
            "| recall, history | decoys reported | findings outside the corpus |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run, out in zip(runs, outside, strict=True):
        rows.append(f"| {run.tool} | {run.scope} | {run.mb:.1f} | {run.wall:.2f} | {run.cpu:.2f} "
                    f"| {run.mb / run.wall:.1f} | {run.mb / run.cpu:.1f} | "
                    f"{score(secrets, run.seen)} | "
                    f"{score(hist, run.seen) if run.scope.endswith('history') else 'n/a'} | "
                    f"{score(decoys, run.seen)} | {out} |")
    ours, theirs = runs[0], runs[-1]
    fam = ["| family | ours | detect-secrets |", "|---|---:|---:|"]
    for name in sorted({p.family for p in secrets}):
        plants = [p for p in secrets if p.family == name]
        fam.append(f"| {name} | {score(plants, ours.seen)} | {score(plants, theirs.seen)} |")
    dec = ["| decoy kind | ours reported | detect-secrets reported |", "|---|---:|---:|"]
    for name in sorted({p.family for p in decoys}):
        plants = [p for p in decoys if p.family == name]
        dec.append(f"| {name} | {score(plants, ours.seen)} | {score(plants, theirs.seen)} |")
    return [*rows, "", "### Recall per family (working tree; tracked_env is a file-level "
            "finding at line 0, which detect-secrets has no rule for)", "", *fam, "",
            "### Decoys (must not be reported)", "", *dec, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small tree, for CI")
    parser.add_argument("--mb", type=float, help="size of the copied source tree in MB")
    parser.add_argument("--repeat", type=int, help="runs of our scanner (median shown)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    args = parser.parse_args(argv)
    args.mb = args.mb or (4.0 if args.quick else 40.0)
    args.repeat = args.repeat or (1 if args.quick else 3)
    try:
        version = metadata.version("detect-secrets")
    except metadata.PackageNotFoundError:
        print("bench: detect-secrets is not installed; run "
              "`.venv/bin/pip install -r bench/requirements.txt`", file=sys.stderr)
        return 2
    if version != DETECT_SECRETS:
        print(f"bench: warning: detect-secrets {version}, expected {DETECT_SECRETS}",
              file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="secretbench-"))
    try:
        corpus = build(seed=1)
        repo = make_tree(workdir, int(args.mb * 1e6), corpus)
        print(measure(args, corpus, repo))
    finally:
        if args.keep:
            print(f"tree kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def measure(args: argparse.Namespace, corpus: Corpus, repo: Path) -> str:
    load = os.getloadavg()[0]
    scan_repo(repo, history=False)  # warm the page cache for both tools
    tree, tree_times, tree_cpu = run_ours(repo, False, args.repeat)
    hist, hist_times, hist_cpu = run_ours(repo, True, args.repeat)
    ds, ds_wall, ds_cpu = run_detect_secrets(repo)
    mb, hist_mb = tree.bytes_scanned / 1e6, hist.bytes_scanned / 1e6
    runs = [Run("fixtures.secrets.scan", "working tree", mb, statistics.median(tree_times),
                tree_cpu, ours_seen(tree)),
            Run("fixtures.secrets.scan", "tree + history", hist_mb, statistics.median(hist_times),
                hist_cpu, ours_seen(hist)),
            Run(f"detect-secrets {DETECT_SECRETS}", "working tree", mb, ds_wall, ds_cpu,
                frozenset((path, line) for path, lines in ds.items() for line in lines))]
    planted = {p.path for p in corpus.plants}
    outside = [sum(1 for f in tree.findings if f.path not in planted),
               sum(1 for f in hist.findings if f.path not in planted),
               sum(len(lines) for path, lines in ds.items() if path not in planted)]
    ratio = ds_wall / runs[0].wall
    return "\n".join([
        f"## Secret scan bench{' (quick)' if args.quick else ''}", "",
        f"- machine: {machine()}; load average before the runs: {load:.2f}",
        f"- tree: {tree.files_scanned} tracked files, {mb:.1f} MB scanned ({len(tree.skipped)} "
        f"skipped: binary, symlink or over the size cap); history adds {hist.blobs_scanned} "
        "blobs not in the tree",
        f"- ours: in-process `scan_repo`, median of {args.repeat} runs (working tree: "
        f"{', '.join(f'{t:.2f}' for t in tree_times)} s); detect-secrets: 1 run of "
        "`detect-secrets scan -n` in the tree (its default: git-tracked files, all plugins)",
        f"- **speed ratio on the working tree: {ratio:.0f}x (wall), "
        f"{ds_cpu / tree_cpu:.0f}x (CPU)**; our working-tree throughput "
        f"{mb / runs[0].wall:.0f} MB/s", "",
        *tables(corpus, runs, outside)])


if __name__ == "__main__":
    sys.exit(main())
