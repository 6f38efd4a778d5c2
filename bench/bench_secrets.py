"""Bench: our secret scanner against gitleaks, Kingfisher and detect-secrets on a large real tree.

Builds a throw-away git repo from the Python sources installed on this machine (the
venv's site-packages, then the standard library: code nobody here wrote), plants the
corpus of ``bench/corpus.py`` (secrets and decoys in the tree, secrets added then
deleted in history), then times ``fixtures.secrets.scan`` (tree only, tree + history)
and the peers (:mod:`bench.peers`: offline, validation and update checks off) on the same
tree, and prints a markdown report: machine, MB, seconds, MB/s, the speed ratio to the
fastest peer, recall on the planted secrets, decoys reported.

Installs nothing: ``pip install -r bench/requirements.txt`` first.
Usage: ``.venv/bin/python -m bench.bench_secrets [--quick] [--mb N] [--keep]``
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as bench/NAME.py

from bench import peers  # noqa: E402
from bench.corpus import Corpus, Plant, build  # noqa: E402
from fixtures.secrets import field  # noqa: E402
from fixtures.secrets.findings import ScanResult  # noqa: E402
from fixtures.secrets.scan import scan_repo  # noqa: E402

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
    # No automatic gc: git would start one in the background after the big commit, and it would
    # take a core from the first timed runs (make_tree packs the repository itself).
    subprocess.run(["git", "-c", "gc.auto=0", *args], cwd=repo, check=True, capture_output=True,
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
    git(repo, "gc", "-q")  # packed, as a clone is; and done before the timed runs
    return repo


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (workers, git, tools)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_ours(repo: Path, history: bool, repeat: int) -> tuple[ScanResult, list[float], float]:
    """Result, wall seconds per run, CPU seconds of the median run (averaged). Each run asks
    Kingfisher about its Google keys anew, as a gate run's fresh process does."""
    times, result, cpu0 = [], None, cpu_seconds()
    for _ in range(repeat):
        field.forget_published()
        t0 = time.perf_counter()
        result = scan_repo(repo, history=history)
        times.append(time.perf_counter() - t0)
    assert result is not None
    return result, times, (cpu_seconds() - cpu0) / repeat


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


def tables(corpus: Corpus, runs: list[Run]) -> list[str]:
    secrets, decoys, hist = corpus.secrets("tree"), corpus.decoys(), corpus.secrets("history")
    planted = {p.path for p in corpus.plants}
    rows = ["| tool | scope | MB | wall s | CPU s | MB/s (wall) | MB/s per CPU s | recall, tree "
            "| recall, history | decoys reported | findings outside the corpus |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        out = len({(p, n) for p, n in run.seen if p not in planted})
        rows.append(f"| {run.tool} | {run.scope} | {run.mb:.1f} | {run.wall:.2f} | {run.cpu:.2f} "
                    f"| {run.mb / run.wall:.1f} | {run.mb / max(run.cpu, 1e-9):.1f} | "
                    f"{score(secrets, run.seen)} | "
                    f"{score(hist, run.seen) if run.scope.endswith('history') else 'n/a'} | "
                    f"{score(decoys, run.seen)} | {out} |")
    fam = ["| family | " + " | ".join(f"{r.tool} ({r.scope})" for r in runs) + " |",
           "|---|" + "---:|" * len(runs)]
    for name in sorted({p.family for p in secrets}):
        plants = [p for p in secrets if p.family == name]
        fam.append(f"| {name} | " + " | ".join(score(plants, r.seen) for r in runs) + " |")
    return [*rows, "", "### Planted corpus: recall per family (working tree; tracked_env is a "
            "file-level finding at line 0, which the peers have no rule for)", "", *fam, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small tree, for CI")
    parser.add_argument("--mb", type=float, help="size of the copied source tree in MB")
    parser.add_argument("--repeat", type=int, help="runs of our scanner (median shown)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    parser.add_argument("--no-peers", action="store_true", help="our scanner only")
    parser.add_argument("--no-detect-secrets", action="store_true",
                        help="leave out detect-secrets (about 0.2 MB/s: 10 minutes on 110 MB)")
    args = parser.parse_args(argv)
    args.mb = args.mb or (4.0 if args.quick else 110.0)
    args.repeat = args.repeat or (1 if args.quick else 3)
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


def _peer_runs(repo: Path, mb: float, hist_mb: float, detect_secrets: bool) -> list[Run]:
    peers.run_kingfisher(repo, history=False)  # warm its compiled-rule cache, as ours is
    out = []
    for scope, history, size in (("working tree", False, mb), ("tree + history", True, hist_mb)):
        for run in (peers.run_gitleaks(repo, history), peers.run_kingfisher(repo, history)):
            out.append(Run(run.tool, scope, size, run.wall, run.cpu, run.lines))
    if detect_secrets:
        ds = peers.run_detect_secrets(repo)
        out.append(Run(ds.tool, "working tree", mb, ds.wall, ds.cpu, ds.lines))
    return out


def measure(args: argparse.Namespace, corpus: Corpus, repo: Path) -> str:
    load = os.getloadavg()[0]
    scan_repo(repo, history=False)  # warm the page cache and load the rule set
    tree, tree_times, tree_cpu = run_ours(repo, False, args.repeat)
    hist, hist_times, hist_cpu = run_ours(repo, True, args.repeat)
    mb, hist_mb = tree.bytes_scanned / 1e6, hist.bytes_scanned / 1e6
    runs = [Run("fixtures.secrets", "working tree", mb, statistics.median(tree_times), tree_cpu,
                ours_seen(tree)),
            Run("fixtures.secrets", "tree + history", hist_mb, statistics.median(hist_times),
                hist_cpu, ours_seen(hist))]
    if not args.no_peers:
        runs += _peer_runs(repo, mb, hist_mb, not args.no_detect_secrets)
    fastest = min((r for r in runs[2:] if r.scope == "tree + history"), key=lambda r: r.wall,
                  default=None)
    ratio = (f"; the fastest peer on tree + history ({fastest.tool}) takes "
             f"{fastest.wall / runs[1].wall:.1f}x our wall time, "
             f"{fastest.cpu / max(runs[1].cpu, 1e-9):.1f}x our CPU time") if fastest else ""
    versions = ", ".join(f"{k} {v}" for k, v in peers.versions().items())
    return "\n".join([
        f"## Secret scan bench{' (quick)' if args.quick else ''}", "",
        f"- machine: {machine()}; load average before the runs: {load:.2f}",
        f"- tree: {tree.files_scanned} tracked files, {mb:.1f} MB scanned ({len(tree.skipped)} "
        f"left out: binary or symlink); history adds {hist.blobs_scanned} blobs not in the tree",
        f"- ours: in-process `scan_repo`, median of {args.repeat} runs; peers: one run each, "
        f"offline (`unshare -n`, validation and update checks off): {versions}",
        f"- **our tree + history throughput: {hist_mb / runs[1].wall:.0f} MB/s wall, "
        f"{hist_mb / max(runs[1].cpu, 1e-9):.0f} MB per CPU second{ratio}**", "",
        *tables(corpus, runs)])


if __name__ == "__main__":
    sys.exit(main())
