"""Bench: recall and false positives on published secret samples, side by side with peers.

Writes :mod:`bench.secret_corpus` (gitleaks' and detect-secrets' published samples plus
the VX11 families, one sample per realistic file) into a throw-away git repository, then
runs ``fixtures.secrets`` and, offline (``unshare -n``, validation and update checks
off), gitleaks, Kingfisher and detect-secrets on its working tree. Prints markdown:
recall per family, false positives on the negatives, wall time and MB/s.

A sample counts as found when the tool reports its file. Our file-level
``tracked_env`` finding (a ``.env.<name>`` file) is left out: only content counts.
Usage: ``.venv/bin/python -m bench.bench_secret_samples [--keep] [--misses]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as bench/NAME.py

from bench import peers  # noqa: E402
from bench.secret_corpus import Case, build  # noqa: E402
from fixtures.secrets.scan import scan_repo  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def make_repo(root: Path, files: dict[str, str]) -> int:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    total = 0
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        total += len(text.encode())
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", "-A", "-f"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "samples"], cwd=root, check=True, env=env)
    return total


def run_ours(root: Path) -> peers.PeerRun:
    scan_repo(root, history=False, jobs=1)  # load (or compile) the rule set first
    t0, c0 = time.perf_counter(), time.process_time()
    result = scan_repo(root, history=False, jobs=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = [f for f in result.findings if f.rule != "tracked_env"]
    return peers.PeerRun("fixtures.secrets", frozenset(f.path for f in found), wall, cpu,
                         len(found))


def _group(case: Case) -> str:
    return f"{case.source}: {case.family}"


def report(cases: list[Case], runs: list[peers.PeerRun], nbytes: int,
           texts: dict[str, str]) -> list[str]:
    pos = [c for c in cases if c.positive]
    neg = [c for c in cases if not c.positive]
    filler = [c for c in pos if _FILLER.search(texts[c.path]) or c.family == "ip_public"]
    stop = [c for c in neg if c.rule == "gcp-api-key"]
    head = "| " + " | ".join(r.tool for r in runs) + " |"
    rule = "|---|" + "---:|" * len(runs)
    out = ["| measure | " + head[2:], rule,
           "| recall, all positives | " + " | ".join(_share(pos, r) for r in runs) + " |",
           f"| recall, without the {len(filler)} filler positives (*) | " + " | ".join(
               _share([c for c in pos if c not in filler], r) for r in runs) + " |",
           "| false positives, all negatives | " + " | ".join(_share(neg, r) for r in runs) + " |",
           f"| false positives, without the {len(stop)} stop-listed keys (**) | " + " | ".join(
               _share([c for c in neg if c not in stop], r) for r in runs) + " |",
           "| wall s | " + " | ".join(f"{r.wall:.2f}" for r in runs) + " |",
           "| CPU s | " + " | ".join(f"{r.cpu:.2f}" for r in runs) + " |",
           "", f"{len(pos)} positives, {len(neg)} negatives, {nbytes / 1e6:.2f} MB in "
           f"{len(cases)} files (too small for a speed figure: see bench_secrets for MB/s).",
           "(*) positives whose published text is filler or not a secret at all: `xxxx`, "
           "`12345678-ABCD-...`, `EXAMPLE`, `QQQQ...`, `cafebabe:deadbeef`, public IP addresses.",
           "(**) real-looking Google API keys that gitleaks lists as known public keys "
           "(a stop list no other tool has).", ""]
    by: dict[str, list[Case]] = defaultdict(list)
    for c in pos:
        by[_group(c)].append(c)
    out += ["### Recall per family", "", "| family | n | " + head[2:], "|---|---:|"
            + "---:|" * len(runs)]
    for name in sorted(by):
        out.append(f"| {name} | {len(by[name])} | " + " | ".join(
            str(sum(c.path in r.files for c in by[name])) for r in runs) + " |")
    return out


_FILLER = re.compile(r"(?i)xxxx|12345678-ABCD|EXAMPLE|QQQQQQ|cafebabe:deadbeef")


def _share(cases: list[Case], run: peers.PeerRun) -> str:
    n = sum(c.path in run.files for c in cases)
    return f"{n}/{len(cases)} ({100 * n / max(len(cases), 1):.1f}%)"


def misses(cases: list[Case], run: peers.PeerRun) -> list[str]:
    return [f"{'missed' if c.positive else 'false positive'}: {c.path} ({c.rule})"
            for c in cases if (c.path in run.files) != c.positive]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    parser.add_argument("--misses", action="store_true", help="list our misses and FPs")
    parser.add_argument("--ours-only", action="store_true", help="skip the peers")
    args = parser.parse_args(argv)
    files, cases = build()
    work = Path(tempfile.mkdtemp(prefix="secretsamples-"))
    try:
        root = work / "repo"
        nbytes = make_repo(root, files)
        runs = [run_ours(root)]
        if not args.ours_only:
            runs += [peers.run_gitleaks(root, history=False),
                     peers.run_kingfisher(root, history=False), peers.run_detect_secrets(root)]
        print("\n".join(["## Secret samples bench", "", *report(cases, runs, nbytes, files)]))
        if args.misses:
            print("\n".join(misses(cases, runs[0])))
    finally:
        if args.keep:
            print(f"repository kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
